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
    text: str = ""  # what the node shows when not its name (a bias node: "b1 = 0.35")

    @property
    def shown(self) -> str:
        return self.text or self.name


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
    # Drawn at this fraction of its size, text included, to fit the screen beside the chart
    # (layout/upper.py, chart_place); everything above is in its own 10 pt coordinates, where
    # the labels are placed clear of each other.
    scale: float = 1.0

    @property
    def drawn_width(self) -> float:
        return self.width * self.scale

    @property
    def drawn_height(self) -> float:
        return self.height * self.scale


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
                   tuple(nodes.values()), tuple(_settled(edges, list(nodes.values()),
                                                         spec["width_mm"], spec["height_mm"])))


def _settled(edges: list[Edge], nodes: list[Node], width: float, height: float) -> list[Edge]:
    """The template's label places where they are clear (see `label_clear`); a label that a bias
    line crosses moves along its own edge by `place_labels`' rule."""
    out: list[Edge] = []
    placed = []
    for k, edge in enumerate(edges):
        if not edge.label:
            out.append(edge)
            continue
        box = label_box(edge.label, edge.label_x, edge.label_y)
        if not label_clear(box, k, edges, nodes, placed, width, height):
            others = [e if j != k else Edge(e.x1, e.y1, e.x2, e.y2, "", e.label_x, e.label_y)
                      for j, e in enumerate(edges)]
            moved = place_labels(others, [[edge.label] if j == k else [] for j in range(len(edges))],
                                 nodes, width, height)[k]
            edge = moved if moved.label else Edge(edge.x1, edge.y1, edge.x2, edge.y2, "",
                                                  edge.label_x, edge.label_y)
        if edge.label:
            placed.append(label_box(edge.label, edge.label_x, edge.label_y))
        out.append(edge)
    return out


# --- label geometry ----------------------------------------------------------------------------
# A label's box: its text's width in 10 pt Liberation Sans (Arial's metrics: a digit is 1.96 mm,
# "W" 3.33 mm), with room for a viewer drawing it a little wider, plus a margin; the .ods label's
# white backing and the .xlsx PNG's are drawn at this size (the .ods text itself in a larger
# box: ods_drawing.py).
CHAR_MM = 2.0                     # an average character, for rough sizes
EM_MM = 10 / 72 * 25.4            # 10 pt
# Advance widths in thousandths of an em (LiberationSans-Regular.ttf); any other character 556.
_WIDTHS = {191: "'", 222: "ijl", 260: "|", 278: " !,./:;I[\\]ft·", 333: "()-`r", 355: '"',
           389: "*", 469: "^", 500: "Jckvxyzs", 584: "+<=>~", 611: "FTZ", 667: "&ABEKPSVXY",
           722: "CDHNRUw", 778: "GOQ", 833: "Mm", 889: "%", 944: "W", 1000: "…", 1015: "@"}
_WIDTH_OF = {c: w for w, chars in _WIDTHS.items() for c in chars}
LABEL_H = 4.4


def text_mm(text: str) -> float:
    """The width in mm of `text` in 10 pt Liberation Sans."""
    return sum(_WIDTH_OF.get(c, 556) for c in text) / 1000 * EM_MM


def label_box(text: str, x: float, y: float) -> tuple[float, float, float, float]:
    """(left, top, right, bottom) in mm of a label centred on (x, y)."""
    width = text_mm(text) * 1.1 + 1.5
    return x - width / 2, y - LABEL_H / 2, x + width / 2, y + LABEL_H / 2


def boxes_overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def segment_hits_box(x1: float, y1: float, x2: float, y2: float, box) -> bool:
    """Whether the segment crosses the box (Liang-Barsky clipping)."""
    t0, t1 = 0.0, 1.0
    dx, dy = x2 - x1, y2 - y1
    for p, q in ((-dx, x1 - box[0]), (dx, box[2] - x1), (-dy, y1 - box[1]), (dy, box[3] - y1)):
        if p == 0:
            if q < 0:
                return False
            continue
        t = q / p
        if p < 0:
            t0 = max(t0, t)
        else:
            t1 = min(t1, t)
        if t0 > t1:
            return False
    return True


