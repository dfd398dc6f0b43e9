"""Image networks (conv2d, pooling, flatten, dense), checked against an independent implementation.

`numpy_rows` below is written from the layer equations alone, with arrays rather than the
generator's named expressions: a convolution as a sum over a zero-padded input's windows, its
backward pass scattering δ·kernel back onto the padded input, max-pool routing to np.argmax (the
first largest in row-major order) and average pool spreading δ / k², the dense layers by the
matrix rule, the batch combined by mean or sum and the four optimizers' updates. Its rows, and
every sample's forward quantities and δs, must equal the generator's at 1e-12 relative.
"""

from __future__ import annotations

import math
import tomllib

import numpy as np
import pytest

from sheetgen.config import from_mapping, validate
from sheetgen.core import model
from sheetgen.errors import ConfigError
from tests.core.optimizer_reference import step

RTOL = 1e-12

# --- the independent implementation ------------------------------------------------------------

ACT = {"sigmoid": (lambda z: 1 / (1 + np.exp(-z)), lambda z: np.exp(-z) / (1 + np.exp(-z)) ** 2),
       "tanh": (np.tanh, lambda z: 1 - np.tanh(z) ** 2),
       "relu": (lambda z: np.maximum(z, 0.0), lambda z: (z > 0).astype(float)),
       "leaky_relu": (lambda z: np.where(z > 0, z, 0.01 * z), lambda z: np.where(z > 0, 1.0, 0.01)),
       "identity": (lambda z: z, lambda z: np.ones_like(z))}


