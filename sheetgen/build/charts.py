"""Chart specs: which cells a chart plots, its titles and where it sits. Pure data, no files.

A chart is a scatter chart with straight lines: x is the numeric iteration column, never text
categories, so no series can be mistaken for the x axis. Both writers render these specs,
each in its own range syntax, from 0-based (sheet, row, column) positions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# The narrowest default column and shortest default row of the two formats (an .xlsx column is
# 64 px, a LibreOffice row 4.52 mm): the cells a chart covers are at most these many.
MIN_COLUMN_MM = 16.9
MIN_ROW_MM = 4.52


@dataclass(frozen=True)
class Range:
    """A single-column block of cells, 0-based and inclusive."""

    sheet: str
    first_row: int
    last_row: int
    col: int


@dataclass(frozen=True)
class Series:
    name: str                                    # literal, used when `name_cell` is None
    x: Range
    y: Range
    name_cell: tuple[str, int, int] | None = None  # (sheet, row, col) holding the name


@dataclass(frozen=True)
class Chart:
    title: str
    x_title: str
    y_title: str
    series: tuple[Series, ...]
    row: int          # top-left anchor cell, 0-based
    col: int
    width_mm: float
    height_mm: float
    legend: bool


def loss_chart(spec: dict, sheet: str, rate_text: str, x_col: int, y_col: int,
               first_row: int, last_row: int, n_columns: int) -> Chart:
    """E_total against iteration for one sheet, right of its last table column."""
    x = Range(sheet, first_row, last_row, x_col)
    y = Range(sheet, first_row, last_row, y_col)
    return Chart(
        title=spec["title"].format(rate=rate_text),
        x_title=spec["x_title"], y_title=spec["y_title"],
        series=(Series(sheet, x, y),),
        row=first_row, col=n_columns + spec["gap_columns"],
        width_mm=spec["width_mm"], height_mm=spec["height_mm"], legend=False,
    )


def combined_chart(spec: dict, charts: list[Chart], name_cells: list[tuple[str, int, int]],
                   row: int, col: int) -> Chart:
    """All sheets' loss series in one chart, each named by a cell, sharing the iteration axis."""
    series = tuple(Series(c.series[0].name, c.series[0].x, c.series[0].y, cell)
                   for c, cell in zip(charts, name_cells, strict=True))
    return Chart(spec["title"], spec["x_title"], spec["y_title"], series, row, col,
                 spec["width_mm"], spec["height_mm"], legend=True)


def extent(chart: Chart) -> tuple[int, int]:
    """The last row and column (0-based) the chart can reach, beyond the table's columns."""
    return (chart.row + math.ceil(chart.height_mm / MIN_ROW_MM),
            chart.col + math.ceil(chart.width_mm / MIN_COLUMN_MM))
