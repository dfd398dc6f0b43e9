"""`maxpool`: each k × k window (stride k) of a map replaced by its largest value.

``p<m>_<i>_<j> = max(window)`` (block "act"), its δ column the pooled value's. The backward
pass is derived: max routes its derivative to the window's first largest element
(`first_max`, core/ops.py), PyTorch's rule for ties. `Pool` is shared with avgpool.
"""

from __future__ import annotations

from dataclasses import dataclass

from sheetgen.core.expressions import RANGE_FROM
from sheetgen.core.graph import Graph
from sheetgen.core.layers.base import Layer, Parameter, register


@dataclass(frozen=True)
class Pool(Layer):
    index: int
    in_shape: tuple[int, int, int]                  # channels, height, width of the sources
    pooled: tuple[tuple[tuple[str, ...], ...], ...]  # [map][row][column]: p1_1_1 …
    size: int = 2
    activation: str = "identity"

    def parameters(self) -> tuple[Parameter, ...]:
        return ()

    def window(self, sources: tuple[str, ...], c: int, i: int, j: int) -> list[str]:
        _, height, width = self.in_shape
        k = self.size
        return [sources[(c * height + i * k + r) * width + j * k + x] for r in range(k) for x in range(k)]

    def formula(self, window: list[str]) -> str:
        raise NotImplementedError

    def forward(self, graph: Graph, sources: tuple[str, ...]) -> tuple[str, ...]:
        out = []
        for c, plane in enumerate(self.pooled):
            for i, row in enumerate(plane):
                for j, p in enumerate(row):
                    graph.add(p, self.formula(self.window(sources, c, i, j)), block="act",
                              layer=self.index)
                    out.append(p)
        return tuple(out)

    def deltas(self) -> tuple[str, ...]:
        return tuple(p for plane in self.pooled for row in plane for p in row)

    def equation_lines(self) -> list[str]:
        shape = f"{len(self.pooled)}×{len(self.pooled[0])}×{len(self.pooled[0][0])}"
        return [f"{self.kind} {self.size}×{self.size}: {shape}"]


@register
@dataclass(frozen=True)
class MaxPool(Pool):
    kind = "maxpool"

    def formula(self, window: list[str]) -> str:
        return f"max({', '.join(window)})" if len(window) > 1 else window[0]

    def derivation_lines(self, deltas, next_layer) -> list[str]:
        p = self.pooled[0][0][0]
        return [f"δ of a window's element = δ_{p} · first_max(its place, window) · f′: the "
                "gradient goes to the first largest only"]


def mean(window: list[str]) -> str:
    """The window's average as expression text."""
    joined = f"sum({', '.join(window)})" if len(window) > RANGE_FROM else " + ".join(window)
    return f"({joined}) / {len(window)}" if len(window) > 1 else joined
