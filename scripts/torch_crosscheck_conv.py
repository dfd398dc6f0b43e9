"""Cross-checks sheetgen's image networks against PyTorch's autograd (not part of `make test`).

    pip install 'torch==2.13.0+cpu'     # into your own venv only
    python scripts/torch_crosscheck_conv.py [--cases 40] [--steps 4]

For random networks (the cases of tests/core/test_conv.py: 1–2 conv2d layers, stride 1 or 2,
valid or same padding, max and average pooling, dense layers, softmax with cross-entropy, every
optimizer and batch kind) every row's E_total and gradients are recomputed in float64 by
torch.nn.functional.conv2d, max_pool2d, avg_pool2d and linear with loss.backward(), from the
parameters the row holds; also the examples conv-digits and conv-edge, and a tie case (a flat
image: max_pool2d routes each window's gradient to its first element). Prints the largest
relative difference and exits 1 if any passes 1e-10.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "core"))

from test_conv import _pads, config_for, example_case, random_case  # noqa: E402

from sheetgen.core import model  # noqa: E402

LIMIT = 1e-10
ACT = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid, "identity": lambda z: z,
       "leaky_relu": lambda z: F.leaky_relu(z, 0.01)}


def torch_row(spec, row: dict, case: dict) -> tuple[float, dict[str, float]]:
    """E_total and every parameter's gradient from the parameters `row` holds."""
    params: dict[str, torch.Tensor] = {}

    def tensor(names: list[str], shape) -> torch.Tensor:
        t = torch.tensor([row[n] for n in names], dtype=torch.float64).reshape(shape)
        t.requires_grad_(True)
        for n in names:
            params[n] = None
        return t

    layers = []
    for n, layer in enumerate(spec.layers[1:], start=1):
        weights, biases = spec.parameters_of(n)
        entry = {"layer": layer, "n": n}
        if layer.kind == "conv2d":
            entry["W"] = tensor(weights, (layer.maps, spec.shapes[n - 1][0], layer.kernel, layer.kernel))
        elif layer.kind == "dense":
            entry["W"] = tensor(weights, (layer.size, spec.shapes[n - 1][0]))
        if biases:
            entry["b"] = tensor(biases, (len(biases),))
        entry["names"] = (weights, biases)
        layers.append(entry)
    k = case["batch"] if case["batch"] != "full" else len(case["X"])
    step = int(row["iteration"])
    picks = [((step - 1) * k + j) % len(case["X"]) for j in range(k)]
    losses = []
    for i in picks:
        h = torch.tensor(case["X"][i], dtype=torch.float64).unsqueeze(0)
        t = torch.tensor(case["T"][i], dtype=torch.float64)
        for entry in layers:
            layer = entry["layer"]
            if layer.kind == "conv2d":
                _, _, H, W = h.shape
                top, bottom, _ = _pads(H, layer.kernel, layer.stride, layer.padding)
                left, right, _ = _pads(W, layer.kernel, layer.stride, layer.padding)
                h = F.pad(h, (left, right, top, bottom))
                h = F.conv2d(h, entry["W"], entry.get("b"), stride=layer.stride)
                h = ACT[layer.activation](h)
            elif layer.kind == "maxpool":
                h = F.max_pool2d(h, layer.size)
            elif layer.kind == "avgpool":
                h = F.avg_pool2d(h, layer.size)
            elif layer.kind == "flatten":
                h = h.flatten()
            else:
                z = F.linear(h, entry["W"], entry.get("b"))
                h = torch.softmax(z, 0) if layer.activation == "softmax" else ACT[layer.activation](z)
        loss = spec.loss
        if loss == "half_sse":
            e = 0.5 * torch.sum((t - h) ** 2)
        elif loss == "sse":
            e = torch.sum((t - h) ** 2)
        elif loss == "mse":
            e = torch.mean((t - h) ** 2)
        else:
            e = -torch.sum(t * torch.log(h))
        losses.append(e)
    total = sum(losses) / (k if case["reduction"] == "mean" else 1)
    total.backward()
    grads = {}
    for entry in layers:
        weights, biases = entry["names"]
        if weights:
            grads.update(zip(weights, entry["W"].grad.ravel().tolist(), strict=True))
        if biases:
            grads.update(zip(biases, entry["b"].grad.tolist(), strict=True))
    return float(total.detach()), grads


def check(config, case: dict, steps: int, label: str) -> tuple[float, str]:
    spec = config.network
    worst, where = 0.0, ""
    rows = model.run(config.training().network, config.training().setup, case["lr"], steps)
    for row in rows:
        e, grads = torch_row(spec, row, case)
        pairs = [("E_total", row["E_total"], e)] + [
            (f"dE_d{p}", row[f"dE_d{p}"], g) for p, g in grads.items() if f"dE_d{p}" in row]
        for name, ours, theirs in pairs:
            diff = abs(ours - theirs) / max(abs(theirs), 1e-8)
            if diff > worst:
                worst, where = diff, f"{label}, iteration {int(row['iteration'])}, {name}"
    return worst, where


def tie_case() -> float:
    """A flat image: every 2×2 window ties. torch's max_pool2d routes to the first element."""
    x = torch.tensor([[[[1.0, 1, 2, 2], [1, 1, 2, 2], [3, 3, 3, 3], [3, 3, 3, 3]]]], requires_grad=True,
                     dtype=torch.float64)
    F.max_pool2d(x, 2).sum().backward()
    want = {(0, 0), (0, 2), (2, 0), (2, 2)}
    got = {(i, j) for i in range(4) for j in range(4) if x.grad[0, 0, i, j] != 0}
    assert got == want, f"torch routes ties to {sorted(got)}"
    return 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=40)
    parser.add_argument("--steps", type=int, default=4)
    args = parser.parse_args()
    torch.set_default_dtype(torch.float64)
    tie_case()
    print("ties: torch.max_pool2d routes a tied window's gradient to its first element, as sheetgen does")
    worst, where = 0.0, ""
    for seed in range(args.cases):
        case = random_case(seed)
        w, at = check(config_for(case, args.steps), case, args.steps, f"case {seed}")
        if w > worst:
            worst, where = w, at
    print(f"{args.cases} random networks x {args.steps} steps: largest relative difference "
          f"{worst:.3g} ({where})")
    for name in ("conv-digits", "conv-edge"):
        config, case = example_case(name)
        case["lr"] = config.learning_rates[0]
        w, at = check(config, case, args.steps * 5, name)
        print(f"{name}: {args.steps * 5} steps, largest relative difference {w:.3g} ({at})")
        if w > worst:
            worst, where = w, at
    print(f"largest relative difference overall: {worst:.3g} at {where}")
    return 0 if worst <= LIMIT and math.isfinite(worst) else 1


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main())
