"""sheetgen's trace against PyTorch: the real torch.optim classes and lr_scheduler, in float64.

Not part of `make test` (torch is no dependency): install it into the venv first,
    .venv/bin/pip install 'torch==2.13.0+cpu'
then
    .venv/bin/python scripts/torch_crosscheck.py [--seeds 5] [--steps 30] [--markdown]

Each case is a config (optimizer, schedule, loss) run on random networks: sheetgen draws the
initial values with init = "torch" and init_dtype = "float64", torch with torch.manual_seed and
nn.Linear in float64 (so the draw is checked too), both train on the same samples in the order
the sheet's sample columns take them. Compared per step: every parameter, E_total and the rate.
A difference is |sheetgen − torch| over the column's largest |value|; the table gives the largest.
`--init-golden FILE` writes the numbers tests/core/test_init.py checks the draw against.
"""

from __future__ import annotations

import argparse
import json
import math
import sys

import numpy as np
import torch

from sheetgen.config import from_mapping, validate
from sheetgen.core import model

ACT = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu, "identity": lambda z: z}

# (label, torch optimizer and arguments, [optimizer] table, [schedule] table or None, scheduler)
CASES = [
    ("SGD", "SGD()", {"name": "sgd"}, None),
    ("SGD momentum", "SGD(momentum=0.9)", {"name": "sgd", "momentum": 0.9}, None),
    ("SGD momentum, dampening", "SGD(momentum=0.9, dampening=0.5)",
     {"name": "sgd", "momentum": 0.9, "dampening": 0.5}, None),
    ("SGD Nesterov", "SGD(momentum=0.9, nesterov=True)",
     {"name": "sgd", "momentum": 0.9, "nesterov": True}, None),
    ("SGD weight decay", "SGD(momentum=0.5, weight_decay=0.01)",
     {"name": "sgd", "momentum": 0.5, "weight_decay": 0.01}, None),
    ("gd (= SGD)", "SGD()", {"name": "gd"}, None),
    ("RMSprop", "RMSprop()", {"name": "rmsprop"}, None),
    ("RMSprop centered", "RMSprop(centered=True)", {"name": "rmsprop", "centered": True}, None),
    ("RMSprop centered, momentum, decay", "RMSprop(alpha=0.9, momentum=0.9, centered=True, "
     "weight_decay=0.001)", {"name": "rmsprop", "alpha": 0.9, "momentum": 0.9, "centered": True,
                             "weight_decay": 0.001}, None),
    ("Adam", "Adam()", {"name": "adam"}, None),
    ("Adam amsgrad", "Adam(amsgrad=True)", {"name": "adam", "amsgrad": True}, None),
    ("Adam L2", "Adam(betas=(0.8, 0.99), eps=1e-6, weight_decay=0.01)",
     {"name": "adam", "betas": [0.8, 0.99], "eps": 1e-6, "weight_decay": 0.01}, None),
    ("AdamW", "AdamW()", {"name": "adamw"}, None),
    ("AdamW amsgrad", "AdamW(weight_decay=0.1, amsgrad=True)",
     {"name": "adamw", "weight_decay": 0.1, "amsgrad": True}, None),
    ("StepLR", "SGD(momentum=0.9) + StepLR(step_size=4, gamma=0.5)",
     {"name": "sgd", "momentum": 0.9}, {"name": "step", "step_size": 4, "gamma": 0.5}),
    ("ExponentialLR", "Adam() + ExponentialLR(gamma=0.9)", {"name": "adam"},
     {"name": "exponential", "gamma": 0.9}),
    ("CosineAnnealingLR", "SGD() + CosineAnnealingLR(T_max=10, eta_min=0.001)", {"name": "sgd"},
     {"name": "cosine", "T_max": 10, "eta_min": 0.001}),
    ("LinearLR", "AdamW() + LinearLR(start_factor=0.25, total_iters=8)", {"name": "adamw"},
     {"name": "linear_warmup", "start_factor": 0.25, "total_iters": 8}),
    ("OneCycleLR", "SGD(momentum=0.9) + OneCycleLR(max_lr=lr, total_steps=steps, "
     "cycle_momentum=False)", {"name": "sgd", "momentum": 0.9},
     {"name": "one_cycle", "total_steps": None}),
]