def _pads(n, k, s, padding):
    if padding == "valid":
        return 0, 0, (n - k) // s + 1
    out = -(-n // s)
    total = max((out - 1) * s + k - n, 0)
    return total // 2, total - total // 2, out


def conv_forward(x, K, b, s, padding):
    C, H, W = x.shape
    M, _, k, _ = K.shape
    top, bottom, Ho = _pads(H, k, s, padding)
    left, right, Wo = _pads(W, k, s, padding)
    xp = np.pad(x, ((0, 0), (top, bottom), (left, right)))
    z = np.zeros((M, Ho, Wo))
    for m in range(M):
        for i in range(Ho):
            for j in range(Wo):
                z[m, i, j] = np.sum(K[m] * xp[:, i * s:i * s + k, j * s:j * s + k]) + b[m]
    return z, xp, (top, left)


def conv_backward(dz, xp, K, s, shape, offset):
    M, _, k, _ = K.shape
    dK, db, dxp = np.zeros_like(K), dz.sum(axis=(1, 2)), np.zeros_like(xp)
    for m in range(M):
        for i in range(dz.shape[1]):
            for j in range(dz.shape[2]):
                dK[m] += dz[m, i, j] * xp[:, i * s:i * s + k, j * s:j * s + k]
                dxp[:, i * s:i * s + k, j * s:j * s + k] += dz[m, i, j] * K[m]
    top, left = offset
    return dK, db, dxp[:, top:top + shape[1], left:left + shape[2]]


def pool_forward(x, kind, k):
    C, H, W = x.shape
    windows = x.reshape(C, H // k, k, W // k, k).transpose(0, 1, 3, 2, 4).reshape(C, H // k, W // k, k * k)
    return (windows.max(axis=-1) if kind == "maxpool" else windows.mean(axis=-1)), windows


def pool_backward(dp, windows, kind, k, shape):
    C, Ho, Wo, _ = windows.shape
    dw = np.zeros_like(windows)
    if kind == "maxpool":
        first = windows.argmax(axis=-1)      # numpy's argmax: the first largest
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    dw[c, i, j, first[c, i, j]] = dp[c, i, j]
    else:
        dw[...] = dp[..., None] / (k * k)
    return dw.reshape(C, Ho, Wo, k, k).transpose(0, 1, 3, 2, 4).reshape(shape)


def loss_of(loss, a, t):
    """E and dE/da (a the network's output vector)."""
    if loss == "half_sse":
        return np.sum(0.5 * (t - a) ** 2), a - t
    if loss == "sse":
        return np.sum((t - a) ** 2), 2 * (a - t)
    if loss == "mse":
        return np.sum((t - a) ** 2) / len(a), 2 * (a - t) / len(a)
    if loss == "cross_entropy":
        return -np.sum(t * np.log(a)), -t / a
    raise ValueError(loss)


def sample_pass(layers, params, x, t, loss):
    """One sample: named forward values, named δs, E and the named gradients."""
    values, deltas, grads = {}, {}, {}
    cache = []
    h, first_map, dense_no = x, 1, 0
    n_dense = sum(1 for spec in layers if spec["kind"] == "dense")
    for n, spec in enumerate(layers):
        kind = spec["kind"]
        if kind == "conv2d":
            K, b = params[n]
            z, xp, offset = conv_forward(h, K, b, spec["stride"], spec["padding"])
            a = ACT[spec["activation"]][0](z)
            names = [[[f"c{first_map + m}_{i + 1}_{j + 1}" for j in range(z.shape[2])]
                      for i in range(z.shape[1])] for m in range(z.shape[0])]
            cache.append((kind, n, h, z, xp, offset, names, first_map))
            for m, i, j in np.ndindex(z.shape):
                values[names[m][i][j]] = z[m, i, j]
                values["a_" + names[m][i][j]] = a[m, i, j]
            first_map += z.shape[0]
            h = a
        elif kind in ("maxpool", "avgpool"):
            p, windows = pool_forward(h, kind, spec["size"])
            base = first_map - h.shape[0]
            cache.append((kind, n, h, p, windows, base))
            for c, i, j in np.ndindex(p.shape):
                values[f"p{base + c}_{i + 1}_{j + 1}"] = p[c, i, j]
            h = p
        elif kind == "flatten":
            cache.append((kind, n, h.shape))
            h = h.ravel()
        else:
            W, b = params[n]
            dense_no += 1
            z = W @ h + b
            out = dense_no == n_dense and n == len(layers) - 1
            names = [f"o{j + 1}" if out else (f"h{j + 1}" if n_dense == 2 else f"h{dense_no}_{j + 1}")
                     for j in range(len(z))]
            if spec["activation"] == "softmax":
                e = np.exp(z - z.max())
                a = e / e.sum()
            else:
                a = ACT[spec["activation"]][0](z)
            cache.append((kind, n, h, z, a, names, spec["activation"]))
            for name, zv, av in zip(names, z, a, strict=True):
                values[name], values["a_" + name] = zv, av
            h = a
    E, g = loss_of(loss, h, t)
    # backward: g is dE/d(this layer's output)
    for item in reversed(cache):
        kind, n = item[0], item[1]
        if kind == "dense":
            _, _, inp, z, a, names, act = item
            if act == "softmax":
                delta = a - t if loss == "cross_entropy" else a * (g - np.sum(a * g))
            else:
                delta = g * ACT[act][1](z)
            for name, d in zip(names, delta, strict=True):
                deltas[name] = d
            W, _ = params[n]
            grads[n] = (np.outer(delta, inp), delta)
            g = W.T @ delta
        elif kind == "flatten":
            g = g.reshape(item[2])
        elif kind in ("maxpool", "avgpool"):
            _, _, inp, p, windows, base = item
            for c, i, j in np.ndindex(p.shape):
                deltas[f"p{base + c}_{i + 1}_{j + 1}"] = g[c, i, j]
            g = pool_backward(g, windows, kind, layers[n]["size"], inp.shape)
        else:
            _, _, inp, z, xp, offset, names, _ = item
            dz = g * ACT[layers[n]["activation"]][1](z)
            for m, i, j in np.ndindex(z.shape):
                deltas[names[m][i][j]] = dz[m, i, j]
            K, _ = params[n]
            dK, db, g = conv_backward(dz, xp, K, layers[n]["stride"], inp.shape, offset)
            grads[n] = (dK, db)
    return values, deltas, E, grads


def parameter_names(layers, in_channels, biases=True):
    """Per layer with parameters: (weight names in [out][in][r][c] order, bias names)."""
    names, first_map, w, b = {}, 1, 1, 1
    channels = in_channels
    fan_in = None
    for n, spec in enumerate(layers):
        if spec["kind"] == "conv2d":
            M, k = spec["maps"], spec["kernel"]
            ks = [f"k{first_map + m}{f'_{c + 1}' if channels > 1 else ''}_r{r + 1}c{x + 1}"
                  for m in range(M) for c in range(channels) for r in range(k) for x in range(k)]
            names[n] = (ks, [f"b_c{first_map + m}" for m in range(M)] if biases else [])
            first_map += M
            channels = M
        elif spec["kind"] == "dense":
            size = spec["size"]
            names[n] = ([f"w{w + j}" for j in range(size * fan_in)],
                        [f"b{b + j}" for j in range(size)] if biases else [])
            w += size * fan_in
            b += size
            fan_in = size
        elif spec["kind"] == "flatten":
            fan_in = spec["flat"]
    return names


def numpy_rows(case, steps):
    """Rows of dicts: parameters and state going into each step, every sample's forward values
    and δs (suffixed _s1… when a step takes several), E_total and the gradients."""
    layers, params, X, T, loss, batch, reduction, opt, lr = (case[k] for k in (
        "layers", "params", "X", "T", "loss", "batch", "reduction", "opt", "lr"))
    params = {n: (a.copy(), b.copy()) for n, (a, b) in params.items()}
    biased = case.get("biases", True)
    names = parameter_names(layers, X.shape[1], biased)
    order = [p for n in sorted(names) for group in names[n] for p in group]
    state = {s: {p: 0.0 for p in order}
             for s in {"gd": [], "momentum": ["v"], "nesterov": ["v"], "rmsprop": ["s"],
                       "adam": ["m", "s"]}[opt["name"]]}
    n_samples = len(X)
    k = n_samples if batch == "full" else batch
    rows = []
    for t in range(1, steps + 1):
        picks = [((t - 1) * k + j) % n_samples for j in range(k)]
        row = {}
        total = {n: (np.zeros_like(a), np.zeros_like(b)) for n, (a, b) in params.items()}
        losses = []
        for j, i in enumerate(picks, start=1):
            values, deltas, E, grads = sample_pass(layers, params, X[i], T[i], loss)
            suffix = "" if k == 1 else f"_s{j}"
            row.update({f"{q}{suffix}": v for q, v in values.items()})
            row.update({f"delta_{q}{suffix}": v for q, v in deltas.items()})
            losses.append(E)
            for n, (ga, gb) in grads.items():
                total[n] = (total[n][0] + ga, total[n][1] + gb)
        scale = 1 / k if reduction == "mean" else 1.0
        row["E_total"] = sum(losses) * scale
        flat_params, flat_grads = [], []
        for n in sorted(names):
            a, b = params[n]
            ga, gb = total[n]
            flat_params += list(a.ravel()) + (list(b) if biased else [])
            flat_grads += list(ga.ravel() * scale) + (list(gb * scale) if biased else [])
        row.update(zip(order, flat_params, strict=True))
        row.update({f"dE_d{p}": g for p, g in zip(order, flat_grads, strict=True)})
        for s, per in state.items():
            row.update({f"{s}_{p}": per[p] for p in order})
        rows.append(row)
        new = iter(step(opt, state, order, flat_params, flat_grads, lr, t))
        for n in sorted(names):
            a, b = params[n]
            a = np.array([next(new) for _ in range(a.size)]).reshape(a.shape)
            if biased:
                b = np.array([next(new) for _ in range(b.size)])
            params[n] = (a, b)
    return rows


# --- random settings -----------------------------------------------------------------------------

def random_case(seed: int, smooth: bool = False):
    rng = np.random.default_rng(seed)
    acts = (["tanh", "sigmoid", "identity"] if smooth
            else ["relu", "tanh", "sigmoid", "identity", "leaky_relu"])
    C, H, W = int(rng.integers(1, 3)), int(rng.integers(4, 8)), int(rng.integers(4, 8))
    layers, params, shape = [], {}, (C, H, W)
    toml_layers = [{"input": [C, H, W]}]
    for _ in range(int(rng.integers(1, 3))):
        k = int(rng.integers(1, 4))
        stride = int(rng.integers(1, 3))
        padding = str(rng.choice(["valid", "same"]))
        if padding == "valid" and (shape[1] < k or shape[2] < k):
            padding = "same"
        M = int(rng.integers(1, 3))
        spec = {"kind": "conv2d", "maps": M, "kernel": k, "stride": stride, "padding": padding,
                "activation": str(rng.choice(acts))}
        K = rng.uniform(-1, 1, (M, shape[0], k, k))
        b = rng.uniform(-0.5, 0.5, M)
        params[len(layers) + 1] = (K, b)
        layers.append(spec)
        toml_layers.append({"conv2d": M, "kernel": k, "stride": stride, "padding": padding,
                            "activation": spec["activation"], "kernels": K.tolist(), "biases": b.tolist()})
        _, _, Ho = _pads(shape[1], k, stride, padding)
        _, _, Wo = _pads(shape[2], k, stride, padding)
        shape = (M, Ho, Wo)
        if shape[1] % 2 == 0 and shape[2] % 2 == 0 and rng.integers(0, 3):
            kind = str(rng.choice(["maxpool", "avgpool"]))
            layers.append({"kind": kind, "size": 2})
            toml_layers.append({kind: 2})
            shape = (M, shape[1] // 2, shape[2] // 2)
    flat = int(np.prod(shape))
    layers.append({"kind": "flatten", "flat": flat})
    toml_layers.append("flatten")
    fan_in = flat
    out_act = None
    for _ in range(int(rng.integers(0, 3))):
        size = int(rng.integers(2, 4))
        spec = {"kind": "dense", "size": size, "activation": str(rng.choice(acts))}
        Wd = rng.uniform(-1, 1, (size, fan_in))
        bd = rng.uniform(-0.5, 0.5, size)
        params[len(layers) + 1] = (Wd, bd)
        layers.append(spec)
        toml_layers.append({"dense": size, "activation": spec["activation"], "weights": Wd.tolist(),
                            "biases": bd.tolist()})
        fan_in = size
        out_act = spec
    loss = str(rng.choice(["half_sse", "sse", "mse"]))
    n_out = fan_in
    if out_act is not None and rng.integers(0, 2):
        out_act["activation"] = "softmax"
        toml_layers[-1]["activation"] = "softmax"
        loss = "cross_entropy"
    n = int(rng.integers(1, 4))
    X = rng.uniform(-1, 1, (n, C, H, W))
    if loss == "cross_entropy":
        T = np.zeros((n, n_out))
        T[np.arange(n), rng.integers(0, n_out, n)] = 1.0
    else:
        T = rng.uniform(-1, 1, (n, n_out))
    batch = "full" if rng.integers(0, 3) == 0 else int(rng.integers(1, n + 1))
    reduction = str(rng.choice(["mean", "sum"]))
    name = str(rng.choice(["gd", "momentum", "nesterov", "rmsprop", "adam"]))
    opt = {"name": name, "beta": float(rng.uniform(0, 0.99)), "beta1": float(rng.uniform(0, 0.99)),
           "beta2": float(rng.uniform(0.5, 0.9999)), "epsilon": float(rng.choice([1e-8, 1e-3])),
           "bias_correction": bool(rng.integers(0, 2))}
    lr = float(rng.uniform(0.01, 0.2))
    # Layer indices of `params` count the input as layer 0, as the generator does.
    params = {n - 1: v for n, v in params.items()}
    return {"layers": layers, "toml": toml_layers, "params": params, "X": X, "T": T, "loss": loss,
            "batch": batch, "reduction": reduction, "opt": opt, "lr": lr}


def config_for(case, steps: int):
    opt = case["opt"]
    keys = {"gd": ("name",), "momentum": ("name", "beta"), "nesterov": ("name", "beta"),
            "rmsprop": ("name", "beta", "epsilon"),
            "adam": ("name", "beta1", "beta2", "epsilon", "bias_correction")}[opt["name"]]
    data = {
        "learning_rates": [case["lr"]], "iterations": steps,
        "network": {"layers": case["toml"], "loss": case["loss"]},
        "data": {"samples": [{"image": x.tolist(), "target": t.tolist()}
                             for x, t in zip(case["X"], case["T"], strict=True)],
                 "batch": case["batch"], "reduction": case["reduction"],
                 "order": "cycle"},  # the reference below wraps around the samples
        "optimizer": {k: opt[k] for k in keys},
    }
    config = from_mapping(data, "case")
    validate(config)
    return config


def _compare(got, want, label):
    compared = 0
    for k, (g, w) in enumerate(zip(got, want, strict=True)):
        for name, value in w.items():
            floor = 1e-13 * max(1.0, max(abs(r[name]) for r in want))
            assert math.isclose(g[name], value, rel_tol=RTOL, abs_tol=floor), \
                f"{label}, row {k + 1}, {name}: generator {g[name]!r}, numpy {value!r}"
            compared += 1
    return compared


# A few cases in the inner loop (make test-fast), the rest with the slow tests.
SEEDS = [pytest.param(s, marks=pytest.mark.slow) if s >= 6 else s for s in range(30)]


@pytest.mark.parametrize("seed", SEEDS)
def test_every_row_matches_an_independent_implementation(seed):
    case = random_case(seed)
    steps = 4
    config = config_for(case, steps)
    got = model.run(config.training().network, config.training().setup, case["lr"], steps)
    want = numpy_rows(case, steps)
    # every column the generator has, but the bookkeeping ones, is recomputed here
    missing = {q for q in got[0] if not q.startswith(("i", "t", "sample", "E", "exp_", "data_", "batch_size"))
               and q not in want[0]}
    assert not missing, sorted(missing)[:10]
    assert _compare(got, want, f"seed {seed}") >= steps * 10


def test_the_cases_cover_every_layer_setting():
    seen = set()
    for seed in range(30):
        case = random_case(seed)
        for spec in case["layers"]:
            seen.add(spec["kind"])
            if spec["kind"] == "conv2d":
                seen |= {f"stride {spec['stride']}", spec["padding"]}
        seen |= {case["opt"]["name"], case["loss"], f"batch {case['batch']}"}
        seen.add(sum(1 for spec in case["layers"] if spec["kind"] == "conv2d"))
    assert {"maxpool", "avgpool", "stride 1", "stride 2", "valid", "same", "gd", "momentum",
            "nesterov", "rmsprop", "adam", "cross_entropy", 1, 2} <= seen


def test_the_independent_implementation_can_disagree():
    """A kernel value changed by 1e-9 changes the rows: the comparison above can fail."""
    case = random_case(5)
    config = config_for(case, 2)
    got = model.run(config.training().network, config.training().setup, case["lr"], 2)
    K, b = case["params"][1]
    K[0, 0, 0, 0] += 1e-9
    want = numpy_rows(case, 2)
    assert not all(math.isclose(got[-1][q], v, rel_tol=RTOL) for q, v in want[-1].items())


def test_max_pool_ties_go_to_the_first_largest_as_in_pytorch():
    """A flat image makes every window a tie: the gradient goes to the window's first (top-left)
    element only, as torch.nn.functional.max_pool2d's backward does (scripts/torch_crosscheck_conv.py)."""
    text = """
learning_rates = [0.1]
iterations = 1
[network]
layers = [{input = [4, 4]}, {conv2d = 1, kernel = 1, kernels = [[[1.0]]], biases = [0.0]},
          {maxpool = 2}, "flatten"]
[data]
samples = [{ image = [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 3, 3], [3, 3, 3, 3]], target = [0, 0, 0, 0] }]
"""
    config = from_mapping(tomllib.loads(text), "ties")
    validate(config)
    row = model.run(config.training().network, config.training().setup, 0.1, 1)[0]
    routed = {f"{i}_{j}": row["delta_c1_" + f"{i}_{j}"] for i in range(1, 5) for j in range(1, 5)}
    assert {k for k, v in routed.items() if v != 0} == {"1_1", "1_3", "3_1", "3_3"}
    case = {"layers": [{"kind": "conv2d", "maps": 1, "kernel": 1, "stride": 1, "padding": "valid",
                        "activation": "identity"}, {"kind": "maxpool", "size": 2},
                       {"kind": "flatten", "flat": 4}]}
    x = np.array([[[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 3, 3], [3, 3, 3, 3]]], dtype=float)
    _, deltas, _, _ = sample_pass(case["layers"], {0: (np.ones((1, 1, 1, 1)), np.zeros(1))}, x,
                                  np.zeros(4), "half_sse")
    for name, value in routed.items():
        assert value == deltas["c1_" + name]


@pytest.mark.parametrize("seed", [pytest.param(s, marks=pytest.mark.slow) if s >= 2 else s
                                  for s in range(12)])
def test_every_gradient_column_equals_a_central_difference(seed):
    case = random_case(300 + seed, smooth=True)
    config = config_for(case, 1)
    net = config.training().network
    start = config.training().setup
    row = model.run(net, start, case["lr"], 1)[0]
    values = start.values()
    checked = 0
    for q in net.quantities:
        if not q.gradient:
            continue
        p = q.name.removeprefix("dE_d")
        h = 1e-6

        def loss(value, p=p):
            setup = type(start)(tuple((n, value if n == p else v) for n, v in start.items), start.biases)
            return model.run(net, setup, case["lr"], 1)[0]["E_total"]

        numeric = (loss(values[p] + h) - loss(values[p] - h)) / (2 * h)
        assert math.isclose(row[q.name], numeric, rel_tol=1e-6, abs_tol=1e-8), (seed, p, row[q.name], numeric)
        checked += 1
    assert checked >= 2


# --- the config ----------------------------------------------------------------------------------

def _config(layers: str, data: str = 'samples = [{ image = [[0, 1], [1, 0]], target = [1] }]'):
    return from_mapping(tomllib.loads(f"[network]\nlayers = {layers}\n[data]\n{data}\n"), "c")


@pytest.mark.parametrize(("layers", "message"), [
    ('[{conv2d = 1}, "flatten"]', "the first layer must be {input"),
    ('[{input = [2, 2]}, {dense = 1}]', "needs \"flatten\" before it"),
    ('[{input = [2, 2]}, {conv2d = 1, kernel = 3}, "flatten"]', "smaller than its 3-wide window"),
    ('[{input = [2, 2]}, {conv2d = 1, kernel = 1, stride = 3}, "flatten"]', "stride must be 1 or 2"),
    ('[{input = [2, 2]}, {maxpool = 2}, "flatten"]', "a pooling layer follows a conv2d layer"),
    ('[{input = [3, 3]}, {conv2d = 1, kernel = 1}, {maxpool = 2}, "flatten"]', "do not divide"),
    ('[{input = [2, 2]}, {conv2d = 1, kernel = 1, kernels = [[1, 2]]}, "flatten"]', "kernels"),
    ('[{input = [2, 2]}, {conv2d = 1, kernal = 1}, "flatten"]', "unknown key 'kernal'"),
    ('[{input = [2, 2]}, "flaten"]', "unknown layer 'flaten'"),
])
def test_bad_layers_are_one_line_naming_the_layer(layers, message):
    with pytest.raises(ConfigError) as error:
        _config(layers)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


# --- the examples --------------------------------------------------------------------------------

def example_case(name: str):
    """An image example's config and the independent implementation's view of it."""
    from pathlib import Path

    from sheetgen.config import from_file

    config = from_file(Path(__file__).resolve().parents[2] / "sheetgen" / "examples" / f"{name}.toml")
    validate(config)
    spec, data, opt = config.network, config.data, config.optimizer
    values = config.training().setup.values()
    layers, params = [], {}
    for n, layer in enumerate(spec.layers[1:], start=1):
        if layer.kind == "conv2d":
            layers.append({"kind": "conv2d", "maps": layer.maps, "kernel": layer.kernel,
                           "stride": layer.stride, "padding": layer.padding, "activation": layer.activation})
        elif layer.kind in ("maxpool", "avgpool"):
            layers.append({"kind": layer.kind, "size": layer.size})
        elif layer.kind == "flatten":
            layers.append({"kind": "flatten", "flat": spec.shapes[n][0]})
        else:
            layers.append({"kind": "dense", "size": layer.size, "activation": layer.activation})
        weights, biases = spec.parameters_of(n)
        if weights:
            shape = ((layer.maps, spec.shapes[n - 1][0], layer.kernel, layer.kernel)
                     if layer.kind == "conv2d" else (layer.size, spec.shapes[n - 1][0]))
            b = np.array([values[x] for x in biases]) if biases else np.zeros(shape[0])
            params[n - 1] = (np.array([values[w] for w in weights]).reshape(shape), b)
    X = np.array([[values[f"data_{i}"][k] for i in spec.inputs] for k in range(data.n)])
    X = X.reshape(data.n, *spec.shapes[0])
    T = np.array([[values[f"data_{t}"][k] for t in spec.targets] for k in range(data.n)])
    o = {"name": opt.name, "beta": opt.beta, "beta1": opt.beta1, "beta2": opt.beta2,
         "epsilon": opt.epsilon, "bias_correction": opt.bias_correction}
    case = {"layers": layers, "params": params, "X": X, "T": T, "loss": spec.loss,
            "batch": data.batch or "full", "reduction": data.reduction, "opt": o,
            "biases": spec.biases != "none"}
    return config, case


@pytest.mark.parametrize("name", ["conv-digits", "conv-edge"])
def test_the_image_examples_match_the_independent_implementation(name):
    config, case = example_case(name)
    steps = 12
    for lr in config.learning_rates[:2]:
        case["lr"] = lr
        got = model.run(config.training().network, config.training().setup, lr, steps)
        assert _compare(got, numpy_rows(case, steps), f"{name} lr {lr}") > steps * 100


@pytest.mark.parametrize("seed", range(12))
def test_sizes_by_arithmetic_match_the_derived_table(seed):
    """The refusal comes from arithmetic on sizes: its column count is the table's, and its
    formula bound is at least the longest formula written (references at their longest)."""
    from sheetgen.core.cells import ref
    from sheetgen.core.network import spanner

    case = random_case(seed)
    config = config_for(case, 1)
    spec, data = config.network, config.data
    training = config.training()
    states = len(training.optimizer.states)
    assert spec.training_columns(data.batch_size, data.n, states) == len(training.columns)
    column_of = {c.quantity: k for k, c in enumerate(training.columns)}
    span = spanner(column_of, "xlsx", "1048576")

    def reference(name):
        return ref("xlsx", column_of[name], "1048576") if name in column_of else "$XFD$1048576"

    mine = ("c", "a_", "p", "delta_", "dE_d", "h", "o")
    longest = max(len((q.formula or q.next).to_formula(reference, ",", span)) + 1
                  for q in training.network.quantities if q.name.startswith(mine))
    assert spec.longest_formula(data.batch_size)[0] >= longest


def test_a_network_too_big_is_refused_by_arithmetic_naming_the_layer():
    import time

    start = time.process_time()  # CPU time: the machine may be shared
    with pytest.raises(ConfigError) as error:
        _config('[{input = [1, 100, 100]}, {conv2d = 4, kernel = 3}, "flatten"]')
    assert time.process_time() - start < 1.0
    assert "network.layers[2] (conv2d): too big for a sheet" in str(error.value)
    with pytest.raises(ConfigError) as error:
        _config('[{input = [1, 40, 40]}, {conv2d = 1, kernel = 3, stride = 2}, "flatten"]')
    assert "formula needs up to" in str(error.value) and "layers[2] (conv2d)" in str(error.value)
