"""Recurrent networks (rnn, lstm, gru) unrolled over time: the `[network]` table with a `cell`,
its names, sizes and limits, its sequences as data, and its layers (core/layers/rnn.py, lstm.py,
gru.py, then dense or time_dense). Their backward pass (backpropagation through time) is derived
like every network's (core/backward.py).

Names, one vocabulary for code, sheets and report (``<L>`` is the recurrent layer's number when
there are stacked layers, else nothing; ``t`` the time step, ``j`` the unit, ``k`` its source):

    x<k>_t<t>            input k at step t (one CSV column each: x1_t1, x1_t2, …)
    h<L>_t<t>_<j>        hidden state; h<L>_t0_<j> the initial state (given or 0)
    c<L>_t<t>_<j>        lstm cell state; c<L>_t0_<j> its initial value
    i f g o …_t<t>_<j>   lstm gates (input, forget, cell candidate, output)
    r z n …_t<t>_<j>     gru gates (reset, update, candidate)
    z<g><L>_t<t>_<j>     a gate's net input (zf_t1_1; rnn: zh_t1_1)
    Wx<g><L>_<j>_<k>     weight from input k (or the layer below's unit k) into gate g's unit j
    Wh<g><L>_<j>_<k>     weight from h_{t−1} unit k into gate g's unit j
    b<g><L>_<j>          bias (gru's candidate has two: bxn and bhn, as in PyTorch)

For rnn the "gate" is h itself (Wxh, Whh, bh). The dense layers after the recurrent ones keep
the dense names (w1…, b1…, o1…, a_o1…, hidden ones d<l>_<j>), with ``_t<t>`` when there is an
output at every step (many-to-many); targets are y<k> (many-to-one) or y<k>_t<t>.

δ columns δ_x = ∂E_total/∂x: of every net (zh, zi, …, the dense pre-activations), and of c and
of lstm's and gru's h.
Each weight's gradient is the sum over the steps of δ · source. With ``bptt = k`` the backward
pass covers the last k steps only: the gradient is that of E_total with everything computed at
steps before T − k + 1 held constant.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass

from sheetgen.core.network import MAX_COLUMNS, MAX_FORMULA
from sheetgen.errors import ConfigError

CELLS = ("rnn", "lstm", "gru")
GATES = {"rnn": ("h",), "lstm": ("i", "f", "g", "o"), "gru": ("r", "z", "n")}
OUTPUTS = ("last", "every")                  # many-to-one, many-to-many
RNN_ACTIVATIONS = ("tanh", "sigmoid", "relu", "identity")
DENSE_ACTIVATIONS = ("identity", "sigmoid", "tanh", "relu")
LOSSES = ("half_sse", "sse", "mse", "binary_cross_entropy")
STEP = re.compile(r"_t(\d+)(?:_|$)")


def step_of(name: str) -> int | None:
    """The time step a quantity belongs to (h_t3_2 -> 3), None for those of no step."""
    m = STEP.search(name)
    return int(m.group(1)) if m else None


@dataclass(frozen=True)
class RecurrentSpec:
    """The ``[network]`` table of a recurrent network; `steps` comes from the data."""

    cell: str = "rnn"
    inputs_per_step: int = 1
    hidden: tuple[int, ...] = (2,)
    steps: int = 3
    output: str = "last"
    dense: tuple[int, ...] = (1,)           # sizes of the dense layers after; the last: outputs
    activations: tuple[str, ...] = ("identity",)
    activation: str = "tanh"                # rnn's h
    loss: str = "half_sse"
    bptt: int = 0                           # 0: every step
    seed: int = 0
    # Duck-typed with NetworkSpec where the training code asks.
    biases: str = "per_neuron"
    train_biases: bool = True

    # --- checks ----------------------------------------------------------------------------------

    def check(self) -> None:
        def whole(value, key: str, least: int = 1) -> None:
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ConfigError(f"network.{key}: must be a whole number of at least {least}, "
                                  f"got {value!r}")
        if self.cell not in CELLS:
            raise ConfigError(f"network.cell: unknown cell {self.cell!r}; choose from {', '.join(CELLS)}")
        whole(self.inputs_per_step, "inputs")
        if not self.hidden:
            raise ConfigError("network.hidden: give one size per recurrent layer, such as [3]")
        for size in self.hidden:
            whole(size, "hidden")
        whole(self.steps, "steps (the sequences' length)")
        if self.output not in OUTPUTS:
            raise ConfigError(f"network.output: must be last (many-to-one) or every (many-to-many), "
                              f"got {self.output!r}")
        if not self.dense:
            raise ConfigError("network.layers: give the dense layers after the recurrent ones, "
                              "the last being the outputs, such as [1]")
        for size in self.dense:
            whole(size, "layers")
        if len(self.activations) != len(self.dense):
            raise ConfigError(f"network.activations: {len(self.activations)} given for "
                              f"{len(self.dense)} dense layers (one each)")
        for name in self.activations:
            if name not in DENSE_ACTIVATIONS:
                raise ConfigError(f"network.activations: {name!r} is not available after a recurrent "
                                  f"layer; choose from {', '.join(DENSE_ACTIVATIONS)}")
        if self.activation not in RNN_ACTIVATIONS:
            raise ConfigError(f"network.activation: unknown activation {self.activation!r}; choose "
                              f"from {', '.join(RNN_ACTIVATIONS)}")
        if self.loss not in LOSSES:
            raise ConfigError(f"network.loss: {self.loss!r} is not available for a recurrent "
                              f"network; choose from {', '.join(LOSSES)}")
        if self.loss == "binary_cross_entropy" and self.activations[-1] != "sigmoid":
            raise ConfigError("network.loss: binary_cross_entropy needs sigmoid outputs")
        whole(self.bptt, "bptt", 0)
        if self.bptt > self.steps:
            raise ConfigError(f"network.bptt: {self.bptt} is more than the {self.steps} steps of "
                              "the sequences")

    # --- names -----------------------------------------------------------------------------------

    @property
    def gates(self) -> tuple[str, ...]:
        return GATES[self.cell]

    def tag(self, layer: int) -> str:
        """The layer's mark in names: nothing for a single recurrent layer."""
        return "" if len(self.hidden) == 1 else str(layer)

    def unit(self, kind: str, layer: int, t: int, j: int) -> str:
        return f"{kind}{self.tag(layer)}_t{t}_{j}"

    def layer_inputs(self, layer: int) -> int:
        return self.inputs_per_step if layer == 1 else self.hidden[layer - 2]

    def sources(self, layer: int, t: int) -> list[str]:
        """What feeds recurrent layer `layer` at step t: the inputs or the layer below's h."""
        if layer == 1:
            return [f"x{k}_t{t}" for k in range(1, self.inputs_per_step + 1)]
        return [self.unit("h", layer - 1, t, k) for k in range(1, self.hidden[layer - 2] + 1)]

    def matrices(self, layer: int) -> dict[str, list[list[str]]]:
        """Per gate: its Wx rows and Wh rows (a row per unit)."""
        tag, size, fan = self.tag(layer), self.hidden[layer - 1], self.layer_inputs(layer)
        out = {}
        for g in self.gates:
            out["x" + g] = [[f"Wx{g}{tag}_{j}_{k}" for k in range(1, fan + 1)] for j in range(1, size + 1)]
            out["h" + g] = [[f"Wh{g}{tag}_{j}_{k}" for k in range(1, size + 1)] for j in range(1, size + 1)]
        return out

    def gate_biases(self, layer: int, g: str) -> list[str]:
        tag, size = self.tag(layer), self.hidden[layer - 1]
        if self.cell == "gru" and g == "n":
            return [f"bxn{tag}_{j}" for j in range(1, size + 1)]
        return [f"b{g}{tag}_{j}" for j in range(1, size + 1)]

    def extra_biases(self, layer: int) -> list[str]:
        """gru's bhn, inside r·(Whn·h + bhn)."""
        if self.cell != "gru":
            return []
        return [f"bhn{self.tag(layer)}_{j}" for j in range(1, self.hidden[layer - 1] + 1)]

    def recurrent_weights(self, layer: int) -> list[str]:
        m = self.matrices(layer)
        return [w for g in self.gates for key in ("x" + g, "h" + g) for row in m[key] for w in row]

    def recurrent_biases(self, layer: int) -> list[str]:
        return [b for g in self.gates for b in self.gate_biases(layer, g)] + self.extra_biases(layer)

    @property
    def out_steps(self) -> tuple[int, ...]:
        return tuple(range(1, self.steps + 1)) if self.output == "every" else (self.steps,)

    def suffix(self, t: int) -> str:
        return f"_t{t}" if self.output == "every" else ""

    def neurons(self, layer: int, t: int) -> list[str]:
        """Dense layer `layer` (1-based after the recurrent ones) at output step t."""
        size = self.dense[layer - 1]
        if layer == len(self.dense):
            return [f"o{j}{self.suffix(t)}" for j in range(1, size + 1)]
        return [f"d{layer}_{j}{self.suffix(t)}" for j in range(1, size + 1)]

    def dense_sources(self, layer: int, t: int) -> list[str]:
        if layer == 1:
            top = len(self.hidden)
            return [self.unit("h", top, t, k) for k in range(1, self.hidden[-1] + 1)]
        return ["a_" + n for n in self.neurons(layer - 1, t)]

    def dense_weights(self, layer: int) -> list[list[str]]:
        fan = self.hidden[-1] if layer == 1 else self.dense[layer - 2]
        first = 1 + sum((self.hidden[-1] if k == 1 else self.dense[k - 2]) * self.dense[k - 1]
                        for k in range(1, layer))
        return [[f"w{first + j * fan + k}" for k in range(fan)] for j in range(self.dense[layer - 1])]

    def dense_biases(self, layer: int) -> list[str]:
        first = 1 + sum(self.dense[:layer - 1])
        return [f"b{first + j}" for j in range(self.dense[layer - 1])]

    @property
    def inputs(self) -> tuple[str, ...]:
        """The data columns of one sample's inputs, step by step."""
        return tuple(f"x{k}_t{t}" for t in range(1, self.steps + 1)
                     for k in range(1, self.inputs_per_step + 1))

    @property
    def targets(self) -> tuple[str, ...]:
        return tuple(f"y{k}{self.suffix(t)}" for t in self.out_steps
                     for k in range(1, self.dense[-1] + 1))

    @property
    def initial_names(self) -> tuple[str, ...]:
        names = []
        for layer in range(1, len(self.hidden) + 1):
            kinds = ("h", "c") if self.cell == "lstm" else ("h",)
            for kind in kinds:
                names += [self.unit(kind, layer, 0, j) for j in range(1, self.hidden[layer - 1] + 1)]
        return tuple(names)

    @property
    def weight_names(self) -> tuple[str, ...]:
        names = [w for layer in range(1, len(self.hidden) + 1) for w in self.recurrent_weights(layer)]
        names += [w for layer in range(1, len(self.dense) + 1) for row in self.dense_weights(layer)
                  for w in row]
        return tuple(names)

    @property
    def bias_names(self) -> tuple[str, ...]:
        names = [b for layer in range(1, len(self.hidden) + 1) for b in self.recurrent_biases(layer)]
        names += [b for layer in range(1, len(self.dense) + 1) for b in self.dense_biases(layer)]
        return tuple(names)

    @property
    def layers(self) -> tuple[int, ...]:
        return (self.inputs_per_step, *self.hidden, *self.dense)

    @property
    def active_from(self) -> int:
        """The first step the backward pass reaches."""
        return 1 if self.bptt == 0 else self.steps - self.bptt + 1

    is_reference = False
    gradients = None                        # δ columns (core/presets.py)
    images = False
    unrolled = True                         # the steps in time (core/network.py says more)

    def layer_objects(self) -> tuple:
        return layers(self)

    @property
    def shape_text(self) -> str:
        """'1-2-1': inputs per step, the hidden sizes, the dense layers."""
        return "-".join(map(str, self.layers))

    def describe(self) -> str:
        """'lstm 3, 5 steps, last -> 1: identity; half_sse' for the settings block."""
        bptt = f", bptt {self.bptt}" if self.bptt else ""
        kind = self.cell + (f" ({self.activation})" if self.cell == "rnn" else "")
        return (f"{kind} {'-'.join(map(str, self.hidden))} over {self.steps} steps{bptt}, "
                f"output {'every step' if self.output == 'every' else 'last step'} -> "
                f"{'-'.join(map(str, self.dense))}: {', '.join(self.activations)}; {self.loss}")

    # --- sizes, by arithmetic --------------------------------------------------------------------

    @property
    def per_step(self) -> tuple[int, int]:
        """Forward and δ columns of one step of the recurrent layers, per hidden unit (the
        nets, gates and states; the δs of the nets and states)."""
        return {"rnn": (2, 1), "lstm": (10, 6), "gru": (7, 4)}[self.cell]

    def sample_columns(self) -> int:
        """One sample's columns: inputs, targets, forward, errors, δ (without E_total)."""
        forward, back = self.per_step
        units = sum(self.hidden)
        active = self.steps - self.active_from + 1
        outs = len(self.out_steps)
        active_outs = len([t for t in self.out_steps if t >= self.active_from])
        dense = sum(self.dense)
        return (self.steps * (self.inputs_per_step + forward * units) + active * back * units
                + outs * (2 * self.dense[-1] + 2 * dense) + active_outs * dense)

    def n_columns(self, batch: int = 1, samples: int = 1, states: int = 0,
                  check: bool = False, short: int = 0) -> int:
        """Every column of a training sheet with `batch` of `samples` samples a row, `states`
        optimizer states per parameter, gradient checks or not, and an epoch's short last batch
        of `short` samples (0: none): what core/training.py makes."""
        parameters = len(self.weight_names) + len(self.bias_names)
        slot = self.sample_columns() + 1 + (1 if batch < samples else 0)
        uneven = (batch - short) + 1 if short else 0    # in_s<j> of the empty slots, batch_size
        return (parameters * (2 + states + (1 if check else 0)) + len(self.initial_names)
                + batch * slot + (1 if batch > 1 else 0) + 1 + uneven)

    def longest_formula(self, batch: int = 1) -> int:
        """Characters of the longest formula at its longest (3-letter columns, 7-digit rows), by
        arithmetic: a recurrent weight's gradient, a sum of δ · source over the steps
        backpropagated and the step's samples, or a δh, a sum over the nets that read h."""
        active = self.steps - self.active_from + 1
        term = 33 if self.cell == "gru" else 22         # gru's Whn term reads r as well
        gradient = 2 + batch * (active * term + 2) + 6
        widest = max(len(self.gates) * h for h in self.hidden)
        delta = (2 * widest + max(self.dense[0], 1) + 2) * term + 16
        return max(gradient, delta)


