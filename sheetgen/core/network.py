"""Any dense network, from its description to its equations: forward ones written out, backward
ones derived.

A `NetworkSpec` (the config's ``[network]`` table) names every quantity as the reference exercise
does: inputs i1…, targets t1…, weights w1… numbered layer by layer and, within a layer, neuron by
neuron over its incoming weights (h1 = w1·i1 + w2·i2, h2 = w3·i1 + w4·i2, …). With one hidden
layer its neurons are h1, h2, … and the outputs o1, o2, …; with more, neuron j of hidden layer l
is ``h<l>_<j>`` (h2_3). A neuron's activation is ``a_`` + its name (a_h1, a_o1), its error signal
δ ``delta_`` + its name (header δ_o1).

The gradients are derived by reverse-mode differentiation over these expressions: from E_total
back, each quantity's ∂E_total/∂x is the sum over the quantities that use x of their own
∂E_total/∂(user) times ∂(user)/∂x (`Expression.derivative`). The ∂E_total/∂(pre-activation) are
kept as δ columns, so every gradient is short: ∂E/∂w5 = δ_o1 · a_h1. Two pairs use their known
closed forms, which need no division by an activation that can reach 0: softmax with
cross-entropy (δ = a − t, targets summing to 1) and sigmoid with (binary) cross-entropy.

The result is a `Network` of the same kind the reference template gives, so the model, the
writers and the checks treat both alike. Nothing here knows cell positions.
"""

from __future__ import annotations

import ast
import math
import random
import re
from dataclasses import dataclass, field
from functools import lru_cache

from sheetgen.core.cells import column_letter, ref
from sheetgen.core.expressions import RANGE_FROM, Expression, add, mul, sub
from sheetgen.core.model import Network, Quantity
from sheetgen.errors import ConfigError

ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "identity", "softmax")
LOSSES = ("half_sse", "sse", "mse", "cross_entropy", "binary_cross_entropy")
BIASES = ("none", "per_layer", "per_neuron")
# Defaults for the reference's own names when a config leaves inputs or targets out.
REFERENCE_VALUES = {"i1": 0.05, "i2": 0.1, "t1": 0.01, "t2": 0.99}
# Spreadsheet limits (Excel's; LibreOffice's are larger): columns per sheet, characters per formula.
MAX_COLUMNS = 16_384
MAX_FORMULA = 8_192
_SYMBOLS = {"sigmoid": "σ", "tanh": "tanh", "relu": "relu", "leaky_relu": "leaky_relu",
            "identity": "", "softmax": "softmax"}


