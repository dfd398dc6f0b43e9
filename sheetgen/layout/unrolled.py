"""The picture of a recurrent network unrolled over time: one column of nodes per step (the
input x_t at the bottom, each recurrent layer's h_t above it, the output where there is one),
h_(t−1) → h_t arrows along each layer, and E_total on the right. A long sequence shows its first
steps, a "…" column and the last steps.
"""

from __future__ import annotations

import re

from sheetgen.core.recurrent import RecurrentSpec, step_of
from sheetgen.layout.picture import Edge, Node, Picture, _outline_point

MAX_STEPS_DRAWN = 6
STEP_GAP, LAYER_GAP = 34.0, 20.0     # mm between step columns and between rows of nodes
NODE_W, NODE_H = 24.0, 12.0


def drawn_steps(steps: int) -> list[int | None]:
    if steps <= MAX_STEPS_DRAWN:
        return list(range(1, steps + 1))
    return [1, 2, 3, None, steps - 1, steps]


def unrolled_picture(spec: RecurrentSpec, anchor: tuple[int, int]) -> Picture:
    layers = len(spec.hidden)
    rows = layers + 3                                      # inputs, the layers, outputs, E_total
    height = 10.0 + LAYER_GAP * (rows - 1) + 10.0
    y_of = {k: height - 10.0 - LAYER_GAP * k for k in range(rows)}   # 0: inputs at the bottom
    nodes: list[Node] = []
    edges: list[Edge] = []

    def place(name: str, x: float, y: float, w: float = NODE_W, h: float = NODE_H) -> Node:
        node = Node(name, x, y, w, h)
        nodes.append(node)
        return node

    def join(a: Node, b: Node, label: str = "", dy: float = -3.0) -> None:
        x1, y1 = _outline_point(a, b.x, b.y)
        x2, y2 = _outline_point(b, a.x, a.y)
        edges.append(Edge(x1, y1, x2, y2, label, (x1 + x2) / 2, (y1 + y2) / 2 + dy))

    def tag(layer: int) -> str:
        return spec.tag(layer)

    state = "h, c" if spec.cell == "lstm" else "h"
    previous = {layer: place(f"{state}{tag(layer)}_t0".replace("h, c", "h,c"), 16.0, y_of[layer])
                for layer in range(1, layers + 1)}
    x = 16.0 + STEP_GAP
    outputs: list[Node] = []
    for t in drawn_steps(spec.steps):
        if t is None:
            for layer in range(0, layers + 1):
                gap = place("…", x - STEP_GAP / 4, y_of[layer], 10.0, NODE_H)
                if layer:
                    join(previous[layer], gap)
                    previous[layer] = gap
            x += STEP_GAP / 2
            continue
        below = place(f"x_t{t}", x, y_of[0])
        for layer in range(1, layers + 1):
            cell = place(f"{spec.cell}{tag(layer)}_t{t}", x, y_of[layer])
            first = t == 1
            join(below, cell, f"Wx{tag(layer)}" if first else "", dy=0.0)
            join(previous[layer], cell, f"Wh{tag(layer)}" if first else "")
            previous[layer], below = cell, cell
        if t in spec.out_steps:
            out = place(f"o_t{t}" if spec.output == "every" else "o", x, y_of[layers + 1])
            join(below, out, "w" if len(outputs) == 0 else "", dy=0.0)
            outputs.append(out)
        x += STEP_GAP
    middle = sum(o.x for o in outputs) / len(outputs)
    total = place("E_total", middle, y_of[layers + 2], 28.0, 12.0)
    for out in outputs:
        join(out, total)
    return Picture(anchor[0], anchor[1], x, height, tuple(nodes), tuple(edges))


def step_labels(quantities: list[str]) -> list[tuple[int, int, str]]:
    """(first column, columns, label) of each run of side-by-side columns of one time step:
    "t = 3", or "t = 3, s2" for the second sample of a row with several."""
    runs: list[tuple[int, int, str]] = []
    for k, name in enumerate(quantities):
        t = step_of(name)
        if t is None:
            continue
        sample = re.search(r"_s(\d+)$", name)
        label = f"t = {t}" + (f", s{sample.group(1)}" if sample else "")
        if runs and runs[-1][2] == label and runs[-1][0] + runs[-1][1] == k:
            first, span, _ = runs[-1]
            runs[-1] = (first, span + 1, label)
        else:
            runs.append((k, 1, label))
    return runs
