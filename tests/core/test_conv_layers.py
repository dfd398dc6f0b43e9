"""The image layers are Layer classes in the registry, each declaring its parameters and δs."""

from __future__ import annotations

from sheetgen.core.conv import (
    Conv2dLayer,
    ConvSpec,
    DenseLayer,
    FlattenLayer,
    InputLayer,
    PoolLayer,
    build_layers,
)
from sheetgen.core.graph import Graph
from sheetgen.core.layers import LAYERS


def test_every_image_layer_kind_is_registered():
    assert {"conv2d", "maxpool", "avgpool", "flatten", "dense"} <= set(LAYERS)


def test_layers_declare_parameters_and_deltas_and_add_their_quantities():
    spec = ConvSpec((InputLayer(1, 4, 4), Conv2dLayer(2, 3, activation="relu"), PoolLayer("avgpool", 2),
                     FlattenLayer(), DenseLayer(3, "softmax")), loss="cross_entropy")
    conv, pool, flat, dense = build_layers(spec)
    assert [p.name for p in conv.parameters()][:3] == ["k1_r1c1", "k1_r1c2", "k1_r1c3"]
    assert [p.name for p in conv.parameters() if p.block == "biases"] == ["b_c1", "b_c2"]
    assert conv.deltas() == ("c1_1_1", "c1_1_2", "c1_2_1", "c1_2_2", "c2_1_1", "c2_1_2", "c2_2_1", "c2_2_2")
    assert pool.parameters() == () and pool.deltas() == ("p1_1_1", "p2_1_1")
    graph = Graph()
    out = conv.forward(graph, spec.inputs)
    assert graph.formulas["c1_2_2"].text.startswith("sum(k1_r1c1 * i1_2_2")
    assert out[0] == "a_c1_1_1"
    pooled = pool.forward(graph, out)
    assert graph.formulas["p2_1_1"].text == "(a_c2_1_1 + a_c2_1_2 + a_c2_2_1 + a_c2_2_2) / 4"
    assert flat.forward(graph, pooled) == pooled
    assert dense.sources == ("p1_1_1", "p2_1_1")
