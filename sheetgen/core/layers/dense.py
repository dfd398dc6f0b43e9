"""`dense`: every neuron a weighted sum of all the layer's sources, then an activation.

Neuron z of the layer: ``z = w·s + b`` (pre-activation, block "pre"), ``a_z = f(z)`` (block
"act"); softmax adds one ``exp_z`` column per neuron (block "exp") and divides by their sum, each
exponent shifted by the layer's largest z so that none overflows. Its δ columns are its
pre-activations'. Names come from `NetworkSpec` (core/network.py): h1…, o1…, w1…, b1….
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from dataclasses import dataclass

from sheetgen.core import ops
from sheetgen.core.expressions import RANGE_FROM, Expression, mul, sub
from sheetgen.core.graph import Graph
from sheetgen.core.layers.base import Layer, Parameter, register
from sheetgen.core.losses import Loss, total_of

# The registry's activations (core/ops.py), and softmax: a function of the whole layer, built here.
ACTIVATIONS = (*ops.ACTIVATIONS, "softmax")


def pretty(text: str) -> str:
    """An expression as a student writes it: δ_o1, ·, ², σ, Σ, and ReLU slopes as cases."""
    text = re.sub(r"if_positive\((\w+), 1, ([-0-9.e]+)\)", r"(1 if \1 > 0, else \2)", text)
    for a, b in ((" ** 2", "²"), (" * ", "·"), ("delta_", "δ_")):
        text = text.replace(a, b)
    text = _SYMBOL_CALL.sub(lambda m: ops.OPS[m.group(1)].text_symbol + "(", text)
    return text.replace(" - ", " − ")


# A call of a function written with its own symbol in text: sigmoid( -> σ(, sum( -> Σ(.
_SYMBOL_CALL = re.compile(r"(?<!\w)(" + "|".join(
    name for name, op in ops.OPS.items() if op.symbol is not None) + r")\(")


def shown(names: tuple) -> list:
    """All names up to 8, else the first two, a gap (None) and the last."""
    return list(names) if len(names) <= 8 else [names[0], names[1], None, names[-1]]


def _name(text: str) -> ast.Name:
    return ast.Name(text, ast.Load())


def _expr(tree: ast.expr) -> Expression:
    return Expression.parse(ast.unparse(ast.fix_missing_locations(tree)))


@register
@dataclass(frozen=True)
class Dense(Layer):
    kind = "dense"

    index: int
    neurons: tuple[str, ...]
    sources: tuple[str, ...]
    weights: tuple[tuple[str, ...], ...]     # per neuron, its incoming weights
    biases: tuple[str, ...] = ()             # per neuron (a shared one repeated), or none
    activation: str = "sigmoid"
    params: tuple[tuple[str, float], ...] = ()  # the activation's constants ({"slope": 0.01})
    train_biases: bool = False

    def parameters(self) -> tuple[Parameter, ...]:
        fan_in, fan_out = len(self.sources), len(self.neurons)
        params = [Parameter(w, "weights", fan_in, fan_out) for row in self.weights for w in row]
        params += [Parameter(b, "biases", fan_in, fan_out, self.train_biases)
                   for b in dict.fromkeys(self.biases)]
        return tuple(params)

    def forward(self, graph: Graph, sources: tuple[str, ...]) -> tuple[str, ...]:
        for p in self.parameters():
            graph.weight(p.name, block=p.block, layer=self.index, trained=p.trained)
        for j, z in enumerate(self.neurons):
            graph.add(z, self._weighted_sum(j, sources), block="pre", layer=self.index)
        if self.activation == "softmax":
            shift = f"max({', '.join(self.neurons)})"
            exps = [f"exp_{z}" for z in self.neurons]
            for z, e in zip(self.neurons, exps, strict=True):
                graph.add(e, f"exp({z} - {shift})", block="exp", layer=self.index)
            total = ast.unparse(total_of([_name(e) for e in exps]))
            for z, e in zip(self.neurons, exps, strict=True):
                graph.add("a_" + z, f"{e} / ({total})", block="act", layer=self.index)
        else:
            for z in self.neurons:
                graph.add("a_" + z, self._activation(z), block="act", layer=self.index)
        return tuple("a_" + z for z in self.neurons)

    def _weighted_sum(self, j: int, sources: tuple[str, ...]) -> str:
        weights = list(self.weights[j])
        if len(weights) > RANGE_FROM:
            text = f"sumproduct({', '.join(weights + list(sources))})"
        else:
            text = " + ".join(f"{w} * {s}" for w, s in zip(weights, sources, strict=True))
        return f"{text} + {self.biases[j]}" if self.biases else text

    def _activation(self, z: str) -> str:
        return ops.OPS[self.activation].apply(z, dict(self.params))

    def deltas(self) -> tuple[str, ...]:
        return self.neurons

    def output_deltas(self, formulas: Mapping[str, Expression], loss: Loss,
                      targets: tuple[str, ...]) -> dict[str, Expression] | None:
        closed = loss.closed_delta(self.activation)
        if closed is not None:
            return {z: Expression.parse(closed(t, "a_" + z))
                    for z, t in zip(self.neurons, targets, strict=True)}
        if self.activation == "softmax":
            return {z: self._softmax_delta(formulas, z) for z in self.neurons}
        return None

    def _softmax_delta(self, formulas: Mapping[str, Expression], z: str) -> Expression:
        """δ_k = a_k · (g_k − Σ_j a_j · g_j), g_j = ∂E_total/∂a_j derived from the loss."""
        known = {f.text: name for name, f in formulas.items() if not isinstance(f.tree, ast.Name)}
        g = {}
        for k, o in enumerate(self.neurons):
            e = f"E{k + 1}"
            g[o] = mul(formulas["E_total"].derivative(e).tree,
                       formulas[e].derivative("a_" + o).replace(known).tree)
        mean = total_of([mul(_name("a_" + o), g[o]) for o in self.neurons])
        return _expr(mul(_name("a_" + z), sub(g[z], mean)))

    # --- text ----------------------------------------------------------------------------------

    def _linear_text(self, z: str) -> str:
        j = self.neurons.index(z)
        terms = [f"{w}*{s}" for w, s in zip(self.weights[j], self.sources, strict=True)]
        if len(terms) > 4:
            terms = terms[:2] + ["…", terms[-1]]
        return "+".join(terms) + (f"+{self.biases[j]}" if self.biases else "")

    def equation_lines(self) -> list[str]:
        lines = []
        for z in shown(self.neurons):
            lines.append("⋮" if z is None else f"{z} = {pretty(self._linear_text(z))}")
        first, last = self.neurons[0], self.neurons[-1]
        if self.activation == "softmax":
            lines.append(f"a_{first} = exp({first} − max) / Σ exp(o − max)  (softmax, "
                         f"max = the largest of {first}…{last})")
            return lines
        for z in shown(self.neurons):
            lines.append("⋮" if z is None else f"a_{z} = {pretty(self._activation(z))}")
        return lines

    def derivation_lines(self, deltas: Mapping[str, Expression], next_layer: Layer | None) -> list[str]:
        """For the layer's first weight: the chain rule, the δ it uses and the gradient."""
        z, w, s = self.neurons[0], self.weights[0][0], self.sources[0]
        a = "a_" + z
        if next_layer is None:
            chain = f"∂E_total/∂{w} = (∂E_total/∂{a}) · (∂{a}/∂{z}) · (∂{z}/∂{w})"
            why = "∂E_total/∂" + z
        else:
            nxt = next_layer.neurons
            chain = (f"∂E_total/∂{w} = (Σ_k δ_k · ∂k/∂{a}) · (∂{a}/∂{z}) · (∂{z}/∂{w}),"
                     f" k = {nxt[0]}…{nxt[-1]}")
            why = f"(Σ_k δ_k · w from {a} to k) · f′({z})"
        return [chain, f"δ_{z} = {why} = {pretty(deltas[z].text)}",
                f"∂{z}/∂{w} = {s}, so ∂E_total/∂{w} = δ_{z} · {s}"]
