"""The picture of a recurrent network unrolled over time: one column of nodes per step (the
input x_t at the bottom, each recurrent layer's h_t above it, the output where there is one),
h_(t−1) → h_t arrows along each layer, and E_total on the right. A long sequence shows its first
steps, a "…" column and the last steps.
"""

from __future__ import annotations

import re

from sheetgen.core.recurrent import RecurrentSpec, step_of
from sheetgen.layout.picture import Edge, Node, Picture, _outline_point, label_box, place_labels, text_mm
from sheetgen.layout.upper import PICTURE_MAX_MM

MAX_STEPS_DRAWN = 6
NODE_H, MIN_NODE_W = 8.0, 15.0       # mm; a node is as wide as its name needs, at least MIN_NODE_W
MAX_ROW_GAP = 17.0                   # mm between the centres of two rows of nodes
MARGIN = 3.0


def drawn_steps(steps: int) -> list[int | None]:
    if steps <= MAX_STEPS_DRAWN:
        return list(range(1, steps + 1))
    return [1, 2, 3, None, steps - 1, steps]


def unrolled_picture(spec: RecurrentSpec, anchor: tuple[int, int]) -> Picture:
    """Within PICTURE_MAX_MM of height, so the table's header stays in the first screen: the
    rows of nodes close up as layers are stacked. Many-to-one puts E_total beside its one
    output, many-to-many above its outputs. Labels follow `place_labels`' rule."""
    layers = len(spec.hidden)
    steps = drawn_steps(spec.steps)
    last_step = steps[-1]
    state = "h,c" if spec.cell == "lstm" else "h"
    names = [f"{state}{spec.tag(1)}_t0", f"{spec.cell}{spec.tag(layers)}_t{last_step}",
             f"x_t{last_step}", f"o_t{last_step}"]
    node_w = max(MIN_NODE_W, max(text_mm(n) for n in names) * 1.2 + 4.5)   # Gnumeric's font: wider
    wh = label_box(f"Wh{spec.tag(layers)}", 0, 0)
    space = wh[2] - wh[0] + 1.0           # between two step columns' nodes: room for the Wh label
    step_gap = node_w + space
    every = spec.output == "every"
    rows = layers + (3 if every else 2)        # inputs, the layers, outputs (and E_total above)
    gap = min(MAX_ROW_GAP, (PICTURE_MAX_MM - 2 * MARGIN - NODE_H) / (rows - 1))
    height = 2 * MARGIN + NODE_H + gap * (rows - 1)
    y_of = {k: height - MARGIN - NODE_H / 2 - gap * k for k in range(rows)}   # 0: the inputs
    nodes: list[Node] = []
    edges: list[Edge] = []
    texts: list[list[str]] = []

    def place(name: str, x: float, y: float, w: float = node_w, h: float = NODE_H) -> Node:
        node = Node(name, x, y, w, h)
        nodes.append(node)
        return node

    def join(a: Node, b: Node, label: str = "") -> None:
        x1, y1 = _outline_point(a, b.x, b.y)
        x2, y2 = _outline_point(b, a.x, a.y)
        edges.append(Edge(x1, y1, x2, y2, "", (x1 + x2) / 2, (y1 + y2) / 2))
        texts.append([label] if label else [])

    x = node_w / 2 + 1.0
    previous = {layer: place(f"{state}{spec.tag(layer)}_t0", x, y_of[layer])
                for layer in range(1, layers + 1)}
    x += step_gap
    outputs: list[Node] = []
    for t in steps:
        if t is None:
            for layer in range(0, layers + 1):
                gap_node = place("…", x - step_gap / 4, y_of[layer], 8.0, NODE_H)
                if layer:
                    join(previous[layer], gap_node)
                    previous[layer] = gap_node
            x += step_gap / 2
            continue
        below = place(f"x_t{t}", x, y_of[0])
        for layer in range(1, layers + 1):
            cell = place(f"{spec.cell}{spec.tag(layer)}_t{t}", x, y_of[layer])
            first = t == 1
            join(below, cell, f"Wx{spec.tag(layer)}" if first else "")
            join(previous[layer], cell, f"Wh{spec.tag(layer)}" if first else "")
            previous[layer], below = cell, cell
        if t in spec.out_steps:
            out = place(f"o_t{t}" if every else "o", x, y_of[layers + 1])
            join(below, out, "w" if not outputs else "")
            outputs.append(out)
        x += step_gap
    total_w = text_mm("E_total") + 6.0
    if every:
        middle = sum(o.x for o in outputs) / len(outputs)
        total = place("E_total", middle, y_of[layers + 2], total_w, NODE_H)
    else:  # beside the one output: a row less
        total = place("E_total", x - step_gap + node_w / 2 + space + total_w / 2,
                      y_of[layers + 1], total_w, NODE_H)
    for out in outputs:
        join(out, total)
    width = max(n.x + n.width / 2 for n in nodes) + 1.0
    return Picture(anchor[0], anchor[1], width, height, tuple(nodes),
                   tuple(place_labels(edges, texts, nodes, width, height)))


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
