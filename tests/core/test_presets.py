"""The reference exercise is a preset of the general model: an explicit [network] description
of it gives the defaults' workbooks byte for byte, and the gradient form is an option of every
network."""

from __future__ import annotations

import math

import pytest

from sheetgen.config import Config, from_mapping, validate
from sheetgen.core import model
from sheetgen.core.model import Setup
from sheetgen.core.network import NetworkSpec
from sheetgen.core.presets import reference, training
from sheetgen.errors import ConfigError
from sheetgen.generation import generate

REFERENCE = {"inputs": {"i1": 0.05, "i2": 0.1}, "targets": {"t1": 0.01, "t2": 0.99},
             "weights": {"w1": 0.15, "w2": 0.2, "w3": 0.25, "w4": 0.3, "w5": 0.4, "w6": 0.45,
                         "w7": 0.5, "w8": 0.55}}
EXPLICIT = {"layers": [2, 2, 2], "activations": ["sigmoid", "sigmoid"], "loss": "half_sse",
            "biases": "none"}


def _books(config: Config) -> dict[str, bytes]:
    validate(config)
    return {p.suffix: p.read_bytes() for p in generate(config.training())}


@pytest.mark.parametrize("case", ["default", "errata", "fixed biases", "trained biases"])
def test_an_explicit_reference_network_gives_the_default_books_byte_for_byte(case, tmp_path):
    settings = {"learning_rates": [0.1, 0.5, 2], "iterations": 22, "plots": False}
    network, extra = dict(EXPLICIT), {}
    if case == "errata":
        settings["reference_errata"] = True
    if case.endswith("biases"):
        trained = case.startswith("trained")
        network |= {"biases": "per_layer", "train_biases": trained}
        extra = {"biases": {"b1": 0.35, "b2": 0.6}}
        default_biases = {"biases": {"b1": 0.35, "b2": 0.6, "train": trained}}
    else:
        default_biases = {}
    default = from_mapping(settings | REFERENCE | default_biases | {"output_dir": str(tmp_path / "a")})
    explicit = from_mapping(settings | REFERENCE | extra | {"network": network,
                                                              "output_dir": str(tmp_path / "b")})
    assert explicit.network is not None and default.network is None
    a, b = _books(default), _books(explicit)
    assert sorted(a) == [".ods", ".xlsx"]
    for suffix in a:
        assert a[suffix] == b[suffix], suffix


def test_another_network_is_not_the_reference(tmp_path):
    """The comparison above can fail: a changed loss gives other books."""
    settings = {"iterations": 5, "plots": False, "formats": ["xlsx"]} | REFERENCE
    a = _books(from_mapping(settings | {"output_dir": str(tmp_path / "a")}))
    b = _books(from_mapping(settings | {"output_dir": str(tmp_path / "b"),
                                        "network": EXPLICIT | {"loss": "sse"}}))
    assert a[".xlsx"] != b[".xlsx"]


@pytest.mark.parametrize("biases", ["none", "fixed", "trained"])
def test_both_gradient_forms_give_the_same_numbers(biases):
    expanded = reference(biases)
    spec = NetworkSpec(biases="none" if biases == "none" else "per_layer",
                       train_biases=biases == "trained", gradients="delta")
    setup = Setup(biases=biases, b1=0.35, b2=0.6)
    values = {k: v for k, v in setup.values().items() if biases != "none" or k[0] != "b"}
    delta = training(spec, values)
    assert expanded.gradients == "expanded" and delta.gradients == "delta"
    assert "delta_h1" in delta.network.names and "delta_h1" not in expanded.network.names
    assert delta.network.quantity("dE_dw1").formula.text == "delta_h1 * i1"
    # The reference's layout keeps its columns A:AE; the δ columns come before the gradients.
    names = delta.network.names
    assert names.index("E_total") + 1 == names.index("delta_o1") < names.index("dE_dw1")
    a = model.run(expanded.network, setup, 0.5, 5)
    b = model.run(delta.network, setup, 0.5, 5)
    for row_a, row_b in zip(a, b, strict=True):
        for name in expanded.network.names:
            assert math.isclose(row_a[name], row_b[name], rel_tol=1e-12, abs_tol=1e-15), name


def test_gradient_forms_are_checked_and_errata_needs_the_expanded_form():
    with pytest.raises(ConfigError, match="network.gradients"):
        from_mapping({"network": {"gradients": "both"}})
    config = from_mapping({"network": {"gradients": "delta"}, "reference_errata": True})
    with pytest.raises(ConfigError, match="reference_errata"):
        validate(config)
    deep = from_mapping({"network": {"layers": [2, 3, 2], "gradients": "expanded"}})
    validate(deep)
    assert not any(n.startswith("delta_") for n in deep.training().network.names)


def test_the_title_names_the_network():
    assert reference().title == "Backpropagation, 2-2-2 sigmoid network"
    deep = from_mapping({"network": {"layers": [2, 3, 3, 2], "activations": ["tanh", "tanh", "sigmoid"]}})
    assert deep.training().title == "Backpropagation, 2-3-3-2 network (tanh, sigmoid)"
    assert "2-2-2" not in deep.training().title


def test_a_deep_book_s_title_is_its_own(tmp_path):
    import zipfile

    config = from_mapping({"network": {"layers": [2, 3, 3, 2], "activations": ["tanh", "tanh", "sigmoid"]},
                           "iterations": 2, "learning_rates": [0.5], "plots": False,
                           "output_dir": str(tmp_path)})
    for path in generate(config.training()):
        with zipfile.ZipFile(path) as zf:
            meta = zf.read("docProps/core.xml" if path.suffix == ".xlsx" else "meta.xml").decode()
        assert "2-3-3-2 network (tanh, sigmoid)" in meta and "2-2-2" not in meta, path.name
