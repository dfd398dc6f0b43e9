"""Data sets: the samples a training steps through, and how a step takes them.

A `DataSpec` (the config's ``[data]`` table) holds the samples and how a step takes them: all of
them (``batch = "full"``), one at a time, cycling (``batch = 1``), or k at a time. The samples live
on a ``data`` sheet: each sample column of the table picks its value there with INDEX
(``index(data_i1, k)``), so editing a sample recomputes everything.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sheetgen.errors import ConfigError

if TYPE_CHECKING:
    from sheetgen.core.network import NetworkSpec

REDUCTIONS = ("mean", "sum")


@dataclass(frozen=True)
class DataSpec:
    """Samples, as columns named i1…, t1…, and how a step takes them."""

    names: tuple[str, ...]                   # inputs then targets, in the network's order
    rows: tuple[tuple[float, ...], ...]      # one per sample
    batch: int | None = None                 # None: the full batch
    reduction: str = "mean"
    source: str = "inline"                   # or the CSV file's name, for the settings block

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
        """Rows it takes to use every sample once (rounded up when k does not divide n)."""
        return math.ceil(self.n / self.batch_size)


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
        raise ConfigError(f"data.reduction: must be mean or sum, got {reduction!r}")
    if batch is not None and not 1 <= batch <= len(rows):
        raise ConfigError(f"data.batch: {batch} is larger than the data set ({len(rows)} samples)"
                          if batch > len(rows) else f"data.batch: must be at least 1, got {batch}")
    return DataSpec(names, tuple(rows), batch, reduction, source)


def data_name(column: str) -> str:
    """The parameter a data-sheet column is known by in formulas: data_i1."""
    return "data_" + column
