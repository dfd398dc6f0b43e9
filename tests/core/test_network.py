"""Any dense network: the derived gradients are the true ones (central finite differences of
E_total, for every shipped example and for networks drawn by hypothesis), the derivation of the
reference network in δ form gives the numbers of its expanded products, and the formulas read as the maths."""

from __future__ import annotations

import math
import tomllib
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from sheetgen.config import EXAMPLES, Config, example_text, from_mapping, validate
from sheetgen.core import model
from sheetgen.core.expressions import Expression
from sheetgen.core.layers.dense import ACTIVATIONS
from sheetgen.core.losses import LOSSES
from sheetgen.core.model import Setup, Values
from sheetgen.core.network import NetworkSetup, NetworkSpec, initial_values
from sheetgen.core.presets import reference_network as template_network
from sheetgen.core.presets import training

RTOL, ATOL = 1e-6, 1e-9


def example(name: str) -> Config:
    return from_mapping(tomllib.loads(example_text(name)), name)


def derive(spec: NetworkSpec):
    """A network's training, in the δ form (the reference's own design writes it expanded)."""
    return training(replace(spec, gradients=spec.gradients or "delta"), {})


def _with(setup, name: str, value: float):
    if isinstance(setup, Values):
        return replace(setup, items=tuple((n, value if n == name else v) for n, v in setup.items))
    return replace(setup, **{name: value})


def _state(net: model.Network, row: dict[str, float], setup):
    """A setup that starts where `row` stands."""
    for q in net.quantities:
        if q.is_state and q.name != "iteration":
            setup = _with(setup, q.name, row[q.name])
    return setup


def finite_difference_failures(net: model.Network, setup, rows: int = 3) -> list[str]:
    """Each gradient column of the first `rows` rows against a central difference of E_total."""
    failures = []
    for row in model.run(net, setup, 0.5, rows):
        here = _state(net, row, setup)
        values = here.values()
        for q in net.quantities:
            if not q.gradient:
                continue
            name = q.name.removeprefix("dE_d")
            step = 1e-5 * max(1.0, abs(values[name]))
            up = model.run(net, _with(here, name, values[name] + step), 0.5, 1)[0]["E_total"]
            down = model.run(net, _with(here, name, values[name] - step), 0.5, 1)[0]["E_total"]
            numeric = (up - down) / (2 * step)
            floor = ATOL * max(1.0, abs(row["E_total"]))
            if not math.isclose(row[q.name], numeric, rel_tol=RTOL, abs_tol=floor):
                failures.append(f"{q.name}: derived {row[q.name]!r}, finite difference {numeric!r}")
    return failures


# Examples trained on a data set have their own finite-difference tests (tests/core/test_optim.py).
ONE_SAMPLE_EXAMPLES = [n for n in EXAMPLES if "data" not in tomllib.loads(example_text(n))]


@pytest.mark.parametrize("name", ONE_SAMPLE_EXAMPLES)
def test_every_example_has_the_true_gradients(name):
    config = example(name)
    validate(config)
    net = config.training().network
    assert sum(q.gradient for q in net.quantities) >= 8
    assert finite_difference_failures(net, config.training().setup) == []


def test_a_wrong_gradient_is_caught():
    """The check can fail: swap one weight's gradient for another's."""
    config = example("deep")
    net = config.training().network.substitute({"dE_dw7": {"a_h1_1": "a_h1_2"}})
    assert any(f.startswith("dE_dw7") for f in finite_difference_failures(net, config.training().setup, 1))


# --- networks drawn by hypothesis -----------------------------------------------------------------

HIDDEN = [a for a in ACTIVATIONS if a != "softmax"]


