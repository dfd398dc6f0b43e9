"""The picture of an image network: one block per layer, labelled with its kind and the shape of
what it gives (channels × height × width), joined left to right, then E_total."""

from __future__ import annotations

from sheetgen.core.conv import ConvSpec, layer_text
from sheetgen.layout.picture import Edge, Node, Picture, _outline_point

BLOCK_W, BLOCK_H, GAP = 34.0, 16.0, 8.0


def conv_picture(spec: ConvSpec, anchor: tuple[int, int]) -> Picture:
    nodes: list[Node] = []
    x, y = 4.0 + BLOCK_W / 2, 4.0 + BLOCK_H / 2
    for n, (layer, shape) in enumerate(zip(spec.layers, spec.shapes, strict=True)):
        kind = "input" if n == 0 else layer_text(layer, shape)
        size = "×".join(map(str, shape))
        label = kind if n == 0 else kind.replace(" relu", "\nrelu").replace(" softmax", "\nsoftmax") \
            .replace(" sigmoid", "\nsigmoid").replace(" tanh", "\ntanh")
        nodes.append(Node(f"{label}\n{size}", x, y, BLOCK_W, BLOCK_H + (4 if "\n" in label else 0),
                          "rect"))
        x += BLOCK_W + GAP
    nodes.append(Node("E_total", x - BLOCK_W / 2 + 14.0, y, 28.0, 14.0))
    edges = []
    for a, b in zip(nodes, nodes[1:], strict=False):
        x1, y1 = (a.x + a.width / 2, a.y) if a.shape == "rect" else _outline_point(a, b.x, b.y)
        x2, y2 = (b.x - b.width / 2, b.y) if b.shape == "rect" else _outline_point(b, a.x, a.y)
        edges.append(Edge(x1, y1, x2, y2, "", (x1 + x2) / 2, y1))
    width = nodes[-1].x + nodes[-1].width / 2 + 4.0
    height = 2 * y + 4.0
    return Picture(anchor[0], anchor[1], width, height, tuple(nodes), tuple(edges))
