"""Recurrent networks (rnn, lstm, gru) unrolled over time: forward equations written out step by
step, backward (backpropagation through time) derived by the same reverse-mode differentiation
as the dense networks (`Expression.derivative`).

Names, one vocabulary for code, sheets and report (``<L>`` is the recurrent layer's number when
there are stacked layers, else nothing; ``t`` the time step, ``j`` the unit, ``k`` its source):

    x<k>_t<t>            input k at step t (one CSV column each: x1_t1, x1_t2, …)
    h<L>_t<t>_<j>        hidden state; h<L>_t0_<j> the initial state (given or 0)
    c<L>_t<t>_<j>        lstm cell state; c<L>_t0_<j> its initial value
    i f g o …_t<t>_<j>   lstm gates (input, forget, cell candidate, output)
    r z n …_t<t>_<j>     gru gates (reset, update, candidate)
    Wx<g><L>_<j>_<k>     weight from input k (or the layer below's unit k) into gate g's unit j
    Wh<g><L>_<j>_<k>     weight from h_{t−1} unit k into gate g's unit j
    b<g><L>_<j>          bias (gru's candidate has two: bxn and bhn, as in PyTorch)

For rnn the "gate" is h itself (Wxh, Whh, bh). The dense layers after the recurrent ones keep
the dense names (w1…, b1…, o1…, a_o1…, hidden ones d<l>_<j>), with ``_t<t>`` when there is an
output at every step (many-to-many); targets are y<k> (many-to-one) or y<k>_t<t>.

δ columns: ∂E_total/∂(net input) of every neuron with weights (rnn's h, each gate, the dense
neurons), ∂E_total/∂c for c and ∂E_total/∂h for lstm's and gru's h, which have no net input.
Each weight's gradient is the sum over the steps of δ · source. With ``bptt = k`` the backward
pass covers the last k steps only: the gradient is that of E_total with everything computed at
steps before T − k + 1 held constant.
"""

from __future__ import annotations

import ast
import math
import random
import re
from dataclasses import dataclass, field
from functools import lru_cache

from sheetgen.core.expressions import Expression, mul
from sheetgen.core.model import Network, Quantity
from sheetgen.core.network import (
    MAX_COLUMNS,
    MAX_FORMULA,
    ColumnSpec,
    Derivation,
    _expr,
    _name,
    _sum,
    _weighted_sum,
    pretty,
)
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

    def derivation(self) -> Derivation:
        return derive_cached(self)

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
        """Forward and δ columns of one step of the recurrent layers, per hidden unit."""
        return {"rnn": (1, 1), "lstm": (6, 6), "gru": (4, 4)}[self.cell]

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
                  check: bool = False) -> int:
        """Every column of a training sheet with `batch` of `samples` samples a row, `states`
        optimizer states per parameter and gradient checks or not: what `optim.build` makes."""
        parameters = len(self.weight_names) + len(self.bias_names)
        slot = self.sample_columns() + 1 + (1 if batch < samples else 0)
        return (parameters * (2 + states + (1 if check else 0)) + len(self.initial_names)
                + batch * slot + (1 if batch > 1 else 0) + 1)

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


# --- the equations ------------------------------------------------------------------------------

_ACT = {"sigmoid": "sigmoid({})", "tanh": "tanh({})", "relu": "relu({})", "identity": "{}"}


