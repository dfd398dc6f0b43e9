"""The report of a general network ([network] table), checked against plain numpy.

The network is recomputed here from its layer sizes, activations and loss alone (forward pass,
δ by the textbook backward recursion, gradients, updates), not from sheetgen's derived
expressions. Every equation of the report that ends in a number is read back: the result must
be the numpy value of its left-hand side, each number substituted into the formula the value
of the symbol it stands for (the formula and the worked line are aligned token by token), and
the worked line's arithmetic its result. The loss table and the best rate come from numpy's runs.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from test_report_numbers import check_loss_table, equations, rounded

from sheetgen.report.latex import partial, symbol

KINDS = ["deep", "softmax", "mazur-trained-biases"]


class Dense:
    """A dense network written out with numpy, named as the config names it."""

    def __init__(self, config):
        spec = config.network
        self.layers, self.activations, self.loss = spec.layers, spec.activations, spec.loss
        self.train_biases = spec.train_biases and spec.biases != "none"
        self.kind = spec.biases
        self.values0 = config.setup.values()
        n = len(self.layers) - 1
        self.names = [self._neurons(layer, n) for layer in range(n + 1)]
        first = 1
        self.weight_names = []
        for layer in range(1, n + 1):
            fan_in, size = self.layers[layer - 1], self.layers[layer]
            self.weight_names.append([[f"w{first + j * fan_in + k}" for k in range(fan_in)]
                                      for j in range(size)])
            first += fan_in * size
        self.bias_names = []
        count = 1
        for layer in range(1, n + 1):
            size = self.layers[layer]
            if self.kind == "per_neuron":
                self.bias_names.append([f"b{count + j}" for j in range(size)])
                count += size
            elif self.kind == "per_layer":
                self.bias_names.append([f"b{layer}"] * size)
            else:
                self.bias_names.append([])

    def _neurons(self, layer: int, n: int) -> list[str]:
        size = self.layers[layer]
        if layer == 0:
            return [f"i{j}" for j in range(1, size + 1)]
        if layer == n:
            return [f"o{j}" for j in range(1, size + 1)]
        if n == 2:
            return [f"h{j}" for j in range(1, size + 1)]
        return [f"h{layer}_{j}" for j in range(1, size + 1)]

    @staticmethod
    def _act(kind: str, z: np.ndarray) -> np.ndarray:
        if kind == "sigmoid":
            return 1 / (1 + np.exp(-z))
        if kind == "tanh":
            return np.tanh(z)
        if kind == "softmax":
            e = np.exp(z - z.max())
            return e / e.sum()
        raise NotImplementedError(kind)

    @staticmethod
    def _slope(kind: str, a: np.ndarray) -> np.ndarray:
        return {"sigmoid": a * (1 - a), "tanh": 1 - a ** 2}[kind]

    def step(self, v: dict[str, float], lr: float) -> tuple[dict, dict]:
        """One row: every named quantity; and the next row's state."""
        r = dict(v)
        n = len(self.layers) - 1
        x = np.array([v[i] for i in self.names[0]])
        t = np.array([v[f"t{k}"] for k in range(1, self.layers[-1] + 1)])
        W = [np.array([[v[w] for w in row] for row in self.weight_names[layer]]) for layer in range(n)]
        B = [np.array([v[b] for b in self.bias_names[layer]]) if self.bias_names[layer] else 0.0
             for layer in range(n)]
        acts = [x]
        for layer in range(n):
            z = W[layer] @ acts[-1] + B[layer]
            a = self._act(self.activations[layer], z)
            for name, zj, aj in zip(self.names[layer + 1], z, a, strict=True):
                r[name], r["a_" + name] = zj, aj
            if self.activations[layer] == "softmax":
                for name, e in zip(self.names[layer + 1], np.exp(z - z.max()), strict=True):
                    r["exp_" + name] = e
            acts.append(a)
        out = acts[-1]
        if self.loss == "half_sse":
            errors, d_out = 0.5 * (t - out) ** 2, out - t
        elif self.loss == "cross_entropy":
            errors, d_out = -t * np.log(out), None
        else:
            raise NotImplementedError(self.loss)
        for k, e in enumerate(errors, 1):
            r[f"E{k}"] = e
        r["E_total"] = errors.sum()
        if self.activations[-1] == "softmax":
            delta = out - t          # softmax with cross-entropy, targets summing to 1
        else:
            delta = d_out * self._slope(self.activations[-1], out)
        deltas = [None] * n
        deltas[n - 1] = delta
        for layer in range(n - 2, -1, -1):
            back = W[layer + 1].T @ deltas[layer + 1]
            deltas[layer] = back * self._slope(self.activations[layer], acts[layer + 1])
        nxt = dict(v)
        for layer in range(n):
            for j, name in enumerate(self.names[layer + 1]):
                r["delta_" + name] = deltas[layer][j]
            grad = np.outer(deltas[layer], acts[layer])
            for j, row in enumerate(self.weight_names[layer]):
                for k, w in enumerate(row):
                    r["dE_d" + w] = grad[j, k]
                    nxt[w] = v[w] - lr * grad[j, k]
            if self.train_biases:
                sums: dict[str, float] = {}
                for j, b in enumerate(self.bias_names[layer]):
                    sums[b] = sums.get(b, 0.0) + deltas[layer][j]
                for b, g in sums.items():
                    r["dE_d" + b] = g
                    nxt[b] = v[b] - lr * g
        r.update({f"next_{k}": val for k, val in nxt.items()})
        return {k: float(val) for k, val in r.items()}, nxt

    def run(self, lr: float, iterations: int) -> list[dict[str, float]]:
        rows, state = [], dict(self.values0)
        for _ in range(iterations):
            row, state = self.step(state, lr)
            rows.append(row)
        return rows


