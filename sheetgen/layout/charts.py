"""Chart specs: which cells a chart plots, its titles and where it sits. Pure data, no files.

A chart is a scatter chart with straight lines: x is the numeric iteration column, never text
categories, so no series can be mistaken for the x axis. Both writers render these specs,
each in its own range syntax, from 0-based (sheet, row, column) positions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sheetgen.core.cells import DIALECTS, ref

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
    secondary: bool = False                      # plotted against the second y axis (right)


@dataclass(frozen=True)
class TitleCell:
    """A cell whose formula makes a chart's title from live cells: a chart that names its title
    by this cell redraws it when they change (.xlsx only: an .ods title is fixed text)."""

    row: int
    col: int
    formulas: dict[str, str]   # per dialect, without the leading "="


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
    title_cell: TitleCell | None = None
    y2_title: str = ""        # the second y axis's title, when a series uses it


def title_formulas(title: str, rate_cell: tuple[int, int]) -> dict[str, str]:
    """'when learning rate is {rate}' -> '"when learning rate is "&$G$13': the title as text
    joined with the learning-rate cell, which shows a typed rate as typed (0.1, 2)."""
    before, _, after = title.partition("{rate}")
    rendered = {}
    for dialect in DIALECTS:
        parts = [f'"{before}"'] if before else []
        parts.append(ref(dialect, rate_cell[1], str(rate_cell[0] + 1), absolute=True))
        if after:
            parts.append(f'"{after}"')
        rendered[dialect] = "&".join(parts)
    return rendered


def loss_chart(spec: dict, sheet: str, rate_text: str, x_col: int, y_col: int,
               first_row: int, last_row: int, n_columns: int,
               rate_cell: tuple[int, int] | None = None, lr_col: int | None = None) -> Chart:
    """E_total against iteration for one sheet, right of its last table column. With
    `rate_cell` (0-based row, column of the learning rate) the title follows that cell, through
    a title cell two rows above the chart (above the table's header row). With `lr_col` (a
    schedule's lr column) the rate of each step is a second series on a second y axis."""
    x = Range(sheet, first_row, last_row, x_col)
    y = Range(sheet, first_row, last_row, y_col)
    col = n_columns + spec["gap_columns"]
    title_cell = None
    if rate_cell is not None and "{rate}" in spec["title"]:
        title_cell = TitleCell(first_row - 2, col, title_formulas(spec["title"], rate_cell))
    series = (Series(sheet, x, y),)
    if lr_col is not None:
        # Named by their header cells (the row above the table): a legend both formats show.
        series = (Series("E_total", x, y, (sheet, first_row - 1, y_col)),
                  Series("lr", x, Range(sheet, first_row, last_row, lr_col),
                         (sheet, first_row - 1, lr_col), secondary=True))
    return Chart(
        title=spec["title"].format(rate=rate_text),
        x_title=spec["x_title"], y_title=spec["y_title"],
        series=series,
        row=first_row, col=col,
        width_mm=spec["width_mm"], height_mm=spec["height_mm"], legend=lr_col is not None,
        title_cell=title_cell, y2_title="learning rate (lr)" if lr_col is not None else "",
    )


def combined_chart(spec: dict, charts: list[Chart], name_cells: list[tuple[str, int, int]],
                   row: int, col: int) -> Chart:
    """All sheets' loss series in one chart, each named by a cell, sharing the iteration axis."""
    series = tuple(Series(c.series[0].name, c.series[0].x, c.series[0].y, cell)
                   for c, cell in zip(charts, name_cells, strict=True))
    return Chart(spec["title"], spec["x_title"], spec["y_title"], series, row, col,
                 spec["width_mm"], spec["height_mm"], legend=True)


def columns_spanned(width_mm: float, column_width: int) -> int:
    """How many columns `column_width` characters wide a chart `width_mm` wide covers, in the
    format with the narrower such column (.xlsx: 7 px a character plus 5, at 96 px an inch)."""
    column_mm = (column_width * 7 + 5) * 25.4 / 96
    return math.ceil(width_mm / column_mm)


def extent(chart: Chart) -> tuple[int, int]:
    """The last row and column (0-based) the chart can reach, beyond the table's columns."""
    return (chart.row + math.ceil(chart.height_mm / MIN_ROW_MM),
            chart.col + math.ceil(chart.width_mm / MIN_COLUMN_MM))