@st.composite
def networks(draw) -> tuple[NetworkSpec, NetworkSetup]:
    hidden = draw(st.lists(st.integers(1, 5), min_size=1, max_size=3))
    n_in = draw(st.integers(1, 5))
    out = draw(st.sampled_from(ACTIVATIONS))
    n_out = draw(st.integers(2 if out == "softmax" else 1, 5))
    losses = [loss for loss in LOSSES
              if (loss != "cross_entropy" or out in ("softmax", "sigmoid"))
              and (loss != "binary_cross_entropy" or out == "sigmoid")]
    loss = draw(st.sampled_from(losses))
    spec = NetworkSpec(
        layers=(n_in, *hidden, n_out),
        activations=(*[draw(st.sampled_from(HIDDEN)) for _ in hidden], out),
        loss=loss, biases=draw(st.sampled_from(("none", "per_layer", "per_neuron"))),
        train_biases=draw(st.booleans()), leaky_relu_slope=draw(st.sampled_from((0.01, 0.1, 0.3))),
        activation_params=(("elu_alpha", draw(st.sampled_from((1.0, 0.5, 2.0)))),),
        seed=draw(st.integers(0, 2**16)))
    unit = st.floats(-1, 1, allow_nan=False)
    given_values = {i: draw(unit) for i in spec.inputs}
    targets = [draw(st.floats(0.01, 0.99)) for _ in spec.targets]
    if loss == "cross_entropy" and out == "softmax":
        targets = [t / sum(targets) for t in targets]
    given_values |= dict(zip(spec.targets, targets, strict=True))
    return spec, initial_values(spec, given_values)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks())
@pytest.mark.slow
def test_drawn_networks_have_the_true_gradients(drawn):
    spec, setup = drawn
    net = derive(spec).network
    rows = model.run(net, setup, 0.5, 2)
    kinked = {k for k, a in enumerate(spec.activations, start=1) if a in ("relu", "leaky_relu", "elu")}
    for row in rows:  # a finite difference across a ReLU's kink measures the kink, not the slope
        for layer in kinked:
            assume(all(abs(row[z]) > 1e-3 for z in spec.neurons(layer)))
    assert finite_difference_failures(net, setup, 2) == []


# --- the reference network, derived -----------------------------------------------------------

@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(-3, 3, allow_nan=False), min_size=14, max_size=14),
       st.sampled_from((("none", "none", False), ("per_layer", "fixed", False),
                        ("per_layer", "trained", True))))
def test_the_delta_form_of_the_reference_equals_its_expanded_products(values, mode):
    kind, template_biases, train = mode
    names = ["i1", "i2", "t1", "t2", "w1", "w2", "w3", "w4", "w5", "w6", "w7", "w8", "b1", "b2"]
    given_values = dict(zip(names, values, strict=True))
    setup = Setup(biases=template_biases, **given_values)
    spec = NetworkSpec(biases=kind, train_biases=train)
    ours = derive(spec).network
    theirs = template_network(template_biases)
    general = initial_values(spec, {k: v for k, v in given_values.items()
                                    if kind != "none" or k[0] != "b"})
    for a, b in zip(model.run(ours, general, 0.5, 3), model.run(theirs, setup, 0.5, 3), strict=True):
        for q in theirs.quantities:
            assert math.isclose(a[q.name], b[q.name], rel_tol=1e-12, abs_tol=1e-15), q.name


def test_reference_gradients_read_as_the_chain_rule():
    formulas = {q.name: q.formula.text for q in derive(NetworkSpec()).network.quantities if q.formula}
    assert formulas["delta_o1"] == "(a_o1 - t1) * a_o1 * (1 - a_o1)"
    assert formulas["delta_h1"] == "(delta_o1 * w5 + delta_o2 * w7) * a_h1 * (1 - a_h1)"
    assert formulas["dE_dw5"] == "delta_o1 * a_h1"
    assert formulas["dE_dw1"] == "delta_h1 * i1"


