"""Optimizers, weight decay, schedules, losses and batches as torch has them, checked against an
independent numpy implementation at 1e-12.

`reference_rows` is written from torch.optim's and lr_scheduler's documented algorithms and
torch's loss definitions (matrices and closed forms, not the generator's expressions); for random
networks and settings its parameters, E_total and rate must equal the generator's row by row.
"""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from sheetgen.config import from_mapping, validate
from sheetgen.core import model
from sheetgen.errors import ConfigError

RTOL = 1e-12

ACT = {"sigmoid": lambda z: 1 / (1 + np.exp(-z)), "tanh": np.tanh,
       "identity": lambda z: z, "softmax": lambda z: np.exp(z - z.max()) / np.exp(z - z.max()).sum()}
DACT = {"sigmoid": lambda a: a * (1 - a), "tanh": lambda a: 1 - a ** 2, "identity": np.ones_like}


def loss_grad(loss, out, z, a, t):
    """One sample's loss (summed over outputs; mse averaged) and ∂loss/∂z of the output layer."""
    if loss == "cross_entropy":     # from the logits: log_softmax
        log_a = z - z.max() - np.log(np.exp(z - z.max()).sum())
        return float(-(t * log_a).sum()), a - t
    if loss == "binary_cross_entropy":   # torch's binary_cross_entropy_with_logits
        return float(np.sum(np.maximum(z, 0) - z * t + np.log1p(np.exp(-abs(z))))), a - t
    scale = {"half_sse": 0.5, "sse": 1.0, "mse": 1.0 / len(a)}[loss]
    return float(scale * np.sum((a - t) ** 2)), 2 * scale * (a - t) * DACT[out](a)