@dataclass(frozen=True)
class NetworkSpec:
    """The ``[network]`` table: layer sizes (inputs first), one activation per later layer."""

    layers: tuple[int, ...] = (2, 2, 2)
    activations: tuple[str, ...] = ("sigmoid", "sigmoid")
    loss: str = "half_sse"
    biases: str = "none"              # none | per_layer | per_neuron
    train_biases: bool = False
    leaky_relu_slope: float = 0.01
    seed: int = 0

    def check(self) -> None:
        """ConfigError naming the key of the first unusable setting."""
        if len(self.layers) < 2:
            raise ConfigError(f"network.layers: give at least inputs and outputs, such as [2, 2, 2], "
                              f"got {list(self.layers)}")
        for k, size in enumerate(self.layers):
            if isinstance(size, bool) or not isinstance(size, int) or size < 1:
                raise ConfigError(f"network.layers: layer {k} has size {size!r}; every layer needs "
                                  "at least 1 neuron")
        if len(self.activations) != len(self.layers) - 1:
            raise ConfigError(f"network.activations: {len(self.activations)} given for "
                              f"{len(self.layers) - 1} layers after the inputs (one each)")
        for k, name in enumerate(self.activations):
            if name not in ACTIVATIONS:
                raise ConfigError(f"network.activations: unknown activation {name!r}; choose from "
                                  f"{', '.join(ACTIVATIONS)}")
            if name == "softmax" and k != len(self.activations) - 1:
                raise ConfigError("network.activations: softmax only in the output layer, not in "
                                  f"hidden layer {k + 1}")
        if self.activations[-1] == "softmax" and self.layers[-1] < 2:
            raise ConfigError("network.activations: softmax needs at least 2 outputs")
        if self.loss not in LOSSES:
            raise ConfigError(f"network.loss: unknown loss {self.loss!r}; choose from {', '.join(LOSSES)}")
        out = self.activations[-1]
        if self.loss == "cross_entropy" and out not in ("softmax", "sigmoid"):
            raise ConfigError(f"network.loss: cross_entropy needs softmax or sigmoid outputs, not {out}")
        if self.loss == "binary_cross_entropy" and out != "sigmoid":
            raise ConfigError(f"network.loss: binary_cross_entropy needs sigmoid outputs, not {out}")
        if self.biases not in BIASES:
            raise ConfigError(f"network.biases: must be {', '.join(BIASES)}, got {self.biases!r}")
        if not math.isfinite(self.leaky_relu_slope):
            raise ConfigError("network.leaky_relu_slope: must be a finite number")

    # --- names ---------------------------------------------------------------------------------

    @property
    def inputs(self) -> tuple[str, ...]:
        return tuple(f"i{k}" for k in range(1, self.layers[0] + 1))

    @property
    def targets(self) -> tuple[str, ...]:
        return tuple(f"t{k}" for k in range(1, self.layers[-1] + 1))

    def neurons(self, layer: int) -> tuple[str, ...]:
        """Names of layer `layer`'s neurons (1: the first hidden layer; the last: outputs)."""
        size = self.layers[layer]
        if layer == len(self.layers) - 1:
            return tuple(f"o{j}" for j in range(1, size + 1))
        if len(self.layers) == 3:
            return tuple(f"h{j}" for j in range(1, size + 1))
        return tuple(f"h{layer}_{j}" for j in range(1, size + 1))

    def sources(self, layer: int) -> tuple[str, ...]:
        """What feeds layer `layer`: the inputs, or the previous layer's activations."""
        return self.inputs if layer == 1 else tuple("a_" + n for n in self.neurons(layer - 1))

    def weights(self, layer: int) -> list[list[str]]:
        """Per neuron of `layer`, its incoming weights' names, in the reference's numbering."""
        first = 1 + sum(self.layers[k - 1] * self.layers[k] for k in range(1, layer))
        fan_in = self.layers[layer - 1]
        return [[f"w{first + j * fan_in + k}" for k in range(fan_in)]
                for j in range(self.layers[layer])]

    def biases_of(self, layer: int) -> list[str]:
        """Per neuron of `layer`, its bias name (the shared one repeated for per_layer)."""
        if self.biases == "none":
            return []
        if self.biases == "per_layer":
            return [f"b{layer}"] * self.layers[layer]
        first = 1 + sum(self.layers[1:layer])
        return [f"b{first + j}" for j in range(self.layers[layer])]

    @property
    def n_layers(self) -> int:
        """Layers after the inputs."""
        return len(self.layers) - 1

    @property
    def weight_names(self) -> tuple[str, ...]:
        return tuple(w for layer in range(1, len(self.layers)) for row in self.weights(layer) for w in row)

    @property
    def bias_names(self) -> tuple[str, ...]:
        names: list[str] = []
        for layer in range(1, len(self.layers)):
            for b in self.biases_of(layer):
                if b not in names:
                    names.append(b)
        return tuple(names)

    @property
    def n_columns(self) -> int:
        """Table columns, counted by arithmetic on the layer sizes, without listing a name: the
        size check comes first, before a layer of 10,000,000 neurons is ever spelled out."""
        weights = sum(self.layers[k - 1] * self.layers[k] for k in range(1, len(self.layers)))
        neurons = sum(self.layers[1:])
        exps = self.layers[-1] if self.activations[-1] == "softmax" else 0
        biases = {"none": 0, "per_layer": len(self.layers) - 1, "per_neuron": neurons}[self.biases]
        trained = biases if self.train_biases else 0
        return (self.layers[0] + 2 * self.layers[-1] + 2 * weights + biases + trained
                + 3 * neurons + exps + 2)



