"""From the template and the model to cells: what goes where, with which formula and value.

The layout is the one place that knows cell positions; both writers render what it returns,
and the reader uses the same template to recognise a table. Formulas are rendered once per
column into a row template (``{r}`` this row, ``{p}`` the row above) in each writer's dialect.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from sheetgen.core.cells import DIALECTS, parse_cell, ref, separator
from sheetgen.core.expressions import Expression
from sheetgen.core.model import Network, Trace
from sheetgen.core.model import trace as run_once
from sheetgen.core.network import spanner
from sheetgen.core.template import applies, format_rate, sheet_name, template
from sheetgen.core.training import Training
from sheetgen.layout.charts import Chart, extent, loss_chart
from sheetgen.layout.picture import Picture, build_picture
from sheetgen.layout.settings import setting_value

if TYPE_CHECKING:
    from sheetgen.layout.summary import Summary

# --- sheets ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Cell:
    """A cell outside the table body. `style`: text, label, header, parameter, note."""

    row: int
    col: int
    value: str | float
    style: str = "text"
    span: int = 1                    # columns it covers (merged), from `col` on


@dataclass(frozen=True)
class Column:
    index: int
    header: str
    quantity: str
    style: str                       # number | gradient | integer | input
    first: dict[str, str] | None     # formula of the first row per dialect; None: plain value
    later: dict[str, str]            # formula template of later rows per dialect ({r}, {p})
    blank_from: int | None = None    # an exercise: the cells from this table row on are left empty


@dataclass
class Sheet:
    name: str
    learning_rate: float
    cells: list[Cell]                # sorted by row then column; includes the header row
    header_row: int                  # 0-based
    first_row: int                   # 0-based
    columns: list[Column]
    trace: Trace                     # the model's one run at this rate: every row's values
    iterations: int
    column_width: int
    number_format: str
    gradient_format: str
    chart: Chart | None = None       # the loss chart, right of the table
    picture: Picture | None = None   # the network drawing, from B1
    print_ranges: tuple[tuple[int, int, int, int], ...] = ()  # (row, col, last row, last col)

    @property
    def n_columns(self) -> int:
        """The columns the writers give the sheet's width: the table's, and those of the block
        above it (its printed upper block), whose text runs on into them."""
        upper = self.print_ranges[0][3] + 1 if self.print_ranges else 0
        return max(len(self.columns), upper)

    @property
    def rows(self) -> Iterator[list[float]]:
        """The table's rows, values in column order: a new pass each time it is read."""
        return self.trace.rows()


@dataclass
class Book:
    sheets: list[Sheet]
    training: Training
    summary: Summary | None = None   # the first sheet: one row per learning rate
    print_scale: int = 100           # percent, for printing and PDF export
    maps: object | None = None       # an image network's `maps` sheet (layout/maps.py), last
    small: bool = False              # a few rows (a class's exercises): .xlsx built in memory


def sheet_template(training: Training) -> dict:
    """The layout of a training's sheets: the reference exercise's template (its design), or
    one computed for its network (and data set)."""
    if training.design == "reference":
        return template()
    if training.data is not None:
        from sheetgen.layout.training_layout import training_template

        return training_template(training)
    from sheetgen.layout.network_layout import network_template

    return network_template(training)


def _column_specs(training: Training) -> list[dict]:
    """The table's columns, as the training's graph orders and names them."""
    return [{"header": c.header, "quantity": c.quantity, **({"integer": True} if c.integer else {})}
            for c in training.columns]


def _parameter_specs(tpl: dict, biases: str) -> dict[str, dict]:
    return {name: p for name, p in tpl["parameters"].items() if applies(p, biases)}


def _typed(q) -> bool:
    """A column of typed numbers (an input or target carried unchanged, or a sample read from
    the data sheet): shown as typed, in the General format."""
    if q.is_state:
        return q.next is not None and q.next.text.strip() == q.name
    return q.formula is not None and q.formula.text.startswith("index(")


def _formula_templates(net: Network, column_of: dict[str, int], params: dict[str, tuple[int, int]],
                       expression: Expression, row_key: str,
                       ranges: dict[str, dict[str, str]] | None = None) -> dict[str, str]:
    rendered = {}
    for dialect in DIALECTS:
        def reference(name: str, dialect: str = dialect) -> str:
            if name in column_of:
                return ref(dialect, column_of[name], "{" + row_key + "}")
            if ranges and name in ranges:  # a data column: a range on the data sheet
                return ranges[name][dialect]
            row, col = params[name]
            return ref(dialect, col, str(row + 1), absolute=True)
        span = spanner(column_of, dialect, "{" + row_key + "}")
        rendered[dialect] = expression.to_formula(reference, separator(dialect), span)
    return rendered