def test_softmax_is_stable_and_its_delta_is_a_minus_t():
    spec = NetworkSpec((2, 3, 3), ("tanh", "softmax"), "cross_entropy")
    formulas = {q.name: q.formula.text for q in derive(spec).network.quantities if q.formula}
    assert formulas["exp_o2"] == "exp(o2 - max(o1, o2, o3))"
    assert formulas["a_o2"] == "exp_o2 / (exp_o1 + exp_o2 + exp_o3)"
    assert formulas["delta_o2"] == "a_o2 - t2"
    big = initial_values(spec, {"i1": 800.0, "i2": -900.0, "t1": 1, "t2": 0, "t3": 0}
                         | {f"w{k}": 5.0 * (-1) ** k for k in range(1, 16)})
    row = model.run(derive(spec).network, big, 0.5, 1)[0]
    assert math.isfinite(row["E_total"]) and abs(sum(row[f"a_o{k}"] for k in (1, 2, 3)) - 1) < 1e-15


def test_names_and_numbering_follow_the_reference():
    spec = NetworkSpec((3, 2, 2, 1), ("relu", "leaky_relu", "sigmoid"), biases="per_neuron")
    assert spec.weights(1) == [["w1", "w2", "w3"], ["w4", "w5", "w6"]]
    assert spec.weights(2) == [["w7", "w8"], ["w9", "w10"]]
    assert spec.neurons(2) == ("h2_1", "h2_2") and spec.neurons(3) == ("o1",)
    assert spec.bias_names == ("b1", "b2", "b3", "b4", "b5")
    headers = [c.header for c in derive(spec).columns]
    assert headers[:4] == ["t1", "i1", "i2", "i3"]
    assert {"E_total", "δ_h2_1", "E∂W10", "iteration"} <= set(headers)


def test_seeded_values_are_reproducible_and_given_ones_win():
    spec = NetworkSpec((2, 3, 2), seed=7)
    a, b = initial_values(spec, {}), initial_values(spec, {"w1": 0.5})
    assert initial_values(spec, {}) == a
    assert b.values()["w1"] == 0.5
    assert {k: v for k, v in a.values().items() if k != "w1"} == \
        {k: v for k, v in b.values().items() if k != "w1"}
    limit = math.sqrt(6 / 5)
    assert all(abs(a.values()[w]) <= limit for w in spec.weight_names[:6])


def test_functions_render_in_both_dialects():
    e = Expression.parse("leaky_relu(h1, 0.01) + relu(h2) + tanh(h3) * exp(h4) - ln(h5)")
    cell = {"h1": "A{r}", "h2": "B{r}", "h3": "C{r}", "h4": "D{r}", "h5": "E{r}"}
    assert e.to_formula(cell.get, ",") == \
        "IF(A{r}>0,A{r},0.01*A{r})+MAX(0,B{r})+TANH(C{r})*EXP(D{r})-LN(E{r})"
    assert ";" in e.to_formula(cell.get, ";") and "," not in e.to_formula(cell.get, ";")
    s = Expression.parse("sumproduct(w1, w2, w3, w4, w5, a1, a2, a3, a4, a5)")
    assert s.to_formula(str, ",", lambda names: f"{names[0]}:{names[-1]}") == "SUMPRODUCT(w1:w5,a1:a5)"
    assert s.to_formula(str, ",") == "(w1*a1+w2*a2+w3*a3+w4*a4+w5*a5)"
    values = {f"w{k}": k for k in range(1, 6)} | {f"a{k}": 10 * k for k in range(1, 6)}
    assert s.evaluate(values) == sum(k * 10 * k for k in range(1, 6))


def test_a_wide_mapped_trace_reads_back_exactly_after_its_pages_are_released(monkeypatch):
    """Pages of a file-mapped trace are dropped while it is written and read (flat memory):
    every value still reads back as the model computed it."""
    monkeypatch.setattr(model, "IN_MEMORY_BYTES", 1024)
    config = example("deep")
    net = config.training().network
    run = model.trace(net, config.training().setup, 0.5, 4000)  # a chunk is 1,771 rows of 74 columns
    assert run.values.base is not None and len(net.names) == 74
    expected = [list(row) for row in model.iterate(net, config.training().setup, 0.5, 4000)]
    assert list(run.rows()) == expected
    assert list(run.rows()) == expected
