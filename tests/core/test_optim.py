"""Training on a data set with an optimizer, checked against an independent implementation.

`numpy_rows` below is written from the equations alone (matrices, not the generator's named
expressions): a dense network's forward pass per sample, backpropagation by the matrix rule
δ_l = (W_{l+1}ᵀ δ_{l+1}) ⊙ f′(z_l), the batch's gradient combined by mean or sum, and the four
optimizers' updates. For random settings its rows must equal the generator's cell by cell at
1e-12 relative; the batch gradients must equal finite differences of E_total.
"""

from __future__ import annotations

import math
import tomllib

import numpy as np
import pytest

from sheetgen.config import EXAMPLES, example_text, from_mapping, validate
from sheetgen.core import model
from sheetgen.errors import ConfigError
from tests.core.optimizer_reference import step

RTOL = 1e-12

# --- the independent implementation ------------------------------------------------------------

F = {"sigmoid": (lambda z: 1 / (1 + np.exp(-z)), lambda a, z: a * (1 - a)),
     "tanh": (np.tanh, lambda a, z: 1 - a ** 2),
     "relu": (lambda z: np.maximum(z, 0.0), lambda a, z: (z > 0).astype(float)),
     "identity": (lambda z: z, lambda a, z: np.ones_like(z))}


def loss_and_grad(loss: str, a: np.ndarray, t: np.ndarray) -> tuple[float, np.ndarray]:
    if loss == "half_sse":
        return float(np.sum(0.5 * (t - a) ** 2)), a - t
    if loss == "sse":
        return float(np.sum((t - a) ** 2)), 2 * (a - t)
    if loss == "mse":
        return float(np.sum((t - a) ** 2) / len(a)), 2 * (a - t) / len(a)
    raise ValueError(loss)


def numpy_rows(layers, activations, loss, biases, W, B, X, T, batch, reduction, opt, lr, steps):
    """Rows of dicts: the parameters and state going into each step, E_total and gradients."""
    W = [w.copy() for w in W]
    B = [b.copy() for b in B]
    n = len(X)
    k = n if batch == "full" else batch
    names = _parameter_names(layers, biases)
    state = {s: {p: opt.get("initial", {}).get(f"{s}_{p}", 0.0) for p in names}
             for s in {"gd": [], "momentum": ["v"], "rmsprop": ["s"], "adam": ["m", "s"],
                       "nesterov": ["v"]}[opt["name"]]}
    rows = []
    for t in range(1, steps + 1):
        picks = [((t - 1) * k + j) % n for j in range(k)]
        gW = [np.zeros_like(w) for w in W]
        gB = [np.zeros_like(b) for b in B]
        losses = []
        for i in picks:
            acts, zs = [X[i]], []
            for w, b, f in zip(W, B, activations, strict=True):
                z = w @ acts[-1] + (b if biases else 0.0)
                zs.append(z)
                acts.append(F[f][0](z))
            e, dE_da = loss_and_grad(loss, acts[-1], T[i])
            losses.append(e)
            delta = dE_da * F[activations[-1]][1](acts[-1], zs[-1])
            for layer in range(len(W) - 1, -1, -1):
                gW[layer] += np.outer(delta, acts[layer])
                gB[layer] += delta
                if layer:
                    delta = (W[layer].T @ delta) * F[activations[layer - 1]][1](acts[layer], zs[layer - 1])
        scale = 1 / k if reduction == "mean" else 1.0
        grads = _flat(gW, gB, biases) * scale
        params = _flat(W, B, biases)
        row = dict(zip(names, params, strict=True))
        row["E_total"] = sum(losses) * scale
        row.update({f"dE_d{p}": g for p, g in zip(names, grads, strict=True)})
        for s, values in state.items():
            row.update({f"{s}_{p}": values[p] for p in names})
        rows.append(row)
        new = step(opt, state, names, params, grads, lr, t)
        W, B = _unflat(new, layers, biases)
    return rows


def _parameter_names(layers, biases):
    names, w, b = [], 1, 1
    for fan_in, size in zip(layers[:-1], layers[1:], strict=True):
        names += [f"w{w + k}" for k in range(fan_in * size)]
        w += fan_in * size
        if biases:
            names += [f"b{b + k}" for k in range(size)]
            b += size
    return names


