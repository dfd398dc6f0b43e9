"""`conv2d`: each map a kernel slid over every input channel, plus the map's bias, then an
activation (a cross-correlation, as PyTorch's conv2d computes it).

Map m's output at (i, j): ``c<m>_<i>_<j> = Σ_channel Σ_r Σ_c k<m>_r<r>c<c> · x[i·s + r − pad,
j·s + c − pad] + b_c<m>`` (block "pre"; a zero-padding position adds no term), then
``a_c<m>_<i>_<j> = f(c…)`` (block "act"). Each kernel row over one input row is a group of
side-by-side cells: past RANGE_FROM terms it is one sumproduct (SUMPRODUCT of two ranges). Its δ
columns are its pre-activations'; every kernel's gradient is derived from these expressions.
Names and shapes come from `ConvSpec` (core/conv.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sheetgen.core import ops
from sheetgen.core.expressions import RANGE_FROM
from sheetgen.core.graph import Graph
from sheetgen.core.layers.base import Layer, Parameter, register

PADDINGS = ("valid", "same")


def out_size(size: int, kernel: int, stride: int, padding: str) -> int:
    """Rows (or columns) of a convolution's output: valid ⌊(n − k) / s⌋ + 1, same ⌈n / s⌉."""
    if padding == "same":
        return math.ceil(size / stride)
    return (size - kernel) // stride + 1


def pad_before(size: int, kernel: int, stride: int, padding: str) -> int:
    """Zero rows added above (columns left): half the padding `same` needs, the odd one after
    (TensorFlow's rule; PyTorch's padding='same' at stride 1 pads the same way)."""
    if padding != "same":
        return 0
    total = max((out_size(size, kernel, stride, padding) - 1) * stride + kernel - size, 0)
    return total // 2


def dot(groups: list[list[tuple[str, str]]], bias: str | None) -> str:
    """Σ w·x over groups of (w, x) pairs whose cells sit side by side: a group longer than
    RANGE_FROM is one sumproduct, a short one written out."""
    terms = []
    for group in groups:
        if len(group) > RANGE_FROM:
            ws, xs = zip(*group, strict=True)
            terms.append(f"sumproduct({', '.join(ws + xs)})")
        else:
            terms += [f"{w} * {x}" for w, x in group]
    if bias:
        terms.append(bias)
    if not terms:
        return "0"
    if len(terms) > RANGE_FROM:
        return f"sum({', '.join(terms)})"
    return " + ".join(terms)


@register
@dataclass(frozen=True)
class Conv2d(Layer):
    kind = "conv2d"

    index: int
    in_shape: tuple[int, int, int]                    # channels, height, width of the sources
    pre: tuple[tuple[tuple[str, ...], ...], ...]      # [map][row][column]: c1_1_1 …
    kernels: tuple[tuple[tuple[tuple[str, ...], ...], ...], ...]   # [map][channel][row][column]
    biases: tuple[str, ...] = ()                      # one per map, or none
    stride: int = 1
    padding: str = "valid"
    activation: str = "identity"
    params: tuple[tuple[str, float], ...] = ()
    train_biases: bool = True
    sources: tuple[str, ...] = ()                     # the input's names, for the text

    def parameters(self) -> tuple[Parameter, ...]:
        channels, k = self.in_shape[0], len(self.kernels[0][0])
        fan_in, fan_out = channels * k * k, len(self.pre) * k * k
        params = [Parameter(w, "weights", fan_in, fan_out)
                  for m in self.kernels for c in m for row in c for w in row]
        params += [Parameter(b, "biases", fan_in, fan_out, self.train_biases) for b in self.biases]
        return tuple(params)

    def forward(self, graph: Graph, sources: tuple[str, ...]) -> tuple[str, ...]:
        channels, height, width = self.in_shape
        image = [[sources[(c * height + y) * width:(c * height + y + 1) * width] for y in range(height)]
                 for c in range(channels)]
        for p in self.parameters():
            graph.weight(p.name, block=p.block, layer=self.index, trained=p.trained)
        k, s = len(self.kernels[0][0]), self.stride
        top = pad_before(height, k, s, self.padding)
        left = pad_before(width, k, s, self.padding)
        for m, plane in enumerate(self.pre):
            for i, row in enumerate(plane):
                for j, z in enumerate(row):
                    groups = []
                    for c in range(channels):
                        for r in range(k):
                            y = i * s + r - top
                            if not 0 <= y < height:
                                continue   # a zero-padding row: no term
                            group = [(self.kernels[m][c][r][x], image[c][y][j * s + x - left])
                                     for x in range(k) if 0 <= j * s + x - left < width]
                            if group:
                                groups.append(group)
                    graph.add(z, dot(groups, self.biases[m] if self.biases else None), block="pre",
                              layer=self.index)
        out = []
        for plane in self.pre:
            for row in plane:
                for z in row:
                    graph.add("a_" + z, ops.OPS[self.activation].apply(z, dict(self.params)),
                              block="act", layer=self.index)
                    out.append("a_" + z)
        return tuple(out)

    def deltas(self) -> tuple[str, ...]:
        return tuple(z for plane in self.pre for row in plane for z in row)

    def equation_lines(self) -> list[str]:
        from sheetgen.core.layers.dense import pretty

        z = self.pre[0][0][0]
        k = len(self.kernels[0][0])
        shape = f"{len(self.pre)}×{len(self.pre[0])}×{len(self.pre[0][0])}"
        act = "" if self.activation == "identity" else f", then {self.activation}"
        lines = [f"conv2d: {len(self.pre)} maps of {k}×{k} kernels{act}: {shape}",
                 f"{z} = {pretty(_short(self._first_formula()))}"]
        if self.activation != "identity":
            lines.append(f"a_{z} = {pretty(ops.OPS[self.activation].apply(z, dict(self.params)))}")
        return lines

    def _first_formula(self) -> str:
        graph = Graph()
        channels, height, width = self.in_shape
        self.forward(graph, self.sources or tuple(f"x{n}" for n in range(channels * height * width)))
        return graph.formulas[self.pre[0][0][0]].text

    def derivation_lines(self, deltas, next_layer) -> list[str]:
        from sheetgen.core.layers.dense import pretty

        z = self.pre[0][0][0]
        w = self.kernels[0][0][0][0]
        return [f"δ_{z} = {_short(pretty(deltas[z].text))}",
                f"∂E_total/∂{w} = Σ over the map's positions of δ_c · the pixel {w} multiplied there"]


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"
