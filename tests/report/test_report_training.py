"""The report of a data set trained by an optimizer, checked against plain numpy.

The examples are recomputed here from their TOML text alone (samples, layer sizes, activations,
loss, batch, reduction, optimizer): forward pass and δ per sample with matrices, the step's mean
or sum, then gd / momentum / rmsprop / adam as textbooks write them. Every equation of the report
that ends in a number must end in numpy's value of its left-hand side, every number substituted
into a worked line must be one of numpy's values (or a hyper-parameter), and the loss table and
the best rate must be numpy's.
"""

from __future__ import annotations

import math
import re
import tomllib

import numpy as np
import pytest
from test_report_numbers import check_loss_table, equations, rounded

from sheetgen.config import example_text, from_mapping
from sheetgen.report import write_report
from sheetgen.report.latex import partial, symbol

EXAMPLES = ["xor", "linear-sgd", "linear-momentum", "linear-adam", "xor-batch3-sum-adam", "linear-rmsprop"]
# Variants of the examples for what they leave out: k samples of n per step, sum, rmsprop.
VARIANTS = {"xor-batch3-sum-adam": ("xor", {'batch = "full"': 'batch = 3\norder = "cycle"',
                                            'reduction = "mean"': 'reduction = "sum"',
                                            'name = "gd"': 'name = "adam"'}),
            "linear-rmsprop": ("linear-momentum", {'name = "momentum"': 'name = "rmsprop"',
                                                   "initial_state = { v =": "initial_state = { s ="})}


def example(kind: str) -> str:
    if kind not in VARIANTS:
        return example_text(kind)
    base, edits = VARIANTS[kind]
    text = example_text(base)
    for old, new in edits.items():
        assert old in text
        text = text.replace(old, new)
    return text
STEPS = 12  # enough for a table and a trend; the examples' own counts cost seconds of plotting


