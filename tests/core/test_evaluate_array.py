"""Expression.evaluate_array: the same Python rendering as evaluate, over whole columns."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sheetgen.core.expressions import Expression

TEXTS = [
    "sigmoid(h1) * prev(w1) + 0.5 * (t1 - a) ** 2",
    "tanh(h1) + relu(a - 1) + leaky_relu(h1, 0.01)",
    "exp(a) / sum(a, h1, t1) + sumproduct(a, h1, t1, a)",
    "if_positive(h1, a, t1) + max(a, h1, t1)",
    "ln(a) - sigmoid(-800 * h1)",
]


@pytest.mark.parametrize("text", TEXTS)
def test_columns_at_once_equal_row_by_row(text):
    e = Expression.parse(text)
    h1 = np.array([-3.0, -0.5, 0.0, 0.25, 4.0])
    a = np.array([0.1, 0.7, 1.5, 2.0, 9.0])
    t1 = 0.01
    w1 = np.array([0.2, 0.3, 0.4, 0.5, 0.6])
    columns = e.evaluate_array({"h1": h1, "a": a, "t1": t1}, {"w1": w1})
    for k in range(len(h1)):
        one = e.evaluate({"h1": h1[k], "a": a[k], "t1": t1}, {"w1": w1[k]})
        assert math.isclose(columns[k], one, rel_tol=1e-15, abs_tol=1e-300), (text, k)


@pytest.mark.parametrize("example", ["linear-sgd", "linear-momentum", "linear-adam", "xor"])
def test_a_training_sheet_evaluates_over_whole_columns(example):
    """Every formula and update of a training sheet (INDEX and MOD pick the sample, Adam takes a
    SQRT) evaluated over the model's columns gives the model's own next columns: what audit does."""
    import tomllib

    from sheetgen.config import example_text, from_mapping
    from sheetgen.core.model import parameter_values, run

    config = from_mapping(tomllib.loads(example_text(example)))
    training = config.training()
    net = training.network
    rate = config.learning_rates[0]
    rows = run(net, training.setup, rate, 12)
    columns = {n: np.array([row[n] for row in rows]) for n in net.names}
    params = parameter_values(net, training.setup, rate)
    here = {n: c[1:] for n, c in columns.items()} | params
    above = {n: c[:-1] for n, c in columns.items()}
    used = set()
    for q in net.quantities:
        if q.formula is not None:
            got = q.formula.evaluate_array(here, above)
        else:
            new = {"_next_" + n: c[1:] for n, c in columns.items()}
            got = q.next.evaluate_array(above | params | new)
        got = np.broadcast_to(got, len(rows) - 1)  # a constant (one sample's INDEX) broadcasts
        assert got == pytest.approx(columns[q.name][1:], rel=1e-12, abs=1e-300), q.name
        used |= {f for f in ("sqrt", "mod", "index") if f + "(" in (q.formula or q.next).text}
    if example == "linear-adam":  # the functions the numpy table once lacked
        assert used == {"sqrt", "mod", "index"}
