"""The network picture as geometry: ellipses, lines and labels in mm. Pure data, no files.

Drawn from the template's node positions and the workbook's own initial weights, so a sheet
made with other weights shows them. The .ods writer turns it into native draw shapes, the
.xlsx writer into a PNG (sheetgen.write.picture_png).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Node:
    name: str
    x: float        # centre, mm from the picture's top-left corner
    y: float
    width: float
    height: float
    shape: str = "ellipse"          # or "rect": a layer drawn as a block (image networks)


@dataclass(frozen=True)
class Edge:
    x1: float       # end points on the two ellipses' outlines
    y1: float
    x2: float
    y2: float
    label: str
    label_x: float  # label centre
    label_y: float


@dataclass(frozen=True)
class Picture:
    row: int        # anchor cell, 0-based
    col: int
    width: float    # mm
    height: float
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]


def format_weight(value: float) -> str:
    """0.15 -> '0.15', 1.0 -> '1': the shortest text that reads back exactly."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def _outline_point(node: Node, towards_x: float, towards_y: float) -> tuple[float, float]:
    """Where the line from the node's centre towards a point leaves its ellipse."""
    dx, dy = towards_x - node.x, towards_y - node.y
    scale = math.hypot(dx / (node.width / 2), dy / (node.height / 2))
    if scale == 0:
        return node.x, node.y
    return node.x + dx / scale, node.y + dy / scale


def build_picture(spec: dict, weights: dict[str, float], anchor: tuple[int, int],
                  biases: bool = False) -> Picture:
    """The picture of one workbook: `weights` maps w1..w8 to their initial values; `biases`
    adds the template's bias nodes."""
    nodes = {}
    for n in spec["nodes"] + (spec.get("bias_nodes", []) if biases else []):
        nodes[n["name"]] = Node(n["name"], n["x"], n["y"], n.get("width", spec["node_width_mm"]),
                                n.get("height", spec["node_height_mm"]))
    labels = {name: format_weight(value) for name, value in weights.items()}
    edges = []
    for e in spec["edges"]:
        a, b = nodes[e["from"]], nodes[e["to"]]
        x1, y1 = _outline_point(a, b.x, b.y)
        x2, y2 = _outline_point(b, a.x, a.y)
        at = e["at"]
        edges.append(Edge(x1, y1, x2, y2, e["label"].format(**labels),
                          x1 + at * (x2 - x1) + e.get("dx", 0), y1 + at * (y2 - y1) + e.get("dy", 0)))
    for b in spec.get("bias_nodes", []) if biases else []:
        for target in b["to"]:
            a, t = nodes[b["name"]], nodes[target]
            x1, y1 = _outline_point(a, t.x, t.y)
            x2, y2 = _outline_point(t, a.x, a.y)
            edges.append(Edge(x1, y1, x2, y2, "", (x1 + x2) / 2, (y1 + y2) / 2))
    return Picture(anchor[0], anchor[1], spec["width_mm"], spec["height_mm"],
                   tuple(nodes.values()), tuple(edges))


# --- any layered network ------------------------------------------------------------------------
# Readable up to MAX_DRAWN neurons per layer; a wider layer shows its first few and last ones
# with a "…" node for the rest, and its edges unlabelled.
MAX_DRAWN = 8
NODE_W, NODE_H = 24.0, 14.0
ROW_GAP = 20.0                     # mm between neuron centres
LAYER_GAP = 74.0                   # mm between two layers' pre-activation nodes


def _short(value: float) -> str:
    """A seeded weight's 17 digits would not fit on an edge: 4 significant ones do."""
    text = format_weight(value)
    return text if len(text) <= 7 else f"{value:.4g}"


def _drawn(names: tuple[str, ...]) -> list[str | None]:
    if len(names) <= MAX_DRAWN:
        return list(names)
    return [*names[:4], None, *names[-2:]]


