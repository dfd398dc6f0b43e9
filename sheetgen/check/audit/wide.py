"""Image and recurrent networks read off a table's headers and values, without their config.

The names say the shape: a recurrent network's cell by its weights (Wxh: rnn, Wxi: lstm, Wxr:
gru), its layers, units, steps and inputs by their numbers (Wxh2_3_1, x1_t5), the dense layers
after it (d1_2, o1, `_tN` when there is an output at every step); an image network's input
(i1_6_6), each conv2d layer's maps, kernel and stride from its kernels (k1_r3c3) and maps (c1_4_4),
pooling (p1_2_2) and the dense layers (h1, o1). The values choose what the names leave open:
each layer's activation, the pooling (max or average), the loss; the samples come from the data
sheet, the optimizer from its state columns, as for a dense table (expected.py). The network is
built from the same core objects as a config's (`RecurrentSpec`, `ConvSpec`, `presets.training`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np

from sheetgen.check.audit.expected import (
    Expected,
    NeedsConfig,
    activation_constants,
    activation_functions,
    base_name,
    choose_optimizer,
    fits,
    from_training,
    sample_of,
    samples_of,
    spec_constants,
)
from sheetgen.core import conv, presets, recurrent
from sheetgen.core.expressions import Expression
from sheetgen.core.layers.conv2d import PADDINGS, out_size
from sheetgen.core.losses import LOSSES
from sheetgen.errors import ConfigError

_KERNEL = re.compile(r"k([0-9]+)(?:_([0-9]+))?_r([0-9]+)c([0-9]+)")
_RECURRENT = re.compile(r"Wx([hifgorzn])([0-9]*)_([0-9]+)_([0-9]+)")
_KINDS = ((_KERNEL, "image layers (conv2d kernels k1_r1c1 …)"),
          (_RECURRENT, "a recurrent network (Wxh_1_1 …)"))


def infer_wide(cols: Mapping[str, np.ndarray], labelled: Mapping[str, float],
               data: Mapping[str, tuple] | None, quantum: float = 0.0) -> Expected | None:
    """The image or recurrent network a table computes; None when its headers name neither
    (a dense table). NeedsConfig, naming --config, when they cannot be read off the sheet."""
    bases = {base_name(n) for n in cols}
    for pattern, kind in _KINDS:
        if any(pattern.fullmatch(n) for n in bases):
            read = _image if pattern is _KERNEL else _recurrent
            try:
                return read(cols, bases, labelled, data or {}, quantum)
            except (ConfigError, ValueError, KeyError) as exc:
                why = f" ({exc})" if str(exc) else ""
                raise NeedsConfig(f"its headers name {kind}, which could not be read off the "
                                  f"sheet{why}: give its exercise with --config EXERCISE.toml"
                                  ) from None
    return None


# --- what the values choose ---------------------------------------------------------------------

def _best(pairs, candidates: dict, quantum: float) -> str:
    """The candidate f (first among equals) for which f(x) gives y over the (x, y) pairs."""
    pairs = [(x, y) for x, y in pairs if x is not None and y is not None]
    if not pairs:
        raise ConfigError("no pre-activation and activation columns to tell the activation by")
    best, score = None, -1.0
    for name, f in candidates.items():
        with np.errstate(all="ignore"):
            share = float(np.mean([fits(f(x), y, quantum) for x, y in pairs]))
        if share > score + 1e-9:
            best, score = name, share
    return best


def _activation(samples, pairs: list[tuple[str, str]], allowed, quantum: float,
                found: dict | None = None) -> str:
    """The activation that gives each pair's second column from its first, in every sample;
    the constants its values imply (a leaky ReLU's slope, an elu's α) go into `found`, the first
    layer's kept (one per network, as a config sets it)."""
    columns = [(one.get(z), one.get(a)) for one in samples for z, a in pairs]
    constants = activation_constants(columns)
    acts = activation_functions(constants)
    best = _best(columns, {name: acts[name] for name in allowed if name in acts}, quantum)
    if found is not None:
        for key, value in spec_constants(constants, {best}).items():
            found.setdefault(key, value)
    return best


