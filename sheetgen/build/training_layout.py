"""Where a sheet trained on a data set puts things: the general network's layout, with the
optimizer's parameter cells (β, ε, h) under the learning rate, the data and optimizer in the
settings, the update equations beside the forward ones, and the `data` sheet the sample columns
read from. Also the summary's loss per epoch.
"""

from __future__ import annotations

import math
from dataclasses import replace

from sheetgen.build.book import Cell, Column, Sheet
from sheetgen.build.network_layout import describe, network_template
from sheetgen.build.summary import FormulaCell, Summary
from sheetgen.config import Config
from sheetgen.core.cells import column_letter, quote_sheet, sheet_ref
from sheetgen.core.optim import LABELS, Training, build_cached, data_name

DATA_SHEET = "data"
DATA_FIRST_ROW = 3          # 1-based: title, header, then the samples
MAX_EPOCHS_SHOWN = 1000     # rows of the summary's loss-per-epoch table


def training(config: Config) -> Training:
    return build_cached(config.network, config.data, config.optimizer)


def training_template(config: Config) -> dict:
    """The template of the learning-rate sheets of a config with a [data] table."""
    spec, data, opt = config.network, config.data, config.optimizer
    train = training(config)
    tpl = network_template(spec)
    tpl["title"] = f"{describe(spec)} network trained on {data.n} samples with {opt.name}"
    # Shift everything from the settings down by the extra parameter rows.
    top = int(tpl["parameters"]["learning_rate"]["cell"][1:]) - 1      # 0-based row
    for k, name in enumerate(train.hyper, start=1):
        tpl["parameters"][name] = {"label": LABELS[name], "label_cell": f"C{top + 1 + k}",
                                   "cell": f"D{top + 1 + k}"}
    rows = tpl["settings"]["rows"]
    more = [("data", "data"), ("batch", "batch"), ("reduction", "reduction"),
            ("optimizer", "optimizer")]
    last = int(rows[-1]["cell"][1:])
    for k, (label, key) in enumerate(more, start=1):
        rows.append({"label_cell": f"F{last + k}", "cell": f"G{last + k}", "label": label, "key": key})
    used = max(last + len(more), top + 1 + len(train.hyper))   # 1-based last row of this block
    shift = max(0, used + 2 - _first_text_row(tpl))
    forward = [[_moved(ref, shift), text] for ref, text in tpl["text"][0]["cells"]]
    backward = [[_moved(ref, shift), text] for ref, text in tpl["text"][1]["cells"]]
    # The update equations under the backward ones, in column J.
    below = max(int(ref[1:]) for ref, _ in backward + forward) + 2
    updates = [[f"J{below}", f"Update ({opt.name}), g = the step's ∂E_total/∂w, combined by "
                             f"{data.reduction} over the step's samples"]]
    updates += [[f"J{below + 1 + k}", line] for k, line in enumerate(train.updates)]
    tpl["text"] = [{"cells": forward}, {"cells": backward}, {"cells": updates}]
    header_row = below + len(train.updates) + 2
    table = tpl["table"]
    table["header_row"], table["first_row"] = header_row, header_row + 1
    table["columns"] = [{"header": c.header, "quantity": c.quantity,
                         **({"integer": True} if c.integer else {})} for c in train.columns]
    first_error = next(k for k, c in enumerate(train.columns) if c.block in ("errors", "total"))
    tpl["print"] = {**tpl["print"], "upper": f"A1:Z{header_row - 1}",
                    "split_column": column_letter(first_error)}
    last_data = DATA_FIRST_ROW + data.n - 1
    tpl["ranges"] = {}
    for k, name in enumerate(data.names):
        col = column_letter(k)
        tpl["ranges"][data_name(name)] = {
            "xlsx": f"{DATA_SHEET}!${col}${DATA_FIRST_ROW}:${col}${last_data}",
            "ods": f"[${DATA_SHEET}.${col}${DATA_FIRST_ROW}:.${col}${last_data}]",
        }
    return tpl


def _first_text_row(tpl: dict) -> int:
    return min(int(ref[1:]) for block in tpl["text"] for ref, _ in block["cells"])


def _moved(ref: str, shift: int) -> str:
    col = ref.rstrip("0123456789")
    return f"{col}{int(ref[len(col):]) + shift}"


def settings_value(key: str, config: Config) -> str:
    data, opt = config.data, config.optimizer
    return {"data": f"{data.n} samples ({data.source}), on sheet {DATA_SHEET}",
            "batch": ("full: every sample in every step" if data.batch is None
                      else "1: one sample per step, in order, cycling" if data.batch == 1
                      else f"{data.batch}: {data.batch} samples per step, in order, cycling"),
            "reduction": data.reduction, "optimizer": opt.describe()}[key]


def data_sheet(config: Config, column_width: int, number_format: str) -> Sheet:
    """The samples, one row each, in plain numbers: the table's sample columns read them."""
    data = config.data
    cells = [Cell(0, 0, f"Samples ({data.source}): edit one and every sheet follows", "label")]
    cells += [Cell(1, k, name, "header") for k, name in enumerate(data.names)]
    for r, row in enumerate(data.rows):
        cells += [Cell(DATA_FIRST_ROW - 1 + r, k, value, "number") for k, value in enumerate(row)]
    columns = [Column(k, name, name, "number", None, None) for k, name in enumerate(data.names)]
    last = (DATA_FIRST_ROW - 1 + data.n - 1, len(data.names) - 1)
    return Sheet(name=DATA_SHEET, learning_rate=math.nan, cells=cells, header_row=1,
                 first_row=DATA_FIRST_ROW - 1, columns=columns, rows=iter(()), iterations=0,
                 column_width=column_width, number_format=number_format,
                 gradient_format=number_format, print_ranges=((0, 0, *last),))


def epoch_losses(config: Config, e_total: list[float]) -> list[float]:
    """The loss of each complete or partial epoch: E_total over its rows, averaged (mean) or
    added (sum)."""
    per = config.data.steps_per_epoch()
    out = []
    for start in range(0, len(e_total), per):
        chunk = e_total[start:start + per]
        out.append(sum(chunk) / len(chunk) if config.data.reduction == "mean" else math.fsum(chunk))
    return out


def add_epochs(summary: Summary, config: Config, sheets: list[Sheet],
               e_totals: dict[float, list[float]]) -> Summary:
    """The loss per epoch per learning rate, right of the summary's table and chart: one row
    per epoch, one column per learning-rate sheet, each a formula over that sheet's E_total."""
    per = config.data.steps_per_epoch()
    epochs = math.ceil(config.iterations / per)
    shown = min(epochs, MAX_EPOCHS_SHOWN)
    # Below the table and its chart, from column A.
    below = summary.header_row + len(sheets)
    if summary.chart is not None:
        from sheetgen.build.charts import extent

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
        losses = epoch_losses(config, e_totals[sheet.learning_rate])
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