def _flat(W, B, biases):
    parts = []
    for w, b in zip(W, B, strict=True):
        parts.append(w.ravel())
        if biases:
            parts.append(b)
    return np.concatenate(parts)


def _unflat(values, layers, biases):
    W, B, at = [], [], 0
    for fan_in, size in zip(layers[:-1], layers[1:], strict=True):
        W.append(np.array(values[at:at + fan_in * size]).reshape(size, fan_in))
        at += fan_in * size
        if biases:
            B.append(np.array(values[at:at + size]))
            at += size
        else:
            B.append(np.zeros(size))
    return W, B


# --- random settings -----------------------------------------------------------------------------

def random_case(seed: int):
    rng = np.random.default_rng(seed)
    depth = int(rng.integers(1, 3))
    layers = [int(rng.integers(1, 4)) for _ in range(depth + 1)]
    activations = [str(rng.choice(["sigmoid", "tanh", "identity", "relu"])) for _ in range(depth)]
    loss = str(rng.choice(["half_sse", "sse", "mse"]))
    biases = bool(rng.integers(0, 2))
    n = int(rng.integers(1, 7))
    X = rng.uniform(-1, 1, (n, layers[0]))
    T = rng.uniform(-1, 1, (n, layers[-1]))
    batch = "full" if rng.integers(0, 3) == 0 else int(rng.integers(1, n + 1))
    reduction = str(rng.choice(["mean", "sum"]))
    name = str(rng.choice(["gd", "momentum", "rmsprop", "adam"]))
    opt = {"name": name, "beta": float(rng.uniform(0, 0.99)), "beta1": float(rng.uniform(0, 0.99)),
           "beta2": float(rng.uniform(0.5, 0.9999)),
           "epsilon": float(rng.choice([0.0, 1e-8, 1e-3])),
           "bias_correction": bool(rng.integers(0, 2))}
    if opt["epsilon"] == 0 and "relu" in activations:
        opt["epsilon"] = 1e-8  # √s is 0 when a gradient is exactly 0 (a relu at rest): #DIV/0!
    lr = float(rng.uniform(0.01, 0.5))
    W = [rng.uniform(-1, 1, (b, a)) for a, b in zip(layers[:-1], layers[1:], strict=True)]
    B = [rng.uniform(-0.5, 0.5, b) if biases else np.zeros(b) for b in layers[1:]]
    return layers, activations, loss, biases, W, B, X, T, batch, reduction, opt, lr


def config_for(case, steps: int, check: bool = False):
    layers, activations, loss, biases, W, B, X, T, batch, reduction, opt, lr = case
    names = _parameter_names(layers, biases)
    values = dict(zip(names, _flat(W, B, biases), strict=True))
    data = {
        "learning_rates": [lr], "iterations": steps,
        "network": {"layers": layers, "activations": activations, "loss": loss,
                    "biases": "per_neuron" if biases else "none", "train_biases": biases},
        "weights": {k: float(v) for k, v in values.items() if k[0] == "w"},
        "data": {"samples": [{**{f"i{j + 1}": float(x[j]) for j in range(len(x))},
                              **{f"t{j + 1}": float(t[j]) for j in range(len(t))}}
                             for x, t in zip(X, T, strict=True)],
                 "batch": batch, "reduction": reduction, "order": "cycle"},
        "optimizer": {k: v for k, v in opt.items() if k in
                      {"gd": ("name",), "momentum": ("name", "beta"), "nesterov": ("name", "beta"),
                       "rmsprop": ("name", "beta", "epsilon"),
                       "adam": ("name", "beta1", "beta2", "epsilon", "bias_correction")}[opt["name"]]},
    }
    if check:
        data["optimizer"]["check_gradients"] = True
    if biases:
        data["biases"] = {k: float(v) for k, v in values.items() if k[0] == "b"}
    config = from_mapping(data, "case")
    validate(config)
    return config


@pytest.mark.parametrize("seed", range(40))
def test_every_optimizer_row_matches_an_independent_implementation(seed):
    case = random_case(seed)
    steps = 12
    config = config_for(case, steps)
    got = model.run(config.training().network, config.training().setup, case[-1], steps)
    want = numpy_rows(*case, steps)
    compared = 0
    for k, (g, w) in enumerate(zip(got, want, strict=True)):
        for name, value in w.items():
            # An absolute floor for values that are sums cancelling to about 0.
            floor = 1e-14 * max(1.0, max(abs(r[name]) for r in want))
            assert math.isclose(g[name], value, rel_tol=RTOL, abs_tol=floor), \
                f"seed {seed}, row {k + 1}, {name}: generator {g[name]!r}, numpy {value!r}"
            compared += 1
    assert compared >= steps * 3


