"""An independent numpy implementation of the recurrent networks sheetgen writes: forward with
matrices, backpropagation through time written by hand from the textbook equations, the
optimizers and the batches, and each value named as the README names the sheet's columns.
Nothing here imports sheetgen's model: it only reads the config's numbers and settings.
"""

from __future__ import annotations

import numpy as np

GATES = {"rnn": ("h",), "lstm": ("i", "f", "g", "o"), "gru": ("r", "z", "n")}


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


ACT = {"tanh": np.tanh, "sigmoid": sigmoid, "relu": lambda x: np.maximum(x, 0.0),
       "identity": lambda x: x}


def act_slope(kind: str, pre, out):
    return {"tanh": lambda: 1 - out ** 2, "sigmoid": lambda: out * (1 - out),
            "relu": lambda: (pre > 0).astype(float), "identity": lambda: np.ones_like(pre)}[kind]()


class Net:
    """Settings of one recurrent config (plain values, as the config file gives them)."""

    def __init__(self, cell, inputs, hidden, steps, output, dense, activations, activation, loss,
                 bptt):
        self.cell, self.inputs, self.hidden, self.steps = cell, inputs, list(hidden), steps
        self.output, self.dense, self.activations = output, list(dense), list(activations)
        self.activation, self.loss, self.bptt = activation, loss, bptt
        self.first = 1 if bptt == 0 else steps - bptt + 1
        self.out_steps = list(range(1, steps + 1)) if output == "every" else [steps]

    def tag(self, layer):
        return "" if len(self.hidden) == 1 else str(layer)

    def sfx(self, t):
        return f"_t{t}" if self.output == "every" else ""

    def dense_name(self, d, j, t):
        base = f"o{j + 1}" if d == len(self.dense) - 1 else f"d{d + 1}_{j + 1}"
        return base + self.sfx(t)

    # --- parameters as matrices, read from names -----------------------------------------------

    def params(self, values: dict) -> dict:
        p = {}
        for layer in range(1, len(self.hidden) + 1):
            tag, size = self.tag(layer), self.hidden[layer - 1]
            fan = self.inputs if layer == 1 else self.hidden[layer - 2]
            for g in GATES[self.cell]:
                p[("Wx", layer, g)] = np.array([[values[f"Wx{g}{tag}_{j}_{k}"] for k in range(1, fan + 1)]
                                                for j in range(1, size + 1)])
                p[("Wh", layer, g)] = np.array([[values[f"Wh{g}{tag}_{j}_{k}"] for k in range(1, size + 1)]
                                                for j in range(1, size + 1)])
                bname = "bxn" if (self.cell == "gru" and g == "n") else f"b{g}"
                p[("b", layer, g)] = np.array([values[f"{bname}{tag}_{j}"] for j in range(1, size + 1)])
            if self.cell == "gru":
                p[("bhn", layer)] = np.array([values[f"bhn{tag}_{j}"] for j in range(1, size + 1)])
            p[("h0", layer)] = np.array([values[f"h{tag}_t0_{j}"] for j in range(1, size + 1)])
            if self.cell == "lstm":
                p[("c0", layer)] = np.array([values[f"c{tag}_t0_{j}"] for j in range(1, size + 1)])
        w = 1
        b = 1
        for d, size in enumerate(self.dense):
            fan = self.hidden[-1] if d == 0 else self.dense[d - 1]
            p[("W", d)] = np.array([[values[f"w{w + j * fan + k}"] for k in range(fan)] for j in range(size)])
            p[("B", d)] = np.array([values[f"b{b + j}"] for j in range(size)])
            w += size * fan
            b += size
        return p

    def names(self) -> list[tuple]:
        """(name, key) of every trained parameter, key into `params` and an index."""
        out = []
        for layer in range(1, len(self.hidden) + 1):
            tag = self.tag(layer)
            for g in GATES[self.cell]:
                for key, kind in ((("Wx", layer, g), "Wx"), (("Wh", layer, g), "Wh")):
                    rows = self.hidden[layer - 1]
                    cols = (self.inputs if layer == 1 else self.hidden[layer - 2]) if kind == "Wx" else rows
                    out += [(f"{kind}{g}{tag}_{j + 1}_{k + 1}", key, (j, k))
                            for j in range(rows) for k in range(cols)]
            for g in GATES[self.cell]:
                bname = "bxn" if (self.cell == "gru" and g == "n") else f"b{g}"
                out += [(f"{bname}{tag}_{j + 1}", ("b", layer, g), (j,))
                        for j in range(self.hidden[layer - 1])]
            if self.cell == "gru":
                out += [(f"bhn{tag}_{j + 1}", ("bhn", layer), (j,)) for j in range(self.hidden[layer - 1])]
        w = 1
        for d, size in enumerate(self.dense):
            fan = self.hidden[-1] if d == 0 else self.dense[d - 1]
            out += [(f"w{w + j * fan + k}", ("W", d), (j, k)) for j in range(size) for k in range(fan)]
            w += size * fan
        b = 1
        for d, size in enumerate(self.dense):
            out += [(f"b{b + j}", ("B", d), (j,)) for j in range(size)]
            b += size
        return out

    # --- one sample --------------------------------------------------------------------------

    def forward(self, p: dict, x: np.ndarray, y: dict, frozen: dict | None = None):
        """Every forward value by name, and the per-step caches. `frozen`: parameters used for
        the steps before `first` (the truncated gradient holds those steps constant)."""
        v, cache = {}, {}
        L = len(self.hidden)
        h = {layer: p[("h0", layer)] for layer in range(1, L + 1)}
        c = {layer: p[("c0", layer)] for layer in range(1, L + 1)} if self.cell == "lstm" else {}
        losses = []
        for t in range(1, self.steps + 1):
            q = frozen if (frozen is not None and t < self.first) else p
            inp = x[t - 1]
            for layer in range(1, L + 1):
                tag = self.tag(layer)
                Wx = {g: q[("Wx", layer, g)] for g in GATES[self.cell]}
                Wh = {g: q[("Wh", layer, g)] for g in GATES[self.cell]}
                b = {g: q[("b", layer, g)] for g in GATES[self.cell]}
                hp = h[layer]
                st = {"inp": inp, "hp": hp}
                nets = {}
                if self.cell == "rnn":
                    z = Wx["h"] @ inp + Wh["h"] @ hp + b["h"]
                    hn = ACT[self.activation](z)
                    st.update(z=z, h=hn)
                    nets["zh"] = z
                elif self.cell == "lstm":
                    for k in "ifgo":
                        nets["z" + k] = Wx[k] @ inp + Wh[k] @ hp + b[k]
                    gi, gf = sigmoid(nets["zi"]), sigmoid(nets["zf"])
                    gg, go = np.tanh(nets["zg"]), sigmoid(nets["zo"])
                    cn = gf * c[layer] + gi * gg
                    hn = go * np.tanh(cn)
                    st.update(i=gi, f=gf, g=gg, o=go, c=cn, cp=c[layer], h=hn)
                    c[layer] = cn
                    for k, name in (("i", "i"), ("f", "f"), ("g", "g"), ("o", "o"), ("c", "c")):
                        for j, val in enumerate(st[k]):
                            v[f"{name}{tag}_t{t}_{j + 1}"] = val
                else:
                    nets["zr"] = Wx["r"] @ inp + Wh["r"] @ hp + b["r"]
                    nets["zz"] = Wx["z"] @ inp + Wh["z"] @ hp + b["z"]
                    r, z = sigmoid(nets["zr"]), sigmoid(nets["zz"])
                    inner = Wh["n"] @ hp + q[("bhn", layer)]
                    nets["zn"] = Wx["n"] @ inp + b["n"] + r * inner
                    n = np.tanh(nets["zn"])
                    hn = (1 - z) * n + z * hp
                    st.update(r=r, z=z, n=n, inner=inner, h=hn)
                    for k in ("r", "z", "n"):
                        for j, val in enumerate(st[k]):
                            v[f"{k}{tag}_t{t}_{j + 1}"] = val
                for j, val in enumerate(hn):
                    v[f"h{tag}_t{t}_{j + 1}"] = val
                for k, vec in nets.items():
                    for j, val in enumerate(vec):
                        v[f"{k}{tag}_t{t}_{j + 1}"] = val
                h[layer] = hn
                cache[(t, layer)] = st
                inp = hn
            if t in self.out_steps:
                a = inp
                dense = []
                for d in range(len(self.dense)):
                    pre = q[("W", d)] @ a + q[("B", d)]
                    out = ACT[self.activations[d]](pre)
                    dense.append((a, pre, out))
                    for j in range(len(pre)):
                        name = self.dense_name(d, j, t)
                        v[name], v["a_" + name] = pre[j], out[j]
                    a = out
                cache[("dense", t)] = dense
                for j, aj in enumerate(a):
                    yk = y[f"y{j + 1}{self.sfx(t)}"]
                    e = {"half_sse": 0.5 * (yk - aj) ** 2, "sse": (yk - aj) ** 2, "mse": (yk - aj) ** 2,
                         "binary_cross_entropy": -(yk * np.log(aj) + (1 - yk) * np.log(1 - aj))}[self.loss]
                    losses.append(e)
                    v[f"E{len(losses)}"] = e       # numbered over every output of every step
        total = sum(losses) / len(losses) if self.loss == "mse" else sum(losses)
        v["E_total"] = total
        return v, cache, len(losses)

    def backward(self, p: dict, cache: dict, v: dict, y: dict, n_losses: int):
        """δ values by name and the gradient of every parameter (as arrays like `p`)."""
        d, grad = {}, {k: np.zeros_like(val) for k, val in p.items()}
        L = len(self.hidden)
        dh = {(t, layer): np.zeros(self.hidden[layer - 1]) for t in range(0, self.steps + 1)
              for layer in range(1, L + 1)}
        dc_next = {layer: np.zeros(self.hidden[layer - 1]) for layer in range(1, L + 1)}
        f_next = {layer: np.zeros(self.hidden[layer - 1]) for layer in range(1, L + 1)}
        scale = {"half_sse": 1.0, "sse": 2.0, "mse": 2.0 / n_losses, "binary_cross_entropy": 1.0}[self.loss]
        for t in range(self.steps, self.first - 1, -1):
            if t in self.out_steps:
                dense = cache[("dense", t)]
                a_last = dense[-1][2]
                ys = np.array([y[f"y{j + 1}{self.sfx(t)}"] for j in range(len(a_last))])
                if self.loss == "binary_cross_entropy":
                    delta = a_last - ys
                else:
                    delta = scale * (a_last - ys) * act_slope(self.activations[-1], dense[-1][1], a_last)
                for k in range(len(self.dense) - 1, -1, -1):
                    a_in, pre, out = dense[k]
                    if k < len(self.dense) - 1:
                        delta = delta * act_slope(self.activations[k], pre, out)
                    for j, val in enumerate(delta):
                        d["delta_" + self.dense_name(k, j, t)] = val
                    grad[("W", k)] += np.outer(delta, a_in)
                    grad[("B", k)] += delta
                    delta = p[("W", k)].T @ delta
                dh[(t, L)] = dh[(t, L)] + delta
            for layer in range(L, 0, -1):
                tag = self.tag(layer)
                st = cache[(t, layer)]
                g = dh[(t, layer)]
                deltas = {}
                if self.cell == "rnn":
                    dz = g * act_slope(self.activation, st["z"], st["h"])
                    deltas["h"] = dz
                    named = {"zh": dz}
                    d_h_prev = p[("Wh", layer, "h")].T @ dz
                    d_inp = p[("Wx", layer, "h")].T @ dz
                elif self.cell == "lstm":
                    dc = g * st["o"] * (1 - np.tanh(st["c"]) ** 2) + dc_next[layer] * f_next[layer]
                    deltas["o"] = g * np.tanh(st["c"]) * st["o"] * (1 - st["o"])
                    deltas["i"] = dc * st["g"] * st["i"] * (1 - st["i"])
                    deltas["f"] = dc * st["cp"] * st["f"] * (1 - st["f"])
                    deltas["g"] = dc * st["i"] * (1 - st["g"] ** 2)
                    dc_next[layer], f_next[layer] = dc, st["f"]
                    named = {"h": g, "c": dc, **{"z" + k: d_ for k, d_ in deltas.items()}}
                    d_h_prev = sum(p[("Wh", layer, k)].T @ deltas[k] for k in "ifgo")
                    d_inp = sum(p[("Wx", layer, k)].T @ deltas[k] for k in "ifgo")
                else:
                    deltas["z"] = g * (st["hp"] - st["n"]) * st["z"] * (1 - st["z"])
                    deltas["n"] = g * (1 - st["z"]) * (1 - st["n"] ** 2)
                    deltas["r"] = deltas["n"] * st["inner"] * st["r"] * (1 - st["r"])
                    named = {"h": g, **{"z" + k: d_ for k, d_ in deltas.items()}}
                    dn_r = deltas["n"] * st["r"]
                    d_h_prev = (g * st["z"] + p[("Wh", layer, "r")].T @ deltas["r"]
                                + p[("Wh", layer, "z")].T @ deltas["z"] + p[("Wh", layer, "n")].T @ dn_r)
                    d_inp = sum(p[("Wx", layer, k)].T @ deltas[k] for k in "rzn")
                for k, vec in named.items():
                    for j, val in enumerate(vec):
                        d[f"delta_{k}{tag}_t{t}_{j + 1}"] = val
                for k, dl in deltas.items():
                    rec = dn_r if (self.cell == "gru" and k == "n") else dl
                    grad[("Wx", layer, k)] += np.outer(dl, st["inp"])
                    grad[("Wh", layer, k)] += np.outer(rec, st["hp"])
                    grad[("b", layer, k)] += dl
                if self.cell == "gru":
                    grad[("bhn", layer)] += dn_r
                dh[(t - 1, layer)] = dh[(t - 1, layer)] + d_h_prev
                if layer > 1:
                    dh[(t, layer - 1)] = dh[(t, layer - 1)] + d_inp
        return d, grad