# Losses: (sheetgen loss, output activation, reduction, the torch function of the logits z or
# the outputs a, t the targets, n the batch).
LOSSES = [
    ("mse", "identity", "torch", "MSELoss()(a, t)", lambda z, a, t: torch.nn.MSELoss()(a, t)),
    ("mse", "sigmoid", "mean", "MSELoss()(a, t)", lambda z, a, t: torch.nn.MSELoss()(a, t)),
    ("mse", "tanh", "sum", "MSELoss(reduction='sum')(a, t) / n_outputs",
     lambda z, a, t: torch.nn.MSELoss(reduction="sum")(a, t) / a.shape[1]),
    ("sse", "identity", "sum", "MSELoss(reduction='sum')(a, t)",
     lambda z, a, t: torch.nn.MSELoss(reduction="sum")(a, t)),
    ("sse", "identity", "mean", "MSELoss(reduction='sum')(a, t) / n",
     lambda z, a, t: torch.nn.MSELoss(reduction="sum")(a, t) / a.shape[0]),
    ("sse", "sigmoid", "torch", "MSELoss()(a, t)", lambda z, a, t: torch.nn.MSELoss()(a, t)),
    ("half_sse", "sigmoid", "sum", "0.5 * MSELoss(reduction='sum')(a, t)",
     lambda z, a, t: 0.5 * torch.nn.MSELoss(reduction="sum")(a, t)),
    ("half_sse", "identity", "torch", "0.5 * MSELoss()(a, t)",
     lambda z, a, t: 0.5 * torch.nn.MSELoss()(a, t)),
    ("binary_cross_entropy", "sigmoid", "torch", "BCEWithLogitsLoss()(z, t)",
     lambda z, a, t: torch.nn.BCEWithLogitsLoss()(z, t)),
    ("binary_cross_entropy", "sigmoid", "mean", "BCEWithLogitsLoss(reduction='sum')(z, t) / n",
     lambda z, a, t: torch.nn.BCEWithLogitsLoss(reduction="sum")(z, t) / a.shape[0]),
    ("binary_cross_entropy", "sigmoid", "sum", "BCEWithLogitsLoss(reduction='sum')(z, t)",
     lambda z, a, t: torch.nn.BCEWithLogitsLoss(reduction="sum")(z, t)),
    ("cross_entropy", "softmax", "mean", "CrossEntropyLoss()(z, t)",
     lambda z, a, t: torch.nn.CrossEntropyLoss()(z, t)),
    ("cross_entropy", "softmax", "torch", "CrossEntropyLoss()(z, t)",
     lambda z, a, t: torch.nn.CrossEntropyLoss()(z, t)),
    ("cross_entropy", "softmax", "sum", "CrossEntropyLoss(reduction='sum')(z, t)",
     lambda z, a, t: torch.nn.CrossEntropyLoss(reduction="sum")(z, t)),
]


def random_network(rng: np.random.Generator, out_activation: str | None = None):
    depth = int(rng.integers(1, 3))
    layers = [int(rng.integers(1, 4)) for _ in range(depth)] + [int(rng.integers(1, 4))]
    layers = [int(rng.integers(1, 4))] + layers
    hidden = [str(rng.choice(["sigmoid", "tanh", "relu", "identity"])) for _ in range(len(layers) - 2)]
    out = out_activation or str(rng.choice(["sigmoid", "tanh", "identity"]))
    if out == "softmax" and layers[-1] < 2:
        layers[-1] = 2
    return layers, hidden + [out]


def samples(rng, layers, activation, loss, n):
    X = rng.uniform(-1, 1, (n, layers[0]))
    if loss == "cross_entropy":
        T = rng.dirichlet(np.ones(layers[-1]), n)    # class probabilities (targets summing to 1)
    elif loss == "binary_cross_entropy":
        T = rng.uniform(0, 1, (n, layers[-1]))
    else:
        T = rng.uniform(-1, 1, (n, layers[-1]))
    return X, T


def config(layers, activations, loss, X, T, batch, reduction, seed, steps, lr, opt, sched,
           biases=True):
    table = {
        "learning_rates": [lr], "iterations": steps, "formats": ["xlsx"],
        "network": {"layers": layers, "activations": activations, "loss": loss,
                    "biases": "per_neuron" if biases else "none", "train_biases": biases,
                    "init": "torch", "init_dtype": "float64", "seed": seed},
        "data": {"samples": [{**{f"i{j + 1}": float(x[j]) for j in range(len(x))},
                              **{f"t{j + 1}": float(t[j]) for j in range(len(t))}}
                             for x, t in zip(X, T, strict=True)],
                 "batch": batch, "reduction": reduction},
        "optimizer": opt,
    }
    if sched is not None:
        table["schedule"] = {k: (steps if v is None else v) for k, v in sched.items()}
    cfg = from_mapping(table, "crosscheck")
    validate(cfg)
    return cfg


