"""The model's maths: known values of the reference exercise and gradients that agree with
finite differences of E_total."""

from __future__ import annotations

import math
import sys
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sheetgen.core import model
from sheetgen.core.expressions import Expression, sigmoid
from sheetgen.core.model import ModelError, Setup
from sheetgen.core.presets import reference_network as network

WEIGHTS = [f"w{k}" for k in range(1, 9)]


def test_first_row_of_the_reference_exercise():
    row = model.run(network(), Setup(), 0.8, 1)[0]
    assert row["E_total"] == 0.24251985734837728
    assert row["dE_dw5"] == 0.07215707291213626


def test_the_reference_errata_reproduce_its_published_first_row():
    row = model.run(network(reference_errata=True), Setup(), 0.8, 1)[0]
    assert math.isclose(row["dE_dw5"], 0.06731819501, rel_tol=5e-10)
    assert math.isclose(row["dE_dw3"], 0.0002248724776, rel_tol=5e-10)


def test_all_weights_update_at_once_from_the_previous_row():
    rows = model.run(network(), Setup(), 0.5, 3)
    for before, after in zip(rows, rows[1:], strict=False):
        for w in WEIGHTS:
            k = w[1:]
            assert after[w] == before[w] - 0.5 * before[f"dE_dw{k}"]
        assert after["iteration"] == before["iteration"] + 1


def test_loss_falls_at_every_default_rate():
    for rate in (0.1, 0.2, 0.5, 0.8, 1, 2):
        rows = model.run(network(), Setup(), rate, 22)
        assert rows[-1]["E_total"] < rows[0]["E_total"]


def _e_total(setup: Setup, biases: str) -> float:
    return model.run(network(biases), setup, 1.0, 1)[0]["E_total"]


STEP = 1e-3


def _finite_difference(setup: Setup, name: str, biases: str, h: float = STEP) -> float:
    """Fourth-order central difference: truncation ~h^4, rounding ~eps * E_total / h."""
    def at(delta: float) -> float:
        return _e_total(replace(setup, **{name: getattr(setup, name) + delta}), biases)
    return (-at(2 * h) + 8 * at(h) - 8 * at(-h) + at(-2 * h)) / (12 * h)


unit = st.floats(-1, 1, allow_nan=False)
setups = st.builds(
    Setup,
    i1=unit, i2=unit, t1=st.floats(0, 1), t2=st.floats(0, 1),
    **{w: st.floats(-2, 2) for w in WEIGHTS},
    b1=unit, b2=unit,
    biases=st.sampled_from(["none", "fixed", "trained"]),
)


@settings(max_examples=60, deadline=None)
@given(setups)
def test_gradients_agree_with_finite_differences(setup):
    net = network(setup.biases)
    row = model.run(net, setup, 1.0, 1)[0]
    names = WEIGHTS + (["b1", "b2"] if setup.biases == "trained" else [])
    for name in names:
        numeric = _finite_difference(setup, name, setup.biases)
        analytic = row[f"dE_d{name}"]
        # Relative 1e-7. The difference quotient cannot resolve less than its rounding floor,
        # about (18/12) * eps * E_total / h, which only matters where a gradient is near zero.
        floor = 4 * sys.float_info.epsilon * max(1.0, row["E_total"]) / STEP
        assert math.isclose(analytic, numeric, rel_tol=1e-7, abs_tol=floor), (name, analytic, numeric)


def test_gradients_are_data_with_expressions():
    net = network()
    row = model.run(net, Setup(), 0.8, 1)[0]
    grads = {g.name: g for g in model.gradients(net, row)}
    assert sorted(grads) == [f"dE_dw{k}" for k in range(1, 9)]
    g5 = grads["dE_dw5"]
    assert g5.value == row["dE_dw5"]
    assert g5.expression.names == {"a_o1", "t1", "a_h1"}
    assert g5.expression.evaluate(row) == g5.value


def test_sigmoid_never_overflows_and_matches_the_plain_formula():
    assert sigmoid(-1000.0) == 0.0
    assert sigmoid(1000.0) == 1.0
    for x in (-30.0, -1.5, 0.0, 0.7, 30.0):
        assert math.isclose(sigmoid(x), 1 / (1 + math.exp(-x)), rel_tol=1e-15)


def test_non_finite_values_stop_with_the_iteration_named():
    with pytest.raises(ModelError, match="iteration 1: t1 is not a finite number"):
        list(model.iterate(network(), replace(Setup(), t1=float("nan")), 0.5, 3))


def test_expression_substitution_drops_absent_bias_terms():
    e = Expression.parse("w1 * i1 + w2 * i2 + b1").substitute({"b1": 0})
    assert e.to_python() == "w1 * i1 + w2 * i2"
    e = Expression.parse("(a_o1 - t1) * a_h1").substitute({"t1": "i1"})
    assert e.names == {"a_o1", "i1", "a_h1"}


@pytest.mark.parametrize("setup", [Setup(), Setup(w1=1, t1=0), Setup(b1=0.35, b2=0.6, biases="trained")])
def test_a_trace_gives_back_the_models_rows_exactly_and_any_number_of_times(setup):
    from sheetgen.core.model import iterate, trace
    from sheetgen.core.presets import reference_network as network

    net = network(setup.biases)
    rows = [list(row) for row in iterate(net, setup, 0.8, 9000)]
    run = trace(net, setup, 0.8, 9000)
    for _ in range(2):
        again = list(run.rows())
        assert again == rows
        assert [[type(v) for v in row] for row in again] == [[type(v) for v in row] for row in rows]
    assert run.to_frame().loc[9000, "E_total"] == rows[-1][net.index("E_total")]


def test_a_long_run_is_kept_in_an_unlinked_temporary_file(monkeypatch, tmp_path):
    import tempfile

    import numpy as np

    from sheetgen.core.model import iterate, trace
    from sheetgen.core.presets import reference_network as network

    monkeypatch.setattr(model, "IN_MEMORY_BYTES", 1024)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    net = network()
    run = trace(net, Setup(), 0.5, 500)
    assert isinstance(run.values, np.memmap)
    assert list(tmp_path.iterdir()) == []  # mapped, not on disk by name: nothing to leave behind
    assert list(run.rows()) == [list(row) for row in iterate(net, Setup(), 0.5, 500)]