# A spec is frozen and hashable and its names are asked for many times: compute each once.
for _method in ("neurons", "sources", "weights", "biases_of"):
    setattr(NetworkSpec, _method, lru_cache(maxsize=4096)(getattr(NetworkSpec, _method)))


@dataclass(frozen=True)
class NetworkSetup:
    """Initial values of a general network's state, by name (hashable, like `Setup`)."""

    items: tuple[tuple[str, float], ...]
    biases: str = "none"              # what the settings block shows

    def values(self) -> dict[str, float]:
        return dict(self.items)


def initial_values(spec: NetworkSpec, given: dict[str, float]) -> NetworkSetup:
    """`given` values by name; missing weights and biases drawn from `spec.seed` (Glorot uniform:
    ±√(6 / (fan_in + fan_out)) per layer), missing inputs and targets from the reference's."""
    rng = random.Random(spec.seed)
    values: dict[str, float] = {}
    for name in spec.targets + spec.inputs:
        if name in given:
            values[name] = float(given[name])
        elif name in REFERENCE_VALUES:
            values[name] = REFERENCE_VALUES[name]
        else:
            table = "inputs" if name[0] == "i" else "targets"
            raise ConfigError(f"{table}.{name}: missing (the network has {len(spec.inputs)} inputs "
                              f"and {len(spec.targets)} targets; give each a value)")
    for layer in range(1, len(spec.layers)):
        limit = math.sqrt(6 / (spec.layers[layer - 1] + spec.layers[layer]))
        # Drawn in name order whether given or not, so that giving one value changes no other.
        for name in [w for row in spec.weights(layer) for w in row] + \
                list(dict.fromkeys(spec.biases_of(layer))):
            drawn = rng.uniform(-limit, limit)
            values[name] = float(given[name]) if name in given else drawn
    return NetworkSetup(tuple(values.items()), spec.biases + (" (trained)" if spec.train_biases
                                                               and spec.biases != "none" else ""))


# --- the equations ------------------------------------------------------------------------------

@dataclass(frozen=True)
class ColumnSpec:
    """One table column of a general network: its quantity, header and block (targets, inputs,
    weights, biases, pre, exp, act, errors, total, delta, gradient, iteration) and layer."""

    quantity: str
    header: str
    block: str
    layer: int = 0
    integer: bool = False


@dataclass(frozen=True)
class Derivation:
    spec: NetworkSpec
    network: Network
    columns: tuple[ColumnSpec, ...]
    equations: tuple[str, ...]        # the forward equations, as text
    derivations: tuple[str, ...]      # the chain rule for one weight per layer, as text
    deltas: dict[str, Expression] = field(default_factory=dict)


def _sum(terms: list[ast.expr]) -> ast.expr:
    # Long sums stay one flat sum(...): a range when its terms are side-by-side cells.
    terms = [t for t in terms if not (isinstance(t, ast.Constant) and t.value == 0)]
    if len(terms) > RANGE_FROM:
        return ast.Call(ast.Name("sum", ast.Load()), terms, [])
    total: ast.expr = ast.Constant(0)
    for term in terms:
        total = add(total, term)
    return total


def _name(text: str) -> ast.Name:
    return ast.Name(text, ast.Load())


def _expr(tree: ast.expr) -> Expression:
    tree = ast.fix_missing_locations(tree)
    return Expression.parse(ast.unparse(tree))


def _weighted_sum(weights: list[str], sources: list[str], bias: str | None) -> str:
    if len(weights) > RANGE_FROM:
        text = f"sumproduct({', '.join(weights + sources)})"
    else:
        text = " + ".join(f"{w} * {s}" for w, s in zip(weights, sources, strict=True))
    return f"{text} + {bias}" if bias else text