class Trainer:
    """The example's training written out with numpy, named as the config names it."""

    def __init__(self, text: str, initial: dict[str, float]):
        doc = tomllib.loads(text)
        net, data, opt = doc["network"], doc["data"], doc["optimizer"]
        self.layers, self.activations, self.loss = net["layers"], net["activations"], net["loss"]
        assert net["biases"] == "per_neuron" and net["train_biases"]
        self.samples = data["samples"]
        self.batch = len(self.samples) if data["batch"] == "full" else data["batch"]
        self.mean = data["reduction"] == "mean"
        self.opt = {"beta": 0.9, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8} | opt
        n = len(self.layers) - 1
        self.neurons = [[f"i{j}" for j in range(1, self.layers[0] + 1)]] + [
            [f"{'o' if layer == n else 'h'}{j}" for j in range(1, self.layers[layer] + 1)]
            for layer in range(1, n + 1)]
        self.w_names, self.b_names = [], []
        first = bias = 1
        for layer in range(1, n + 1):
            fan_in, size = self.layers[layer - 1], self.layers[layer]
            self.w_names.append([[f"w{first + j * fan_in + k}" for k in range(fan_in)] for j in range(size)])
            self.b_names.append([f"b{bias + j}" for j in range(size)])
            first += fan_in * size
            bias += size
        self.parameters = [w for m in self.w_names for row in m for w in row] + \
                          [b for bs in self.b_names for b in bs]
        self.initial = {p: float(initial[p]) for p in self.parameters}

    @staticmethod
    def _act(kind, z):
        return 1 / (1 + np.exp(-z)) if kind == "sigmoid" else z

    @staticmethod
    def _slope(kind, a):
        return a * (1 - a) if kind == "sigmoid" else np.ones_like(a)

    def sample(self, p: dict[str, float], s: dict[str, float]) -> dict[str, float]:
        """One sample: every named quantity, its loss 'E' and its gradients 'dE_d…'."""
        r = {name: float(s[name]) for name in s}
        acts = [np.array([s[i] for i in self.neurons[0]], dtype=float)]
        t = np.array([s[f"t{k}"] for k in range(1, self.layers[-1] + 1)], dtype=float)
        W = [np.array([[p[w] for w in row] for row in m]) for m in self.w_names]
        B = [np.array([p[b] for b in bs]) for bs in self.b_names]
        for layer, (w, b) in enumerate(zip(W, B, strict=True)):
            z = w @ acts[-1] + b
            acts.append(self._act(self.activations[layer], z))
            for name, zj, aj in zip(self.neurons[layer + 1], z, acts[-1], strict=True):
                r[name], r["a_" + name] = zj, aj
        out = acts[-1]
        errors = (0.5 if self.loss == "half_sse" else 1.0) * (t - out) ** 2
        for k, e in enumerate(errors, 1):
            r[f"E{k}"] = e
        r["E"] = errors.sum()
        delta = (out - t) * (1 if self.loss == "half_sse" else 2) * self._slope(self.activations[-1], out)
        deltas = [delta]
        for layer in range(len(W) - 1, 0, -1):
            deltas.insert(0, (W[layer].T @ deltas[0]) * self._slope(self.activations[layer - 1], acts[layer]))
        for layer, d in enumerate(deltas):
            for j, name in enumerate(self.neurons[layer + 1]):
                r["delta_" + name] = d[j]
                r["dE_d" + self.b_names[layer][j]] = d[j]
                for k, w in enumerate(self.w_names[layer][j]):
                    r["dE_d" + w] = d[j] * acts[layer][k]
        return {k: float(v) for k, v in r.items()}

    def run(self, lr: float, steps: int) -> list[dict]:
        """Per step: the parameters and state going in, sample 1's quantities, the step's loss
        and gradients."""
        p, rows = dict(self.initial), []
        state = {f"{k}_{q}": float(v) for k, given in self.opt.get("initial_state", {}).items()
                 for q, v in given.items()}
        o, n = self.opt, len(self.samples)
        for step in range(1, steps + 1):
            taken = [self.samples[((step - 1) * self.batch + j) % n] for j in range(self.batch)]
            each = [self.sample(p, s) for s in taken]
            scale = 1 / len(each) if self.mean else 1
            row = {"p": dict(p), "state": dict(state), "first": each[0], "each": each,
                   "which": ((step - 1) * self.batch) % n + 1,
                   "E_total": scale * sum(e["E"] for e in each),
                   "grad": {q: scale * sum(e["dE_d" + q] for e in each) for q in self.parameters}}
            rows.append(row)
            for q in self.parameters:
                g = row["grad"][q]
                if o["name"] == "gd":
                    p[q] -= lr * g
                elif o["name"] == "momentum":
                    state[f"v_{q}"] = o["beta"] * state.get(f"v_{q}", 0.0) + (1 - o["beta"]) * g
                    p[q] -= lr * state[f"v_{q}"]
                elif o["name"] == "rmsprop":
                    state[f"s_{q}"] = o["beta"] * state.get(f"s_{q}", 0.0) + (1 - o["beta"]) * g * g
                    p[q] -= lr * g / (math.sqrt(state[f"s_{q}"]) + o["epsilon"])
                else:
                    m = state[f"m_{q}"] = o["beta1"] * state.get(f"m_{q}", 0.0) + (1 - o["beta1"]) * g
                    s = state[f"s_{q}"] = o["beta2"] * state.get(f"s_{q}", 0.0) + (1 - o["beta2"]) * g * g
                    m_hat, s_hat = m / (1 - o["beta1"] ** step), s / (1 - o["beta2"] ** step)
                    p[q] -= lr * m_hat / (math.sqrt(s_hat) + o["epsilon"])
            row["next"] = dict(p)
            row["next_state"] = dict(state)
        return rows


@pytest.fixture(scope="module", params=EXAMPLES)
def training_report(request, tmp_path_factory):
    text = example(request.param)
    config = from_mapping(tomllib.loads(text) | {"output_dir": str(tmp_path_factory.mktemp(request.param)),
                                                 "iterations": STEPS})
    write_report(config.training())
    trainer = Trainer(text, config.setup.values())
    runs = {rate: trainer.run(rate, STEPS) for rate in config.learning_rates}
    markdown = (config.output_dir / "report" / "README.md").read_text("utf-8")
    return config, trainer, runs, markdown


def _known(trainer: Trainer, row: dict, rate: float) -> dict[str, float]:
    """LaTeX of each left-hand side -> numpy's value."""
    one = trainer.batch == 1
    loss = "E_total" if one else "E_s1"
    first = row["first"]
    known = {r"\mathit{lr}": rate, r"\beta": trainer.opt["beta"], r"\beta_{1}": trainer.opt["beta1"],
             r"\beta_{2}": trainer.opt["beta2"], r"\varepsilon": trainer.opt["epsilon"],
             r"\alpha": trainer.opt["beta"]}   # rmsprop's α, given by its older name beta
    for name, value in first.items():
        if name.startswith("dE_d"):
            known[partial(loss, name[4:])] = value
        elif name == "E":
            known[symbol(loss)] = value
        else:
            known[symbol(name)] = value
    known[symbol("E_total")] = row["E_total"]
    for q, g in row["grad"].items():
        known[partial("E_total", q)] = g
    for q, value in row["next"].items():
        known[symbol(q) + "^{+}"] = value
    for name, value in row["next_state"].items():
        known[symbol(name) + "^{+}"] = value
    return known


NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?: \\times 10\^\{-?\d+\})?")


def _float(text: str) -> float:
    mantissa, _, exponent = text.partition(r" \times 10^{")
    return float(mantissa) * (10.0 ** int(exponent.rstrip("}")) if exponent else 1.0)


def test_every_equation_number_is_numpys(training_report):
    config, trainer, runs, markdown = training_report
    rate = config.learning_rates[0]
    row = runs[rate][0]
    known = _known(trainer, row, rate)
    pool = [*known.values(), *row["p"].values(), *row["next_state"].values(),
            *(float(x) for s in trainer.samples for x in s.values()),
            *(v for sample in row["each"] for v in sample.values())]
    found, _ = equations(markdown)
    seen = set()
    for latex in found:
        lhs, *sides = latex.split(" = ")
        lhs = lhs.strip()
        if not sides or not NUMBER.fullmatch(sides[-1].strip()):
            continue
        assert lhs in known, f"unknown left-hand side {lhs!r}"
        assert rounded(_float(sides[-1].strip()), known[lhs], 10), (latex, known[lhs])
        seen.add(lhs)
        for side in sides[:-1]:  # worked lines: each substituted number is one of numpy's
            for text in NUMBER.findall(re.sub(r"_\{[^{}]*\}|\^\{\d\}|\^\{2\}", "", side)):
                value = _float(text)
                if value in (0, 1, 2, 0.5, trainer.batch, -1):
                    continue
                assert any(rounded(abs(value), abs(v), 6) for v in pool if v), \
                    (latex, text)
    one = trainer.batch == 1
    loss = "E_total" if one else "E_s1"
    must = {symbol("E_total"), symbol("o1"), symbol("a_o1"), symbol("delta_o1")}
    must |= {symbol(p) + "^{+}" for p in trainer.parameters}
    must |= {partial(loss, p) for p in trainer.parameters}
    must |= {partial("E_total", p) for p in trainer.parameters}
    assert must <= seen, must - seen
    which = f"sample {row['which']}"
    assert f"Forward pass ({which} of step 1)" in markdown


def test_sections_in_order(training_report):
    config, trainer, _, markdown = training_report
    headings = [line[3:] for line in markdown.splitlines() if line.startswith("## ")]
    order = ["The network", "Forward pass", "One step over the batch", "Derivatives of",
             f"Update: {config.optimizer.name}", "Loss per learning rate", "Best learning rate"]
    at = [next(k for k, h in enumerate(headings) if h.startswith(o)) for o in order]
    assert at == sorted(at), headings
    reduction = "mean" if trainer.mean else "sum"
    if trainer.batch > 1:
        assert f"by their {reduction}" in markdown
    # the optimizer's equations, as the README's table writes them
    rules = {"gd": [r"w \leftarrow w - \mathit{lr} \cdot g"],
             "momentum": [r"v \leftarrow \beta \cdot v + (1 - \beta) \cdot g",
                          r"w \leftarrow w - \mathit{lr} \cdot v"],
             "rmsprop": [r"s \leftarrow \alpha \cdot s + (1 - \alpha) \cdot g^{2}",
                         r"w \leftarrow w - \mathit{lr} \cdot g / (\sqrt{s} + \varepsilon)"],
             "adam": [r"m \leftarrow \beta_{1} \cdot m + (1 - \beta_{1}) \cdot g",
                      r"s \leftarrow \beta_{2} \cdot s + (1 - \beta_{2}) \cdot g^{2}",
                      r"w \leftarrow w - \mathit{lr} \cdot \hat{m} / (\sqrt{\hat{s}} + \varepsilon)"]}
    for rule in rules[config.optimizer.name]:
        assert f"$$\n{rule}\n$$" in markdown


def test_loss_table_and_best_rate(training_report):
    config, _, runs, markdown = training_report
    check_loss_table(config, markdown, runs)