def schedule_rate(sched, lr, t):
    """torch.optim.lr_scheduler's closed forms at step t (0-based)."""
    name = sched.get("name", "constant")
    if name == "step":
        return lr * sched["gamma"] ** (t // sched["step_size"])
    if name == "exponential":
        return lr * sched["gamma"] ** t
    if name == "cosine":
        eta = sched.get("eta_min", 0.0)
        return eta + (lr - eta) * (1 + math.cos(math.pi * t / sched["T_max"])) / 2
    if name == "linear_warmup":
        s, e, n = sched.get("start_factor", 1 / 3), sched.get("end_factor", 1.0), sched["total_iters"]
        return lr * (s + (e - s) * min(t, n) / n)
    if name == "one_cycle":
        total, pct = sched["total_steps"], sched.get("pct_start", 0.3)
        start = lr / sched.get("div_factor", 25.0)
        low = start / sched.get("final_div_factor", 1e4)
        up = pct * total - 1

        def anneal(a, b, p):
            return b + (a - b) / 2 * (math.cos(math.pi * p) + 1)
        return anneal(start, lr, t / up) if t <= up else anneal(lr, low, (t - up) / (total - 1 - up))
    return lr


def batches(n, k, order, shuffle, drop_last, seed, steps):
    if k is None:
        return [list(range(n))] * steps
    if order == "cycle":
        return [[(t * k + j) % n for j in range(k)] for t in range(steps)]
    epoch_batches = []
    e = 0
    while len(epoch_batches) < steps:
        perm = list(range(n))
        if shuffle:
            numbers = list(range(1, n + 1))
            random.Random(f"sheetgen-shuffle-{seed}-{e}").shuffle(numbers)
            perm = [x - 1 for x in numbers]
        chunks = [perm[i:i + k] for i in range(0, n, k)]
        if drop_last and len(chunks[-1]) < k:
            chunks.pop()
        epoch_batches += chunks
        e += 1
    return epoch_batches[:steps]


def reference_rows(case, steps):
    layers, acts, loss, W, B, X, T, k, reduction, order, shuffle, drop_last, seed, opt, sched, lr = case
    W, B = [w.copy() for w in W], [b.copy() for b in B]
    state: dict = {}
    rows = []
    picks = batches(len(X), k, order, shuffle, drop_last, seed, steps)
    wd = opt.get("weight_decay", 0.01 if opt["name"] == "adamw" else 0.0)
    for t in range(steps):
        rate = schedule_rate(sched or {}, lr, t)
        gW = [np.zeros_like(w) for w in W]
        gB = [np.zeros_like(b) for b in B]
        total = 0.0
        for i in picks[t]:
            a_s, zs = [X[i]], []
            for w, b, f in zip(W, B, acts, strict=True):
                zs.append(w @ a_s[-1] + b)
                a_s.append(ACT[f](zs[-1]))
            e, delta = loss_grad(loss, acts[-1], zs[-1], a_s[-1], T[i])
            total += e
            for layer in range(len(W) - 1, -1, -1):
                gW[layer] += np.outer(delta, a_s[layer])
                gB[layer] += delta
                if layer:
                    delta = (W[layer].T @ delta) * DACT[acts[layer - 1]](a_s[layer])
        per = layers[-1] if reduction == "torch" and loss in ("half_sse", "sse",
                                                              "binary_cross_entropy") else 1
        count = 1 if reduction == "sum" else len(picks[t]) * per
        params = np.concatenate([np.concatenate([w.ravel(), b]) for w, b in zip(W, B, strict=True)])
        grads = np.concatenate([np.concatenate([w.ravel(), b]) for w, b in zip(gW, gB, strict=True)]) / count
        rows.append({"params": params.copy(), "E_total": total / count, "lr": rate})
        params = _step(opt, state, params, grads, rate, t + 1, wd)
        at = 0
        for layer, (w, b) in enumerate(zip(W, B, strict=True)):
            W[layer] = params[at:at + w.size].reshape(w.shape)
            at += w.size
            B[layer] = params[at:at + b.size].copy()
            at += b.size
    return rows


def _step(opt, state, p, g, lr, t, wd):
    """torch.optim's single-tensor algorithms (SGD, RMSprop, Adam, AdamW) and the course forms."""
    name = opt["name"]
    if name in ("gd", "sgd"):
        g = g + wd * p
        mu, d = opt.get("momentum", 0.0), opt.get("dampening", 0.0)
        if mu:
            state["v"] = g.copy() if "v" not in state else mu * state["v"] + (1 - d) * g
            g = g + mu * state["v"] if opt.get("nesterov") else state["v"]
        return p - lr * g
    if name == "momentum":
        b = opt.get("beta", 0.9)
        state["v"] = b * state.get("v", 0 * p) + (1 - b) * (g + wd * p)
        return p - lr * state["v"]
    if name == "rmsprop":
        g = g + wd * p
        alpha, eps, mu = opt.get("alpha", 0.99), opt.get("eps", 1e-8), opt.get("momentum", 0.0)
        state["s"] = alpha * state.get("s", 0 * p) + (1 - alpha) * g * g
        if opt.get("centered"):
            state["m"] = alpha * state.get("m", 0 * p) + (1 - alpha) * g
            avg = np.sqrt(state["s"] - state["m"] ** 2) + eps
        else:
            avg = np.sqrt(state["s"]) + eps
        if mu:
            state["v"] = mu * state.get("v", 0 * p) + g / avg
            return p - lr * state["v"]
        return p - lr * g / avg
    b1, b2 = opt.get("betas", (0.9, 0.999))
    eps = opt.get("eps", 1e-8)
    if name == "adamw":
        p = p * (1 - lr * wd)
    else:
        g = g + wd * p
    state["m"] = b1 * state.get("m", 0 * p) + (1 - b1) * g
    state["s"] = b2 * state.get("s", 0 * p) + (1 - b2) * g * g
    second = state["s"]
    if opt.get("amsgrad"):
        state["smax"] = second = np.maximum(state.get("smax", 0 * p), state["s"])
    if opt.get("bias_correction", True):
        return p - lr / (1 - b1 ** t) * state["m"] / (np.sqrt(second) / math.sqrt(1 - b2 ** t) + eps)
    return p - lr * state["m"] / (np.sqrt(second) + eps)


OPTIMIZERS = [
    {"name": "sgd"}, {"name": "sgd", "momentum": 0.9},
    {"name": "sgd", "momentum": 0.8, "dampening": 0.3},
    {"name": "sgd", "momentum": 0.9, "nesterov": True},
    {"name": "sgd", "momentum": 0.5, "weight_decay": 0.05},
    {"name": "momentum", "beta": 0.7}, {"name": "rmsprop"},
    {"name": "rmsprop", "alpha": 0.9, "centered": True},
    {"name": "rmsprop", "momentum": 0.6, "eps": 1e-3, "weight_decay": 0.01},
    {"name": "rmsprop", "centered": True, "momentum": 0.9},
    {"name": "adam"}, {"name": "adam", "amsgrad": True},
    {"name": "adam", "weight_decay": 0.02, "betas": [0.8, 0.95]},
    {"name": "adam", "bias_correction": False}, {"name": "adamw"},
    {"name": "adamw", "amsgrad": True, "weight_decay": 0.1, "eps": 1e-6},
]
SCHEDULES = [None, {"name": "step", "step_size": 3, "gamma": 0.5}, {"name": "exponential", "gamma": 0.8},
             {"name": "cosine", "T_max": 7, "eta_min": 0.01},
             {"name": "linear_warmup", "start_factor": 0.2, "end_factor": 0.9, "total_iters": 4},
             {"name": "one_cycle", "total_steps": 14, "pct_start": 0.4}]
LOSSES = [("half_sse", "sigmoid"), ("sse", "identity"), ("mse", "tanh"),
          ("cross_entropy", "softmax"), ("binary_cross_entropy", "sigmoid")]


def random_case(seed):
    rng = np.random.default_rng(seed)
    depth = int(rng.integers(1, 3))
    loss, out = LOSSES[seed % len(LOSSES)]
    layers = [int(rng.integers(1, 4)) for _ in range(depth + 1)]
    layers[-1] = max(layers[-1], 2) if out == "softmax" else layers[-1]
    acts = [str(rng.choice(["sigmoid", "tanh", "identity"])) for _ in range(depth - 1)] + [out]
    n = int(rng.integers(2, 7))
    X = rng.uniform(-1, 1, (n, layers[0]))
    if loss == "cross_entropy":
        T = rng.dirichlet(np.ones(layers[-1]), n)
    elif loss == "binary_cross_entropy":
        T = rng.uniform(0, 1, (n, layers[-1]))
    else:
        T = rng.uniform(-1, 1, (n, layers[-1]))
    k = None if rng.integers(0, 4) == 0 else int(rng.integers(1, n + 1))
    k = None if k == n else k
    order = "cycle" if rng.integers(0, 4) == 0 else "epochs"
    shuffle = order == "epochs" and bool(rng.integers(0, 2))
    drop_last = order == "epochs" and k is not None and n // k > 0 and bool(rng.integers(0, 2))
    opt = OPTIMIZERS[seed % len(OPTIMIZERS)]
    sched = SCHEDULES[seed % len(SCHEDULES)]
    W = [rng.uniform(-1, 1, (b, a)) for a, b in zip(layers[:-1], layers[1:], strict=True)]
    B = [rng.uniform(-0.5, 0.5, b) for b in layers[1:]]
    reduction = str(rng.choice(["mean", "sum", "torch"]))
    return (layers, acts, loss, W, B, X, T, k, reduction, order, shuffle, drop_last, seed, opt,
            sched, float(rng.uniform(0.01, 0.2)))


def config_for(case, steps):
    layers, acts, loss, W, B, X, T, k, reduction, order, shuffle, drop_last, seed, opt, sched, lr = case
    names, values, w, b = [], [], 1, 1
    for weight, bias in zip(W, B, strict=True):
        for v in weight.ravel():
            names.append(f"w{w}")
            values.append(float(v))
            w += 1
        for v in bias:
            names.append(f"b{b}")
            values.append(float(v))
            b += 1
    table = {
        "learning_rates": [lr], "iterations": steps,
        "network": {"layers": layers, "activations": acts, "loss": loss, "biases": "per_neuron",
                    "train_biases": True, "seed": seed},
        "weights": {n: v for n, v in zip(names, values, strict=True) if n[0] == "w"},
        "biases": {n: v for n, v in zip(names, values, strict=True) if n[0] == "b"},
        "data": {"samples": [{**{f"i{j + 1}": float(x[j]) for j in range(len(x))},
                              **{f"t{j + 1}": float(t[j]) for j in range(len(t))}}
                             for x, t in zip(X, T, strict=True)],
                 "batch": "full" if k is None else k, "reduction": reduction, "order": order},
        "optimizer": opt,
    }
    if order == "epochs":
        table["data"].update(shuffle=shuffle, drop_last=drop_last)
    if sched is not None:
        table["schedule"] = sched
    config = from_mapping(table, "case")
    validate(config)
    return config, names


@pytest.mark.parametrize("seed", range(48))
def test_rows_match_the_independent_implementation(seed):
    case = random_case(seed)
    steps = 14
    config, names = config_for(case, steps)
    got = model.run(config.training().network, config.training().setup, case[-1], steps)
    want = reference_rows(case, steps)
    for r, (g, w) in enumerate(zip(got, want, strict=True)):
        pairs = list(zip(names, w["params"], strict=True)) + [("E_total", w["E_total"])]
        if "lr" in g:
            pairs.append(("lr", w["lr"]))
        for name, value in pairs:
            floor = 1e-14 * max(1.0, max(abs(x[name]) for x in got))
            assert math.isclose(g[name], value, rel_tol=RTOL, abs_tol=floor), \
                f"seed {seed} ({case[13]}, {case[14]}), row {r + 1}, {name}: {g[name]!r} vs {value!r}"


def test_the_reference_can_disagree():
    """Nesterov off where it is on: the comparison above notices."""
    case = list(random_case(3))
    config, names = config_for(tuple(case), 6)
    got = model.run(config.training().network, config.training().setup, case[-1], 6)
    case[13] = {"name": "sgd", "momentum": 0.9}
    want = reference_rows(tuple(case), 6)
    assert not all(math.isclose(got[-1][n], v, rel_tol=RTOL) for n, v in zip(names, want[-1]["params"],
                                                                              strict=True))


@pytest.mark.parametrize("sched", [s for s in SCHEDULES if s])
def test_each_row_shows_its_rate(sched):
    case = list(random_case(1))
    case[14] = sched
    config, _ = config_for(tuple(case), 14)
    rows = model.run(config.training().network, config.training().setup, 0.3, 14)
    assert [r["lr"] for r in rows] == pytest.approx([schedule_rate(sched, 0.3, t) for t in range(14)],
                                                    rel=1e-13)
    assert len({r["lr"] for r in rows}) > 1


@pytest.mark.parametrize("loss,act,gap", [("cross_entropy", "softmax", 2000.0),
                                          ("binary_cross_entropy", "sigmoid", 800.0),
                                          ("cross_entropy", "sigmoid", 800.0)])
def test_logit_losses_never_stop_where_torch_gives_a_number(loss, act, gap):
    table = {"learning_rates": [0.1], "iterations": 3,
             "network": {"layers": [2, 2], "activations": [act], "loss": loss},
             "weights": {"w1": gap, "w2": 0.0, "w3": -gap, "w4": 0.0},
             "data": {"samples": [{"i1": 1.0, "i2": 0.0, "t1": 0.0, "t2": 1.0}]}, "optimizer": {}}
    config = from_mapping(table, "case")
    rows = model.run(config.training().network, config.training().setup, 0.1, 3)
    z = np.array([gap, -gap])
    t = np.array([0.0, 1.0])
    if act == "softmax":
        want = -float((t * (z - z.max() - np.log(np.exp(z - z.max()).sum()))).sum())
    elif loss == "binary_cross_entropy":
        want = float(np.sum(np.maximum(z, 0) - z * t + np.log1p(np.exp(-abs(z)))))
    else:
        want = float(np.sum(t * (np.maximum(-z, 0) + np.log1p(np.exp(-abs(z))))))
    assert math.isfinite(rows[-1]["E_total"])
    assert rows[0]["E_total"] == pytest.approx(want, rel=1e-12)


def test_shuffle_is_a_permutation_per_epoch_and_reproducible():
    samples = [{"i1": float(i), "t1": 0.0} for i in range(7)]
    table = {"iterations": 9, "network": {"layers": [1, 1], "activations": ["identity"], "seed": 5},
             "data": {"samples": samples, "batch": 3, "shuffle": True}, "optimizer": {"name": "sgd"}}
    config = from_mapping(table, "case")
    rows = model.run(config.training().network, config.training().setup, 0.1, 9)
    taken = [[int(r[f"sample_s{j}"]) for j in (1, 2, 3) if r.get(f"in_s{j}", 1)] for r in rows]
    assert [len(x) for x in taken] == [3, 3, 1] * 3            # an epoch = one pass, short last batch
    epochs = [sum(taken[e * 3:e * 3 + 3], []) for e in range(3)]
    assert all(sorted(e) == list(range(1, 8)) for e in epochs)
    assert epochs[0] != epochs[1] and epochs[0] != list(range(1, 8))
    again = from_mapping(table, "case")
    assert model.run(again.training().network, again.training().setup, 0.1, 9) == rows
    dropped = from_mapping({**table, "data": {**table["data"], "drop_last": True}}, "case")
    assert dropped.data.steps_per_epoch() == 2


def test_cycle_keeps_the_wrap_around():
    samples = [{"i1": float(i), "t1": 0.0} for i in range(5)]
    table = {"iterations": 4, "network": {"layers": [1, 1], "activations": ["identity"]},
             "data": {"samples": samples, "batch": 2, "order": "cycle"}, "optimizer": {}}
    config = from_mapping(table, "case")
    rows = model.run(config.training().network, config.training().setup, 0.1, 4)
    assert [(r["sample_s1"], r["sample_s2"]) for r in rows] == [(1, 2), (3, 4), (5, 1), (2, 3)]


@pytest.mark.parametrize("table,message", [
    ({"optimizer": {"name": "sgd", "nesterov": True}}, "optimizer.nesterov"),
    ({"optimizer": {"name": "adam", "betas": [0.9]}}, "optimizer.betas"),
    ({"optimizer": {"name": "rmsprop", "alpha": 1.0}}, "optimizer.alpha"),
    ({"optimizer": {"name": "sgd", "weight_decay": -1}}, "optimizer.weight_decay"),
    ({"schedule": {"name": "one_cycle"}}, "schedule.total_steps"),
    ({"schedule": {"name": "warp"}}, "schedule.name"),
    ({"data": {"samples": [{"i1": 0, "i2": 0, "t1": 0, "t2": 0}], "order": "cycle", "shuffle": True}},
     "data.order"),
])
def test_bad_settings_name_their_key(table, message):
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        config = from_mapping({"network": {"layers": [2, 2]}, **table}, "case")
        validate(config)

