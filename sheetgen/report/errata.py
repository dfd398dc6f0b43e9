"""The original's mistakes measured: the model run both ways, compared as two workbook tables
would be (sheetgen compare's column-by-column figures), without writing either workbook.

Long runs are compared a chunk of rows at a time and the figures combined, so memory does not
grow with the number of iterations."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

import pandas as pd

from sheetgen.check.compare import ColumnComparison, SheetComparison, compare_tables
from sheetgen.core.model import Network
from sheetgen.read.tables import Table


def as_table(network: Network, rows: Sequence[Sequence[float]], sheet: str) -> Table:
    """The rows as the table a workbook reader would return (header row 1, data from row 2)."""
    names = list(network.names)
    frame = pd.DataFrame([list(r) for r in rows], columns=names, index=range(1, len(rows) + 1),
                         dtype="float64")
    return Table(sheet, 0, 1, {n: n for n in names}, {n: i for i, n in enumerate(names)}, frame)


def compare_runs(network: Network, rows: Sequence[Sequence[float]], other: Network,
                 other_rows: Sequence[Sequence[float]]) -> SheetComparison:
    return compare_tables(as_table(network, rows, "original"), as_table(other, other_rows, "correct"))


def _larger(a: float, b: float) -> float:
    return b if math.isnan(a) else a if math.isnan(b) else max(a, b)


class RunningComparison:
    """compare_tables over consecutive chunks of two runs, as if over the whole runs."""

    def __init__(self) -> None:
        self.result: SheetComparison | None = None
        self.offset = 0

    def add(self, network: Network, rows: Sequence[Sequence[float]], other: Network,
            other_rows: Sequence[Sequence[float]]) -> None:
        part = compare_runs(network, rows, other, other_rows)
        columns = [replace(c, first_iteration=c.first_iteration + self.offset)
                   if c.first_iteration is not None else c for c in part.columns]
        part = replace(part, columns=columns)
        self.offset += min(len(rows), len(other_rows))
        if self.result is None:
            self.result = part
            return
        merged = [ColumnComparison(
            a.quantity, a.header_a, a.header_b, a.column_a, a.column_b,
            a.cells + b.cells, a.differing + b.differing,
            _larger(a.max_abs_diff, b.max_abs_diff), _larger(a.max_rel_diff, b.max_rel_diff),
            a.first_iteration if a.first_iteration is not None else b.first_iteration)
            for a, b in zip(self.result.columns, part.columns, strict=True)]
        self.result = replace(self.result, columns=merged, rows_a=self.result.rows_a + part.rows_a,
                              rows_b=self.result.rows_b + part.rows_b)
