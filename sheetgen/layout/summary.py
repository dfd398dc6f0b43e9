"""The summary sheet: one row per learning rate, every value a formula over that rate's sheet.

Cached values are the first and last rows of each sheet's trace: the same run as the sheet.
"""

from __future__ import annotations

from dataclasses import dataclass

from sheetgen.core.cells import column_letter, parse_cell, sheet_ref
from sheetgen.core.template import format_rate, template
from sheetgen.layout.book import Cell, Sheet
from sheetgen.layout.charts import Chart, as_typed, columns_spanned, combined_chart, extent


@dataclass(frozen=True)
class FormulaCell:
    row: int
    col: int
    formulas: dict[str, str]   # per dialect, without the leading "="
    value: float | str         # cached value
    style: str


@dataclass(frozen=True)
class Highlight:
    """Rows first_row..last_row, columns first_col..last_col (0-based): a row is highlighted
    while `formulas[dialect].format(r=its 1-based row)` is true, i.e. it has the best rate."""

    first_row: int
    last_row: int
    first_col: int
    last_col: int
    formulas: dict[str, str]


@dataclass
class Summary:
    name: str
    cells: list[Cell]           # plain text: title, note, headers, sheet names
    formulas: list[FormulaCell]
    chart: Chart | None
    n_columns: int
    header_row: int
    print_ranges: tuple[tuple[int, int, int, int], ...] = ()
    highlight: Highlight | None = None
    column_width: int = 14          # characters


def build_summary(sheets: list[Sheet], tpl: dict | None = None) -> Summary:
    """The summary of the learning-rate sheets, its cached values from their traces; `tpl`: the
    layout the sheets were built with (the reference template when None)."""
    tpl = tpl or template()
    spec = tpl["summary"]
    header_row = spec["header_row"] - 1
    columns = spec["columns"]
    # The compact table (up to `chart_after`), the chart beside it, then the remaining columns.
    chart_spec = spec["chart"]
    after = next(k for k, col in enumerate(columns) if col["header"] == spec["chart_after"])
    chart_col = after + 1 + chart_spec["gap_columns"]
    width = spec["column_width"]
    rest_col = chart_col + columns_spanned(chart_spec["width_mm"], width) + 1
    position = [k if k <= after else rest_col + k - after - 1 for k in range(len(columns))]
    cells = [Cell(*parse_cell(spec["title_cell"]), spec["title"], "label"),
             Cell(*parse_cell(spec["note_cell"]), spec["note"], "text")]
    cells += [Cell(header_row, position[c], col["header"], "header") for c, col in enumerate(columns)]
    rate_row, rate_col = parse_cell(tpl["parameters"]["learning_rate"]["cell"])
    best_col = next(c for c, col in enumerate(columns) if col["header"] == spec["best_of"])
    mark_col = next(c for c, col in enumerate(columns) if col["source"] == "best")
    first_data, last_data = header_row + 1, header_row + len(sheets)

    formulas: list[FormulaCell] = []
    finals = []
    for k, sheet in enumerate(sheets):
        row = header_row + 1 + k
        first, last = sheet.trace.values[0].tolist(), sheet.trace.values[-1].tolist()
        index = {column.quantity: column.index for column in sheet.columns}
        last_row = sheet.first_row + sheet.iterations - 1
        for c, col in enumerate(columns):
            source, at_col = col["source"], position[c]
            if source == "sheet":
                cells.append(Cell(row, at_col, sheet.name, "text"))
            elif source == "learning_rate":
                formulas.append(FormulaCell(row, at_col, sheet_ref(sheet.name, rate_row, rate_col),
                                            float(sheet.learning_rate), "rate"))
            elif source == "curve":
                rate = sheet_ref(sheet.name, rate_row, rate_col)
                formulas.append(FormulaCell(row, at_col, {
                    d: f'"lr="&{as_typed(rate[d], d)}' for d in rate},
                    f"lr={format_rate(sheet.learning_rate)}", "text"))
            elif source in ("first", "last"):
                i = index[col["quantity"]]
                value = (first if source == "first" else last)[i]
                at = sheet.first_row if source == "first" else last_row
                formulas.append(FormulaCell(row, at_col, sheet_ref(sheet.name, at, i), value, "number"))
                if c == best_col:
                    finals.append(value)
    # Exactly one "best": the first row holding the lowest value (MATCH finds the first), so that
    # two sheets edited to the same rate do not both claim it.
    best_k = finals.index(min(finals)) if finals else None
    here = column_letter(position[best_col])
    block = {"xlsx": f"{here}${first_data + 1}:{here}${last_data + 1}",
             "ods": f"[.{here}${first_data + 1}:.{here}${last_data + 1}]"}
    for k in range(len(sheets)):
        row = header_row + 1 + k
        mark = spec["best_text"]
        formulas.append(FormulaCell(row, position[mark_col], {
            "xlsx": f'IF(MATCH(MIN({block["xlsx"]}),{block["xlsx"]},0)={k + 1},"{mark}","")',
            "ods": f'IF(MATCH(MIN({block["ods"]});{block["ods"]};0)={k + 1};"{mark}";"")',
        }, mark if k == best_k else "", "label"))
    cells.sort(key=lambda c: (c.row, c.col))
    formulas.sort(key=lambda f: (f.row, f.col))

    # The legend names each curve by its row's "curve" cell, a text formula over the sheet's own
    # rate cell (as typed: Gnumeric writes a number cell 0.01 as 0.0099999999999999999998): an
    # edited rate renames its curve.
    rate_col_at = position[next(c for c, col in enumerate(columns) if col["source"] == "curve")]
    charts = [s.chart for s in sheets if s.chart is not None]
    chart = None
    if charts and len(charts) == len(sheets):
        chart = combined_chart(chart_spec, charts,
                               [(spec["name"], header_row + 1 + k, rate_col_at) for k in range(len(sheets))],
                               header_row, chart_col, [f"lr={format_rate(s.learning_rate)}" for s in sheets])
    n_columns = position[-1] + 1
    last_row, last_col = header_row + len(sheets), n_columns - 1
    if chart is not None:
        last_row, last_col = (max(a, b) for a, b in zip((last_row, last_col), extent(chart), strict=True))
    highlight = None
    if sheets:
        here = column_letter(position[best_col])
        absolute = {"xlsx": f"${here}${first_data + 1}:${here}${last_data + 1}",
                    "ods": f"[.${here}${first_data + 1}:.${here}${last_data + 1}]"}
        highlight = Highlight(first_data, last_data, 0, after, {
            "xlsx": f"MATCH(MIN({absolute['xlsx']}),{absolute['xlsx']},0)=ROW(${here}{{r}})-{first_data}",
            "ods": f"MATCH(MIN({absolute['ods']});{absolute['ods']};0)=ROW([.${here}${{r}}])-{first_data}",
        })
    return Summary(spec["name"], cells, formulas, chart, n_columns, header_row,
                   ((0, 0, last_row, last_col),), highlight, width)