@dataclass
class _Graph:
    """The unrolled graph: columns in order, with the nets (weighted sums) as virtual nodes that
    get a δ column but no column of their own."""

    formulas: dict[str, Expression] = field(default_factory=dict)   # virtual and real
    columns: list[ColumnSpec] = field(default_factory=list)
    delta_of: dict[str, str] = field(default_factory=dict)          # node -> its δ column
    inlined: dict[str, str] = field(default_factory=dict)           # column -> its text, nets inlined
    nets: dict[str, str] = field(default_factory=dict)              # net node -> its text

    def net(self, name: str, text: str, neuron: str) -> str:
        self.formulas[name] = Expression.parse(text)
        self.nets[name] = text
        self.delta_of[name] = "delta_" + neuron
        return name

    def column(self, name: str, text: str, block: str, layer: int = 0, header: str | None = None) -> None:
        expression = Expression.parse(text)
        self.formulas[name] = expression
        used = {n: f"({self.nets[n]})" for n in expression.names if n in self.nets}
        self.inlined[name] = expression.substitute(used).text if used else text
        self.columns.append(ColumnSpec(name, header or name, block, layer))


def _cell_step(g: _Graph, spec: RecurrentSpec, layer: int, t: int) -> None:
    """The forward equations of one recurrent layer at one step."""
    size = spec.hidden[layer - 1]
    src, m = spec.sources(layer, t), spec.matrices(layer)
    prev = [spec.unit("h", layer, t - 1, k) for k in range(1, size + 1)]

    def net(gate: str, j: int, recurrent: bool = True, bias: bool = True) -> str:
        text = _weighted_sum(m["x" + gate][j], src, spec.gate_biases(layer, gate)[j] if bias else None)
        if recurrent:
            text += " + " + _weighted_sum(m["h" + gate][j], prev, None)
        return text

    units = range(size)
    u = lambda kind, j: spec.unit(kind, layer, t, j + 1)  # noqa: E731
    z = lambda kind, j: "z" + u(kind, j) + "_net"  # noqa: E731
    if spec.cell == "rnn":
        for j in units:
            g.net(z("h", j), net("h", j), u("h", j))
            g.column(u("h", j), _ACT[spec.activation].format(z("h", j)), "act", layer)
        return
    if spec.cell == "lstm":
        for gate, act in (("i", "sigmoid"), ("f", "sigmoid"), ("g", "tanh"), ("o", "sigmoid")):
            for j in units:
                g.net(z(gate, j), net(gate, j), u(gate, j))
                g.column(u(gate, j), f"{act}({z(gate, j)})", "act", layer)
        for j in units:
            c_prev = spec.unit("c", layer, t - 1, j + 1)
            g.column(u("c", j), f"{u('f', j)} * {c_prev} + {u('i', j)} * {u('g', j)}", "act", layer)
        for j in units:
            g.column(u("h", j), f"{u('o', j)} * tanh({u('c', j)})", "act", layer)
            g.delta_of[u("h", j)] = "delta_" + u("h", j)
        for j in units:
            g.delta_of[u("c", j)] = "delta_" + u("c", j)
        return
    # gru, as PyTorch: n = tanh(Wxn·x + bxn + r ⊙ (Whn·h + bhn)), h = (1 − z) ⊙ n + z ⊙ h_prev
    for gate in ("r", "z"):
        for j in units:
            g.net(z(gate, j), net(gate, j), u(gate, j))
            g.column(u(gate, j), f"sigmoid({z(gate, j)})", "act", layer)
    for j in units:
        inner = _weighted_sum(m["hn"][j], prev, spec.extra_biases(layer)[j])
        g.net(z("n", j), f"{net('n', j, recurrent=False)} + {u('r', j)} * ({inner})", u("n", j))
        g.column(u("n", j), f"tanh({z('n', j)})", "act", layer)
    for j in units:
        h_prev = prev[j]
        g.column(u("h", j), f"(1 - {u('z', j)}) * {u('n', j)} + {u('z', j)} * {h_prev}", "act", layer)
        g.delta_of[u("h", j)] = "delta_" + u("h", j)


def _dense_step(g: _Graph, spec: RecurrentSpec, t: int) -> None:
    for layer in range(1, len(spec.dense) + 1):
        weights, biases = spec.dense_weights(layer), spec.dense_biases(layer)
        sources = spec.dense_sources(layer, t)
        kind = spec.activations[layer - 1]
        for j, n in enumerate(spec.neurons(layer, t)):
            g.column(n, _weighted_sum(weights[j], sources, biases[j]), "pre", len(spec.hidden) + layer)
            g.delta_of[n] = "delta_" + n
        for n in spec.neurons(layer, t):
            g.column("a_" + n, _ACT[kind].format(n), "act", len(spec.hidden) + layer)