def node_box(node: Node) -> tuple[float, float, float, float]:
    return (node.x - node.width / 2, node.y - node.height / 2,
            node.x + node.width / 2, node.y + node.height / 2)


def label_clear(box, own: int, edges, nodes, placed, width: float, height: float) -> bool:
    """A label box clear of every node, every line but its own edge's, every placed label, and
    inside the picture."""
    if box[0] < 0 or box[1] < 0 or box[2] > width or box[3] > height:
        return False
    if any(boxes_overlap(box, node_box(n)) for n in nodes):
        return False
    if any(boxes_overlap(box, other) for other in placed):
        return False
    return not any(k != own and segment_hits_box(e.x1, e.y1, e.x2, e.y2, box)
                   for k, e in enumerate(edges))


# Where along its edge a label is tried, in turn: the middle first, then out towards the ends.
LABEL_AT = (0.5, 0.38, 0.62, 0.28, 0.72, 0.2, 0.8, 0.13, 0.87)


def place_labels(edges: list[Edge], texts: list[list[str]], nodes, width: float,
                 height: float) -> list[Edge]:
    """The stated rule for labels: each edge takes the first of its `texts` (e.g. "w7 = 0.31",
    then "w7") that fits somewhere along it clear of every node, every other line and every
    label placed before it; if none fits, the edge stays unlabelled (the table's first row holds
    every initial value)."""
    placed: list[tuple[float, float, float, float]] = []
    out = []
    for k, (edge, options) in enumerate(zip(edges, texts, strict=True)):
        chosen = None
        for text in options:
            for at in LABEL_AT:
                x = edge.x1 + at * (edge.x2 - edge.x1)
                y = edge.y1 + at * (edge.y2 - edge.y1)
                box = label_box(text, x, y)
                if label_clear(box, k, edges, nodes, placed, width, height):
                    chosen = (text, x, y, box)
                    break
            if chosen:
                break
        if chosen is None:
            out.append(Edge(edge.x1, edge.y1, edge.x2, edge.y2, "", edge.label_x, edge.label_y))
            continue
        text, x, y, box = chosen
        placed.append(box)
        out.append(Edge(edge.x1, edge.y1, edge.x2, edge.y2, text, x, y))
    return out


# --- any layered network ------------------------------------------------------------------------
# Compact enough for the block above the table (layout/upper.py: at most PICTURE_MAX_MM tall):
# a layer taller than fits shows its first neurons and its last one, with a "…" node between.
MAX_DRAWN = 8
NODE_W, NODE_H = 20.0, 9.0
ROW_GAP = 13.0                     # mm between neuron centres
MIN_GAP = 10.5
LAYER_GAP = 66.0                   # mm between two layers' pre-activation nodes
A_OFFSET = 21.0                    # pre-activation node to its activation node
MARGIN = 7.0                       # above and below the nodes: room for the E labels
BIAS_TOP = 12.0                    # the bias nodes' row
PICTURE_MAX_MM = 60.0


def _short(value: float) -> str:
    """A seeded weight's 17 digits would not fit on an edge: 4 significant ones do."""
    text = format_weight(value)
    return text if len(text) <= 7 else f"{value:.4g}"


def _drawn(names: tuple[str, ...], limit: int = MAX_DRAWN) -> list[str | None]:
    if len(names) <= limit:
        return list(names)
    head = max(1, limit - 2)
    return [*names[:head], None, names[-1]]


