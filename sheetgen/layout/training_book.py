"""The parts of a data set's workbook beyond its learning-rate sheets: the `data` sheet the
sample columns read from, and the summary's loss per epoch per learning rate."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from sheetgen.core.cells import DIALECTS, a1, cell_range, column_letter, parse_cell, quote_sheet, sheet_ref
from sheetgen.core.data import data_name
from sheetgen.core.model import Trace
from sheetgen.core.template import format_rate
from sheetgen.core.training import Training
from sheetgen.layout.book import Cell, Column, Sheet
from sheetgen.layout.charts import as_typed
from sheetgen.layout.summary import FormulaCell, Summary
from sheetgen.layout.training_layout import (
    DATA_FIRST_ROW,
    DATA_SHEET,
    MAX_EPOCHS_SHOWN,
    training_template,
)


def data_sheet(training: Training, column_width: int, number_format: str) -> Sheet:
    """The samples, one row each, in plain numbers: the table's sample columns read them."""
    data = training.data
    cells = [Cell(0, 0, f"Samples ({data.source}): edit one and every sheet follows", "label")]
    cells += [Cell(1, k, name, "header") for k, name in enumerate(data.names)]
    for r, row in enumerate(data.rows):
        cells += [Cell(DATA_FIRST_ROW - 1 + r, k, value, "input") for k, value in enumerate(row)]
    columns = [Column(k, name, name, "input", None, None) for k, name in enumerate(data.names)]
    last = (DATA_FIRST_ROW - 1 + data.n - 1, len(data.names) - 1)
    order = training.setup.values().get(data_name("order"))
    if order is not None:  # shuffle: each epoch's order of the samples, one after another
        k = len(data.names)
        cells.append(Cell(1, k, "order", "header"))
        cells += [Cell(DATA_FIRST_ROW - 1 + r, k, number, "input") for r, number in enumerate(order)]
        columns.append(Column(k, "order", "order", "input", None, None))
        last = (max(last[0], DATA_FIRST_ROW - 2 + len(order)), k)
    # Written as plain cells above an empty table: nothing here is computed.
    empty = Trace(data.names, math.nan, np.empty((0, len(data.names))))
    return Sheet(name=DATA_SHEET, learning_rate=math.nan, cells=cells, header_row=1,
                 first_row=DATA_FIRST_ROW - 1, columns=columns, trace=empty, iterations=0,
                 column_width=column_width, number_format=number_format,
                 gradient_format=number_format, print_ranges=((0, 0, *last),))


def epoch_function(training: Training) -> str:
    """How an epoch's steps combine into its loss: added under `reduction = "sum"`, else averaged
    (a "mean" or "torch" step's E_total is already a mean over its batch)."""
    return "SUM" if training.data.reduction == "sum" else "AVERAGE"


def epoch_losses(training: Training, e_total) -> list[float]:
    """The loss of each complete or partial epoch: E_total over its rows, averaged (mean) or
    added (sum)."""
    per = training.data.steps_per_epoch()
    out = []
    for start in range(0, len(e_total), per):
        chunk = [float(x) for x in e_total[start:start + per]]
        out.append(sum(chunk) if epoch_function(training) == "SUM" else sum(chunk) / len(chunk))
    return out


def add_epochs(summary: Summary, training: Training, sheets: list[Sheet]) -> Summary:
    """The loss per epoch per learning rate, right of the summary's table and chart: one row
    per epoch, one column per learning-rate sheet, each a formula over that sheet's E_total."""
    per = training.data.steps_per_epoch()
    epochs = math.ceil(training.iterations / per)
    shown = min(epochs, MAX_EPOCHS_SHOWN)
    # Below the table and its chart, from column A.
    below = summary.header_row + len(sheets)
    if summary.chart is not None:
        from sheetgen.layout.charts import extent

        below = max(below, extent(summary.chart)[0])
    col0, row0 = 0, below + 3
    fn = epoch_function(training)
    cells = list(summary.cells)
    title = (f"Loss per epoch ({per} step{'s' if per > 1 else ''} each): "
             f"{fn.lower()} of E_total over the epoch's steps")
    if shown < epochs:
        title += f"; the first {shown:,} of {epochs:,} epochs"
    cells.append(Cell(row0 - 1, col0, title, "label"))
    cells.append(Cell(row0, col0, "epoch", "header"))
    formulas = list(summary.formulas)
    rate_cell = parse_cell(training_template(training)["parameters"]["learning_rate"]["cell"])
    for j, sheet in enumerate(sheets):
        col = col0 + 1 + j
        # Named by the sheet's rate as typed, live: an edited rate renames its column.
        rate = sheet_ref(sheet.name, *rate_cell)
        formulas.append(FormulaCell(row0, col, {d: f'"lr="&{as_typed(rate[d], d)}' for d in rate},
                                    f"lr={format_rate(sheet.learning_rate)}", "header"))
        e_col = next(c.index for c in sheet.columns if c.quantity == "E_total")
        losses = epoch_losses(training, sheet.trace.column("E_total")[:shown * per])
        for e in range(shown):
            first = sheet.first_row + e * per + 1
            last = min(sheet.first_row + (e + 1) * per, sheet.first_row + training.iterations)
            rng = {d: cell_range(d, a1(e_col, first, True, True), a1(e_col, last, True, True), sheet.name)
                   for d in DIALECTS}
            if first == last:
                text = sheet_ref(sheet.name, first - 1, e_col)
            else:
                text = {d: f"{fn}({r})" for d, r in rng.items()}
            formulas.append(FormulaCell(row0 + 1 + e, col, text, losses[e], "number"))
    for e in range(shown):
        cells.append(Cell(row0 + 1 + e, col0, e + 1, "integer"))
    cells.sort(key=lambda c: (c.row, c.col))
    formulas.sort(key=lambda f: (f.row, f.col))
    n_columns = max(summary.n_columns, col0 + 1 + len(sheets))
    last_row = max(summary.print_ranges[0][2], row0 + shown)
    last_col = max(summary.print_ranges[0][3], n_columns - 1)
    return replace(summary, cells=cells, formulas=formulas, n_columns=n_columns,
                   print_ranges=((0, 0, last_row, last_col),))


