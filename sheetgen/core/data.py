"""Data sets: the samples a training steps through, and how a step takes them.

A `DataSpec` (the config's ``[data]`` table) holds the samples and how a step takes them: all of
them (``batch = "full"``), one at a time (``batch = 1``), or k at a time; an epoch is one pass, as
torch's DataLoader (a short last batch, or none with drop_last; shuffled per epoch from the seed),
or the steps cycle through the samples (``order = "cycle"``). The samples live
on a ``data`` sheet: each sample column of the table picks its value there with INDEX
(``index(data_i1, k)``), so editing a sample recomputes everything.
"""

from __future__ import annotations

import csv
import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sheetgen.errors import ConfigError

if TYPE_CHECKING:
    from sheetgen.core.network import NetworkSpec

REDUCTIONS = ("mean", "sum", "torch")
ORDER_LIMIT = 1_048_576 - 2   # the data sheet's rows below its title and header


@dataclass(frozen=True)
class DataSpec:
    """Samples, as columns named i1…, t1…, and how a step takes them."""

    names: tuple[str, ...]                   # inputs then targets, in the network's order
    rows: tuple[tuple[float, ...], ...]      # one per sample
    batch: int | None = None                 # None: the full batch
    reduction: str = "mean"
    source: str = "inline"                   # or the CSV file's name, for the settings block
    order: str = "epochs"                    # epochs: one pass each, as DataLoader; cycle: wrap
    shuffle: bool = False                    # a permutation per epoch, drawn from `seed`
    drop_last: bool = False
    seed: int = 0
    epochs: int = 1                          # permutations stored (shuffle): enough for the run

    @property
    def n(self) -> int:
        return len(self.rows)

    @property
    def batch_size(self) -> int:
        return self.n if self.batch is None else self.batch

    @property
    def batch_text(self) -> str:
        return "full" if self.batch is None else str(self.batch)

    def column(self, name: str) -> tuple[float, ...]:
        k = self.names.index(name)
        return tuple(row[k] for row in self.rows)

    def steps_per_epoch(self) -> int:
        """Rows of one pass over the data: ⌈n / k⌉, or ⌊n / k⌋ dropping a short last batch (and
        with order = "cycle", ⌈n / k⌉ rows that use every sample at least once)."""
        if self.drop_last and self.order == "epochs":
            return self.n // self.batch_size
        return math.ceil(self.n / self.batch_size)

    @property
    def short_last(self) -> int:
        """Samples in an epoch's short last batch (0: none)."""
        if self.order != "epochs" or self.drop_last or self.batch is None:
            return 0
        return self.n % self.batch_size

    def permutation(self, epoch: int) -> list[int]:
        """Epoch `epoch`'s order of the samples (1-based numbers), from `seed`: the same every run."""
        rng = random.Random(f"sheetgen-shuffle-{self.seed}-{epoch}")
        order = list(range(1, self.n + 1))
        rng.shuffle(order)
        return order

    def order_fits(self) -> bool:
        return not self.shuffle or self.n * self.epochs <= ORDER_LIMIT

    def order_column(self) -> tuple[int, ...]:
        """Every stored epoch's permutation, one after another (the data sheet's `order`)."""
        return tuple(k for e in range(self.epochs) for k in self.permutation(e))

    def divisor(self, spec: NetworkSpec) -> int:
        """What a step's summed loss is divided by per sample: 1 (mean), or the outputs too
        (torch: its mean over every element for the element-wise losses)."""
        if self.reduction == "torch" and spec.loss in ("half_sse", "sse", "binary_cross_entropy"):
            return spec.layers[-1]
        return 1

    def picks(self, iterations: int) -> list[list[int]]:
        """The samples (0-based) of each step: what the sample columns compute."""
        k, n, per = self.batch_size, self.n, self.steps_per_epoch()
        out = []
        for t in range(iterations):
            if self.batch is None:
                out.append(list(range(n)))
            elif self.order == "cycle":
                out.append([(t * k + j) % n for j in range(k)])
            else:
                e, s = divmod(t, per)
                positions = [s * k + j for j in range(k) if s * k + j < n]
                perm = self.permutation(e % self.epochs) if self.shuffle else None
                out.append([perm[p] - 1 if perm else p for p in positions])
        return out


# --- reading and checking --------------------------------------------------------------------

def read_csv(path: Path, key: str = "data.file") -> tuple[tuple[str, ...], list[list[float]]]:
    """Header row of names, then one row of numbers per sample."""
    try:
        text = Path(path).read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(f"{key}: {path}: file not found") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{key}: {path}: not a text file (not UTF-8)") from None
    except OSError as exc:
        raise ConfigError(f"{key}: {path}: cannot read: {exc.strerror or exc}") from None
    lines = [row for row in csv.reader(text.splitlines()) if any(c.strip() for c in row)]
    if not lines:
        raise ConfigError(f"{key}: {path}: empty (give a header row i1,i2,…,t1,… and one row per sample)")
    header = tuple(c.strip() for c in lines[0])
    if len(set(header)) != len(header):
        raise ConfigError(f"{key}: {path}: a column name is repeated in the header row")
    rows = []
    for r, line in enumerate(lines[1:], start=2):
        if len(line) != len(header):
            raise ConfigError(f"{key}: {path}: line {r} has {len(line)} values for {len(header)} columns")
        row = []
        for name, cell in zip(header, line, strict=True):
            try:
                value = float(cell)
            except ValueError:
                raise ConfigError(f"{key}: {path}: line {r}, column {name}: {cell.strip()!r} is not "
                                  "a number") from None
            if not math.isfinite(value):
                raise ConfigError(f"{key}: {path}: line {r}, column {name}: must be a finite number")
            row.append(value)
        rows.append(row)
    if not rows:
        raise ConfigError(f"{key}: {path}: no rows (only the header row)")
    return header, rows


def data_spec(spec: NetworkSpec, samples: list[dict[str, float]], batch: int | None,
              reduction: str, source: str, key: str = "data.samples") -> DataSpec:
    """The samples as the network's columns; ConfigError naming the key of a missing one."""
    names = spec.inputs + spec.targets
    if not samples:
        raise ConfigError(f"{key}: no samples")
    rows = []
    for k, sample in enumerate(samples, start=1):
        for name in names:
            if name not in sample:
                what = "input" if name[0] == "i" else "target"
                raise ConfigError(f"{key}: sample {k} has no {what} {name} (the network needs "
                                  f"{', '.join(names)})")
        for name in sample:
            if name not in names:
                raise ConfigError(f"{key}: sample {k}: unknown column {name!r} (the network has "
                                  f"{', '.join(names)})")
        rows.append(tuple(float(sample[name]) for name in names))
    if reduction not in REDUCTIONS:
        raise ConfigError(f"data.reduction: must be mean, sum or torch, got {reduction!r}")
    if batch is not None and not 1 <= batch <= len(rows):
        raise ConfigError(f"data.batch: {batch} is larger than the data set ({len(rows)} samples)"
                          if batch > len(rows) else f"data.batch: must be at least 1, got {batch}")
    return DataSpec(names, tuple(rows), batch, reduction, source)


def data_name(column: str) -> str:
    """The parameter a data-sheet column is known by in formulas: data_i1."""
    return "data_" + column