def _activation(kind: str, z: str, slope: float) -> str:
    return {"sigmoid": f"sigmoid({z})", "tanh": f"tanh({z})", "relu": f"relu({z})",
            "leaky_relu": f"leaky_relu({z}, {slope!r})", "identity": z}[kind]


def _loss_term(loss: str, t: str, a: str) -> str:
    return {"half_sse": f"0.5 * ({t} - {a}) ** 2", "sse": f"({t} - {a}) ** 2",
            "mse": f"({t} - {a}) ** 2", "cross_entropy": f"-{t} * ln({a})",
            "binary_cross_entropy": f"-({t} * ln({a}) + (1 - {t}) * ln(1 - {a}))"}[loss]


def derive(spec: NetworkSpec) -> Derivation:
    """The network's columns and equations: forward written out, backward derived."""
    spec.check()
    cols: list[ColumnSpec] = []
    formulas: dict[str, Expression] = {}      # computed quantities, in column order
    nexts: dict[str, Expression] = {}         # state quantities: value of the next row
    rate = "learning_rate"
    for t in spec.targets:
        cols.append(ColumnSpec(t, t, "targets"))
        nexts[t] = Expression.parse(t)
    for i in spec.inputs:
        cols.append(ColumnSpec(i, i, "inputs"))
        nexts[i] = Expression.parse(i)
    trained = spec.train_biases and spec.biases != "none"
    for layer in range(1, len(spec.layers)):
        weights, biases = spec.weights(layer), spec.biases_of(layer)
        for row in weights:
            for w in row:
                cols.append(ColumnSpec(w, w, "weights", layer))
                nexts[w] = Expression.parse(f"{w} - {rate} * dE_d{w}")
        for b in dict.fromkeys(biases):
            cols.append(ColumnSpec(b, b, "biases", layer))
            nexts[b] = Expression.parse(f"{b} - {rate} * dE_d{b}" if trained else b)
        neurons, sources = spec.neurons(layer), list(spec.sources(layer))
        for j, z in enumerate(neurons):
            cols.append(ColumnSpec(z, z, "pre", layer))
            formulas[z] = Expression.parse(_weighted_sum(weights[j], sources, biases[j] if biases else None))
        kind = spec.activations[layer - 1]
        if kind == "softmax":
            # Stable: every exponent is at most 0, and the shift cancels in the quotient.
            shift = f"max({', '.join(neurons)})"
            exps = [f"exp_{z}" for z in neurons]
            for z, e in zip(neurons, exps, strict=True):
                cols.append(ColumnSpec(e, e, "exp", layer))
                formulas[e] = Expression.parse(f"exp({z} - {shift})")
            total = ast.unparse(_sum([_name(e) for e in exps]))
            for z, e in zip(neurons, exps, strict=True):
                cols.append(ColumnSpec("a_" + z, "a_" + z, "act", layer))
                formulas["a_" + z] = Expression.parse(f"{e} / ({total})")
        else:
            for z in neurons:
                cols.append(ColumnSpec("a_" + z, "a_" + z, "act", layer))
                formulas["a_" + z] = Expression.parse(_activation(kind, z, spec.leaky_relu_slope))
    outputs = spec.neurons(spec.n_layers)
    errors = [f"E{k}" for k in range(1, len(outputs) + 1)]
    for e, t, o in zip(errors, spec.targets, outputs, strict=True):
        cols.append(ColumnSpec(e, "e" + e[1:], "errors"))
        formulas[e] = Expression.parse(_loss_term(spec.loss, t, "a_" + o))
    cols.append(ColumnSpec("E_total", "E_total", "total"))
    total = _sum([_name(e) for e in errors])
    if spec.loss == "mse" and len(errors) > 1:
        total = ast.BinOp(total, ast.Div(), ast.Constant(len(errors)))
    formulas["E_total"] = _expr(total)

    deltas = _backward(spec, formulas)
    for layer in range(spec.n_layers, 0, -1):
        for z in spec.neurons(layer):
            cols.append(ColumnSpec("delta_" + z, "δ_" + z, "delta", layer))
            formulas["delta_" + z] = deltas[z]
    gradients: dict[str, Expression] = {}
    for layer in range(1, len(spec.layers)):
        sources = spec.sources(layer)
        for z, row in zip(spec.neurons(layer), spec.weights(layer), strict=True):
            for w, s in zip(row, sources, strict=True):
                gradients[w] = Expression.parse(f"delta_{z} * {s}")
        if trained:
            users: dict[str, list[str]] = {}
            for z, b in zip(spec.neurons(layer), spec.biases_of(layer), strict=True):
                users.setdefault(b, []).append("delta_" + z)
            for b, ds in users.items():
                gradients[b] = _expr(_sum([_name(d) for d in ds]))
    layer_of = {w: layer for layer in range(1, len(spec.layers)) for row in spec.weights(layer) for w in row}
    for name in spec.weight_names:
        cols.append(ColumnSpec("dE_d" + name, "E∂W" + name[1:], "gradient", layer_of[name]))
        formulas["dE_d" + name] = gradients[name]
    if trained:
        for name in spec.bias_names:
            cols.append(ColumnSpec("dE_d" + name, "E∂" + name, "gradient"))
            formulas["dE_d" + name] = gradients[name]
    cols.append(ColumnSpec("iteration", "iteration", "iteration", integer=True))
    nexts["iteration"] = Expression.parse("iteration + 1")

    gradient_names = {"dE_d" + n for n in spec.weight_names + spec.bias_names}
    quantities = tuple(
        Quantity(c.quantity, formulas.get(c.quantity), nexts.get(c.quantity), c.quantity in gradient_names)
        for c in cols)
    net = Network(quantities, frozenset({rate}))
    return Derivation(spec, net, tuple(cols), tuple(equation_lines(spec, formulas)),
                      tuple(derivation_lines(spec, formulas)), deltas)


