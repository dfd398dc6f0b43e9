"""What the recurrent layers (rnn.py, lstm.py, gru.py) share: the unrolling over time steps.

A recurrent layer reads a sequence — its `sources` are the names of every step's inputs, step
by step (x1_t1, x2_t1, x1_t2, …, or the layer below's h) — and writes, for each step t, its net
inputs (z<g>_t<t>_<j>, block "pre"), gates and states (block "act"), each reading the step
before (h_t0, c_t0: the initial state, block "initial"). The same weights at every step: one
parameter named in every step's formula. Its δ columns, from the last step back: the nets',
and the states' (c, and h where it has no net of its own); the backward pass derives them like
any other (core/backward.py). With `first` > 1 (bptt) the steps before `first` are held
constant in the gradient (`held`). Names: see core/recurrent.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from sheetgen.core.expressions import RANGE_FROM, Expression
from sheetgen.core.graph import Graph
from sheetgen.core.layers.base import Layer, Parameter


def weighted_sum(weights: list[str], sources: list[str], bias: str | None = None) -> str:
    if len(weights) > RANGE_FROM:
        text = f"sumproduct({', '.join(weights + sources)})"
    else:
        text = " + ".join(f"{w} * {s}" for w, s in zip(weights, sources, strict=True))
    return f"{text} + {bias}" if bias else text


@dataclass(frozen=True)
class Recurrent(Layer):
    gates: ClassVar[tuple[str, ...]]
    backward_kinds: ClassVar[tuple[str, ...]]   # per step, the δ columns' kinds in order
    states: ClassVar[tuple[str, ...]] = ("h",)   # initial states

    index: int
    fan: int                  # inputs per step (or the layer below's size)
    size: int                 # hidden units
    steps: int
    tag: str = ""             # the layer's number in names when layers are stacked
    returns: str = "every"    # which steps' h go on: "every" or "last"
    first: int = 1            # the first step the backward pass reaches
    activation: str = "tanh"

    # --- names ----------------------------------------------------------------------------------

    def unit(self, kind: str, t: int, j: int) -> str:
        return f"{kind}{self.tag}_t{t}_{j}"

    def net(self, gate: str, t: int, j: int) -> str:
        return self.unit("z" + gate, t, j)

    def wx(self, g: str, j: int) -> list[str]:
        return [f"Wx{g}{self.tag}_{j}_{k}" for k in range(1, self.fan + 1)]

    def wh(self, g: str, j: int) -> list[str]:
        return [f"Wh{g}{self.tag}_{j}_{k}" for k in range(1, self.size + 1)]

    def bias(self, g: str, j: int) -> str:
        return f"b{g}{self.tag}_{j}"

    def biases(self) -> list[str]:
        return [self.bias(g, j) for g in self.gates for j in range(1, self.size + 1)]

    def parameters(self) -> tuple[Parameter, ...]:
        weights = [w for g in self.gates for j in range(1, self.size + 1)
                   for w in self.wx(g, j) + self.wh(g, j)]
        return (tuple(Parameter(w, "weights", self.fan, self.size) for w in weights)
                + tuple(Parameter(b, "biases", self.fan, self.size) for b in self.biases()))

    def initial(self) -> list[str]:
        return [self.unit(s, 0, j) for s in self.states for j in range(1, self.size + 1)]

    # --- the graph ------------------------------------------------------------------------------

    def forward(self, graph: Graph, sources: tuple[str, ...]) -> tuple[str, ...]:
        for p in self.parameters():
            graph.weight(p.name, block=p.block, layer=self.index)
        for name in self.initial():
            graph.state(name, block="initial", layer=self.index)
        for t in range(1, self.steps + 1):
            step = list(sources[(t - 1) * self.fan:t * self.fan])
            prev = [self.unit("h", t - 1, j) for j in range(1, self.size + 1)]
            self.step(graph, t, step, prev)
        shown = range(1, self.steps + 1) if self.returns == "every" else (self.steps,)
        return tuple(self.unit("h", t, j) for t in shown for j in range(1, self.size + 1))

    def gate_net(self, g: str, j: int, step: list[str], prev: list[str], recurrent: bool = True) -> str:
        text = weighted_sum(self.wx(g, j), step, self.bias(g, j))
        return text + " + " + weighted_sum(self.wh(g, j), prev) if recurrent else text

    def add(self, graph: Graph, name: str, formula: str, block: str = "act") -> None:
        graph.add(name, formula, block=block, layer=self.index)

    def step(self, graph: Graph, t: int, step: list[str], prev: list[str]) -> None:
        raise NotImplementedError

    def deltas(self) -> tuple[str, ...]:
        return tuple(self.unit(kind, t, j) for t in range(self.steps, self.first - 1, -1)
                     for kind in self.backward_kinds for j in range(1, self.size + 1))

    def held(self) -> tuple[str, ...]:
        """Every quantity of the steps before `first`: constant in the truncated gradient."""
        kinds = ["h", *("z" + g for g in self.gates), *self.gates, *self.states]
        return tuple(dict.fromkeys(self.unit(k, t, j) for t in range(1, self.first)
                                   for k in kinds for j in range(1, self.size + 1)))

    # --- text -----------------------------------------------------------------------------------

    def equation_lines(self) -> list[str]:
        where = f" (layer {self.index})" if self.tag else ""
        return [f"{self.kind}{where}, {self.size} units over {self.steps} steps:", *self.step_lines()]

    def step_lines(self) -> list[str]:
        return []

    def derivation_lines(self, deltas: Mapping[str, Expression], next_layer: Layer | None) -> list[str]:
        from sheetgen.core.layers.dense import pretty

        g = self.gates[0]
        lines = [f"{self.kind}{self.tag}: δ from step {self.steps} back to step {self.first}"
                 + (f" (bptt: steps before {self.first} held constant)" if self.first > 1 else ""),
                 f"each weight's gradient sums its steps: dE_dWx{g}{self.tag}_1_1 = "
                 f"Σ_t δ_z{g}{self.tag}_t_1 · (its source at t)"]
        for name in self.deltas()[len(self.backward_kinds) * self.size:][:1] or self.deltas()[:1]:
            text = f"δ_{name} = {pretty(deltas[name].text)}"
            lines.append(text if len(text) <= 200 else text[:197] + "…")
        return lines