def _samples(cols: Mapping[str, np.ndarray]) -> list[dict[str, np.ndarray]]:
    """Each sample's columns under their own names, parameters with them."""
    k = max([sample_of(n) for n in cols] + [1])
    if k == 1:
        return [dict(cols)]
    return [{base_name(n): v for n, v in cols.items() if sample_of(n) in (0, s)}
            for s in range(1, k + 1)]


def _loss(cols, targets, outputs, allowed, quantum: float) -> str:
    """The loss whose terms give E1, E2, … from the targets and outputs, in every sample, where
    target and output differ (where they agree, every squared error is 0); sse or mse by the
    sample's total (E_total, or E_s1 … beside copies)."""
    samples = _samples(cols)
    found = [(one.get(t), one.get(a), one.get(f"E{j}")) for one in samples
             for j, (t, a) in enumerate(zip(targets, outputs, strict=True), start=1)]
    found = [(t, a, e) for t, a, e in found if t is not None and a is not None and e is not None]
    if not found:
        raise ConfigError(f"no columns {targets[0]}, {outputs[0]} and E1 to tell the loss by")
    t, a, e = (np.concatenate(x) for x in zip(*found, strict=True))
    apart = np.abs(t - a) > 1e-12
    if apart.any():
        t, a, e = t[apart], a[apart], e[apart]
    scores = {}
    for name in allowed:
        term = Expression.parse(LOSSES[name]().term("t", "a"))
        with np.errstate(all="ignore"):
            scores[name] = fits(np.broadcast_to(term.evaluate_array({"t": t, "a": a}, {}),
                                                t.shape).astype(float), e, quantum)
    best = max(scores, key=lambda name: scores[name])
    n_errors = len(targets)
    if best in ("sse", "mse") and n_errors > 1 and "mse" in allowed:
        one = samples[0]
        errors = [one.get(f"E{j}") for j in range(1, n_errors + 1)]
        total = one.get("E", one.get("E_s1", one.get("E_total")))
        if total is not None and all(x is not None for x in errors):
            mean = sum(errors) / n_errors
            return "mse" if fits(mean, total, quantum) > fits(sum(errors), total, quantum) else "sse"
    return best


def _numbers(bases, pattern: str) -> list[tuple[int, ...]]:
    return [tuple(int(g) for g in m.groups()) for n in bases if (m := re.fullmatch(pattern, n))]


def _sizes(bases, prefix: str) -> list[int]:
    """Per layer l: the units of prefix<l>_<j> names (d1_2, h2_3), in layer order."""
    found = _numbers(bases, prefix + r"([0-9]+)_([0-9]+)")
    return [max(j for l2, j in found if l2 == layer) for layer in sorted({l2 for l2, _ in found})]


def _finish(spec, cols, labelled, data, quantum: float, trained_names) -> Expected:
    """The network of `spec` on the sheet's samples with the optimizer its columns show."""
    spec.check()
    data_spec, have_data = samples_of(cols, spec.inputs + spec.targets, data, quantum, spec)
    trained = set(trained_names)
    _, training = choose_optimizer(lambda o: presets.training(spec, {}, data=data_spec, optimizer=o),
                                   cols, labelled, trained.__contains__, quantum=quantum)
    names = set(training.network.names)
    missing = [c for c in cols if c not in names and c != "iteration"]
    if missing:
        raise ConfigError(f"columns {', '.join(missing[:3])} are not in the network read off them")
    expected = from_training(training, "headers")
    if not have_data:   # no data sheet: its stand-in zeros are no values to check the inputs by
        expected.parameters = {k: v for k, v in expected.parameters.items()
                               if not isinstance(v, tuple)}
    return expected


# --- recurrent ----------------------------------------------------------------------------------