def build_sheet(training: Training, learning_rate: float, net: Network | None = None,
                trace: Trace | None = None) -> Sheet:
    """One learning rate's sheet; `trace` is that rate's run of `net` (run here when None)."""
    tpl = sheet_template(training)
    table = tpl["table"]
    biases = training.setup.biases
    net = net or training.network
    specs = _column_specs(training)
    column_of = {spec["quantity"]: i for i, spec in enumerate(specs)}
    params = {name: parse_cell(p["cell"]) for name, p in _parameter_specs(tpl, biases).items()}
    ranges = tpl.get("ranges")
    header_row = table["header_row"] - 1

    cells: list[Cell] = []
    marks = {"b1": "+b1" if biases != "none" else "", "b2": "+b2" if biases != "none" else ""}
    for block in tpl["text"]:
        if applies(block, biases):
            for ref, text in block["cells"]:
                cells.append(Cell(*parse_cell(ref), text.format(**marks), "text"))
    values = training.setup.values() | {"learning_rate": learning_rate}
    for name, p in _parameter_specs(tpl, biases).items():
        cells.append(Cell(*parse_cell(p["label_cell"]), p["label"], "label"))
        cells.append(Cell(*parse_cell(p["cell"]), float(values[name]), "parameter"))
    settings = tpl["settings"]
    cells.append(Cell(*parse_cell(settings["title_cell"]), settings["title"], "label"))
    for entry in settings["rows"]:
        cells.append(Cell(*parse_cell(entry["label_cell"]), entry["label"], "label"))
        cells.append(Cell(*parse_cell(entry["cell"]), setting_value(entry["key"], training), "text"))
    if training.reference_errata:
        note = tpl["errata_note"]
        cells.append(Cell(*parse_cell(note["cell"]), note["text"], "note"))
    for i, spec in enumerate(specs):
        cells.append(Cell(header_row, i, spec["header"], "header"))
    if training.spec.unrolled:  # each time step's columns under "t = k"
        from sheetgen.layout.unrolled import step_labels

        cells += [Cell(header_row - 1, first, label, "step", span)
                  for first, span, label in step_labels([s["quantity"] for s in specs])]
    cells.sort(key=lambda c: (c.row, c.col))

    columns = []
    for i, (spec, q) in enumerate(zip(specs, net.quantities, strict=True)):
        style = ("integer" if spec.get("integer") else "gradient" if q.gradient
                 else "input" if _typed(q) else "number")
        if q.is_state:
            first = None
            later = _formula_templates(net, column_of, params, q.next, "p", ranges)
        else:
            # The first row has no row above: a prev(x) reference reads its own row there.
            first = _formula_templates(net, column_of, params, q.formula.without_previous_row(), "r",
                                       ranges)
            later = _formula_templates(net, column_of, params, q.formula, "r", ranges)
        columns.append(Column(i, spec["header"], q.name, style, first, later))

    sheet = Sheet(
        name=sheet_name(learning_rate),
        learning_rate=learning_rate,
        cells=cells,
        header_row=header_row,
        first_row=table["first_row"] - 1,
        columns=columns,
        trace=trace or run_once(net, training.setup, learning_rate, training.iterations),
        iterations=training.iterations,
        column_width=table["column_width"],
        number_format=table["number_format"],
        gradient_format=table["gradient_format"],
        chart=_loss_chart(learning_rate, specs, table["first_row"] - 1, training.iterations, tpl),
        picture=network_picture(training, tpl),
    )
    sheet.print_ranges = print_ranges(sheet, tpl)
    return sheet


def print_ranges(sheet: Sheet, tpl: dict | None = None) -> tuple[tuple[int, int, int, int], ...]:
    """The blocks a sheet prints as: its upper part, then the table's two parts (with the chart)."""
    spec = (tpl or template())["print"]
    upper_first, upper_last = (parse_cell(ref) for ref in spec["upper"].split(":"))
    split = parse_cell(spec["split_column"] + "1")[1]
    last_row, last_col = sheet.first_row + sheet.iterations - 1, len(sheet.columns) - 1
    if sheet.chart is not None:
        chart_row, chart_col = extent(sheet.chart)
        last_row, last_col = max(last_row, chart_row), max(last_col, chart_col)
    return ((*upper_first, *upper_last), (sheet.header_row, 0, last_row, split - 1),
            (sheet.header_row, split, last_row, last_col))


def _loss_chart(learning_rate: float, specs: list[dict], first_row: int, iterations: int,
                tpl: dict) -> Chart:
    spec = tpl["chart"]
    column_of = {s["quantity"]: i for i, s in enumerate(specs)}
    return loss_chart(spec, sheet_name(learning_rate), format_rate(learning_rate),
                      column_of[spec["x"]], column_of[spec["y"]],
                      first_row, first_row + iterations - 1, len(specs),
                      parse_cell(tpl["parameters"]["learning_rate"]["cell"]), column_of.get("lr"))


def network_picture(training: Training, tpl: dict | None = None) -> Picture:
    """The network drawing, labelled with this workbook's initial weights, from B1 (or, after
    the loss chart, where the sheet's template puts it: layout/upper.py, chart_place)."""
    values = training.setup.values()
    if training.design != "reference":
        from sheetgen.layout.network_layout import network_drawing

        tpl = tpl or sheet_template(training)
        picture = network_drawing(training.spec, values, (0, tpl.get("picture_col", 1)))
        return replace(picture, scale=tpl.get("picture_scale", 1.0))
    spec = template()["picture"]
    weights = {f"w{k}": values[f"w{k}"] for k in range(1, 9)}
    return build_picture(spec, weights, parse_cell(spec["anchor"]), training.setup.biases != "none")


def is_blank(column: Column, k: int) -> bool:
    """Whether table row `k` (0-based) of `column` is left for the student (an exercise)."""
    return column.blank_from is not None and k >= column.blank_from


def render_row(column: Column, dialect: str, row_number: int, first: bool) -> str | None:
    """The formula text of one cell (1-based spreadsheet row), or None for a plain value."""
    pattern = column.first if first else column.later
    if pattern is None:
        return None
    return pattern[dialect].format(r=row_number, p=row_number - 1)


__all__ = ["Book", "Cell", "Column", "Sheet", "build_sheet", "is_blank", "render_row"]