def _backward(spec: NetworkSpec, formulas: dict[str, Expression]) -> dict[str, Expression]:
    """∂E_total/∂z for every pre-activation z, by reverse-mode differentiation: each quantity's
    adjoint is the sum over its users of the user's adjoint times the user's local derivative.
    A pre-activation's adjoint becomes its δ column, which its users' users then refer to."""
    out_layer = spec.n_layers
    softmax = spec.activations[-1] == "softmax"
    # sigmoid(h1) -> a_h1 and the like: derivatives read in the columns that hold their parts.
    known = {f.text: name for name, f in formulas.items() if not isinstance(f.tree, ast.Name)}
    users: dict[str, list[str]] = {}
    for name, f in formulas.items():
        for used in f.names:
            users.setdefault(used, []).append(name)
    adjoint: dict[str, ast.expr] = {"E_total": ast.Constant(1)}
    deltas: dict[str, Expression] = {}
    closed = _closed_form(spec)
    outputs = set(spec.neurons(out_layer))
    hidden = {z for layer in range(1, out_layer) for z in spec.neurons(layer)}
    for name in reversed(list(formulas)):
        if name == "E_total":
            continue
        if name.startswith("exp_") or (softmax and name.startswith("a_o")):
            continue  # the softmax layer: its δ comes from the layer rule below
        terms = []
        for user in users.get(name, []):
            if user not in adjoint:
                continue
            local = formulas[user].derivative(name).replace(known)
            terms.append(mul(adjoint[user], local.tree))
        adjoint[name] = _sum(terms)
        if name in outputs and closed is not None:
            k = spec.neurons(out_layer).index(name)
            deltas[name] = Expression.parse(closed(spec.targets[k], "a_" + name))
            adjoint[name] = _name("delta_" + name)
        elif name in outputs and softmax:
            deltas[name] = _softmax_delta(spec, formulas, known, name)
            adjoint[name] = _name("delta_" + name)
        elif name in outputs or name in hidden:
            deltas[name] = _expr(adjoint[name])
            adjoint[name] = _name("delta_" + name)
    return deltas