def _recurrent(cols, bases: set[str], labelled, data, quantum: float) -> Expected:
    weights = [m.groups() for n in bases if (m := _RECURRENT.fullmatch(n))]
    gates = {g for g, *_ in weights}
    cell = "lstm" if "i" in gates else "gru" if "r" in gates else "rnn"
    gate = recurrent.GATES[cell][0]
    per_tag: dict[str, list[tuple[int, int]]] = {}
    for g, tag, j, k in weights:
        if g == gate:
            per_tag.setdefault(tag, []).append((int(j), int(k)))
    tags = sorted(per_tag, key=lambda tag: int(tag or 0))
    hidden = tuple(max(j for j, _ in per_tag[tag]) for tag in tags)
    inputs = max(k for _, k in per_tag[tags[0]])
    sources = bases | set(data)
    steps = max(t for _, t in _numbers(sources, r"x([0-9]+)_t([0-9]+)"))
    every = any(re.fullmatch(r"(?:y|o|a_o)[0-9]+_t[0-9]+", n) for n in sources)
    suffix = "_t1" if every else ""
    outputs = max(j for (j,) in _numbers(bases, rf"o([0-9]+){suffix}"))
    dense = (*_sizes({re.sub(r"_t[0-9]+$", "", n) for n in bases}, "d"), outputs)
    # The steps backpropagated: from the first one with a δ column.
    deltas = [t for (t,) in _numbers(bases, r"delta_z[a-z]{1,2}[0-9]*_t([0-9]+)_[0-9]+")]
    bptt = 0 if not deltas or min(deltas) == 1 else steps - min(deltas) + 1
    samples = _samples(cols)
    tag = "" if len(hidden) == 1 else "1"
    activation = "tanh"
    if cell == "rnn":
        activation = _activation(samples, [(f"zh{tag}_t1_{j}", f"h{tag}_t1_{j}")
                                       for j in range(1, hidden[0] + 1)],
                                 recurrent.RNN_ACTIVATIONS, quantum)
    activations = []
    for layer, size in enumerate(dense, start=1):
        neuron = "o" if layer == len(dense) else f"d{layer}_"
        activations.append(_activation(samples, [(f"{neuron}{j}{suffix}", f"a_{neuron}{j}{suffix}")
                                             for j in range(1, size + 1)],
                                       recurrent.DENSE_ACTIVATIONS, quantum))
    shape = dict(cell=cell, inputs_per_step=inputs, hidden=hidden, steps=steps,
                 output="every" if every else "last", dense=dense)
    targets = recurrent.RecurrentSpec(**shape).targets
    loss = _loss(cols, targets, [re.sub("^y", "a_o", t) for t in targets], recurrent.LOSSES,
                 quantum)
    spec = recurrent.RecurrentSpec(cell=cell, inputs_per_step=inputs, hidden=hidden, steps=steps,
                                   output="every" if every else "last", dense=dense,
                                   activations=tuple(activations), activation=activation, loss=loss,
                                   bptt=bptt)
    return _finish(spec, cols, labelled, data, quantum, spec.weight_names + spec.bias_names)


# --- image --------------------------------------------------------------------------------------

