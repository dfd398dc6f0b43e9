"""Chart specs: which cells a chart plots, its titles and where it sits. Pure data, no files.

A chart is a scatter chart with straight lines: x is the numeric iteration column, never text
categories, so no series can be mistaken for the x axis. Both writers render these specs,
each in its own range syntax, from 0-based (sheet, row, column) positions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sheetgen.core.cells import DIALECTS, parse_cell, ref, separator

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
    """A cell whose formula makes a chart's title from live cells, just above the chart. The chart's
    own title names no rate: an .ods chart title is fixed text, and LibreOffice shows an .xlsx
    title linked to a cell as fixed text too, so an edited rate would leave it stale."""

    row: int
    col: int
    formulas: dict[str, str]   # per dialect, without the leading "="
    text: str = ""             # its value now, cached in the file


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
    x_offset_mm: float = 0.0  # from the anchor column's left edge


def as_typed(reference: str, dialect: str) -> str:
    """A formula giving a number cell's text as typed (0.01, 2, 0.0005) in every engine. Joining
    the number itself with & lets Gnumeric write 0.01 as 0.0099999999999999999998, as does
    TEXT(x, "General") there; a fixed pattern of optional decimals does not, and a whole number
    gets "0" so that no decimal point trails it."""
    sep = separator(dialect)
    return (f'IF({reference}=INT({reference}){sep}TEXT({reference}{sep}"0"){sep}'
            f'TEXT({reference}{sep}"0.############"))')


def title_formulas(title: str, rate_cell: tuple[int, int]) -> dict[str, str]:
    """'when learning rate is {rate}' -> '"when learning rate is "&<$G$13 as typed>': the title
    as text joined with the learning-rate cell's text as typed (0.1, 2)."""
    before, _, after = title.partition("{rate}")
    rendered = {}
    for dialect in DIALECTS:
        parts = [f'"{before}"'] if before else []
        parts.append(as_typed(ref(dialect, rate_cell[1], str(rate_cell[0] + 1), absolute=True), dialect))
        if after:
            parts.append(f'"{after}"')
        rendered[dialect] = "&".join(parts)
    return rendered


def loss_chart(spec: dict, sheet: str, rate_text: str, x_col: int, y_col: int,
               first_row: int, last_row: int, n_columns: int,
               rate_cell: tuple[int, int] | None = None, lr_col: int | None = None) -> Chart:
    """E_total against iteration for one sheet. With `spec["anchor"]` (the upper block's place:
    layout/upper.py, chart_place) it sits in the frozen rows, seen whole on opening and never
    scrolled away; else right of the table's last column. With `rate_cell` (0-based row, column
    of the learning rate) a title cell names the rate, live (the chart's own title does not):
    `spec["title_cell"]`, else two rows above the chart. With `lr_col` (a schedule's lr column)
    the rate of each step is a second series on a second y axis."""
    x = Range(sheet, first_row, last_row, x_col)
    y = Range(sheet, first_row, last_row, y_col)
    if "anchor" in spec:
        row, col = parse_cell(spec["anchor"])
        title_at = parse_cell(spec["title_cell"])
    else:
        row, col = first_row, n_columns + spec["gap_columns"]
        title_at = (first_row - 2, col)
    title_cell = None
    if rate_cell is not None and "{rate}" in spec["title"]:
        title_cell = TitleCell(*title_at, title_formulas(spec["title"], rate_cell),
                               spec["title"].format(rate=rate_text))
    series = (Series(sheet, x, y),)
    if lr_col is not None:
        # Named by their header cells (the row above the table): a legend both formats show.
        series = (Series("E_total", x, y, (sheet, first_row - 1, y_col)),
                  Series("lr", x, Range(sheet, first_row, last_row, lr_col),
                         (sheet, first_row - 1, lr_col), secondary=True))
    return Chart(
        title=spec["sheet_title"] if title_cell else spec["title"].format(rate=rate_text),
        x_title=spec["x_title"], y_title=spec["y_title"],
        series=series,
        row=row, col=col,
        width_mm=spec["width_mm"], height_mm=spec["height_mm"], legend=lr_col is not None,
        title_cell=title_cell, y2_title="learning rate (lr)" if lr_col is not None else "",
        x_offset_mm=spec.get("x_offset_mm", 0.0),
    )


def combined_chart(spec: dict, charts: list[Chart], name_cells: list[tuple[str, int, int]],
                   row: int, col: int, names: list[str] | None = None) -> Chart:
    """All sheets' loss series in one chart, each named by a cell (`names`: that cell's text now),
    sharing the iteration axis."""
    names = names or [c.series[0].name for c in charts]
    series = tuple(Series(name, c.series[0].x, c.series[0].y, cell)
                   for c, cell, name in zip(charts, name_cells, names, strict=True))
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
            chart.col + math.ceil((chart.x_offset_mm + chart.width_mm) / MIN_COLUMN_MM))
