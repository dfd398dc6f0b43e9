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


def build_picture(spec: dict, weights: dict[str, float], anchor: tuple[int, int]) -> Picture:
    """The picture of one workbook: `weights` maps w1..w8 to their initial values."""
    nodes = {}
    for n in spec["nodes"]:
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
    return Picture(anchor[0], anchor[1], spec["width_mm"], spec["height_mm"],
                   tuple(nodes.values()), tuple(edges))