@pytest.fixture(scope="module", params=KINDS)
def network_report(request, made_report):
    config, folder = made_report(request.param)
    model = Dense(config)
    runs = {rate: model.run(rate, config.iterations) for rate in config.learning_rates}
    return config, (folder / "README.md").read_text("utf-8"), runs


# --- reading the equations back -------------------------------------------------------------

def _symbols(row: dict[str, float], rate: float) -> dict[str, float]:
    """LaTeX of each left-hand side or operand -> its numpy value (longest first)."""
    known = {symbol("learning_rate"): rate}
    for name, value in row.items():
        if name.startswith("dE_d"):
            known[partial("E_total", name[4:])] = value
        elif name.startswith("next_"):
            known[symbol(name[5:]) + "^{+}"] = value
        else:
            known[symbol(name)] = value
    return dict(sorted(known.items(), key=lambda item: -len(item[0])))


def _normal(latex: str) -> str:
    latex = re.sub(r"(\d+(?:\.\d+)?) \\times 10\^\{(-?\d+)\}", r"\1e\2", latex)
    latex = re.sub(r"(\\[a-z]+)\(-(?=\d)", r"\1(~", latex)  # \tanh(-0.06): the function's own brackets
    latex = re.sub(r"(?<![a-z])\(-([0-9.e-]+)\)", r"~\1", latex)
    latex = re.sub(r"(?<![a-z])\(([0-9.]+e-?\d+)\)", r"\1", latex)  # (8.4 \times 10^{-5})
    latex = latex.replace(r"\tfrac{1}{2}", "0.5").replace(r"\cdot", "*").replace(r"\times", "*")
    return latex.replace(" ", "")


TOKEN = re.compile(r"§|~?\d+(?:\.\d+)?(?:e-?\d+)?|\\[a-zA-Z]+|[-+*()^{}/,]")


def _tokens(latex: str) -> list[str]:
    text = _normal(latex)
    tokens = TOKEN.findall(text)
    assert "".join(tokens) == text, f"unparsed text in {latex!r}"
    return tokens