def torch_run(cfg, layers, activations, seed, X, T, picks, lr, steps, opt_text, sched, loss_fn):
    """Per step: the parameters going into it (sheetgen's names), its loss and its rate."""
    torch.set_default_dtype(torch.float64)
    torch.manual_seed(seed)
    linears = [torch.nn.Linear(a, b) for a, b in zip(layers[:-1], layers[1:], strict=True)]
    params = [p for m in linears for p in (m.weight, m.bias)]
    name, _, args = opt_text.partition(" + ")[0].partition("(")
    optimizer = eval(f"torch.optim.{name}(params, lr={lr}, {args[:-1]})",  # noqa: S307
                     {"torch": torch, "params": params})
    scheduler = None
    if sched is not None:
        text = opt_text.partition(" + ")[2].replace("max_lr=lr", f"max_lr={lr}")
        text = text.replace("total_steps=steps", f"total_steps={steps}")
        sname, _, sargs = text.partition("(")
        scheduler = eval(f"torch.optim.lr_scheduler.{sname}(optimizer, {sargs}",  # noqa: S307
                         {"torch": torch, "optimizer": optimizer})
    spec = cfg.network
    X, T = torch.tensor(X), torch.tensor(T)
    rows = []
    for step in range(steps):
        row = {"lr": optimizer.param_groups[0]["lr"]}
        for layer, m in enumerate(linears, start=1):
            for j, names in enumerate(spec.weights(layer)):
                for k, w in enumerate(names):
                    row[w] = m.weight[j, k].item()
            for j, b in enumerate(spec.biases_of(layer)):
                row[b] = m.bias[j].item()
        x, t = X[picks[step]], T[picks[step]]
        h = x
        for m, f in zip(linears, activations, strict=True):
            z = m(h)
            h = torch.softmax(z, dim=1) if f == "softmax" else ACT[f](z)
        optimizer.zero_grad()
        loss = loss_fn(z, h, t)
        loss.backward()
        row["E_total"] = loss.item()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        rows.append(row)
    return rows


def largest(trace, rows, columns):
    worst, where = 0.0, ""
    for c in columns:
        mine = trace.column(c)
        theirs = np.array([r[c] for r in rows])
        scale = max(np.max(np.abs(theirs)), 1e-300)
        d = float(np.max(np.abs(mine - theirs)) / scale)
        if d > worst:
            worst, where = d, c
    return worst, where


def picks_of(trace, cfg):
    """The samples (0-based) each step takes, read from the sheet's own sample columns."""
    data = cfg.data
    k = data.batch_size
    if k == data.n:
        return [list(range(data.n))] * trace.iterations
    names = ["sample"] if k == 1 else [f"sample_s{j}" for j in range(1, k + 1)]

    def used(slot: str, r: int) -> bool:   # a slot outside an epoch's short last batch: in_s… = 0
        weight = slot.replace("sample", "in")
        return weight not in trace.names or trace.column(weight)[r] == 1

    return [[int(trace.column(s)[r]) - 1 for s in names if used(s, r)] for r in range(trace.iterations)]


def run_optimizers(seeds, steps):
    table = []
    for _label, opt_text, opt, sched in CASES:
        worst, runs, where = 0.0, 0, ""
        for seed in range(seeds):
            rng = np.random.default_rng(1000 + seed)
            layers, activations = random_network(rng)
            n = int(rng.integers(2, 7))
            X, T = samples(rng, layers, activations[-1], "mse", n)
            batch = "full" if seed % 2 == 0 else int(rng.integers(1, n + 1))
            lr = float(rng.uniform(0.01, 0.1))
            cfg = config(layers, activations, "mse", X, T, batch, "torch", seed, steps, lr, opt, sched)
            trace = model.trace(cfg.training().network, cfg.training().setup, lr, steps)
            rows = torch_run(cfg, layers, activations, seed, X, T, picks_of(trace, cfg), lr, steps,
                             opt_text, sched, lambda z, a, t: torch.nn.MSELoss()(a, t))
            columns = [c for c in rows[0] if c != "lr" or sched is not None]
            d, c = largest(trace, rows, [c for c in columns if c in trace.names])
            if d > worst:
                worst, where = d, c
            runs += 1
        table.append((opt_text, _config_text(opt, sched), runs, worst, where))
    return table


