"""Finding the tables to audit in one sheet, as people lay them out.

A sheet may hold several tables (stacked, with title and blank rows between them, or side by
side), each with a header row (or a header spread over two rows) naming its columns in any
human spelling (`sheetgen.read.tables.canonical_name`), in any order, with helper columns and
a leading serial-number column. Targets, inputs and the learning rate may sit in labelled
cells instead of columns. Each table found comes with the labelled cells nearest to it and
the headers that could not be placed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sheetgen.core.cells import a1, cell_range, column_letter
from sheetgen.errors import UsageError
from sheetgen.read.tables import Table, _squash, canonical_name, general_name

# A header row (or a block of one) names at least this many quantities.
MIN_TABLE = 5
# Labels of the learning-rate cell, squashed.
LEARNING_RATE_LABELS = frozenset({"learningrate", "lr", "η", "eta", "alpha", "α", "rate",
                                  "learningrateη", "learningrateα"})
WEAK_RATE_LABELS = frozenset({"alpha", "α", "rate"})
_INLINE = re.compile(r"^\s*(?P<label>[^=:]+?)\s*[=:]\s*(?P<value>[-+]?[0-9.]+(?:[eE][-+]?[0-9]+)?)\s*$")


@dataclass
class Found:
    """One table of a sheet, with what the sheet says about it outside its columns."""

    table: Table
    labelled: dict[str, tuple[str, float]]           # quantity -> (cell, value) outside the table
    learning_rate_cells: list[tuple[str, float]]     # [(cell, value)] under/after a rate label
    unknown: list[tuple[str, str]]                   # (cell, header) not placed
    header_rows: int = 1                             # 2 when the header spans two rows

    @property
    def span(self) -> str:
        cols = list(self.table.columns.values()) + list(self.table.ignored)
        first = self.table.header_row - self.header_rows + 2
        last = self.table.first_row + len(self.table)
        return cell_range("xlsx", a1(min(cols), first), a1(max(cols), last))


def header_reader(names: Sequence[str], mapping: Mapping[str, str] | None = None,
                  headers: Mapping[str, str] | None = None) -> Callable[[object], str | None]:
    """text -> quantity: `mapping` (HEADER=quantity, from --map) first, then `headers` (the
    headers sheetgen writes for the exercise, exactly), then the rules."""
    names = tuple(names)
    exact = dict(headers or {})
    known = set(names)
    own = {}
    for header, quantity in (mapping or {}).items():
        if quantity not in known and general_name(quantity) != quantity:
            raise UsageError(f"--map {header}={quantity}: no quantity named {quantity!r} "
                             f"(known: {', '.join(n for n in names if n != 'iteration')})")
        own[_squash(header)] = quantity
    cache: dict[str, str | None] = {}

    def read(value: object) -> str | None:
        if not isinstance(value, str):
            return None
        if value not in cache:
            cache[value] = (own.get(_squash(value)) or exact.get(value.strip())
                            or canonical_name(value, names) or general_name(value))
        return cache[value]

    return read


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _cell(grid: Sequence[Sequence], r: int, c: int):
    row = grid[r] if 0 <= r < len(grid) else ()
    return row[c] if 0 <= c < len(row) else None


def _header_cells(grid, r: int, read) -> tuple[dict[int, str | None], dict[int, str], int]:
    """For header row r: column -> quantity (None: text not placed), column -> text, and how
    many rows the header spans (1, or 2 when the row above completes its cells)."""
    row = grid[r]
    single = {c: read(v) for c, v in enumerate(row) if isinstance(v, str) and v.strip()}
    texts = {c: str(row[c]).strip() for c in single}
    if r == 0 or not any(isinstance(v, str) and v.strip() for v in grid[r - 1]):
        return single, texts, 1
    upper = grid[r - 1]
    combined: dict[int, str | None] = {}
    ctexts: dict[int, str] = {}
    carried = ""
    for c in range(max(len(row), len(upper))):
        above = _cell(grid, r - 1, c)
        if isinstance(above, str) and above.strip():
            carried = above.strip()
        elif not _blank(above):
            carried = ""
        below = _cell(grid, r, c)
        if isinstance(below, str) and below.strip():
            both = read(f"{carried} {below.strip()}") if carried else None
            combined[c] = both or single.get(c)
            ctexts[c] = f"{carried} {below.strip()}" if both else below.strip()
            if not both:
                carried = ""   # a merged upper cell spans only the cells it completes
        elif _blank(below) and isinstance(above, str) and above.strip() and read(above):
            combined[c] = read(above)      # a name in the upper row over an empty lower cell
            ctexts[c] = above.strip()
    if len({q for q in combined.values() if q}) > len({q for q in single.values() if q}):
        return combined, ctexts, 2
    return single, texts, 1


def _segments(cells: dict[int, str | None], grid, r: int) -> list[list[int]]:
    """The header's columns cut into blocks: at a column blank in the header and below it, and
    where a quantity repeats with enough names on both sides (tables side by side)."""
    blocks: list[list[int]] = []
    current: list[int] = []
    last = max(cells) if cells else -1
    for c in range(last + 1):
        if c in cells:
            current.append(c)
        elif _blank(_cell(grid, r + 1, c)):
            if current:
                blocks.append(current)
            current = []
        else:
            current.append(c)   # a helper column without a header
    if current:
        blocks.append(current)
    out: list[list[int]] = []
    for block in blocks:
        out.extend(_split_repeats(block, cells))
    # Blocks without a shared quantity are one table with a spacer column between its parts.
    merged: list[list[int]] = []
    for block in out:
        if merged and not ({cells.get(c) for c in merged[-1]} & {cells.get(c) for c in block} - {None}):
            merged[-1] = merged[-1] + block
        else:
            merged.append(block)
    return merged


def _split_repeats(block: list[int], cells: dict[int, str | None]) -> list[list[int]]:
    seen: set[str] = set()
    for k, c in enumerate(block):
        q = cells.get(c)
        if q is not None and q in seen:
            left, right = block[:k], block[k:]
            names_left = {cells.get(x) for x in left} - {None}
            names_right = {cells.get(x) for x in right} - {None}
            if len(names_left) >= MIN_TABLE and len(names_right) >= MIN_TABLE:
                return [left, *_split_repeats(right, cells)]
        if q is not None:
            seen.add(q)
    return [block]


class _Taken:
    """The rectangles (rows, columns) of the tables found so far."""

    def __init__(self):
        self.boxes: list[tuple[int, int, set[int]]] = []

    def add(self, first: int, last: int, cols: list[int]) -> None:
        self.boxes.append((first, last, set(cols)))

    def __contains__(self, cell: tuple[int, int]) -> bool:
        r, c = cell
        return any(a <= r <= b and c in cols for a, b, cols in self.boxes)


def _texts(row: Sequence) -> list[tuple[int, str]]:
    """The non-empty texts of a row; a row of numbers costs one pass in C."""
    # A row of numbers (a table's body) costs one pass in C; with empty cells ('') two more.
    if str not in set(map(type, row)) or sum(map(str.__instancecheck__, row)) == row.count(""):
        return []
    return [(c, v) for c, v in enumerate(row) if isinstance(v, str) and v.strip()]


def find_tables(grid: Sequence[Sequence], sheet: str, read: Callable[[object], str | None]
                ) -> list[Found]:
    """Every table of a sheet, top to bottom, left to right."""
    found: list[Found] = []
    taken = _Taken()
    texts: list[list[tuple[int, str]]] = []
    bodies: list[tuple[int, int, int, int]] = []   # rows and columns of each table's numbers
    for r, row in enumerate(grid):
        # A table's body row holds numbers in the table's columns: look only beside them.
        boxes = [(lo, hi) for a, b, lo, hi in bodies if a <= r <= b]
        if len(boxes) == 1:
            lo, hi = boxes[0]
            row_texts = _texts(row[:lo]) + [(c + hi + 1, v) for c, v in _texts(row[hi + 1:])]
        else:
            row_texts = _texts(row)
        texts.append(row_texts)
        if len(row_texts) < 2 or all((r, c) in taken for c, _ in row_texts):
            continue
        cells, header_texts, spans = _header_cells(grid, r, read)
        if len({q for q in cells.values() if q}) < MIN_TABLE:
            continue
        for block in _segments(cells, grid, r):
            if any((r, c) in taken for c in block):
                continue
            table = _table(grid, sheet, r, block, cells, header_texts)
            if table is None:
                continue
            taken.add(r - spans + 1, table.first_row + len(table) - 1, block)
            if len(block) == max(block) - min(block) + 1:   # contiguous: no text between
                bodies.append((r + 1, table.first_row + len(table) - 1, min(block), max(block)))
            unknown = [(a1(c, r + 1), t) for c, t in table.ignored.items()]
            found.append(Found(table, {}, [], unknown, spans))
    for f in found:
        f.labelled, f.learning_rate_cells = _labelled(grid, texts, f, taken, read)
    return found


def _table(grid, sheet: str, r: int, block: list[int], cells: dict[int, str | None],
           texts: dict[int, str]) -> Table | None:
    columns: dict[str, int] = {}
    ignored: dict[int, str] = {}
    for c in block:
        q = cells.get(c)
        if q is not None and q not in columns:
            columns[q] = c
        elif c in texts:
            ignored[c] = texts[c]
    if len(columns) < MIN_TABLE:
        return None
    cols = list(columns.values())
    n = 0
    first = cols[0]
    for row in grid[r + 1:]:
        kind = type(row[first]) if first < len(row) else None
        if kind is not float and kind is not int and \
                not any(_is_number(row[c]) for c in cols if c < len(row)):
            break
        n += 1
    if n == 0:
        return None
    body = grid[r + 1:r + 1 + n]
    width = max(cols) + 1
    if all(len(row) >= width for row in body):
        by_column = list(zip(*body, strict=False))   # one transpose in C
    else:
        by_column = [[row[c] if c < len(row) else None for row in body] for c in range(width)]
    data = {}
    for q, c in columns.items():
        values = by_column[c]
        if set(map(type, values)) <= {float, int}:
            data[q] = np.array(values, dtype=np.float64)   # the usual case, at C speed
        else:
            data[q] = np.fromiter((float(v) if _is_number(v) else math.nan for v in values),
                                  dtype=np.float64, count=n)
    frame = pd.DataFrame(data, index=pd.RangeIndex(1, n + 1, name="iteration_order"))
    headers = {q: texts.get(c, q) for q, c in columns.items()}
    return Table(sheet, r, r + 1, headers, columns, frame, ignored)


def _labelled(grid, texts: list[list[tuple[int, str]]], f: Found, taken: _Taken, read
              ) -> tuple[dict[str, tuple[str, float]], list[tuple[str, float]]]:
    """Numbers beside (or below) a label outside every table: the nearest above this table
    first, then the nearest anywhere."""
    t = f.table
    cols = list(t.columns.values())
    lo, hi = min(cols), max(cols)
    candidates: dict[str, list[tuple[float, str, float]]] = {}
    rates: list[tuple[float, list[tuple[str, float]]]] = []
    for r, row_texts in enumerate(texts):
        for c, v in row_texts:
            if (r, c) in taken:
                continue
            inline = _INLINE.match(v)
            label = inline.group("label") if inline else v
            key = _squash(label)
            is_rate = key in LEARNING_RATE_LABELS
            q = read(label) if not is_rate or key in WEAK_RATE_LABELS else None
            if q is None and not is_rate:
                continue
            distance = (t.header_row - r if r <= t.header_row else 10_000 + r - t.header_row) \
                + (0 if lo - 2 <= c <= hi + 2 else 1_000) + abs(c - lo) / 1e4
            if inline:
                values = [(a1(c, r + 1), float(inline.group("value")))]
            else:
                values = _numbers_by(grid, r, c, many=is_rate)
            if not values:
                continue
            if is_rate:
                # α and "rate" may label another setting (rmsprop's α): a cell labelled as the
                # learning rate itself comes first.
                rates.append((distance + (100_000 if key in WEAK_RATE_LABELS else 0), values))
            if q is not None:
                candidates.setdefault(q, []).append((distance, *values[0]))
    labelled = {q: (min(options)[1], min(options)[2]) for q, options in candidates.items()
                if q not in t.columns}
    rate = min(rates, key=lambda x: x[0])[1] if rates else []
    return labelled, rate


def _numbers_by(grid, r: int, c: int, many: bool) -> list[tuple[str, float]]:
    """The number right of a label (the next two cells), or the numbers below it."""
    for dc in (1, 2):
        v = _cell(grid, r, c + dc)
        if _is_number(v):
            return [(a1(c + dc, r + 1), float(v))]
        if not _blank(v):
            break
    out = []
    for rr in range(r + 1, min(len(grid), r + (40 if many else 2))):
        v = _cell(grid, rr, c)
        if not _is_number(v):
            if many and _blank(v) and out:
                continue   # the reference lists rates with a gap (J29:J33, J37)
            break
        out.append((a1(c, rr + 1), float(v)))
    return out


# A data sheet's columns: inputs and targets (i1, t1), an image's pixels (i1_2_3), a sequence's
# steps and targets (x1_t2, y1, y1_t2).
_DATA_NAME = re.compile(r"[it][0-9]+|i[0-9]+_[0-9]+_[0-9]+|[xy][0-9]+(?:_t[0-9]+)?")


def is_data_table(found: Found) -> bool:
    """A table that names only a data sheet's columns (the samples, not a training)."""
    return all(_DATA_NAME.fullmatch(q) for q in found.table.columns)