def _loss_term(loss: str, y: str, a: str) -> str:
    return {"half_sse": f"0.5 * ({y} - {a}) ** 2", "sse": f"({y} - {a}) ** 2",
            "mse": f"({y} - {a}) ** 2",
            "binary_cross_entropy": f"-({y} * ln({a}) + (1 - {y}) * ln(1 - {a}))"}[loss]


def derive(spec: RecurrentSpec) -> Derivation:
    """The unrolled network's columns and equations: forward written out, backward derived."""
    spec.check()
    g = _Graph()
    nexts: dict[str, Expression] = {}
    rate = "learning_rate"
    for layer in range(1, len(spec.hidden) + 1):
        for w in spec.recurrent_weights(layer):
            g.columns.append(ColumnSpec(w, w, "weights", layer))
        for b in spec.recurrent_biases(layer):
            g.columns.append(ColumnSpec(b, b, "biases", layer))
    for layer in range(1, len(spec.dense) + 1):
        for row in spec.dense_weights(layer):
            for w in row:
                g.columns.append(ColumnSpec(w, w, "weights", len(spec.hidden) + layer))
        for b in spec.dense_biases(layer):
            g.columns.append(ColumnSpec(b, b, "biases", len(spec.hidden) + layer))
    for name in spec.weight_names + spec.bias_names:
        nexts[name] = Expression.parse(f"{name} - {rate} * dE_d{name}")
    for name in spec.initial_names:
        g.columns.append(ColumnSpec(name, name, "initial"))
        nexts[name] = Expression.parse(name)

    errors: list[str] = []
    targets = set(spec.targets)
    for t in range(1, spec.steps + 1):
        for x in spec.sources(1, t):
            g.columns.append(ColumnSpec(x, x, "inputs"))
            nexts[x] = Expression.parse(x)
        for layer in range(1, len(spec.hidden) + 1):
            _cell_step(g, spec, layer, t)
        if t in spec.out_steps:
            _dense_step(g, spec, t)
            outputs = spec.neurons(len(spec.dense), t)
            for k, _o in enumerate(outputs, start=1):
                y = f"y{k}{spec.suffix(t)}"
                assert y in targets
                g.columns.append(ColumnSpec(y, y, "targets"))
                nexts[y] = Expression.parse(y)
            for k, o in enumerate(outputs, start=1):
                e = f"E{k}{spec.suffix(t)}"
                g.column(e, _loss_term(spec.loss, f"y{k}{spec.suffix(t)}", "a_" + o), "errors")
                errors.append(e)
    total = _sum([_name(e) for e in errors])
    if spec.loss == "mse" and len(errors) > 1:
        total = ast.BinOp(total, ast.Div(), ast.Constant(len(errors)))
    g.column("E_total", _expr(total).text, "total")

    deltas, gradients = _backward(spec, g)
    # A derivative may read a net (relu's slope): written out, as in the forward formula.
    for name, d in deltas.items():
        used = {n: f"({g.nets[n]})" for n in d.names if n in g.nets}
        if used:
            deltas[name] = d.substitute(used)
    for name in _delta_order(spec):
        g.columns.append(ColumnSpec(name, delta_header(name), "delta", 0))
        g.formulas[name] = deltas[name]
        g.inlined[name] = deltas[name].text
    layer_of = {c.quantity: c.layer for c in g.columns if c.block in ("weights", "biases")}
    for name in spec.weight_names + spec.bias_names:
        g.columns.append(ColumnSpec("dE_d" + name, "dE_d" + name, "gradient", layer_of[name]))
        g.inlined["dE_d" + name] = gradients[name].text
    g.columns.append(ColumnSpec("iteration", "iteration", "iteration", integer=True))
    nexts["iteration"] = Expression.parse("iteration + 1")

    gradient_names = {"dE_d" + n for n in spec.weight_names + spec.bias_names}
    quantities = tuple(
        Quantity(c.quantity, Expression.parse(g.inlined[c.quantity]) if c.quantity in g.inlined else None,
                 nexts.get(c.quantity), c.quantity in gradient_names)
        for c in g.columns)
    # Column order: parameters, initial states, then per step; Network wants each formula after
    # what it reads, which this order gives.
    net = Network(quantities, frozenset({rate}))
    return Derivation(spec, net, tuple(g.columns), tuple(equation_lines(spec)),
                      tuple(derivation_lines(spec, deltas)), deltas)


