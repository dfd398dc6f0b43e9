"""`flatten`: an image layer's maps read as one vector, channel by channel, row by row
(PyTorch's order): no columns of its own, the next layer reads the same cells."""

from __future__ import annotations

from dataclasses import dataclass

from sheetgen.core.graph import Graph
from sheetgen.core.layers.base import Layer, Parameter, register


@register
@dataclass(frozen=True)
class Flatten(Layer):
    kind = "flatten"

    index: int
    size: int = 0
    activation: str = "identity"

    def parameters(self) -> tuple[Parameter, ...]:
        return ()

    def forward(self, graph: Graph, sources: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(sources)

    def equation_lines(self) -> list[str]:
        return [f"flatten: {self.size} values, channel by channel, row by row"]