# --- training ---------------------------------------------------------------------------------

def run(net: Net, values: dict, samples: list[dict], batch: int | None, reduction: str,
        optimizer: dict, learning_rate: float, iterations: int, order: str = "cycle") -> list[dict]:
    """Every row as name -> value, as the sheet lays it out. `order`: "cycle" (the samples in
    order, wrapping around) or "epochs" (one pass each, a short last batch when k does not
    divide n, as torch's DataLoader without shuffle)."""
    params = net.params(values)
    names = net.names()
    n = len(samples)
    k = n if batch is None else batch
    kept = {"gd": (), "momentum": ("v",), "rmsprop": ("s",), "adam": ("m", "s")}[optimizer["name"]]
    state = {s: {name: values.get(f"{s}_{name}", 0.0) for name, _, _ in names} for s in kept}
    rows = []
    for it in range(1, iterations + 1):
        row = {"iteration": it}
        for name, key, idx in names:
            row[name] = params[key][idx]
        for s, per in state.items():
            for name, value in per.items():
                row[f"{s}_{name}"] = value
        for key in params:
            if key[0] in ("h0", "c0"):
                for j, val in enumerate(params[key]):
                    row[f"{key[0][0]}{net.tag(key[1])}_t0_{j + 1}"] = val
        grads = []
        losses = []
        weights = []
        per = -(-n // k)
        short = n % k if (order == "epochs" and k < n) else 0
        for j in range(1, k + 1):
            sfx = "" if k == 1 else f"_s{j}"
            used = 1
            if k == n:
                which = j - 1
            elif order == "cycle":
                which = ((it - 1) * k + j - 1) % n
            else:
                place = ((it - 1) % per) * k + j - 1
                used = 1 if place < n else 0
                which = place if used else 0
                if short and j > short:
                    row["in" + sfx] = used
            weights.append(used)
            if k < n:
                row["sample" + sfx] = which + 1
            sample = samples[which]
            x = np.array([[sample[f"x{i}_t{t}"] for i in range(1, net.inputs + 1)]
                          for t in range(1, net.steps + 1)])
            v, cache, count = net.forward(params, x, sample)
            dl, grad = net.backward(params, cache, v, sample, count)
            for name, val in {**sample, **v, **dl}.items():
                row[(name if name != "E_total" else ("E_total" if k == 1 else "E")) + sfx] = val
            losses.append(v["E_total"])
            grads.append(grad)
        count = sum(weights)
        if short:
            row["batch_size"] = count

        def combine(xs, weights=weights, count=count):
            total = sum(w * x for w, x in zip(weights, xs, strict=True))
            return total / count if reduction == "mean" else total

        if k > 1:
            row["E_total"] = combine(losses)
        g = {key: combine([gr[key] for gr in grads]) for key in params}
        for name, key, idx in names:
            row["dE_d" + name] = g[key][idx]
        rows.append(row)
        # the update, all parameters at once from this row
        lr = learning_rate
        for name, key, idx in names:
            gv = g[key][idx]
            w = params[key][idx]
            o = optimizer
            if o["name"] == "gd":
                new = w - lr * gv
            elif o["name"] == "momentum":
                state["v"][name] = o["beta"] * state["v"][name] + (1 - o["beta"]) * gv
                new = w - lr * state["v"][name]
            elif o["name"] == "rmsprop":
                state["s"][name] = o["beta"] * state["s"][name] + (1 - o["beta"]) * gv ** 2
                new = w - lr * gv / (np.sqrt(state["s"][name]) + o["epsilon"])
            else:
                state["m"][name] = o["beta1"] * state["m"][name] + (1 - o["beta1"]) * gv
                state["s"][name] = o["beta2"] * state["s"][name] + (1 - o["beta2"]) * gv ** 2
                m_hat = state["m"][name] / (1 - o["beta1"] ** it)
                s_hat = state["s"][name] / (1 - o["beta2"] ** it)
                new = w - lr * m_hat / (np.sqrt(s_hat) + o["epsilon"])
            params[key] = params[key].copy()
            params[key][idx] = new
    return rows


def loss_of(net: Net, values: dict, sample: dict, frozen_values: dict | None = None) -> float:
    """One sample's E_total; with `frozen_values`, the steps before the truncation use those."""
    x = np.array([[sample[f"x{i}_t{t}"] for i in range(1, net.inputs + 1)]
                  for t in range(1, net.steps + 1)])
    frozen = net.params(frozen_values) if frozen_values is not None else None
    return net.forward(net.params(values), x, sample, frozen)[0]["E_total"]