def run_losses(seeds, steps):
    table = []
    for loss, out, reduction, text, fn in LOSSES:
        worst, where = 0.0, ""
        for seed in range(seeds):
            rng = np.random.default_rng(2000 + seed)
            layers, activations = random_network(rng, out)
            n = int(rng.integers(2, 6))
            X, T = samples(rng, layers, out, loss, n)
            batch = "full" if seed % 2 == 0 else int(rng.integers(1, n + 1))
            lr = float(rng.uniform(0.01, 0.1))
            opt = {"name": "sgd"}
            cfg = config(layers, activations, loss, X, T, batch, reduction, seed, steps, lr, opt, None)
            trace = model.trace(cfg.training().network, cfg.training().setup, lr, steps)
            rows = torch_run(cfg, layers, activations, seed, X, T, picks_of(trace, cfg), lr, steps,
                             "SGD()", None, fn)
            d, c = largest(trace, rows, [c for c in rows[0] if c in trace.names])
            if d > worst:
                worst, where = d, c
        table.append((f"{text}", f'loss = "{loss}" ({out} outputs), reduction = "{reduction}"',
                      seeds, worst, where))
    return table


def stability():
    """Logits far apart: the losses stay finite where torch's are."""
    out = []
    for loss, act, gap in (("cross_entropy", "softmax", 2000.0), ("binary_cross_entropy", "sigmoid", 800.0)):
        X, T = np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]])
        table = {
            "learning_rates": [0.1], "iterations": 3,
            "network": {"layers": [2, 2], "activations": [act], "loss": loss},
            "weights": {"w1": gap, "w2": 0.0, "w3": -gap, "w4": 0.0},
            "data": {"samples": [{"i1": 1.0, "i2": 0.0, "t1": 0.0, "t2": 1.0}]},
            "optimizer": {"name": "sgd"},
        }
        cfg = from_mapping(table, "stability")
        trace = model.trace(cfg.training().network, cfg.training().setup, 0.1, 1)
        z = torch.tensor([[gap, -gap]], dtype=torch.float64)
        t = torch.tensor(T)
        want = (torch.nn.CrossEntropyLoss()(z, t) if loss == "cross_entropy"
                else torch.nn.BCEWithLogitsLoss(reduction="sum")(z, t)).item()
        del X
        out.append((loss, gap, float(trace.column("E_total")[0]), want))
    return out


def _config_text(opt, sched):
    parts = [", ".join(f"{k} = {json.dumps(v)}" for k, v in opt.items())]
    if sched:
        parts.append("[schedule] " + ", ".join(
            f"{k} = {json.dumps(v) if v is not None else 'iterations'}" for k, v in sched.items()))
    return "; ".join(parts)


def init_golden(path):
    cases = []
    for dtype in ("float32", "float64"):
        torch.set_default_dtype(getattr(torch, dtype))
        for seed, layers in ((0, (2, 2, 2)), (7, (3, 5, 1)), (2**33 + 5, (1, 4, 3, 2))):
            torch.manual_seed(seed)
            linears = [torch.nn.Linear(a, b) for a, b in zip(layers[:-1], layers[1:], strict=True)]
            cases.append({"seed": seed, "layers": layers, "dtype": dtype,
                          "weights": [m.weight.double().tolist() for m in linears],
                          "biases": [m.bias.double().tolist() for m in linears]})
    with open(path, "w") as f:
        json.dump({"torch": torch.__version__, "cases": cases}, f, indent=1)
        f.write("\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--init-golden")
    args = parser.parse_args(argv)
    if args.init_golden:
        init_golden(args.init_golden)
        return 0
    print(f"torch {torch.__version__}, float64, {args.seeds} random networks per case, "
          f"{args.steps} steps")
    table = run_optimizers(args.seeds, args.steps) + run_losses(args.seeds, args.steps)
    head = ("torch", "sheetgen config", "runs", "largest difference", "in")
    if args.markdown:
        print("| " + " | ".join(head) + " |")
        print("|" + "---|" * len(head))
    for t, c, runs, d, where in table:
        if args.markdown:
            print(f"| `{t}` | `{c}` | {runs} | {d:.1e} | {where} |")
        else:
            print(f"{t:70s} {d:9.1e} {where:8s} {c}")
    print()
    for loss, gap, mine, want in stability():
        print(f"stability: {loss}, logit gap {gap:g}: sheetgen E_total {mine!r}, torch {want!r}")
    worst = max(d for *_, d, _ in table)
    print(f"largest difference over every case: {worst:.2e}")
    return 0 if worst < 1e-9 and all(math.isfinite(m) for _, _, m, _ in stability()) else 1


if __name__ == "__main__":
    sys.exit(main())
