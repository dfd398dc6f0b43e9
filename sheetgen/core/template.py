"""The layout template (templates/backprop.toml): where the reference exercise puts things.

The template is data: which quantity goes in which column of the reference exercise's sheets
and its header, the parameter cells, the text blocks, the reference's two mistakes. The
equations themselves are derived (core/training.py). Writers, the summary and the readers all
take their positions and names from here.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from pathlib import Path

TEMPLATE = "backprop.toml"


@cache
def template() -> dict:
    # A source checkout has templates/ beside the package; an installed wheel has it inside.
    local = Path(__file__).resolve().parents[2] / "templates" / TEMPLATE
    source = local if local.is_file() else resources.files("sheetgen.templates") / TEMPLATE
    return tomllib.loads(source.read_text("utf-8"))


def applies(entry: dict, biases: str, gradients: str = "expanded") -> bool:
    """Whether a template entry (column, parameter, text block) exists in this bias mode and
    gradient form."""
    return entry.get("biases", biases) == biases and entry.get("gradients", gradients) == gradients


def column_specs(biases: str = "none", gradients: str = "expanded") -> list[dict]:
    """The template's table columns that exist for this bias mode and gradient form, in sheet
    order."""
    table = template()["table"]
    return [c for c in table["columns"] + table["extra_columns"] if applies(c, biases, gradients)]


def parameter_specs(biases: str = "none") -> dict[str, dict]:
    return {name: p for name, p in template()["parameters"].items() if applies(p, biases)}


def format_rate(rate: float) -> str:
    """0.1 -> '0.1', 1.0 -> '1', 2e-05 -> '2e-05': the shortest text that reads back exactly."""
    text = repr(float(rate))
    return text[:-2] if text.endswith(".0") else text


def sheet_name(rate: float) -> str:
    return template()["sheet_name"].format(rate=format_rate(rate))