def find_data(grid: Sequence[Sequence]) -> dict[str, tuple[float, ...]] | None:
    """A data sheet's samples: a header row naming only inputs and targets (i1 i2 t1), one
    sample per row below it, and the shuffled order beside them (`order`, a permutation of the
    samples per epoch, as long as it is). None when the sheet holds no such block."""
    for r, row in enumerate(grid[:20]):
        found_texts = _texts(row)
        texts = [(c, t) for c, t in found_texts if t.strip() != "order"]
        order = [c for c, t in found_texts if t.strip() == "order"]
        if len(texts) < 2 or not all(_DATA_NAME.fullmatch(t.strip()) for _, t in texts):
            continue
        out: dict[str, list[float]] = {t.strip(): [] for _, t in texts}
        for below in grid[r + 1:]:
            values = [_cell([below], 0, c) for c, _ in texts]
            if not all(_is_number(v) for v in values):
                break
            for (_, t), v in zip(texts, values, strict=True):
                out[t.strip()].append(float(v))
        if order:
            out["order"] = []
            for below in grid[r + 1:]:
                v = _cell([below], 0, order[0])
                if not _is_number(v):
                    break
                out["order"].append(float(v))
            texts.append((order[0], "order"))
        if all(out.values()):
            found = DataColumns({k: tuple(v) for k, v in out.items()})
            found.letters = {column_letter(c): "data_" + t.strip() for c, t in texts}
            return found
    return None


class DataColumns(dict):
    """A data sheet's columns by name, and which column letter holds each (`letters`)."""

    letters: dict[str, str]


__all__ = ["Found", "LEARNING_RATE_LABELS", "MIN_TABLE", "find_data", "find_tables", "header_reader",
           "is_data_table"]
