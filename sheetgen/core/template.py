"""The layout template (templates/backprop.toml) and the network equations it holds.

The template is data: which quantity goes in which column, its header, its formula in the
maths' names, the parameter cells, the text blocks. Writers, the summary and the readers all
take their positions and names from here.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from pathlib import Path

from sheetgen.core.expressions import Expression
from sheetgen.core.model import Network, Quantity

TEMPLATE = "backprop.toml"


@cache
def template() -> dict:
    # A source checkout has templates/ beside the package; an installed wheel has it inside.
    local = Path(__file__).resolve().parents[2] / "templates" / TEMPLATE
    source = local if local.is_file() else resources.files("sheetgen.templates") / TEMPLATE
    return tomllib.loads(source.read_text("utf-8"))


def applies(entry: dict, biases: str) -> bool:
    """Whether a template entry (column, parameter, text block) exists in this bias mode."""
    return entry.get("biases", biases) == biases


def column_specs(biases: str = "none") -> list[dict]:
    """The template's table columns that exist for this bias mode, in sheet order."""
    table = template()["table"]
    return [c for c in table["columns"] + table["extra_columns"] if applies(c, biases)]


def parameter_specs(biases: str = "none") -> dict[str, dict]:
    return {name: p for name, p in template()["parameters"].items() if applies(p, biases)}


@cache
def network(biases: str = "none", reference_errata: bool = False) -> Network:
    """The network's equations for a bias mode; absent biases are 0 and vanish from formulas."""
    absent = {} if biases != "none" else {"b1": 0, "b2": 0}
    quantities = []
    for spec in column_specs(biases):
        formula = spec.get("formula")
        nxt = spec.get("next")
        quantities.append(Quantity(
            spec["quantity"],
            Expression.parse(formula).substitute(absent) if formula else None,
            Expression.parse(nxt).substitute(absent) if nxt else None,
            spec.get("gradient", False),
        ))
    net = Network(tuple(quantities), frozenset(parameter_specs(biases)))
    return net.substitute(template()["errata"]) if reference_errata else net


def format_rate(rate: float) -> str:
    """0.1 -> '0.1', 1.0 -> '1', 2e-05 -> '2e-05': the shortest text that reads back exactly."""
    text = repr(float(rate))
    return text[:-2] if text.endswith(".0") else text


def sheet_name(rate: float) -> str:
    return template()["sheet_name"].format(rate=format_rate(rate))