@pytest.mark.parametrize("seed", range(12))
def test_nesterov_rows_match_an_independent_implementation(seed):
    """The nesterov class's rows (v ← β·v + g, w ← w − lr·(g + β·v)) equal the matrix
    implementation's at 1e-12, and differ from plain momentum's."""
    case = random_case(seed)
    case[10]["name"] = "nesterov"
    steps = 8
    training = config_for(case, steps).training()
    assert training.optimizer.name == "nesterov" and "v_w1" in training.network.names
    got = model.run(training.network, training.setup, case[-1], steps)
    want = numpy_rows(*case, steps)
    for k, (g, w) in enumerate(zip(got, want, strict=True)):
        for name, value in w.items():
            floor = 1e-14 * max(1.0, max(abs(r[name]) for r in want))
            assert math.isclose(g[name], value, rel_tol=RTOL, abs_tol=floor), (seed, k + 1, name)
    if all(r[p] == 0 for r in want for p in r if p.startswith("dE_d")):
        return  # a network at rest (every relu off): every rule leaves it there
    case[10]["name"] = "momentum"
    other = numpy_rows(*case, steps)[-1]
    assert any(not math.isclose(other[p], got[-1][p], rel_tol=RTOL) for p in other if p[0] in "wb")


def test_the_independent_implementation_can_disagree():
    """A different β1 changes adam's rows: the comparison above can fail."""
    case = random_case(3)
    while case[10]["name"] != "adam":
        case = random_case(hash(case[11]) % 1000)
    steps = 4
    training = config_for(case, steps).training()
    got = model.run(training.network, training.setup, case[-1], steps)
    case[10]["beta1"] = case[10]["beta1"] / 2
    want = numpy_rows(*case, steps)
    assert not math.isclose(got[-1]["w1"], want[-1]["w1"], rel_tol=RTOL)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("seed", range(8))
def test_batch_gradients_equal_finite_differences(seed, reduction):
    """The first row's gradients against a central difference of its E_total, moving one
    initial parameter at a time."""
    case = list(random_case(100 + seed))
    case[9] = reduction
    case[1] = ["tanh" if a == "relu" else a for a in case[1]]  # smooth: a difference is exact enough
    config = config_for(tuple(case), 1)
    net = config.training().network
    row = model.run(net, config.training().setup, case[-1], 1)[0]
    values = config.training().setup.values()
    checked = 0
    for q in net.quantities:
        if not q.gradient:
            continue
        p = q.name.removeprefix("dE_d")
        h = 1e-6

        def loss(value, p=p):
            start = config.training().setup
            setup = type(start)(tuple((n, value if n == p else v) for n, v in start.items), start.biases)
            return model.run(net, setup, case[-1], 1)[0]["E_total"]

        numeric = (loss(values[p] + h) - loss(values[p] - h)) / (2 * h)
        assert math.isclose(row[q.name], numeric, rel_tol=1e-6, abs_tol=1e-8), (p, row[q.name], numeric)
        checked += 1
    assert checked >= 1


@pytest.mark.parametrize("seed", range(6))
def test_gradient_check_columns_estimate_every_rows_gradients(seed):
    case = list(random_case(200 + seed))
    case[1] = ["tanh" if a == "relu" else a for a in case[1]]
    config = config_for(tuple(case), 6, check=True)
    rows = model.run(config.training().network, config.training().setup, case[-1], 6)
    checks = [n for n in rows[0] if n.startswith("fd_")]
    assert checks
    for row in rows:
        for fd in checks:
            g = row["dE_d" + fd[3:]]
            # A forward difference: off by about h·E''/2.
            assert math.isclose(row[fd], g, rel_tol=1e-4, abs_tol=1e-5), (fd, row[fd], g)


