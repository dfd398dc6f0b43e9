"""`avgpool`: each k × k window (stride k) of a map replaced by its average; the derived
backward pass spreads δ_p evenly, δ_p / k², over the window."""

from __future__ import annotations

from dataclasses import dataclass

from sheetgen.core.layers.base import register
from sheetgen.core.layers.maxpool import Pool, mean


@register
@dataclass(frozen=True)
class AvgPool(Pool):
    kind = "avgpool"

    def formula(self, window: list[str]) -> str:
        return mean(window)

    def derivation_lines(self, deltas, next_layer) -> list[str]:
        p = self.pooled[0][0][0]
        k2 = self.size * self.size
        return [f"δ of a window's element = δ_{p} / {k2} · f′: the gradient spread evenly"]
