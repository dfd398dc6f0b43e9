"""Where a general network's sheet puts things: the same kind of layout data the reference
template holds (table columns, parameter and settings cells, text blocks, chart, summary, print),
computed from the network instead of read from templates/backprop.toml.

From the top: the network picture (its height from the widest layer), then the learning rate
and the settings, then the forward equations (column C) beside the chain-rule derivations
(column J), then the table.
"""

from __future__ import annotations

import copy
import math

from sheetgen.core.cells import column_letter
from sheetgen.core.network import NetworkSpec
from sheetgen.core.template import template
from sheetgen.core.training import Training

ROW_MM = 4.52          # LibreOffice's default row height: how many rows the picture covers
MAX_SUMMARY_WEIGHTS = 12


def picture_rows(spec: NetworkSpec) -> int:
    from sheetgen.layout.picture import layered_picture
    from sheetgen.layout.unrolled import unrolled_picture

    if hasattr(spec, "cell"):  # recurrent: the network unrolled over time
        picture = unrolled_picture(spec, (0, 1))
        return math.ceil((picture.height + 2) / ROW_MM)
    if not isinstance(spec, NetworkSpec):  # an image network (core/conv.py): its layers as blocks
        from sheetgen.layout.conv_picture import conv_picture

        return math.ceil((conv_picture(spec, (0, 1)).height + 2) / ROW_MM)
    picture = layered_picture(spec, {w: 0.0 for w in spec.weight_names}, (0, 1))
    return math.ceil((picture.height + 2) / ROW_MM)


def network_template(training: Training) -> dict:
    """The template of a general network's learning-rate sheets and summary."""
    spec = training.spec
    tpl = copy.deepcopy({k: v for k, v in template().items() if k not in ("text", "errata")})
    top = picture_rows(spec) + 1                      # first free row, 0-based
    tpl["title"] = f"{training.describe()} network trained by backpropagation"
    tpl["parameters"] = {"learning_rate": {"label": "Learning_rate", "label_cell": f"C{top + 1}",
                                           "cell": f"D{top + 1}"}}
    tpl["settings"] = {"title_cell": f"F{top + 1}", "title": "Settings", "rows": [
        {"label_cell": f"F{top + 2}", "cell": f"G{top + 2}", "label": "iterations", "key": "iterations"},
        {"label_cell": f"F{top + 3}", "cell": f"G{top + 3}", "label": "network", "key": "network"},
        {"label_cell": f"F{top + 4}", "cell": f"G{top + 4}", "label": "biases", "key": "biases"},
        {"label_cell": f"F{top + 5}", "cell": f"G{top + 5}", "label": "maths", "key": "maths"},
    ]}
    text_row = top + 7                                # 1-based row of the first text line
    equations = [[f"C{text_row + k}", line] for k, line in enumerate(training.equations)]
    derivations = [[f"J{text_row + k}", line] for k, line in enumerate(training.derivations)]
    tpl["text"] = [{"cells": [[f"B{text_row - 1}", "Forward"]] + equations},
                   {"cells": [[f"J{text_row - 1}", "Backward: δ = ∂E_total/∂(pre-activation), "
                                                   "by the chain rule"]] + derivations}]
    header_row = text_row + max(len(equations), len(derivations)) + 1
    table = tpl["table"]
    table["header_row"], table["first_row"] = header_row, header_row + 1
    table["columns"] = [{"header": c.header, "quantity": c.quantity,
                         **({"integer": True} if c.integer else {})} for c in training.columns]
    table["extra_columns"] = []
    first_error = next(k for k, c in enumerate(training.columns) if c.block in ("errors", "total"))
    tpl["print"] = {**tpl["print"], "upper": f"A1:Z{header_row - 1}",
                    "split_column": column_letter(first_error)}
    summary = tpl["summary"]
    weights = spec.weight_names if len(spec.weight_names) <= MAX_SUMMARY_WEIGHTS else ()
    # The compact table (up to "best") stays beside the chart; the final weights follow it.
    summary["columns"] = [c for c in summary["columns"] if not c["header"].startswith("final w")]
    summary["columns"] += [{"header": f"final {w}", "source": "last", "quantity": w} for w in weights]
    return tpl


__all__ = ["network_template"]