def _closed_form(spec: NetworkSpec):
    """δ of an output for the pairs whose general form would divide by an activation."""
    out = spec.activations[-1]
    if spec.loss == "cross_entropy" and out == "softmax":
        return lambda t, a: f"{a} - {t}"  # targets sum to 1 (checked with the config)
    if spec.loss == "binary_cross_entropy" and out == "sigmoid":
        return lambda t, a: f"{a} - {t}"
    if spec.loss == "cross_entropy" and out == "sigmoid":
        return lambda t, a: f"{t} * ({a} - 1)"
    return None


def _softmax_delta(spec: NetworkSpec, formulas: dict[str, Expression], known: dict[str, str],
                   z: str) -> Expression:
    """δ_k = a_k · (g_k − Σ_j a_j · g_j), g_j = ∂E_total/∂a_j derived from the loss."""
    outputs = spec.neurons(spec.n_layers)
    g = {}
    for k, o in enumerate(outputs):
        e = f"E{k + 1}"
        g[o] = mul(formulas["E_total"].derivative(e).tree,
                   formulas[e].derivative("a_" + o).replace(known).tree)
    mean = _sum([mul(_name("a_" + o), g[o]) for o in outputs])
    return _expr(mul(_name("a_" + z), sub(g[z], mean)))


# --- text ---------------------------------------------------------------------------------------

def pretty(text: str) -> str:
    """An expression as a student writes it: δ_o1, ·, ², σ, Σ, and ReLU slopes as cases."""
    text = re.sub(r"if_positive\((\w+), 1, ([-0-9.e]+)\)", r"(1 if \1 > 0, else \2)", text)
    for a, b in ((" ** 2", "²"), (" * ", "·"), ("delta_", "δ_"), ("sigmoid(", "σ("),
                 ("sumproduct(", "Σ("), ("sum(", "Σ("), (" - ", " − ")):
        text = text.replace(a, b)
    return text


def _shown(names: tuple[str, ...]) -> list[str | None]:
    """All names up to 8, else the first two, a gap (None) and the last."""
    return list(names) if len(names) <= 8 else [names[0], names[1], None, names[-1]]


def equation_lines(spec: NetworkSpec, formulas: dict[str, Expression]) -> list[str]:
    lines = []
    for layer in range(1, len(spec.layers)):
        neurons = spec.neurons(layer)
        kind = spec.activations[layer - 1]
        for z in _shown(neurons):
            lines.append("⋮" if z is None else f"{z} = {pretty(_linear_text(spec, layer, z))}")
        if kind == "softmax":
            lines.append(f"a_{neurons[0]} = exp({neurons[0]} − max) / Σ exp(o − max)  (softmax, "
                         f"max = the largest of {neurons[0]}…{neurons[-1]})")
        else:
            for z in _shown(neurons):
                if z is None:
                    lines.append("⋮")
                elif kind == "identity":
                    lines.append(f"a_{z} = {z}")
                else:
                    arg = f"{z}, {spec.leaky_relu_slope!r}" if kind == "leaky_relu" else z
                    lines.append(f"a_{z} = {_SYMBOLS[kind]}({arg})")
    outputs = spec.neurons(spec.n_layers)
    for k in _shown(tuple(range(1, len(outputs) + 1))):
        lines.append("⋮" if k is None else f"E{k} = {pretty(formulas[f'E{k}'].text)}")
    total = " + ".join(f"E{k}" for k in range(1, min(len(outputs), 3) + 1))
    if len(outputs) > 3:
        total += f" + … + E{len(outputs)}"
    if spec.loss == "mse" and len(outputs) > 1:
        total = f"({total}) / {len(outputs)}"
    lines.append(f"E_total = {total}")
    return lines


