"""The chain rule the report writes out, read off the network's expressions, is the gradient
the workbook computes: evaluated factor by factor, it gives every gradient column's value."""

from __future__ import annotations

import math

import pytest

from sheetgen.core.expressions import Expression
from sheetgen.core.model import Setup, run
from sheetgen.core.presets import reference_network as network
from sheetgen.report.derive import Chain
from sheetgen.report.latex import plain_number, render, render_lines, visible_width

SETUPS = {"none": Setup(), "fixed": Setup(b1=0.35, b2=0.6, biases="fixed"),
          "trained": Setup(b1=0.35, b2=0.6, biases="trained")}


def d_loss(chain: Chain, name: str, row: dict, params: dict) -> float:
    """dE_total/d`name` from the chain-rule terms and the local derivatives alone."""
    total = 0.0
    for term in chain.expand(name):
        value = d_loss(chain, term.lead, row, params) if term.lead is not None else 1.0
        for top, bottom in term.factors:
            value *= chain.local(top, bottom).evaluate(row | params)
        total += value
    return total


@pytest.mark.parametrize("biases", SETUPS)
def test_chain_rule_gives_every_gradient_column(biases):
    net = network(biases)
    chain = Chain(net, "E_total")
    setup = SETUPS[biases]
    params = {n: v for n, v in (setup.values() | {"learning_rate": 0.5}).items() if n in net.parameters}
    trained = [t.name for t in chain.trained]
    assert trained == [n for n in ("w1", "w2", "w3", "w4", "w5", "w6", "w7", "w8", "b1", "b2")
                       if n in net.names]
    for row in run(net, setup, 0.5, 3):
        for t in chain.trained:
            assert d_loss(chain, t.name, row, params) == pytest.approx(row[t.gradient], rel=1e-12)


def test_the_last_layer_comes_first():
    chain = Chain(network("none"), "E_total")
    depth = {t.name: t.depth for t in chain.trained}
    assert {depth[f"w{k}"] for k in range(5, 9)} == {4}
    assert {depth[f"w{k}"] for k in range(1, 5)} == {6}


def test_local_derivatives_read_as_the_exercise_writes_them():
    chain = Chain(network("none"), "E_total")
    assert chain.local("E1", "a_o1").text == "a_o1 - t1"
    assert chain.local("a_o1", "o1").text == "a_o1 * (1 - a_o1)"
    assert chain.local("o1", "w5").text == "a_h1"
    assert chain.local("o1", "a_h1").text == "w5"
    assert chain.is_one("E_total", "E1")


@pytest.mark.parametrize("text, name, expected", [
    ("x * x * 3", "x", 12.0),
    ("(y - x) / (x + 1)", "x", (-(2 + 1) - (1 - 2)) / 9),
    ("-(x ** 3) + 2", "x", -12.0),
    ("sigmoid(2 * x)", "x", 2 * (1 / (1 + math.exp(-4))) * (1 - 1 / (1 + math.exp(-4)))),
])
def test_differentiate_against_the_value(text, name, expected):
    # The report's local derivatives come from the one differentiator, Expression.derivative.
    value = Expression.parse(text).derivative(name).evaluate({"x": 2.0, "y": 1.0})
    assert value == pytest.approx(expected)


def test_numbers_and_long_lines():
    assert plain_number(0.0275) == "0.0275"
    assert plain_number(0.00018825566692) == "0.0001882556669"
    assert plain_number(1.5e-07) == "1.5e-07"
    assert plain_number(22.0) == "22"
    formula = network("trained").quantity("dE_db1").formula
    values = {n: 0.123456789 for n in formula.names}
    lines = render_lines(formula, values)
    assert len(lines) > 1 and all(visible_width(line) <= 70 for line in lines)
    # Broken only between terms: the lines together are the one-line rendering.
    joined = " ".join(line.removeprefix("{} ") for line in lines)
    assert joined.replace(" ", "") == render(formula, values).replace(" ", "")