def layered_picture(spec, weights: dict[str, float], anchor: tuple[int, int]) -> Picture:
    """The picture of a `NetworkSpec`: inputs, each layer's pre-activation and activation nodes,
    bias nodes (showing their initial values) when the network has biases, E_total; edges
    labelled by `place_labels` with their weight's name and initial value where that fits."""
    layers = [spec.inputs] + [spec.neurons(k) for k in range(1, len(spec.layers))]
    top = BIAS_TOP if spec.biases != "none" else 0.0   # room for the bias nodes
    room = PICTURE_MAX_MM - top - NODE_H - 2 * MARGIN
    limit = max(3, min(MAX_DRAWN, int(room / MIN_GAP) + 1))
    drawn = [_drawn(names, limit) for names in layers]
    tallest = max(len(d) for d in drawn)
    gap = 24.0 if tallest <= 2 else min(ROW_GAP, room / (tallest - 1))
    span = gap * (tallest - 1)
    height = top + span + NODE_H + 2 * MARGIN
    middle = top + MARGIN + NODE_H / 2 + span / 2

    def ys(count: int) -> list[float]:
        return [middle + gap * (k - (count - 1) / 2) for k in range(count)]

    nodes: list[Node] = []
    where: dict[str, Node] = {}

    def place(name: str, x: float, y: float, w: float = NODE_W, h: float = NODE_H,
              text: str = "") -> Node:
        node = Node(name, x, y, w, h, text=text)
        nodes.append(node)
        where[name] = node
        return node

    x_in = NODE_W / 2 + 1
    for name, y in zip(drawn[0], ys(len(drawn[0])), strict=True):
        place(name or "…", x_in, y, NODE_W if name else 10.0)
    x_pre = x_in + LAYER_GAP - 10.0
    for layer in range(1, len(layers)):
        for name, y in zip(drawn[layer], ys(len(drawn[layer])), strict=True):
            if name is None:
                nodes.append(Node("…", x_pre + A_OFFSET / 2, y, 10.0, NODE_H))
                continue
            place(name, x_pre, y)
            place("a_" + name, x_pre + A_OFFSET, y)
        x_pre += LAYER_GAP
    x_total = x_pre - LAYER_GAP + A_OFFSET + 40.0
    width = x_total + 14.0 + 1
    total = place("E_total", x_total, middle, 26.0, 11.0)

    edges: list[Edge] = []
    texts: list[list[str]] = []

    def join(a: Node, b: Node, options: list[str]) -> None:
        x1, y1 = _outline_point(a, b.x, b.y)
        x2, y2 = _outline_point(b, a.x, a.y)
        edges.append(Edge(x1, y1, x2, y2, "", (x1 + x2) / 2, (y1 + y2) / 2))
        texts.append(options)

    for layer in range(1, len(layers)):
        sources = list(spec.sources(layer))
        rows = spec.weights(layer)
        targets = drawn[layer]
        for j, target in enumerate(spec.neurons(layer)):
            if target not in where:
                continue
            for k, source in enumerate(sources):
                if source not in where:
                    continue
                w = rows[j][k]
                join(where[source], where[target], [f"{w} = {_short(weights[w])}", w])
        biases = list(dict.fromkeys(spec.biases_of(layer)))
        if biases:
            name = biases[0] if len(biases) == 1 else f"{biases[0]}…{biases[-1]}"
            text = f"{name} = {_short(weights[biases[0]])}" if len(biases) == 1 else name
            first = where[next(t for t in targets if t)]
            bias = place(name, first.x - 24.0, BIAS_TOP / 2 + 0.5, CHAR_MM * len(text) + 5, 8.0, text)
            own = spec.biases_of(layer)
            for target in targets:
                if target is not None:  # one bias per neuron: its value on its edge
                    b = own[spec.neurons(layer).index(target)]
                    join(bias, where[target], [] if len(biases) == 1 else [f"{b} = {_short(weights[b])}", b])
    outputs = [t for t in drawn[-1] if t is not None]
    for o in outputs:
        join(where["a_" + o], total, [f"E{spec.neurons(len(layers) - 1).index(o) + 1}"])
    return Picture(anchor[0], anchor[1], width, height, tuple(nodes),
                   tuple(place_labels(edges, texts, nodes, width, height)))
