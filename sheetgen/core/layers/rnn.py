"""`rnn`: the Elman recurrent layer, h_t = act(Wxh·x_t + Whh·h_(t−1) + bh), act selectable.

Per step and unit: the net zh_t<t>_<j> (block "pre") and h_t<t>_<j> = act(net); its δ
columns are the nets' (δ_zh_…), from the last step back (core/layers/_recurrent.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from sheetgen.core import ops
from sheetgen.core.layers._recurrent import Recurrent
from sheetgen.core.layers.base import register

ACTIVATIONS = ("tanh", "sigmoid", "relu", "identity")


@register
@dataclass(frozen=True)
class Rnn(Recurrent):
    kind = "rnn"
    gates = ("h",)
    backward_kinds = ("zh",)

    def step(self, graph, t, step, prev):
        for j in range(1, self.size + 1):
            self.add(graph, self.net("h", t, j), self.gate_net("h", j, step, prev), block="pre")
        for j in range(1, self.size + 1):
            self.add(graph, self.unit("h", t, j), ops.OPS[self.activation].apply(self.net("h", t, j), {}))

    def step_lines(self):
        act = {"tanh": "tanh", "sigmoid": "σ", "relu": "relu", "identity": ""}[self.activation]
        return ["zh_t = Wxh·x_t + Whh·h_(t−1) + bh", f"h_t = {act}(zh_t)"]
