"""The picture of any network: drawn from the layer sizes, bias nodes when there are biases,
compact beyond 8 neurons a layer, every edge ending on the outlines of the nodes it joins."""

from __future__ import annotations

import math

from sheetgen.config import Config
from sheetgen.core.model import Setup
from sheetgen.core.network import NetworkSpec, initial_values
from sheetgen.layout.book import network_picture
from sheetgen.layout.picture import MAX_DRAWN, layered_picture


def _on_outline(node, x: float, y: float) -> bool:
    return math.isclose(((x - node.x) / (node.width / 2)) ** 2 + ((y - node.y) / (node.height / 2)) ** 2,
                        1, rel_tol=1e-9)


def _joined(picture) -> set[tuple[str, str]]:
    pairs = set()
    for e in picture.edges:
        a = [n.name for n in picture.nodes if _on_outline(n, e.x1, e.y1)]
        b = [n.name for n in picture.nodes if _on_outline(n, e.x2, e.y2)]
        assert len(a) == 1 and len(b) == 1, e
        pairs.add((a[0], b[0]))
    return pairs


def _inside(picture) -> bool:
    return all(0 <= n.x - n.width / 2 and n.x + n.width / 2 <= picture.width
               and 0 <= n.y - n.height / 2 and n.y + n.height / 2 <= picture.height
               for n in picture.nodes)


def test_reference_bias_nodes_join_the_neurons_they_feed():
    plain = network_picture(Config().training())
    biased = network_picture(Config(setup=Setup(b1=0.35, b2=0.6, biases="fixed")).training())
    assert {"b1", "b2"}.isdisjoint(n.name for n in plain.nodes)
    pairs = _joined(biased)
    assert {("b1", "h1"), ("b1", "h2"), ("b2", "o1"), ("b2", "o2")} <= pairs
    assert _joined(plain) <= pairs and _inside(biased)


def test_a_deep_network_is_drawn_as_its_equations_wire_it():
    spec = NetworkSpec((2, 3, 3, 2), ("tanh", "tanh", "sigmoid"), biases="per_layer")
    picture = layered_picture(spec, initial_values(spec, {}).values(), (0, 1))
    pairs = _joined(picture)
    # h2_1 = w7*a_h1_1 + w8*a_h1_2 + w9*a_h1_3 + b2: every weight an edge, labelled with its name.
    for layer in range(1, 4):
        for z in spec.neurons(layer):
            for source in spec.sources(layer):
                assert (source, z) in pairs
            assert (f"b{layer}", z) in pairs
    # Labelled where a label fits clear of nodes, lines and other labels (tests/layout/
    # test_view_fits.py), with the value where that fits: some with values, none bare numbers.
    labels = {e.label for e in picture.edges if e.label}
    assert {"E1", "E2"} <= labels and any(" = " in t for t in labels) and len(labels) >= 12
    assert all(t.split(" = ")[0] in spec.weight_names + ("E1", "E2") for t in labels)
    assert _inside(picture)


def test_a_wide_layer_is_compact():
    spec = NetworkSpec((3, 40, 2), ("relu", "sigmoid"), biases="per_neuron")
    picture = layered_picture(spec, initial_values(spec, {"i3": 0.5}).values(), (0, 1))
    names = [n.name for n in picture.nodes]
    hidden = [n for n in names if n.startswith("h")]
    assert len(hidden) < MAX_DRAWN and "h1" in hidden and "h40" in hidden and "…" in names
    assert "b1…b40" in names and "b41…b42" in names
    # Few labels where edges crowd: each one clear of the rest (tests/layout/test_view_fits.py).
    assert sum(bool(e.label) for e in picture.edges) < 20
    assert _inside(picture)