def layered_picture(spec, weights: dict[str, float], anchor: tuple[int, int]) -> Picture:
    """The picture of a `NetworkSpec`: inputs, each layer's pre-activation and activation nodes,
    bias nodes when the network has biases, E_total; edges labelled with weight names (and their
    initial values while a layer has few of them)."""
    layers = [spec.inputs] + [spec.neurons(k) for k in range(1, len(spec.layers))]
    drawn = [_drawn(names) for names in layers]
    tallest = max(len(d) for d in drawn)
    top = 24.0 if spec.biases != "none" else 0.0        # room for the bias nodes
    gap = 60.0 if tallest <= 2 else ROW_GAP              # two neurons: the reference's spacing
    span = gap * (tallest - 1)
    height = top + span + 32                             # 92 mm for two neurons, as the reference
    middle = top + 16 + span / 2

    def ys(count: int) -> list[float]:
        return [middle + gap * (k - (count - 1) / 2) for k in range(count)]

    nodes: list[Node] = []
    where: dict[str, Node] = {}

    def place(name: str, x: float, y: float, w: float = NODE_W, h: float = NODE_H) -> Node:
        node = Node(name, x, y, w, h)
        nodes.append(node)
        where[name] = node
        return node

    for name, y in zip(drawn[0], ys(len(drawn[0])), strict=True):
        place(name or "…", 14.0, y, NODE_W if name else 12.0)
    x_pre = 76.0
    for layer in range(1, len(layers)):
        for name, y in zip(drawn[layer], ys(len(drawn[layer])), strict=True):
            if name is None:
                nodes.append(Node("…", x_pre + 9.5, y, 12.0, NODE_H))
                continue
            place(name, x_pre, y)
            place("a_" + name, x_pre + 19.0, y)
        x_pre += LAYER_GAP
    x_total = x_pre - LAYER_GAP + 19.0 + 52.0
    width = x_total + 16.0
    total = place("E_total", x_total, middle, 28.0, 16.0)

    edges: list[Edge] = []

    def join(a: Node, b: Node, label: str, at: float, dy: float = 0.0, dx: float = 0.0) -> None:
        x1, y1 = _outline_point(a, b.x, b.y)
        x2, y2 = _outline_point(b, a.x, a.y)
        edges.append(Edge(x1, y1, x2, y2, label, x1 + at * (x2 - x1) + dx, y1 + at * (y2 - y1) + dy))

    for layer in range(1, len(layers)):
        sources = list(spec.sources(layer))
        rows = spec.weights(layer)
        targets = drawn[layer]
        shown_sources = [s for s in _drawn(tuple(sources)) if s is not None]
        labelled = len(shown_sources) * len([t for t in targets if t]) <= 9
        with_values = labelled and len(shown_sources) * len([t for t in targets if t]) <= 4
        for j, target in enumerate(spec.neurons(layer)):
            if target not in where:
                continue
            for k, source in enumerate(sources):
                if source not in where:
                    continue
                w = rows[j][k]
                label = ""
                if labelled:
                    label = f"{w} = {_short(weights[w])}" if with_values else w
                if with_values:  # as the reference places them: beside straight edges, apart on crossing ones
                    at, dx, dy = ((0.5, 0, -4 if j == 0 else 4) if k == j else
                                  (0.2, -10, 0) if k > j else (0.8, 11, 0))
                    join(where[source], where[target], label, at, dy, dx)
                    continue
                # Each target's edges labelled at its own fraction of the way: labels of one
                # source's fan-out sit at different x, those into one target at different y.
                drawn_targets = [t for t in targets if t]
                at = 0.22 + 0.56 * (drawn_targets.index(target) / max(1, len(drawn_targets) - 1))
                join(where[source], where[target], label, at)
        biases = list(dict.fromkeys(spec.biases_of(layer)))
        if biases:
            name = biases[0] if len(biases) == 1 else f"{biases[0]}…{biases[-1]}"
            first = where[next(t for t in targets if t)]
            bias = place(name, first.x - 30.0, 10.0, 22.0, 10.0)
            for target in targets:
                if target is not None:
                    join(bias, where[target], "", 0.5)
    outputs = [t for t in drawn[-1] if t is not None]
    for k, o in enumerate(outputs):
        join(where["a_" + o], total, f"E{spec.neurons(len(layers) - 1).index(o) + 1}"
             if len(outputs) <= 4 else "", 0.5, -4.0 if k < len(outputs) / 2 else 4.0)
    return Picture(anchor[0], anchor[1], width, height, tuple(nodes), tuple(edges))