def delta_header(name: str) -> str:
    """δh_t3_1 for a recurrent unit, δ_o1_t3 for a dense neuron (as the dense sheets)."""
    rest = name[len("delta_"):]
    return ("δ_" if re.match(r"[od]\d", rest) else "δ") + rest


def _delta_order(spec: RecurrentSpec) -> list[str]:
    """δ columns in an order where each reads only those before it: from the last step back,
    at each step the dense layers from the output down, then the recurrent layers from the top."""
    names = []
    for t in range(spec.steps, spec.active_from - 1, -1):
        if t in spec.out_steps:
            for layer in range(len(spec.dense), 0, -1):
                names += ["delta_" + n for n in spec.neurons(layer, t)]
        for layer in range(len(spec.hidden), 0, -1):
            units = range(1, spec.hidden[layer - 1] + 1)
            kinds = {"rnn": ("h",), "lstm": ("h", "c", "o", "i", "f", "g"),
                     "gru": ("h", "z", "n", "r")}[spec.cell]
            for kind in kinds:
                names += ["delta_" + spec.unit(kind, layer, t, j) for j in units]
    return names


def _closed(spec: RecurrentSpec, node: str) -> str | None:
    """δ of an output whose general form would divide by an activation (sigmoid with
    binary cross-entropy): a − y."""
    if spec.loss != "binary_cross_entropy" or not node.startswith("o"):
        return None
    k = node[1:].split("_")[0]
    return f"a_{node} - y{k}{node[len('o' + k):]}"


def _backward(spec: RecurrentSpec, g: _Graph) -> tuple[dict[str, Expression], dict[str, Expression]]:
    """Reverse mode over the unrolled graph: each node's adjoint is the sum over the nodes that
    use it of their adjoint times their local derivative; a node with a δ column is read by
    name from then on. Nodes of steps the truncation leaves out get no adjoint."""
    formulas = g.formulas
    known = {f.text: name for name, f in formulas.items()
             if not isinstance(f.tree, ast.Name) and name not in g.nets and not name.startswith("E")}
    users: dict[str, list[str]] = {}
    for name, f in formulas.items():
        for used in f.names:
            users.setdefault(used, []).append(name)
    first = spec.active_from
    adjoint: dict[str, ast.expr] = {"E_total": ast.Constant(1)}
    deltas: dict[str, Expression] = {}
    for name in reversed(list(formulas)):
        if name == "E_total":
            continue
        t = step_of(name)
        if t is not None and t < first:
            continue
        terms = [mul(adjoint[u], formulas[u].derivative(name).replace(known).tree)
                 for u in users.get(name, []) if u in adjoint]
        closed = _closed(spec, name)
        adjoint[name] = _sum(terms)
        if name in g.delta_of:
            column = g.delta_of[name]
            deltas[column] = Expression.parse(closed) if closed else _expr(adjoint[name])
            adjoint[name] = _name(column)
    gradients = {}
    for p in spec.weight_names + spec.bias_names:
        terms = [mul(adjoint[u], formulas[u].derivative(p).replace(known).tree)
                 for u in users.get(p, []) if u in adjoint]
        gradients[p] = _expr(_sum(terms))
    return deltas, gradients


