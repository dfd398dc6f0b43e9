"""`lstm`: input, forget, cell-candidate and output gates, cell state c and hidden state h.

    i_t = σ(Wxi·x_t + Whi·h_(t−1) + bi)    f_t = σ(Wxf·x_t + Whf·h_(t−1) + bf)
    g_t = tanh(Wxg·x_t + Whg·h_(t−1) + bg) o_t = σ(Wxo·x_t + Who·h_(t−1) + bo)
    c_t = f_t ⊙ c_(t−1) + i_t ⊙ g_t        h_t = o_t ⊙ tanh(c_t)

Each gate's net (zi_t…, block "pre") then its value; δ columns per step: δ_h, δ_c, then the
four nets' (core/layers/_recurrent.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from sheetgen.core.layers._recurrent import Recurrent
from sheetgen.core.layers.base import register

FUNCTIONS = {"i": "sigmoid", "f": "sigmoid", "g": "tanh", "o": "sigmoid"}


@register
@dataclass(frozen=True)
class Lstm(Recurrent):
    kind = "lstm"
    gates = ("i", "f", "g", "o")
    backward_kinds = ("h", "c", "zo", "zi", "zf", "zg")
    states = ("h", "c")

    def step(self, graph, t, step, prev):
        units = range(1, self.size + 1)
        for g in self.gates:
            for j in units:
                self.add(graph, self.net(g, t, j), self.gate_net(g, j, step, prev), block="pre")
            for j in units:
                self.add(graph, self.unit(g, t, j), f"{FUNCTIONS[g]}({self.net(g, t, j)})")
        for j in units:
            u = lambda k, j=j: self.unit(k, t, j)  # noqa: E731
            self.add(graph, u("c"), f"{u('f')} * {self.unit('c', t - 1, j)} + {u('i')} * {u('g')}")
        for j in units:
            self.add(graph, self.unit("h", t, j), f"{self.unit('o', t, j)} * tanh({self.unit('c', t, j)})")

    def step_lines(self):
        return ["i_t = σ(Wxi·x_t + Whi·h_(t−1) + bi), f_t = σ(Wxf·x_t + Whf·h_(t−1) + bf)",
                "g_t = tanh(Wxg·x_t + Whg·h_(t−1) + bg), o_t = σ(Wxo·x_t + Who·h_(t−1) + bo)",
                "c_t = f_t ⊙ c_(t−1) + i_t ⊙ g_t", "h_t = o_t ⊙ tanh(c_t)"]
