"""The original's mistakes measured: the model run both ways, compared as two workbook tables
would be (sheetgen compare's column-by-column figures), without writing either workbook."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from sheetgen.check.compare import SheetComparison, compare_tables
from sheetgen.core.model import Network
from sheetgen.read.tables import Table


def as_table(network: Network, rows: Sequence[Sequence[float]], sheet: str) -> Table:
    """The rows as the table a workbook reader would return (header row 1, data from row 2)."""
    names = list(network.names)
    frame = pd.DataFrame(list(rows), columns=names, index=range(1, len(rows) + 1), dtype="float64")
    return Table(sheet, 0, 1, {n: n for n in names}, {n: i for i, n in enumerate(names)}, frame)


def compare_runs(network: Network, rows: Sequence[Sequence[float]], other: Network,
                 other_rows: Sequence[Sequence[float]]) -> SheetComparison:
    return compare_tables(as_table(network, rows, "original"), as_table(other, other_rows, "correct"))