# Dense networks only: image networks (conv-*) have their own check in tests/core/test_conv.py,
# the recurrent examples theirs in tests/core/test_recurrent.py.
TRAINING_EXAMPLES = [n for n in EXAMPLES if "data" in tomllib.loads(example_text(n))
                     and not n.startswith("conv-")
                     and "cell" not in tomllib.loads(example_text(n))["network"]]


@pytest.mark.parametrize("name", TRAINING_EXAMPLES)
def test_every_training_example_matches_the_independent_implementation(name):
    config = from_mapping(tomllib.loads(example_text(name)), name)
    validate(config)
    spec, data, opt = config.network, config.data, config.optimizer
    values = config.training().setup.values()
    biases = spec.biases != "none"
    names = _parameter_names(list(spec.layers), biases)
    W, B = _unflat([values[p] for p in names], list(spec.layers), biases)
    X = np.array([[values[f"data_{i}"][k] for i in spec.inputs] for k in range(data.n)])
    T = np.array([[values[f"data_{t}"][k] for t in spec.targets] for k in range(data.n)])
    o = {"name": opt.name, "beta": opt.beta, "beta1": opt.beta1, "beta2": opt.beta2,
         "epsilon": opt.epsilon, "bias_correction": opt.bias_correction,
         "initial": dict(opt.initial_state)}
    steps = min(config.iterations, 200)
    for lr in config.learning_rates:
        got = model.run(config.training().network, config.training().setup, lr, steps)
        want = numpy_rows(list(spec.layers), list(spec.activations), spec.loss, biases, W, B, X, T,
                          data.batch or "full", data.reduction, o, lr, steps)
        for k, (g, w) in enumerate(zip(got, want, strict=True)):
            for q, value in w.items():
                floor = 1e-14 * max(1.0, max(abs(r[q]) for r in want))
                assert math.isclose(g[q], value, rel_tol=RTOL, abs_tol=floor), (name, lr, k + 1, q)