def _image(cols, bases: set[str], labelled, data, quantum: float) -> Expected:
    sources = bases | set(data)
    pixels = _numbers(sources, r"i([0-9]+)_([0-9]+)_([0-9]+)")
    if not pixels:
        raise ConfigError("no input pixels i1_1_1 … among the headers or on a data sheet")
    shape = tuple(max(p[d] for p in pixels) for d in range(3))
    layers: list = [conv.InputLayer(*shape)]
    maps = {}
    for m, r, x in _numbers(bases, r"c([0-9]+)_([0-9]+)_([0-9]+)"):
        maps[m] = (max(r, maps.get(m, (0, 0))[0]), max(x, maps.get(m, (0, 0))[1]))
    pooled = {}
    for m, r, x in _numbers(bases, r"p([0-9]+)_([0-9]+)_([0-9]+)"):
        pooled[m] = (max(r, pooled.get(m, (0, 0))[0]), max(x, pooled.get(m, (0, 0))[1]))
    kernels: dict[int, tuple[int, int]] = {}
    for n in bases:
        if m := _KERNEL.fullmatch(n):
            first, channel, row = int(m.group(1)), int(m.group(2) or 1), int(m.group(3))
            size, channels = kernels.get(first, (0, 0))
            kernels[first] = (max(size, row), max(channels, channel))
    samples = _samples(cols)
    acts = activation_functions()
    constants: dict = {}
    m = 1
    while m in maps:
        channels, height, width = shape
        size, fan = kernels.get(m, (0, 0))
        if not size or fan != channels:
            raise ConfigError(f"map {m}'s kernel does not read the {channels} channel(s) before it")
        group = [m]
        while m + len(group) in maps and maps[m + len(group)] == maps[m] and \
                kernels.get(m + len(group)) == (size, fan):
            group.append(m + len(group))
        out = maps[m]
        stride, padding = next(((s, p) for p in PADDINGS for s in range(1, size + 1)
                                if (out_size(height, size, s, p), out_size(width, size, s, p)) == out),
                               (None, None))
        if stride is None:
            raise ConfigError(f"map {m}'s {out[0]}×{out[1]} follows from no stride or padding "
                              f"of a {size}×{size} kernel on {height}×{width}")
        cells = [(f"c{m}_{r}_{x}", f"a_c{m}_{r}_{x}") for r in range(1, out[0] + 1)
                 for x in range(1, out[1] + 1)]
        activation = _activation(samples, cells, [a for a in acts if a != "softmax"], quantum, constants)
        layers.append(conv.Conv2dLayer(len(group), size, stride, padding, activation))
        shape = (len(group), *out)
        if m in pooled:
            window = out[0] // pooled[m][0]
            layers.append(conv.PoolLayer(_pooling(samples, m, pooled[m], window, quantum), window))
            shape = (len(group), *pooled[m])
        m += len(group)
    layers.append(conv.FlattenLayer())
    deep = _sizes(bases, "h")
    hidden = deep or ([max(j for (j,) in _numbers(bases, r"h([0-9]+)"))]
                      if _numbers(bases, r"h([0-9]+)") else [])
    outputs = _numbers(bases, r"o([0-9]+)")
    softmax = any(n.startswith("exp_o") for n in bases)
    for layer, size in enumerate(hidden, start=1):
        names = [f"h{layer}_{j}" if deep else f"h{j}" for j in range(1, size + 1)]
        layers.append(conv.DenseLayer(size, _activation(samples, [(z, "a_" + z) for z in names],
                                                        [a for a in acts if a != "softmax"], quantum,
                                                        constants)))
    if outputs:
        size = max(j for (j,) in outputs)
        activation = "softmax" if softmax else _activation(
            samples, [(f"o{j}", f"a_o{j}") for j in range(1, size + 1)],
            [a for a in acts if a != "softmax"], quantum, constants)
        layers.append(conv.DenseLayer(size, activation))
    biases = "per_neuron" if any(re.fullmatch(r"b_?c?[0-9]+", n) for n in bases) else "none"
    train = any(re.fullmatch(r"dE_db_?c?[0-9]+", n) for n in bases)
    probe = conv.ConvSpec(tuple(layers), biases=biases, train_biases=train)
    targets = probe.targets
    loss = "cross_entropy" if softmax else _loss(
        cols, targets, probe.outputs, [name for name in LOSSES if name != "cross_entropy"], quantum)
    spec = conv.ConvSpec(tuple(layers), loss=loss, biases=biases, train_biases=train, **constants)
    trained = spec.weight_names + (spec.bias_names if train else ())
    return _finish(spec, cols, labelled, data, quantum, trained)


def _pooling(samples, m: int, shape: tuple[int, int], window: int, quantum: float) -> str:
    """maxpool or avgpool: which gives map m's pooled cells from its activations (max on a tie)."""
    found = {"maxpool": [], "avgpool": []}
    cells = [(r, x) for r in range(1, shape[0] + 1) for x in range(1, shape[1] + 1)]
    for one, (r, x) in ((one, cell) for one in samples for cell in cells):
        inside = [one.get(f"a_c{m}_{(r - 1) * window + i}_{(x - 1) * window + j}")
                  for i in range(1, window + 1) for j in range(1, window + 1)]
        pooled = one.get(f"p{m}_{r}_{x}")
        if pooled is None or any(c is None for c in inside):
            continue
        stack = np.vstack(inside)
        found["maxpool"].append(fits(stack.max(axis=0), pooled, quantum))
        found["avgpool"].append(fits(stack.mean(axis=0), pooled, quantum))
    if not found["maxpool"]:
        raise ConfigError(f"no columns to tell map {m}'s pooling by")
    return "avgpool" if np.mean(found["avgpool"]) > np.mean(found["maxpool"]) + 1e-9 else "maxpool"


__all__ = ["infer_wide"]