def draw_values(spec: RecurrentSpec, given: dict[str, float]) -> dict[str, float]:
    """`given` values by name; the others drawn from `spec.seed`: recurrent weights and biases
    uniform in ±1/√hidden (PyTorch's rule), dense ones Glorot uniform, initial states 0."""
    rng = random.Random(spec.seed)
    values: dict[str, float] = {}
    for name in spec.initial_names:
        values[name] = float(given.get(name, 0.0))
    for layer in range(1, len(spec.hidden) + 1):
        limit = 1 / math.sqrt(spec.hidden[layer - 1])
        for name in spec.recurrent_weights(layer) + spec.recurrent_biases(layer):
            drawn = rng.uniform(-limit, limit)
            values[name] = float(given[name]) if name in given else drawn
    for layer in range(1, len(spec.dense) + 1):
        fan = spec.hidden[-1] if layer == 1 else spec.dense[layer - 2]
        limit = math.sqrt(6 / (fan + spec.dense[layer - 1]))
        for name in [w for row in spec.dense_weights(layer) for w in row] + spec.dense_biases(layer):
            drawn = rng.uniform(-limit, limit)
            values[name] = float(given[name]) if name in given else drawn
    return values


# --- the layers ---------------------------------------------------------------------------------

def layers(spec: RecurrentSpec) -> tuple:
    """The recurrent layers (core/layers/rnn.py, lstm.py, gru.py), then the dense ones: `Dense`
    on the last step's h (many-to-one) or `TimeDense` at every step (many-to-many)."""
    from sheetgen.core.layers import LAYERS
    from sheetgen.core.layers.dense import Dense

    cell = LAYERS[spec.cell]
    out = []
    for layer in range(1, len(spec.hidden) + 1):
        top = layer == len(spec.hidden)
        out.append(cell(layer, spec.layer_inputs(layer), spec.hidden[layer - 1], spec.steps,
                        spec.tag(layer), "last" if top and spec.output == "last" else "every",
                        spec.active_from, spec.activation if spec.cell == "rnn" else spec.cell))
    for k in range(1, len(spec.dense) + 1):
        index = len(spec.hidden) + k
        weights = tuple(map(tuple, spec.dense_weights(k)))
        names = tuple(n[:-len(spec.suffix(spec.steps))] if spec.output == "every" else n
                      for n in spec.neurons(k, spec.steps))
        if spec.output == "every":
            out.append(LAYERS["time_dense"](index, names, weights, tuple(spec.dense_biases(k)),
                                            spec.steps, spec.activations[k - 1], spec.active_from))
        else:
            sources = tuple(spec.dense_sources(k, spec.steps))
            out.append(Dense(index, names, sources, weights, tuple(spec.dense_biases(k)),
                             spec.activations[k - 1], (), True))
    return tuple(out)