LAST_EPOCH = "last epoch's loss"


def judge_by_epochs(summary: Summary, training: Training, sheets: list[Sheet]) -> Summary:
    """A data set is judged per epoch: the summary's "final E_total" column becomes the last
    epoch's loss (a formula over that epoch's rows), which "best" and the highlight read; each
    sheet's chart and the summary's chart plot the loss per epoch from the epoch table that
    `add_epochs` put on the summary (one sample's loss per step is a saw-tooth)."""
    from sheetgen.layout.charts import Range

    best_header = next(c for c in summary.cells if c.style == "header" and c.value == "final E_total")
    col = best_header.col
    per = training.data.steps_per_epoch()
    fn = epoch_function(training)
    finals = {}
    formulas = []
    rows = {c.row: c.value for c in summary.cells if c.col == 0 and c.style == "text"}
    for f in summary.formulas:
        if f.col != col or not summary.header_row < f.row <= summary.header_row + len(sheets):
            formulas.append(f)
            continue
        sheet = next(s for s in sheets if s.name == rows.get(f.row))
        e_col = next(c.index for c in sheet.columns if c.quantity == "E_total")
        letter, name = column_letter(e_col), quote_sheet(sheet.name)
        last = sheet.first_row + training.iterations            # 1-based last table row
        first = max(sheet.first_row + 1, last - ((training.iterations - 1) % per))
        loss = epoch_losses(training, sheet.trace.column("E_total"))[-1]
        finals[f.row] = loss
        text = (sheet_ref(sheet.name, first - 1, e_col) if first == last else
                {"xlsx": f"{fn}({name}!${letter}${first}:${letter}${last})",
                 "ods": f"{fn}([${name}.${letter}${first}:.${letter}${last}])"})
        formulas.append(FormulaCell(f.row, col, text, loss, "number"))
    best_row = min(finals, key=finals.get) if finals else None
    formulas = [replace(f, value="best" if f.row == best_row else "") if f.style == "label"
                and f.row in finals else f for f in formulas]
    cells = [replace(c, value=LAST_EPOCH) if c is best_header else c for c in summary.cells]
    cells = [replace(c, value=c.value.replace("the lowest final E_total", f"the lowest {LAST_EPOCH}"))
             if isinstance(c.value, str) and "the lowest final E_total" in c.value else c for c in cells]

    # The epoch table: its header row holds "epoch", then one column per sheet.
    epoch_header = next(c for c in summary.cells if c.style == "header" and c.value == "epoch")
    shown = min(math.ceil(training.iterations / per), MAX_EPOCHS_SHOWN)
    first_row, last_row = epoch_header.row + 1, epoch_header.row + shown
    x = Range(summary.name, first_row, last_row, epoch_header.col)
    # Short: the sheets' charts are as tall as the frozen rows, and a long axis title wraps.
    y_title = f"E_total, epoch {'sum' if fn == 'SUM' else 'mean'}"
    for j, sheet in enumerate(sheets):
        if sheet.chart is None or len(sheet.chart.series) > 1:
            continue  # a schedule's chart keeps its steps: the rate of each is its second series
        y = Range(summary.name, first_row, last_row, epoch_header.col + 1 + j)
        series = replace(sheet.chart.series[0], x=x, y=y)
        sheet.chart = replace(sheet.chart, series=(series,), x_title="epoch", y_title=y_title,
                              title="loss per epoch")
    chart = summary.chart
    if chart is not None:
        series = tuple(replace(s, x=x, y=Range(summary.name, first_row, last_row, epoch_header.col + 1 + j))
                       for j, s in enumerate(chart.series))
        chart = replace(chart, series=series, x_title="epoch", y_title=y_title)
    return replace(summary, cells=cells, formulas=formulas, chart=chart)
