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
