"""init = "torch" draws torch's numbers without torch; glorot is the earlier draw; a given value
shifts no other draw.

tests/core/torch_init.json holds torch's own numbers, made with torch 2.13 by
    .venv/bin/python scripts/torch_crosscheck.py --init-golden tests/core/torch_init.json
and, when torch is installed, they are drawn by torch again here.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import pytest

from sheetgen.config import from_mapping
from sheetgen.core.init import torch_linear

GOLDEN = json.loads((Path(__file__).parent / "torch_init.json").read_text("utf-8"))


@pytest.mark.parametrize("case", GOLDEN["cases"], ids=lambda c: f"{c['dtype']}-{c['seed']}")
def test_the_draw_equals_torchs_numbers(case):
    drawn = torch_linear(tuple(case["layers"]), case["seed"], True, case["dtype"])
    assert [w for w, _ in drawn] == case["weights"]
    assert [b for _, b in drawn] == case["biases"]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("seed", [0, 3, 2**40 + 9])
def test_the_draw_equals_torch_itself(seed, dtype):
    torch = pytest.importorskip("torch")
    layers = (4, 6, 3, 2)
    before = torch.get_default_dtype()
    try:
        torch.set_default_dtype(getattr(torch, dtype))
        torch.manual_seed(seed)
        linears = [torch.nn.Linear(a, b) for a, b in zip(layers[:-1], layers[1:], strict=True)]
    finally:
        torch.set_default_dtype(before)
    drawn = torch_linear(layers, seed, True, dtype)
    assert [w for w, _ in drawn] == [m.weight.double().tolist() for m in linears]
    assert [b for _, b in drawn] == [m.bias.double().tolist() for m in linears]


def network(**more):
    return {"network": {"layers": [3, 2, 2], "biases": "per_neuron", **more}, "inputs": {"i3": 0.5}}


def test_init_torch_gives_the_network_torchs_values_by_name():
    config = from_mapping(network(init="torch", seed=7), "case")
    values = config.setup.values()
    case = next(c for c in GOLDEN["cases"] if c["seed"] == 7 and c["dtype"] == "float32")
    (w1, b1), (w2, b2) = torch_linear((3, 2, 2), 7)
    assert case["layers"][:2] == [3, 5]   # the golden's network differs: its draw starts the same
    assert [values[f"w{k}"] for k in range(1, 7)] == w1[0] + w1[1]
    assert values["w1"] == case["weights"][0][0][0]
    assert [values["b1"], values["b2"], values["b3"], values["b4"]] == b1 + b2
    assert [values[f"w{k}"] for k in range(7, 11)] == w2[0] + w2[1]


@pytest.mark.parametrize("init", ["torch", "glorot"])
def test_a_given_value_shifts_no_other_draw(init):
    free = from_mapping(network(init=init, seed=2), "case").setup.values()
    given = from_mapping({**network(init=init, seed=2), "weights": {"w3": 0.5}},
                         "case").setup.values()
    assert given["w3"] == 0.5 != free["w3"]
    assert {k: v for k, v in given.items() if k != "w3"} == {k: v for k, v in free.items() if k != "w3"}


def test_glorot_is_the_earlier_draw():
    values = from_mapping(network(seed=4), "case").setup.values()
    rng = random.Random(4)
    for layer, (fan_in, fan_out, names) in enumerate(
            [(3, 2, ["w1", "w2", "w3", "w4", "w5", "w6", "b1", "b2"]),
             (2, 2, ["w7", "w8", "w9", "w10", "b3", "b4"])]):
        limit = math.sqrt(6 / (fan_in + fan_out))
        for name in names:
            assert values[name] == rng.uniform(-limit, limit), (layer, name)


def test_zeros_and_zero_biases():
    values = from_mapping(network(init="zeros"), "case").setup.values()
    assert all(values[n] == 0.0 for n in values if n[0] in "wb")
    torch_values = from_mapping(network(init="torch", seed=7), "case").setup.values()
    zero_bias = from_mapping(network(init="torch", seed=7, bias_init="zeros"), "case").setup.values()
    assert all(zero_bias[f"b{k}"] == 0.0 for k in range(1, 5))
    assert all(zero_bias[f"w{k}"] == torch_values[f"w{k}"] for k in range(1, 11))
