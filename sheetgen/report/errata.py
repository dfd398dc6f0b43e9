"""The original's mistakes measured: the model run both ways, compared as two workbook tables
would be (sheetgen compare's column-by-column figures), without writing either workbook.

Long runs are compared a chunk of rows at a time and the figures combined, so the comparison
needs no copy of a whole run."""

from __future__ import annotations

import math
from dataclasses import replace

import pandas as pd

from sheetgen.check.compare import ColumnComparison, SheetComparison, compare_frames
from sheetgen.core.model import Trace

CHUNK = 4096  # rows compared at a time


def _larger(a: float, b: float) -> float:
    return b if math.isnan(a) else a if math.isnan(b) else max(a, b)


def _merge(whole: SheetComparison, part: SheetComparison, offset: int) -> SheetComparison:
    """`whole` (the rows before `offset`) and `part` (the rows after) as one comparison."""
    columns = [ColumnComparison(
        a.quantity, a.header_a, a.header_b, a.column_a, a.column_b,
        a.cells + b.cells, a.differing + b.differing,
        _larger(a.max_abs_diff, b.max_abs_diff), _larger(a.max_rel_diff, b.max_rel_diff),
        a.first_iteration if a.first_iteration is not None else
        None if b.first_iteration is None else b.first_iteration + offset)
        for a, b in zip(whole.columns, part.columns, strict=True)]
    return replace(whole, columns=columns, rows_a=whole.rows_a + part.rows_a,
                   rows_b=whole.rows_b + part.rows_b)


def compare_runs(original: Trace, correct: Trace, chunk: int = CHUNK) -> SheetComparison:
    """compare's figures for two runs of the same rates and iterations, original first."""
    def frame(run: Trace, start: int) -> pd.DataFrame:
        return pd.DataFrame(run.values[start:start + chunk], columns=list(run.names))

    result = None
    for start in range(0, max(original.iterations, correct.iterations, 1), chunk):
        part = compare_frames(frame(original, start), frame(correct, start), ("original", "correct"))
        result = part if result is None else _merge(result, part, start)
    return result