def _linear_text(spec: NetworkSpec, layer: int, z: str) -> str:
    j = spec.neurons(layer).index(z)
    weights, sources = spec.weights(layer)[j], spec.sources(layer)
    terms = [f"{w}*{s}" for w, s in zip(weights, sources, strict=True)]
    if len(terms) > 4:
        terms = terms[:2] + ["…", terms[-1]]
    text = "+".join(terms)
    biases = spec.biases_of(layer)
    return text + (f"+{biases[j]}" if biases else "")


def derivation_lines(spec: NetworkSpec, formulas: dict[str, Expression]) -> list[str]:
    """For the first weight of each layer, from the output back: the chain rule, the δ it uses
    and the gradient as the sheet computes it."""
    lines = []
    for layer in range(spec.n_layers, 0, -1):
        z = spec.neurons(layer)[0]
        w = spec.weights(layer)[0][0]
        s = spec.sources(layer)[0]
        a = "a_" + z
        if layer == spec.n_layers:
            chain = f"∂E_total/∂{w} = (∂E_total/∂{a}) · (∂{a}/∂{z}) · (∂{z}/∂{w})"
            why = "∂E_total/∂" + z
        else:
            nxt = spec.neurons(layer + 1)
            chain = (f"∂E_total/∂{w} = (Σ_k δ_k · ∂k/∂{a}) · (∂{a}/∂{z}) · (∂{z}/∂{w}),"
                     f" k = {nxt[0]}…{nxt[-1]}")
            why = f"(Σ_k δ_k · w from {a} to k) · f′({z})"
        lines.append(chain)
        lines.append(f"δ_{z} = {why} = {pretty(formulas['delta_' + z].text)}")
        lines.append(f"∂{z}/∂{w} = {s}, so ∂E_total/∂{w} = δ_{z} · {s}")
    return lines


@lru_cache(maxsize=16)
def derive_cached(spec: NetworkSpec) -> Derivation:
    """`derive`, once per network description (the check, the sheets and the summary share it)."""
    return derive(spec)


def spanner(column_of: dict[str, int], dialect: str, row: str):
    """The `span` of `Expression.to_formula`: names in side-by-side cells as one range."""
    def span(names: list[str]) -> str | None:
        cols = [column_of.get(n) for n in names]
        if None in cols or cols != list(range(cols[0], cols[0] + len(cols))):
            return None
        first, last = ref(dialect, cols[0], row), ref(dialect, cols[-1], row)
        if dialect == "ods":  # one bracketed range: [.A39:.C39]
            return f"{first[:-1]}:{last[1:]}"
        return f"{first}:{last}"
    return span


def check_fits(spec: NetworkSpec) -> None:
    """ConfigError unless every column and formula fits an .xlsx sheet (Excel's limits; the
    longest formula is measured with 7-digit row numbers, the most a sheet has)."""
    columns = spec.n_columns
    if columns > MAX_COLUMNS:
        raise ConfigError(f"network: too big for a sheet: it needs {columns:,} columns, a sheet has "
                          f"at most {MAX_COLUMNS:,}")
    derivation = derive_cached(spec)
    assert len(derivation.columns) == columns
    column_of = {c.quantity: k for k, c in enumerate(derivation.columns)}
    row = "1048576"
    span = spanner(column_of, "xlsx", row)

    def reference(name: str) -> str:
        if name in column_of:
            return ref("xlsx", column_of[name], row)
        return f"${column_letter(MAX_COLUMNS - 1)}${row}"  # a parameter cell, at its longest

    longest, where = 0, ""
    for q, column in zip(derivation.network.quantities, derivation.columns, strict=True):
        expression = q.formula if q.formula is not None else q.next
        length = 1 + len(expression.to_formula(reference, ",", span))
        if length > longest:
            longest, where = length, column.header
    if longest > MAX_FORMULA:
        raise ConfigError(f"network: too big for a sheet: {where}'s formula needs {longest:,} "
                          f"characters, a formula may have at most {MAX_FORMULA:,}")