def test_the_readme_states_the_xor_result():
    """The documented steps to E_total < 0.01 are the ones the xor example takes from its seed."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text("utf-8")
    config = from_mapping(tomllib.loads(example_text("xor")), "xor")
    net = config.training().network
    column = net.index("E_total")
    hits = []
    for lr in config.learning_rates:
        rows = model.iterate(net, config.training().setup, lr, config.iterations)
        hits.append(next(k + 1 for k, row in enumerate(rows) if row[column] < 0.01))
    first = f"{hits[0]:,} (lr {config.learning_rates[0]:g})"
    rest = ", ".join(f"{h:,} ({r:g})" for h, r in zip(hits[1:-1], config.learning_rates[1:-1], strict=True))
    stated = f"{first}, {rest} and {hits[-1]:,} ({config.learning_rates[-1]:g})"
    assert stated in " ".join(readme.split()), stated


@pytest.mark.slow
def test_the_least_gradient_check_length_is_a_lower_bound():
    """The arithmetic that refuses a deep gradient check before anything is built never exceeds
    the length the built check formula really has (so it refuses nothing that fits)."""
    import random

    from sheetgen.core import optimizers, presets
    from sheetgen.core.cells import column_letter, ref
    from sheetgen.core.data import DataSpec
    from sheetgen.core.network import MAX_COLUMNS, NetworkSpec, spanner
    from sheetgen.core.training import columns_for, least_check_chars

    rng = random.Random(3)
    built = 0
    for _ in range(12):
        hidden = [rng.randint(1, 3) for _ in range(rng.randint(1, 2))]
        layers = [rng.randint(1, 3), *hidden, rng.randint(1, 3)]
        activations = [rng.choice(["sigmoid", "tanh", "relu", "leaky_relu", "identity", "softplus", "elu"])
                       for _ in layers[1:]]
        spec = NetworkSpec(layers=tuple(layers), activations=tuple(activations),
                           biases=rng.choice(["none", "per_layer", "per_neuron"]), train_biases=True)
        k = rng.randint(1, 2)
        names = spec.inputs + spec.targets
        data = DataSpec(names, tuple(tuple(rng.random() for _ in names) for _ in range(k)))
        opt = optimizers.OptimizerSpec(name=rng.choice(sorted(optimizers.OPTIMIZERS)), check_gradients=True)
        try:
            training = presets.training(spec, {}, data=data, optimizer=opt)
        except ConfigError:  # refused by a tighter bound (a softmax, say): nothing to compare
            continue
        built += 1
        states = len(optimizers.optimizer(opt).states)
        assert columns_for(presets.training(spec, {}), k, k, states, True) == len(training.columns)
        column_of = {c.quantity: j for j, c in enumerate(training.columns)}
        span = spanner(column_of, "xlsx", "1048576")

        def reference(name: str, column_of: dict = column_of) -> str:
            if name in column_of:
                return ref("xlsx", column_of[name], "1048576")
            return f"data!${column_letter(MAX_COLUMNS - 1)}$2:${column_letter(MAX_COLUMNS - 1)}$1048576"

        longest = max(1 + len(q.formula.to_formula(reference, ",", span))
                      for q, c in zip(training.network.quantities, training.columns, strict=True)
                      if c.block == "check")
        assert least_check_chars(spec, k)[0] <= longest, (layers, activations)
    assert built >= 8


@pytest.mark.slow
def test_the_lengths_that_grow_with_the_batch_are_counted_exactly_before_they_are_written(monkeypatch):
    """The counts that refuse a formula too long before its table is built (core/training.py:
    `_gradient_check_lengths` for each gradient check, `_batch_lengths` for each gradient and
    E_total) are the lengths the built formulas have, as check_fits measures them: random
    networks, batches, orders and activations (softmax too)."""
    import random

    from sheetgen.core import optimizers, presets, training
    from sheetgen.core.data import DataSpec
    from sheetgen.core.network import NetworkSpec
    from sheetgen.core.training import _longest_references

    counted: dict[str, dict[str, int]] = {}
    for name in ("_gradient_check_lengths", "_batch_lengths"):
        real = getattr(training, name)
        monkeypatch.setattr(training, name,
                            lambda *a, real=real, name=name: counted.setdefault(name, real(*a)))
    rng = random.Random(5)
    compared = totals = 0
    for _ in range(14):
        hidden = [rng.randint(1, 3) for _ in range(rng.randint(0, 2))]
        layers = [rng.randint(1, 3), *hidden, rng.randint(2, 3)]
        hidden_kinds = ["sigmoid", "tanh", "relu", "leaky_relu", "identity", "softplus", "elu"]
        activations = [rng.choice(hidden_kinds) for _ in layers[2:]]
        last, loss = rng.choice([("sigmoid", "mse"), ("softmax", "cross_entropy"), ("identity", "sse")])
        spec = NetworkSpec(layers=tuple(layers), activations=(*activations, last), loss=loss,
                           biases=rng.choice(["none", "per_layer", "per_neuron"]), train_biases=True)
        n = rng.randint(1, 4)
        names = spec.inputs + spec.targets
        rows = tuple(tuple(rng.random() for _ in spec.inputs) + (1.0,) + (0.0,) * (len(spec.targets) - 1)
                     for _ in range(n))
        batch = rng.choice([None, rng.randint(1, n)])
        data = DataSpec(names, rows, batch=batch, order=rng.choice(["epochs", "cycle"]),
                        shuffle=rng.random() < 0.5, reduction=rng.choice(["mean", "sum"]))
        opt = optimizers.OptimizerSpec(name=rng.choice(sorted(optimizers.OPTIMIZERS)), check_gradients=True)
        counted.clear()
        try:
            built = presets._compile(spec, data, opt, "none", False)
        except ConfigError as exc:  # refused by the count: then it is over the limit
            assert "formula needs" in str(exc) and max(counted["_gradient_check_lengths"].values()) > 8192
            continue
        column_of = {c.quantity: j for j, c in enumerate(built.columns)}
        reference, span = _longest_references(column_of, set(built.data_names))
        lengths = {c.quantity: 1 + len(q.formula.to_formula(reference, ",", span))
                   for q, c in zip(built.network.quantities, built.columns, strict=True)
                   if c.block in ("check", "gradient", "total")}
        checks = {q[len("fd_"):]: n for q, n in lengths.items() if q.startswith("fd_")}
        assert counted["_gradient_check_lengths"] == checks, (layers, activations, last, batch)
        grown = counted["_batch_lengths"]   # E_total among them when it sums a batch's losses
        assert grown == {q: n for q, n in lengths.items() if q.startswith("dE_d") or q in grown}
        compared += 1
        totals += "E_total" in grown
    assert compared >= 10 and totals >= 3
