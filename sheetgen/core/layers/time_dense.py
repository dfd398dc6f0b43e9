"""`time_dense`: a dense layer applied at every time step with the same weights (after a
recurrent layer with an output at every step, many-to-many).

Neuron z at step t: ``z_t<t> = w·s_t + b`` (block "pre"), ``a_z_t<t> = f(z_t<t>)`` (block "act");
its sources are the sequence of the layer below, step by step. δ columns: its pre-activations'
from the last step back; with `first` > 1 (bptt) the steps before it are held constant.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sheetgen.core import ops
from sheetgen.core.expressions import Expression
from sheetgen.core.graph import Graph
from sheetgen.core.layers._recurrent import weighted_sum
from sheetgen.core.layers.base import Layer, Parameter, register
from sheetgen.core.losses import Loss


@register
@dataclass(frozen=True)
class TimeDense(Layer):
    kind = "time_dense"

    index: int
    neurons: tuple[str, ...]                  # one step's names, without _t<t>: o1, o2, …
    weights: tuple[tuple[str, ...], ...]
    biases: tuple[str, ...]
    steps: int
    activation: str = "identity"
    first: int = 1

    def parameters(self) -> tuple[Parameter, ...]:
        fan_in, fan_out = len(self.weights[0]), len(self.neurons)
        return (tuple(Parameter(w, "weights", fan_in, fan_out) for row in self.weights for w in row)
                + tuple(Parameter(b, "biases", fan_in, fan_out) for b in self.biases))

    def at(self, t: int) -> tuple[str, ...]:
        return tuple(f"{z}_t{t}" for z in self.neurons)

    def forward(self, graph: Graph, sources: tuple[str, ...]) -> tuple[str, ...]:
        for p in self.parameters():
            graph.weight(p.name, block=p.block, layer=self.index)
        fan = len(self.weights[0])
        outputs = []
        for t in range(1, self.steps + 1):
            step = list(sources[(t - 1) * fan:t * fan])
            for j, z in enumerate(self.at(t)):
                graph.add(z, weighted_sum(list(self.weights[j]), step, self.biases[j]), block="pre",
                          layer=self.index)
            for z in self.at(t):
                graph.add("a_" + z, ops.OPS[self.activation].apply(z, {}), block="act", layer=self.index)
                outputs.append("a_" + z)
        return tuple(outputs)

    def deltas(self) -> tuple[str, ...]:
        return tuple(z for t in range(self.steps, self.first - 1, -1) for z in self.at(t))

    def held(self) -> tuple[str, ...]:
        return tuple(n for t in range(1, self.first) for z in self.at(t) for n in (z, "a_" + z))

    def output_deltas(self, formulas: Mapping[str, Expression], loss: Loss,
                      targets: tuple[str, ...]) -> dict[str, Expression] | None:
        closed = loss.closed_delta(self.activation)
        if closed is None:
            return None
        names = [z for t in range(1, self.steps + 1) for z in self.at(t)]
        return {z: Expression.parse(closed(y, "a_" + z)) for z, y in zip(names, targets, strict=True)}

    def equation_lines(self) -> list[str]:
        z = self.neurons[0]
        act = ops.OPS[self.activation].apply(f"{z}_t", {})
        return [f"{z}_t = w·h_t + b at every step t (the same weights), a_{z}_t = {act}"]
