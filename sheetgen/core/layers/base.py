"""The `Layer` protocol and the registry of layer kinds (see the package's docstring)."""


from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from sheetgen.core.expressions import Expression
    from sheetgen.core.graph import Graph
    from sheetgen.core.losses import Loss

LAYERS: dict[str, type[Layer]] = {}


def register(cls: type[Layer]) -> type[Layer]:
    LAYERS[cls.kind] = cls
    return cls


@dataclass(frozen=True)
class Parameter:
    name: str
    block: str          # "weights" or "biases"
    fan_in: int
    fan_out: int
    trained: bool = True


class Layer:
    kind: ClassVar[str]
    index: int
    activation: str

    def parameters(self) -> tuple[Parameter, ...]:
        raise NotImplementedError

    def forward(self, graph: Graph, sources: tuple[str, ...]) -> tuple[str, ...]:
        raise NotImplementedError

    def deltas(self) -> tuple[str, ...]:
        return ()

    def held(self) -> tuple[str, ...]:
        """Quantities held constant in the gradient (a recurrent layer's steps before its
        truncated backward pass)."""
        return ()

    def output_deltas(self, formulas: Mapping[str, Expression], loss: Loss,
                      targets: tuple[str, ...]) -> dict[str, Expression] | None:
        """As the last layer: its δs in closed form, or None to derive them."""
        return None

    def equation_lines(self) -> list[str]:
        return []

    def derivation_lines(self, deltas: Mapping[str, Expression], next_layer: Layer | None) -> list[str]:
        return []