@lru_cache(maxsize=16)
def derive_cached(spec: RecurrentSpec) -> Derivation:
    return derive(spec)


# --- text ---------------------------------------------------------------------------------------

def equation_lines(spec: RecurrentSpec) -> list[str]:
    """The equations of one step, as the README writes them (⊙: unit by unit)."""
    act = {"tanh": "tanh", "sigmoid": "σ", "relu": "relu", "identity": ""}[spec.activation]
    output = "every step (many-to-many)" if spec.output == "every" else "the last step (many-to-one)"
    lines = [f"{spec.cell}, hidden {'-'.join(map(str, spec.hidden))}, {spec.steps} steps, output {output}"]
    if spec.cell == "rnn":
        lines.append(f"h_t = {act}(Wxh·x_t + Whh·h_(t−1) + bh)")
    elif spec.cell == "lstm":
        lines += ["i_t = σ(Wxi·x_t + Whi·h_(t−1) + bi)", "f_t = σ(Wxf·x_t + Whf·h_(t−1) + bf)",
                  "g_t = tanh(Wxg·x_t + Whg·h_(t−1) + bg)", "o_t = σ(Wxo·x_t + Who·h_(t−1) + bo)",
                  "c_t = f_t ⊙ c_(t−1) + i_t ⊙ g_t", "h_t = o_t ⊙ tanh(c_t)"]
    else:
        lines += ["r_t = σ(Wxr·x_t + Whr·h_(t−1) + br)", "z_t = σ(Wxz·x_t + Whz·h_(t−1) + bz)",
                  "n_t = tanh(Wxn·x_t + bxn + r_t ⊙ (Whn·h_(t−1) + bhn))",
                  "h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_(t−1)"]
    o = spec.neurons(len(spec.dense), spec.out_steps[-1])[0]
    dense_act = {"sigmoid": "σ", "tanh": "tanh", "relu": "relu", "identity": ""}[spec.activations[-1]]
    where = "every step" if spec.output == "every" else f"step {spec.steps}"
    lines.append(f"{o} = w·h_t + b at {where};  a_{o} = {dense_act}({o})")
    lines.append(f"E_total = {'mean' if spec.loss == 'mse' else 'sum'} of {spec.loss} terms "
                 f"over the outputs{' and steps' if spec.output == 'every' else ''}")
    return lines


def derivation_lines(spec: RecurrentSpec, d: dict[str, Expression]) -> list[str]:
    """Backpropagation through time, in words and the first unit's δ of the first layer."""
    t = spec.steps
    lines = [f"δ runs from step {t} back to step {spec.active_from}"
             + (f" (bptt = {spec.bptt}: steps before {spec.active_from} held constant)" if spec.bptt else ""),
             "δh_t = ∂E_total/∂h_t: from the output at t and from step t+1's nets through Wh",
             f"each gradient = Σ over the steps of δ · source, e.g. dE_dWx{spec.gates[0]}_1_1 = "
             f"Σ_t δ{spec.gates[0]}_t_1 · x1_t"]
    if spec.cell == "lstm":
        lines.insert(2, "δc_t = δh_t·o_t·(1 − tanh²c_t) + δc_(t+1)·f_(t+1)")
    name = "delta_" + spec.unit("h", 1, spec.active_from, 1)
    if name in d:
        lines.append(f"δh_t{spec.active_from}_1 = {pretty(d[name].text)}"[:240])
    return lines


# --- limits -------------------------------------------------------------------------------------

def check_size(spec: RecurrentSpec, batch: int = 1, samples: int = 1, states: int = 0,
               check: bool = False) -> None:
    """ConfigError, by arithmetic before any work, unless the sheet fits Excel's limits."""
    columns = spec.n_columns(batch, samples, states, check)
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