# --- limits -------------------------------------------------------------------------------------

def check_size(spec: RecurrentSpec, batch: int = 1, samples: int = 1, states: int = 0,
               check: bool = False, short: int = 0) -> None:
    """ConfigError, by arithmetic before any work, unless the sheet fits Excel's limits."""
    columns = spec.n_columns(batch, samples, states, check, short)
    if columns > MAX_COLUMNS:
        raise ConfigError(f"network: too big for a sheet: {spec.cell} with hidden "
                          f"{list(spec.hidden)} over {spec.steps} steps needs {columns:,} columns, "
                          f"a sheet has at most {MAX_COLUMNS:,}")
    longest = spec.longest_formula(batch)
    if longest > MAX_FORMULA:
        raise ConfigError(f"network: too big for a sheet: {spec.cell} with hidden "
                          f"{list(spec.hidden)} over {spec.steps - spec.active_from + 1} steps "
                          f"backpropagated{f' and {batch} samples a row' if batch > 1 else ''} has "
                          f"formulas of up to {longest:,} characters, a formula may have at most "
                          f"{MAX_FORMULA:,} (set bptt, or a smaller batch or hidden size)")


# --- sequences as data --------------------------------------------------------------------------

def _rows(value, what: str, key: str) -> list[list[float]]:
    """A sequence as rows of numbers: [[0.1], [0.5]] or, one value a step, [0.1, 0.5]."""
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{key}: {what} must be a non-empty list such as [[0.1], [0.5], [0.2]] "
                          "(one row per time step)")
    rows = [row if isinstance(row, list) else [row] for row in value]
    for t, row in enumerate(rows, start=1):
        if not row:
            raise ConfigError(f"{key}: {what}, step {t}: an empty row")
        for v in row:
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise ConfigError(f"{key}: {what}, step {t}: {v!r} is not a finite number")
    if len({len(row) for row in rows}) != 1:
        raise ConfigError(f"{key}: {what}: every step needs as many values as the first "
                          f"({len(rows[0])})")
    return [[float(v) for v in row] for row in rows]


