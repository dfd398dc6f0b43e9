"""Where a sheet trained on a data set puts things: the general network's layout, with the
optimizer's parameter cells (β, ε, h) under the learning rate, the data and optimizer in the
settings, the update equations after the derivations (all within the upper block:
layout/upper.py), and the ranges of the `data` sheet the sample columns read from (the data
sheet and the summary's epochs: layout/training_book.py).
"""

from __future__ import annotations

from sheetgen.core.cells import DIALECTS, a1, cell_range, column_letter
from sheetgen.core.data import data_name
from sheetgen.core.optimizers import LABELS
from sheetgen.core.training import Training
from sheetgen.layout.network_layout import network_template, upper_block
from sheetgen.layout.settings import DATA_SHEET

DATA_FIRST_ROW = 3          # 1-based: title, header, then the samples
MAX_EPOCHS_SHOWN = 1000     # rows of the summary's loss-per-epoch table


def training_template(train: Training) -> dict:
    """The template of the learning-rate sheets of a training on a data set."""
    data, opt = train.data, train.optimizer
    tpl = network_template(train)
    tpl["title"] = f"{train.describe()} network trained on {data.n} samples with {opt.name}"
    forward = list(train.equations)
    k = data.batch_size
    if k > 1 or data.divisor(train.spec) != 1:  # the step combines its samples' losses
        forward[-1] = forward[-1].replace("E_total = ", "E_s = ", 1) + "   (each sample s of the step)"
        shown = [f"E_s{j}" for j in range(1, k + 1)]
        combined = " + ".join(shown if k <= 4 else shown[:2] + ["…", shown[-1]])
        if data.short_last:
            combined += "  (a slot outside the epoch's short last batch weighs 0)"
        count = "batch_size" if data.short_last else str(k)
        per = data.divisor(train.spec)
        divisor = "" if data.reduction == "sum" else (
            f" / {count}" if per == 1 else f" / ({count} · {per} outputs)")
        forward.append(f"E_total = ({combined}){divisor}")
    updates = (f"Update ({opt.name}), g = the step's ∂E_total/∂w, combined by {data.reduction} "
               "over the step's samples", list(train.updates))
    header_row, last_col = upper_block(
        tpl, train, [(name, LABELS[name]) for name in train.hyper],
        [("data", "data"), ("batch", "batch"), ("reduction", "reduction"), ("optimizer", "optimizer")],
        forward, [updates])
    table = tpl["table"]
    table["header_row"], table["first_row"] = header_row, header_row + 1
    table["columns"] = [{"header": c.header, "quantity": c.quantity,
                         **({"integer": True} if c.integer else {})} for c in train.columns]
    first_error = next(k for k, c in enumerate(train.columns) if c.block in ("errors", "total"))
    tpl["print"] = {**tpl["print"], "upper": f"A1:{column_letter(last_col)}{header_row - 1}",
                    "split_column": column_letter(first_error)}
    last_data = DATA_FIRST_ROW + data.n - 1
    tpl["ranges"] = {}
    columns = list(data.names)
    if data_name("order") in train.data_names:
        columns.append("order")
    for k, name in enumerate(columns):
        end = last_data if name != "order" else DATA_FIRST_ROW + data.n * data.epochs - 1
        first, last = a1(k, DATA_FIRST_ROW, True, True), a1(k, end, True, True)
        tpl["ranges"][data_name(name)] = {d: cell_range(d, first, last, DATA_SHEET, quote=False)
                                          for d in DIALECTS}
    return tpl