def _placeholders(latex: str, known: dict[str, float]) -> tuple[str, list[float]]:
    names = "|".join(re.escape(k) for k in known)
    pattern = rf"\(-(?:{names})\)|{names}"
    found: list[float] = []

    def swap(m: re.Match) -> str:
        text = m.group(0)
        # (-t_{1}): the negated value, as the worked line prints (-1)
        found.append(-known[text[2:-1]] if text.startswith("(-") else known[text])
        return " § "

    return re.sub(pattern, swap, latex), found


def _evaluate(latex: str) -> float:
    """A worked line's arithmetic, in Python."""
    python = "".join(f"({float(t.replace('~', '-'))})" if t[0] in "~0123456789" else
                     {r"\sigma": "sigmoid", r"\tanh": "tanh", r"\exp": "exp", r"\ln": "log",
                      r"\max": "max", r"\frac": "", "^": "**"}.get(t, t)
                     for t in _tokens(latex))
    # \frac{a}{b} -> (a)/(b); other braces are groups.
    python = python.replace("}{", ")/(").replace("{", "(").replace("}", ")")
    env = {"sigmoid": lambda x: 1 / (1 + math.exp(-x)), "tanh": math.tanh, "exp": math.exp,
           "log": math.log, "max": max, "__builtins__": {}}
    return eval(python, env)  # noqa: S307


def check_equation(latex: str, known: dict[str, float], formulas: dict[str, str]) -> int:
    """Numbers checked in one equation (0 when it holds none)."""
    if " = " not in latex:
        return 0
    lhs, *sides = latex.split(" = ")
    if not re.fullmatch(r"~?[0-9.e-]+", _normal(sides[-1])):
        # A formula without numbers (the chain rule, the δ recursion): nothing to check.
        # It holds no number but the structure's constants (1 - a, ^2, 1/2).
        text = re.sub(r"_\{(?:[^{}]|\{[^{}]*\})*\}", "", _placeholders(latex, known)[0])
        assert {float(t) for t in re.findall(r"\d+(?:\.\d+)?", text)} <= {0.5, 1.0, 2.0}, latex
        return 0
    lhs = lhs.strip()
    assert lhs in known, f"unknown left-hand side {lhs!r}"
    value = float(_normal(sides[-1]).replace("~", "-"))
    assert rounded(value, known[lhs], 10), (latex, known[lhs])
    checked = 1
    for side in sides[:-1]:
        template, operands = _placeholders(side, known)
        if "§" in template:
            formulas[lhs] = side
            continue
        template, operands = _placeholders(formulas[lhs], known)
        sym, num = _tokens(template), _tokens(side)
        assert len(sym) == len(num), (formulas[lhs], side)
        values = iter(operands)
        for s, n in zip(sym, num, strict=True):
            if s == "§":
                expected = next(values)
                assert rounded(float(n.replace("~", "-")), expected, 6), (side, n, expected)
                checked += 1
            else:
                assert s == n, (formulas[lhs], side)
        # Operands have six digits: a sum that cancels keeps only their absolute error.
        assert _evaluate(side) == pytest.approx(value, rel=1e-4, abs=1e-6), latex
    return checked


def test_every_equation_number_is_numpys(network_report):
    config, markdown, runs = network_report
    rate = config.learning_rates[0]
    known = _symbols(runs[rate][0], rate)
    found, _ = equations(markdown)
    formulas: dict[str, str] = {}
    checked = sum(check_equation(latex, known, formulas) for latex in found)
    weights = sum(a * b for a, b in zip(config.network.layers, config.network.layers[1:], strict=False))
    # every weight's gradient and update, each with its operands, and the forward pass
    assert checked > 4 * weights


def test_delta_sections_one_per_layer(network_report):
    config, markdown, _ = network_report
    headings = [line for line in markdown.splitlines() if line.startswith("## Derivatives")]
    assert len(headings) == len(config.network.layers) - 1
    assert "(the output layer)" in headings[0]
    assert r"\delta_{k}" in markdown  # the recursion, written out once per hidden layer


def test_loss_table_and_best_rate(network_report):
    config, markdown, runs = network_report
    check_loss_table(config, markdown, runs)
