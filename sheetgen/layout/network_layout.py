"""Where a general network's sheet puts things: the same kind of layout data the reference
template holds (table columns, parameter and settings cells, text blocks, chart, summary, print),
computed from the network instead of read from templates/backprop.toml.

Above the table, within 14 rows (layout/upper.py): the network picture, the learning rate, the
settings, the forward equations and the chain-rule derivations side by side; then the table.
"""

from __future__ import annotations

import copy
import math

from sheetgen.core.cells import a1, cell_range, column_letter
from sheetgen.core.template import template
from sheetgen.core.training import Training
from sheetgen.layout.picture import text_mm
from sheetgen.layout.settings import setting_value
from sheetgen.layout.upper import HEADER_ROW, chart_place, columns_for, settings_col, text_groups

ROW_MM = 4.52          # LibreOffice's default row height: how many rows the picture covers
MAX_SUMMARY_WEIGHTS = 12
LEARNING_RATE_CELL = "A2"


def _picture(spec):
    return network_drawing(spec, {w: 0.0 for w in spec.weight_names + spec.bias_names}, (0, 1))


def network_drawing(spec, weights: dict[str, float], anchor: tuple[int, int]):
    """The picture of any general network: an image network's layers as blocks with their
    shapes, a recurrent one unrolled over time, the others as layers of neurons labelled with
    `weights`."""
    if spec.images:
        from sheetgen.layout.conv_picture import conv_picture

        return conv_picture(spec, anchor)
    if spec.unrolled:
        from sheetgen.layout.unrolled import unrolled_picture

        return unrolled_picture(spec, anchor)
    from sheetgen.layout.picture import layered_picture

    return layered_picture(spec, weights, anchor)


def upper_block(tpl: dict, training: Training, extra_parameters: list[tuple[str, str]] = (),
                extra_settings: list[tuple[str, str]] = (), forward: list[str] | None = None,
                more: list[tuple[str, list[str]]] = ()) -> tuple[int, int]:
    """Places the parameters, settings and text blocks right of the picture within rows
    1..UPPER_ROWS (layout/upper.py); returns the 1-based header row and the block's last
    column (0-based)."""
    spec = training.spec
    width = tpl["table"]["column_width"]
    # The learning rate and the optimizer's parameters in column A, left of the picture: in view
    # on opening however wide the picture is. Each label above its value.
    tpl["parameters"] = {"learning_rate": {"label": "Learning_rate", "label_cell": "A1",
                                                    "cell": LEARNING_RATE_CELL}}
    for k, (name, text) in enumerate(extra_parameters, start=1):
        tpl["parameters"][name] = {"label": text, "label_cell": f"A{2 * k + 1}", "cell": f"A{2 * k + 2}"}
    # A picture taller than the block (an image network's), or more parameters than its rows
    # hold (an optimizer with a schedule: label and value rows each), push the header below them.
    picture = _picture(spec)
    rows = math.ceil((picture.height + 2) / ROW_MM)
    parameter_rows = 2 * (1 + len(extra_parameters))
    header_row = max(HEADER_ROW, rows + 2, parameter_rows + 2)
    # The loss chart beside the picture (or before it), in the frozen rows and in view on opening.
    tpl["picture_col"], place, col, tpl["picture_scale"] = chart_place(picture.width, header_row, width)
    tpl["chart"] = {**tpl["chart"], **place}
    keys = [("iterations", "iterations"), ("network", "network"), ("biases", "biases"),
            ("maths", "maths"), *extra_settings]
    # The values run on into the empty columns after them: room for the longest.
    value = max((str(setting_value(key, training)) for _, key in keys), key=text_mm)
    col = settings_col(col, width, value)
    s_label, s_value = column_letter(col), column_letter(col + 1)
    tpl["settings"] = {"title_cell": f"{s_label}1", "title": "Settings", "rows": [
        {"label_cell": f"{s_label}{k}", "cell": f"{s_value}{k}", "label": text, "key": key}
        for k, (text, key) in enumerate(keys, start=2)]}
    col += 1 + columns_for(value, width) + 1
    blocks = [("Forward", forward if forward is not None else list(training.equations)),
              ("Backward: δ = ∂E_total/∂(pre-activation), by the chain rule", list(training.derivations)),
              *more]
    tpl["text"] = []
    for title, lines in blocks:
        cells, col = text_groups(title, lines, col, width)
        tpl["text"].append({"cells": cells})
    return header_row, col - 1


def network_template(training: Training) -> dict:
    """The template of a general network's learning-rate sheets and summary."""
    spec = training.spec
    tpl = copy.deepcopy({k: v for k, v in template().items() if k not in ("text", "errata")})
    tpl["title"] = f"{training.describe()} network trained by backpropagation"
    header_row, last_col = upper_block(tpl, training)
    table = tpl["table"]
    table["header_row"], table["first_row"] = header_row, header_row + 1
    table["columns"] = [{"header": c.header, "quantity": c.quantity,
                         **({"integer": True} if c.integer else {})} for c in training.columns]
    table["extra_columns"] = []
    first_error = next(k for k, c in enumerate(training.columns) if c.block in ("errors", "total"))
    tpl["print"] = {**tpl["print"], "upper": cell_range("xlsx", a1(0, 1), a1(last_col, header_row - 1)),
                    "split_column": column_letter(first_error)}
    summary = tpl["summary"]
    weights = spec.weight_names if len(spec.weight_names) <= MAX_SUMMARY_WEIGHTS else ()
    # The compact table (up to "best") stays beside the chart; the final weights follow it.
    summary["columns"] = [c for c in summary["columns"] if not c["header"].startswith("final w")]
    summary["columns"] += [{"header": f"final {w}", "source": "last", "quantity": w} for w in weights]
    return tpl


__all__ = ["LEARNING_RATE_CELL", "network_template"]
