"""The ops registry: each function's float and numpy evaluations agree, its derivative rule is
its slope, its cell formula is one call in both dialects, and its activations are the network's.
One LibreOffice run recalculates a small network of the activations added through the registry."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest

from sheetgen.core import ops
from sheetgen.core.expressions import ARRAY_FUNCTIONS, FUNCTIONS, PYTHON_FUNCTIONS, Expression
from sheetgen.core.layers.dense import ACTIVATIONS
from sheetgen.core.network import NetworkSpec
from sheetgen.core.presets import training

POINTS = [-800.0, -40.0, -2.3, -0.7, -1e-9, 0.0, 1e-9, 0.4, 1.9, 35.0, 800.0]


def call_text(op: ops.Op, x: str) -> str:
    """A call of `op` on x, its other arguments at their defaults or small numbers."""
    if op.name == "first_max":  # its first argument is a position among the others
        return f"first_max(2, 0.3, {x}, -0.2)"
    if op.arity is None:
        return f"{op.name}({x}, 0.3, -0.2)" if op.name != "sumproduct" else f"sumproduct({x}, 2, 3, 4)"
    if op.name == "index":
        return f"index(col, {x})"
    extra = [ops.param_text(d) for _, d in op.params]
    extra += ["0.5", "-1.5"][:op.arity - 1 - len(extra)]
    return f"{op.name}({', '.join([x, *extra])})"


def test_every_function_has_both_evaluations():
    # The numpy table once lacked sqrt, mod and index: one entry gives both.
    assert set(PYTHON_FUNCTIONS) == set(ARRAY_FUNCTIONS)
    assert {"sqrt", "mod", "index", "softplus", "elu"} <= set(ARRAY_FUNCTIONS)
    assert set(FUNCTIONS) == set(ops.OPS)


@pytest.mark.parametrize("name", [n for n in ops.OPS if n not in ("sum", "sumproduct")])
def test_columns_equal_floats(name):
    op = ops.OPS[name]
    e = Expression.parse(call_text(op, "x"))
    if name == "index":
        xs, col = np.array([1.0, 3.0, 2.0]), (0.25, -4.0, 7.5)
    else:
        # (math.exp raises past 709, where the model stops with its own error.)
        xs = np.array([p for p in POINTS if (name not in ("ln", "sqrt") or p > 0)
                       and (name != "exp" or abs(p) < 700)])
        col = None
    with np.errstate(all="ignore"):
        columns = e.evaluate_array({"x": xs, "col": col})
    for k, x in enumerate(xs):
        one = e.evaluate({"x": float(x), "col": col})
        assert columns[k] == pytest.approx(one, rel=1e-15, abs=1e-300), (name, x)


def test_new_activations_against_numpy():
    xs = np.array(POINTS)
    softplus = Expression.parse("softplus(x)")
    assert softplus.evaluate_array({"x": xs}) == pytest.approx(np.logaddexp(0.0, xs), rel=1e-15)
    for x in POINTS:
        assert softplus.evaluate({"x": x}) == pytest.approx(float(np.logaddexp(0.0, x)), rel=1e-15)
    for alpha in (1.0, 0.5):
        elu = Expression.parse(f"elu(x, {alpha!r})")
        expected = np.where(xs > 0, xs, alpha * np.expm1(np.minimum(xs, 0)))
        assert elu.evaluate_array({"x": xs}) == pytest.approx(expected, rel=1e-12, abs=1e-16)
        assert [elu.evaluate({"x": x}) for x in POINTS] == pytest.approx(list(expected), rel=1e-12,
                                                                          abs=1e-16)


DIFFERENTIABLE = [n for n, op in ops.OPS.items() if isinstance(op.derivative, tuple)]


@pytest.mark.parametrize("name", DIFFERENTIABLE)
def test_derivative_rule_is_the_slope(name):
    op = ops.OPS[name]
    e = Expression.parse(call_text(op, "x"))
    slope = e.derivative("x")
    assert slope.names <= {"x"}, slope.text
    for x in (-2.3, -0.7, 0.4, 1.9):  # away from 0, where relu, leaky_relu and elu bend
        if name in ("ln", "sqrt") and x < 0:
            continue
        h = 1e-6
        numeric = (e.evaluate({"x": x + h}) - e.evaluate({"x": x - h})) / (2 * h)
        assert slope.evaluate({"x": x}) == pytest.approx(numeric, rel=1e-6, abs=1e-9), (name, x)


def test_chain_rule_through_an_inner_function():
    e = Expression.parse("elu(3 * w, 0.5) + softplus(w * w)")
    slope = e.derivative("w")
    w, h = -0.4, 1e-6
    numeric = (e.evaluate({"w": w + h}) - e.evaluate({"w": w - h})) / (2 * h)
    assert slope.evaluate({"w": w}) == pytest.approx(numeric, rel=1e-7)


def _one_call(template: str) -> bool:
    """A template that is one function call, its last bracket closing its first."""
    if template == "{0}":
        return True
    match = re.match(r"[A-Z]+\(", template)
    if not match:
        return False
    depth = 0
    for k, c in enumerate(template):
        depth += {"(": 1, ")": -1}.get(c, 0)
        if depth == 0 and k > match.end() - 1:
            return k == len(template) - 1
    return False


@pytest.mark.parametrize("name", [n for n, op in ops.OPS.items() if op.cell is not None])
def test_cell_template_is_one_call(name):
    # Then a call binds like one operand wherever it stands: 2*softplus(x) needs no brackets.
    assert _one_call(ops.OPS[name].cell), ops.OPS[name].cell


def test_formulas_in_both_dialects():
    def xlsx(n: str) -> str:
        return n.upper()

    def ods(n: str) -> str:
        return f"[.{n.upper()}]"

    softplus = Expression.parse("2 * softplus(h1 - b)")
    assert softplus.to_formula(xlsx) == "2*IF((H1-B)>0,H1-B+LN(1+EXP(-(H1-B))),LN(1+EXP(H1-B)))"
    assert softplus.to_formula(ods, ";") == ("2*IF(([.H1]-[.B])>0;[.H1]-[.B]+LN(1+EXP(-([.H1]-[.B])));"
                                             "LN(1+EXP([.H1]-[.B])))")
    elu = Expression.parse("elu(h1, 0.5)")
    assert elu.to_formula(xlsx) == "IF(H1>0,H1,0.5*(EXP(H1)-1))"
    assert elu.to_formula(ods, ";") == "IF([.H1]>0;[.H1];0.5*(EXP([.H1])-1))"
    # The existing functions render as they always have.
    assert Expression.parse("sigmoid(h1 + b)").to_formula(xlsx) == \
        "IF((H1+B)>=0,1/(1+EXP(-(H1+B))),EXP((H1+B))/(1+EXP((H1+B))))"
    assert Expression.parse("leaky_relu(h1, 0.01)").to_formula(xlsx, ";") == "IF(H1>0;H1;0.01*H1)"


def test_latex_and_symbols_come_from_the_registry():
    from sheetgen.core.layers.dense import pretty
    from sheetgen.report.latex import render

    assert render(Expression.parse("sigmoid(x) + tanh(x) + softplus(x)")) == \
        r"\sigma(x) + \tanh(x) + \operatorname{softplus}(x)"
    assert pretty("sigmoid(h1) * sum(a, b) - sumproduct(a, b, c, d)") == "σ(h1)·Σ(a, b) − Σ(a, b, c, d)"


def test_activations_are_the_registry_s():
    assert ACTIVATIONS == (*[n for n, op in ops.OPS.items() if op.activation], "softmax")
    assert {"sigmoid", "tanh", "relu", "leaky_relu", "identity", "softplus", "elu"} <= set(ACTIVATIONS)


def test_new_activations_derive_their_deltas():
    spec = NetworkSpec((2, 2, 2), ("softplus", "elu"), activation_params=(("elu_alpha", 0.5),))
    formulas = {q.name: q.formula.text for q in training(spec, {}).network.quantities if q.formula}
    assert formulas["a_h1"] == "softplus(h1)"
    assert formulas["a_o1"] == "elu(o1, 0.5)"
    assert formulas["delta_o1"] == "(a_o1 - t1) * if_positive(o1, 1, a_o1 + 0.5)"
    assert formulas["delta_h1"] == "(delta_o1 * w5 + delta_o2 * w7) * sigmoid(h1)"


def test_elu_alpha_is_a_network_key(tmp_path):
    from sheetgen.config import from_mapping
    from sheetgen.errors import ConfigError

    config = from_mapping({"network": {"layers": [2, 2, 2], "activations": ["elu", "elu"],
                                       "elu_alpha": 0.25}, "output_dir": str(tmp_path)})
    assert config.network.params_of("elu") == {"alpha": 0.25}
    assert config.network.params_of("leaky_relu") == {"slope": 0.01}
    with pytest.raises(ConfigError, match="network.elu_alpha"):
        from_mapping({"network": {"activations": ["elu", "elu"], "elu_alpha": "big"}})


@pytest.mark.libreoffice
@pytest.mark.skipif(shutil.which("soffice") is None,
                    reason="LibreOffice not installed (Debian: apt-get install libreoffice-calc-nogui)")
def test_libreoffice_recalculates_softplus_and_elu(tmp_path):
    from sheetgen.check.verify import verify_file
    from sheetgen.config import from_mapping
    from sheetgen.generation import generate

    config = from_mapping({"network": {"layers": [2, 3, 2], "activations": ["softplus", "elu"],
                                       "elu_alpha": 0.5, "loss": "half_sse"},
                           "learning_rates": [0.5, 3.0], "iterations": 8, "plots": False,
                           "output_dir": str(tmp_path)})
    paths = generate(config.training())
    assert sorted(p.suffix for p in paths) == [".ods", ".xlsx"]
    for path in paths:
        report = verify_file(path, timeout=120)
        assert report.ok, (path.name, [(s.name, s.differences[:2], s.errors[:2]) for s in report.sheets])
        assert report.checked >= 2 * 8 * 20
