"""`gru`: reset and update gates and a candidate, in PyTorch's form (r before the product):

    r_t = σ(Wxr·x_t + Whr·h_(t−1) + br)    z_t = σ(Wxz·x_t + Whz·h_(t−1) + bz)
    n_t = tanh(Wxn·x_t + bxn + r_t ⊙ (Whn·h_(t−1) + bhn))
    h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_(t−1)

The candidate keeps two biases (bxn outside the product, bhn inside), as PyTorch's b_in and
b_hn. δ columns per step: δ_h, then the nets' of z, n and r (core/layers/_recurrent.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from sheetgen.core.layers._recurrent import Recurrent, weighted_sum
from sheetgen.core.layers.base import register


@register
@dataclass(frozen=True)
class Gru(Recurrent):
    kind = "gru"
    gates = ("r", "z", "n")
    backward_kinds = ("h", "zz", "zn", "zr")

    def bias(self, g, j):
        return f"bxn{self.tag}_{j}" if g == "n" else f"b{g}{self.tag}_{j}"

    def biases(self):
        return super().biases() + [f"bhn{self.tag}_{j}" for j in range(1, self.size + 1)]

    def step(self, graph, t, step, prev):
        units = range(1, self.size + 1)
        for g in ("r", "z"):
            for j in units:
                self.add(graph, self.net(g, t, j), self.gate_net(g, j, step, prev), block="pre")
            for j in units:
                self.add(graph, self.unit(g, t, j), f"sigmoid({self.net(g, t, j)})")
        for j in units:
            inner = weighted_sum(self.wh("n", j), prev, f"bhn{self.tag}_{j}")
            outer = self.gate_net("n", j, step, prev, recurrent=False)
            self.add(graph, self.net("n", t, j), f"{outer} + {self.unit('r', t, j)} * ({inner})", block="pre")
        for j in units:
            self.add(graph, self.unit("n", t, j), f"tanh({self.net('n', t, j)})")
        for j in units:
            z, n = self.unit("z", t, j), self.unit("n", t, j)
            self.add(graph, self.unit("h", t, j), f"(1 - {z}) * {n} + {z} * {prev[j - 1]}")

    def step_lines(self):
        return ["r_t = σ(Wxr·x_t + Whr·h_(t−1) + br), z_t = σ(Wxz·x_t + Whz·h_(t−1) + bz)",
                "n_t = tanh(Wxn·x_t + bxn + r_t ⊙ (Whn·h_(t−1) + bhn))",
                "h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_(t−1)"]
