"""What the report keeps of a learning rate's rows: one pass over them, constant memory but for
the loss column (8 bytes per iteration), so a long run is reported without holding its table."""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice

CHUNK = 4096  # rows compared at a time with the original's mistakes


class Digest:
    """The first and last rows of a run and its loss column."""

    def __init__(self, loss_index: int):
        self.loss_index = loss_index
        self.first: tuple[float, ...] | None = None
        self.last: tuple[float, ...] | None = None
        self.losses = array("d")

    def add(self, rows: Sequence[Sequence[float]]) -> None:
        if rows and self.first is None:
            self.first = tuple(rows[0])
        if rows:
            self.last = tuple(rows[-1])
        self.losses.extend(row[self.loss_index] for row in rows)

    def __len__(self) -> int:
        return len(self.losses)


def chunks(rows: Iterable[Sequence[float]], size: int = CHUNK) -> Iterator[list[Sequence[float]]]:
    rows = iter(rows)
    while chunk := list(islice(rows, size)):
        yield chunk
