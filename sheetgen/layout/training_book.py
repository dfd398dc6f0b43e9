"""The parts of a data set's workbook beyond its learning-rate sheets: the `data` sheet the
sample columns read from, and the summary's loss per epoch per learning rate."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from sheetgen.config import Config
from sheetgen.core.cells import column_letter, quote_sheet, sheet_ref
from sheetgen.core.model import Trace
from sheetgen.layout.book import Cell, Column, Sheet
from sheetgen.layout.summary import FormulaCell, Summary
from sheetgen.layout.training_layout import DATA_FIRST_ROW, DATA_SHEET, MAX_EPOCHS_SHOWN


def data_sheet(config: Config, column_width: int, number_format: str) -> Sheet:
    """The samples, one row each, in plain numbers: the table's sample columns read them."""
    data = config.data
    cells = [Cell(0, 0, f"Samples ({data.source}): edit one and every sheet follows", "label")]
    cells += [Cell(1, k, name, "header") for k, name in enumerate(data.names)]
    for r, row in enumerate(data.rows):
        cells += [Cell(DATA_FIRST_ROW - 1 + r, k, value, "input") for k, value in enumerate(row)]
    columns = [Column(k, name, name, "input", None, None) for k, name in enumerate(data.names)]
    last = (DATA_FIRST_ROW - 1 + data.n - 1, len(data.names) - 1)
    # Written as plain cells above an empty table: nothing here is computed.
    empty = Trace(data.names, math.nan, np.empty((0, len(data.names))))
    return Sheet(name=DATA_SHEET, learning_rate=math.nan, cells=cells, header_row=1,
                 first_row=DATA_FIRST_ROW - 1, columns=columns, trace=empty, iterations=0,
                 column_width=column_width, number_format=number_format,
                 gradient_format=number_format, print_ranges=((0, 0, *last),))


def epoch_losses(config: Config, e_total) -> list[float]:
    """The loss of each complete or partial epoch: E_total over its rows, averaged (mean) or
    added (sum)."""
    per = config.data.steps_per_epoch()
    out = []
    for start in range(0, len(e_total), per):
        chunk = [float(x) for x in e_total[start:start + per]]
        out.append(sum(chunk) / len(chunk) if config.data.reduction == "mean" else sum(chunk))
    return out


def add_epochs(summary: Summary, config: Config, sheets: list[Sheet]) -> Summary:
    """The loss per epoch per learning rate, right of the summary's table and chart: one row
    per epoch, one column per learning-rate sheet, each a formula over that sheet's E_total."""
    per = config.data.steps_per_epoch()
    epochs = math.ceil(config.iterations / per)
    shown = min(epochs, MAX_EPOCHS_SHOWN)
    # Below the table and its chart, from column A.
    below = summary.header_row + len(sheets)
    if summary.chart is not None:
        from sheetgen.layout.charts import extent

        below = max(below, extent(summary.chart)[0])
    col0, row0 = 0, below + 3
    fn = "AVERAGE" if config.data.reduction == "mean" else "SUM"
    cells = list(summary.cells)
    title = (f"Loss per epoch ({per} step{'s' if per > 1 else ''} each): "
             f"{fn.lower()} of E_total over the epoch's steps")
    if shown < epochs:
        title += f"; the first {shown:,} of {epochs:,} epochs"
    cells.append(Cell(row0 - 1, col0, title, "label"))
    cells.append(Cell(row0, col0, "epoch", "header"))
    formulas = list(summary.formulas)
    for j, sheet in enumerate(sheets):
        col = col0 + 1 + j
        cells.append(Cell(row0, col, sheet.name, "header"))
        e_col = next(c.index for c in sheet.columns if c.quantity == "E_total")
        losses = epoch_losses(config, sheet.trace.column("E_total")[:shown * per])
        letter = column_letter(e_col)
        for e in range(shown):
            first = sheet.first_row + e * per + 1
            last = min(sheet.first_row + (e + 1) * per, sheet.first_row + config.iterations)
            name = quote_sheet(sheet.name)
            rng = {"xlsx": f"{name}!${letter}${first}:${letter}${last}",
                   "ods": f"[${name}.${letter}${first}:.${letter}${last}]"}
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