def flatten_sample(sample: dict, output: str, key: str) -> dict[str, float]:
    """An inline sample as data columns: ``x = [[0.1], [0.5]]`` -> x1_t1, x1_t2; ``y`` one row
    (many-to-one: y1, y2, …) or one row per step (many-to-many: y1_t1, …). Columns given by name
    (x1_t1 = 0.1) are taken as they are."""
    flat = {k: v for k, v in sample.items() if k not in ("x", "y")}
    if "x" in sample:
        for t, row in enumerate(_rows(sample["x"], "x", key), start=1):
            for k, v in enumerate(row, start=1):
                flat[f"x{k}_t{t}"] = v
    if "y" in sample:
        y = sample["y"]
        if output == "last":
            row = y if isinstance(y, list) else [y]
            for k, v in enumerate(_rows([row], "y", key)[0], start=1):
                flat[f"y{k}"] = v
        else:
            for t, row in enumerate(_rows(y, "y", key), start=1):
                for k, v in enumerate(row, start=1):
                    flat[f"y{k}_t{t}"] = v
    return flat


def sequence_shape(flat: dict[str, float]) -> tuple[int, int]:
    """(steps, inputs per step) of one sample's x columns."""
    pairs = [re.fullmatch(r"x(\d+)_t(\d+)", n) for n in flat]
    pairs = [(int(m.group(2)), int(m.group(1))) for m in pairs if m]
    if not pairs:
        raise ConfigError("data: a sample has no inputs (give x = [[…], …] or columns x1_t1, x1_t2, …)")
    return max(t for t, _ in pairs), max(k for _, k in pairs)
