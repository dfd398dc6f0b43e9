"""Cross-check sheetgen's recurrent networks against PyTorch's nn.RNN, nn.LSTM and nn.GRU.

Usage: python scripts/torch_recurrent_crosscheck.py [--cases N]     (needs torch; not part of make test)

For random configs (cell kinds, rnn with tanh and relu, hidden 1-3, one or two stacked layers,
1-2 inputs per step, sequences of 2-6 steps, many-to-one and many-to-many, bptt, 1-3 samples in a
full batch, every loss) the sheet's first row — every h, c and output, E_total and every
gradient — is compared with PyTorch's forward pass and autograd in float64. Our parameters map
to PyTorch's (README, "Recurrent networks"): weight_ih_l<k> stacks our Wx<gate> in PyTorch's
gate order (LSTM i, f, g, o; GRU r, z, n), weight_hh_l<k> our Wh<gate>; PyTorch's two biases
b_ih + b_hh are our one bias per gate (b_ih = ours, b_hh = 0), except GRU's candidate, whose
b_hn sits inside r ⊙ (W_hn·h + b_hn): there b_in = bxn and b_hn = bhn. With bptt = k the steps
before the last k run under torch.no_grad(), the truncated gradient's definition.
Prints the largest differences and exits 1 if any exceeds 1e-10.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sheetgen.config import from_mapping  # noqa: E402
from sheetgen.core.model import trace  # noqa: E402

torch.set_default_dtype(torch.float64)
ORDER = {"rnn": ("h",), "lstm": ("i", "f", "g", "o"), "gru": ("r", "z", "n")}
MODULE = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}
ACT = {"identity": lambda x: x, "sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}


def case(seed: int) -> dict:
    rng = random.Random(seed)
    cell = ("rnn", "lstm", "gru")[seed % 3]
    activation = rng.choice(["tanh", "relu"]) if cell == "rnn" else "tanh"
    layers = rng.choice([1, 1, 2])
    size = rng.randint(1, 3)
    steps, inputs, outs = rng.randint(2, 6), rng.randint(1, 2), rng.randint(1, 2)
    output = rng.choice(["last", "every"])
    loss = rng.choice(["half_sse", "sse", "mse", "binary_cross_entropy"])
    act = "sigmoid" if loss == "binary_cross_entropy" else rng.choice(["identity", "tanh", "sigmoid"])
    samples = []
    for _ in range(rng.randint(1, 3)):
        x = [[round(rng.uniform(-1, 1), 3) for _ in range(inputs)] for _ in range(steps)]
        ys = [[round(rng.uniform(0.05, 0.95), 3) for _ in range(outs)] for _ in range(steps)]
        samples.append({"x": x, "y": ys if output == "every" else ys[0]})
    network = {"cell": cell, "activation": activation, "hidden": [size] * layers, "output": output,
               "layers": [outs], "activations": [act], "loss": loss, "seed": seed,
               "bptt": rng.choice([0, 0, rng.randint(1, steps)]),
               "h0": [[round(rng.uniform(-0.5, 0.5), 3) for _ in range(size)] for _ in range(layers)]}
    if cell == "lstm":
        network["c0"] = [[round(rng.uniform(-0.5, 0.5), 3) for _ in range(size)] for _ in range(layers)]
    return {"learning_rates": [0.1], "iterations": 1, "network": network,
            "data": {"samples": samples, "batch": "full", "reduction": "mean"}}


def check(seed: int) -> tuple[float, float, int]:
    """(largest forward difference, largest gradient difference, values compared)."""
    config = from_mapping(case(seed))
    spec, data = config.network, config.data
    training = config.training()
    row = trace(training.network, training.setup, 0.1, 1).row(0)
    v = config.setup.values()
    L, H, T = len(spec.hidden), spec.hidden[0], spec.steps
    tag = (lambda k: "") if L == 1 else str
    kwargs = {"nonlinearity": spec.activation} if spec.cell == "rnn" else {}
    rnn = MODULE[spec.cell](spec.inputs_per_step, H, num_layers=L, batch_first=True, **kwargs)
    gates = ORDER[spec.cell]
    with torch.no_grad():
        for k in range(1, L + 1):
            fan = spec.inputs_per_step if k == 1 else H
            t = tag(k)
            w_ih = [[v[f"Wx{g}{t}_{j}_{i}"] for i in range(1, fan + 1)]
                    for g in gates for j in range(1, H + 1)]
            w_hh = [[v[f"Wh{g}{t}_{j}_{i}"] for i in range(1, H + 1)] for g in gates for j in range(1, H + 1)]
            b_ih = [v[f"{'bxn' if (spec.cell == 'gru' and g == 'n') else 'b' + g}{t}_{j}"]
                    for g in gates for j in range(1, H + 1)]
            b_hh = [v[f"bhn{t}_{j}"] if (spec.cell == "gru" and g == "n") else 0.0
                    for g in gates for j in range(1, H + 1)]
            getattr(rnn, f"weight_ih_l{k - 1}").copy_(torch.tensor(w_ih))
            getattr(rnn, f"weight_hh_l{k - 1}").copy_(torch.tensor(w_hh))
            getattr(rnn, f"bias_ih_l{k - 1}").copy_(torch.tensor(b_ih))
            getattr(rnn, f"bias_hh_l{k - 1}").copy_(torch.tensor(b_hh))
    outs = spec.dense[-1]
    head = torch.nn.Linear(H, outs)
    with torch.no_grad():
        head.weight.copy_(torch.tensor([[v[f"w{1 + j * H + i}"] for i in range(H)] for j in range(outs)]))
        head.bias.copy_(torch.tensor([v[f"b{1 + j}"] for j in range(outs)]))
    h0 = torch.tensor([[[v[f"h{tag(k)}_t0_{j}"] for j in range(1, H + 1)]] for k in range(1, L + 1)])
    c0 = (torch.tensor([[[v[f"c{tag(k)}_t0_{j}"] for j in range(1, H + 1)]] for k in range(1, L + 1)])
          if spec.cell == "lstm" else None)

    samples = [dict(zip(data.names, r, strict=True)) for r in data.rows]
    first = spec.active_from
    forward_diff, losses = 0.0, []
    for s, sample in enumerate(samples, start=1):
        sfx = "" if len(samples) == 1 else f"_s{s}"
        x = torch.tensor([[[sample[f"x{i}_t{t}"] for i in range(1, spec.inputs_per_step + 1)]
                           for t in range(1, T + 1)]])
        state = (h0, c0) if spec.cell == "lstm" else h0
        pieces = []
        if first > 1:  # the truncated steps: values, no gradient
            with torch.no_grad():
                early, state = rnn(x[:, :first - 1], state)
            pieces.append(early)
        late, state = rnn(x[:, first - 1:], state)
        pieces.append(late)
        out = torch.cat(pieces, dim=1)[0]                      # (T, H): the top layer's h_t
        top = tag(L)
        for t in range(1, T + 1):
            for j in range(1, H + 1):
                got = row[f"h{top}_t{t}_{j}{sfx}"]
                forward_diff = max(forward_diff, abs(out[t - 1, j - 1].item() - got))
        h_n = state[0] if spec.cell == "lstm" else state
        for k in range(1, L + 1):
            for j in range(1, H + 1):
                got = row[f"h{tag(k)}_t{T}_{j}{sfx}"]
                forward_diff = max(forward_diff, abs(h_n[k - 1, 0, j - 1].item() - got))
                if spec.cell == "lstm":
                    forward_diff = max(forward_diff, abs(state[1][k - 1, 0, j - 1].item()
                                                         - row[f"c{tag(k)}_t{T}_{j}{sfx}"]))
        terms = []
        for t in spec.out_steps:
            a = ACT[spec.activations[-1]](head(out[t - 1]))
            for j in range(outs):
                y = sample[f"y{j + 1}{spec.suffix(t)}"]
                name = f"a_o{j + 1}{spec.suffix(t)}{sfx}"
                forward_diff = max(forward_diff, abs(a[j].item() - row[name]))
                if t < first:  # outside the truncated gradient: a value only
                    a_j = a[j].detach()
                else:
                    a_j = a[j]
                terms.append({"half_sse": 0.5 * (y - a_j) ** 2, "sse": (y - a_j) ** 2, "mse": (y - a_j) ** 2,
                              "binary_cross_entropy": -(y * torch.log(a_j) + (1 - y) * torch.log(1 - a_j))
                              }[spec.loss])
        e = sum(terms) / len(terms) if spec.loss == "mse" else sum(terms)
        losses.append(e)
    total = sum(losses) / len(losses)
    forward_diff = max(forward_diff, abs(total.item() - row["E_total"]))
    total.backward()
    grad_diff, compared = 0.0, 0
    for k in range(1, L + 1):
        fan = spec.inputs_per_step if k == 1 else H
        t = tag(k)
        g_ih = getattr(rnn, f"weight_ih_l{k - 1}").grad
        g_hh = getattr(rnn, f"weight_hh_l{k - 1}").grad
        gb_ih = getattr(rnn, f"bias_ih_l{k - 1}").grad
        gb_hh = getattr(rnn, f"bias_hh_l{k - 1}").grad
        for n, g in enumerate(gates):
            for j in range(1, H + 1):
                r = n * H + j - 1
                for i in range(1, fan + 1):
                    grad_diff = max(grad_diff, abs(g_ih[r, i - 1].item() - row[f"dE_dWx{g}{t}_{j}_{i}"]))
                for i in range(1, H + 1):
                    grad_diff = max(grad_diff, abs(g_hh[r, i - 1].item() - row[f"dE_dWh{g}{t}_{j}_{i}"]))
                bias = "bxn" if (spec.cell == "gru" and g == "n") else "b" + g
                grad_diff = max(grad_diff, abs(gb_ih[r].item() - row[f"dE_d{bias}{t}_{j}"]))
                if spec.cell == "gru" and g == "n":
                    grad_diff = max(grad_diff, abs(gb_hh[r].item() - row[f"dE_dbhn{t}_{j}"]))
                else:  # b_hh's gradient is b_ih's: the two add up to our one bias
                    grad_diff = max(grad_diff, abs(gb_hh[r].item() - row[f"dE_d{bias}{t}_{j}"]))
                compared += fan + H + 2
    for j in range(outs):
        for i in range(H):
            grad_diff = max(grad_diff, abs(head.weight.grad[j, i].item() - row[f"dE_dw{1 + j * H + i}"]))
        grad_diff = max(grad_diff, abs(head.bias.grad[j].item() - row[f"dE_db{1 + j}"]))
        compared += H + 1
    return forward_diff, grad_diff, compared


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=60)
    args = parser.parse_args()
    worst_f = worst_g = 0.0
    total = 0
    kinds: dict[str, int] = {}
    for seed in range(args.cases):
        f, g, n = check(seed)
        c = case(seed)["network"]
        kind = c["cell"] + (f" ({c['activation']})" if c["cell"] == "rnn" else "")
        kinds[kind] = kinds.get(kind, 0) + 1
        worst_f, worst_g, total = max(worst_f, f), max(worst_g, g), total + n
    print(f"torch {torch.__version__}: {args.cases} configs "
          f"({', '.join(f'{k}: {n}' for k, n in sorted(kinds.items()))}), {total:,} gradients compared")
    print(f"largest forward difference (h, c, outputs, E_total): {worst_f:.3g}")
    print(f"largest gradient difference: {worst_g:.3g}")
    return 0 if max(worst_f, worst_g) <= 1e-10 else 1


if __name__ == "__main__":
    sys.exit(main())
