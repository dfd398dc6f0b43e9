"""The reference exercise as a preset of the general model.

The reference is a `NetworkSpec` like any other (2-2-2, sigmoid, ``half_sse``; no biases, or one
per layer, fixed or trained) with the reference's inputs, targets and weights (`Setup`). What
makes it the reference is only its design: its columns in the order of templates/backprop.toml,
fixed biases as parameter cells, and the gradients expanded as chain-rule products by default.
`options` is the one place that decides them, for the defaults and for a ``[network]`` table
alike, so an explicit description of the reference gives the same workbooks byte for byte.
"""

from __future__ import annotations

from functools import cache, lru_cache

from sheetgen.core import optimizers
from sheetgen.core.data import DataSpec
from sheetgen.core.losses import loss
from sheetgen.core.model import Network, Setup
from sheetgen.core.network import NetworkSpec
from sheetgen.core.template import template
from sheetgen.core.training import Training, compile_training


def reference_spec(setup: Setup) -> tuple[NetworkSpec, dict[str, float]]:
    """The reference network of a `Setup` (biases none, fixed or trained) and its values."""
    spec = NetworkSpec(biases="none" if setup.biases == "none" else "per_layer",
                       train_biases=setup.biases == "trained")
    names = set(spec.inputs + spec.targets + spec.weight_names + spec.bias_names)
    return spec, {name: value for name, value in setup.values().items() if name in names}


def options(spec: NetworkSpec, data: DataSpec | None, biases_shown: str) -> dict:
    """The design, the gradient form and the bias mode shown, for any network."""
    design = "reference" if spec.is_reference and data is None else "network"
    if design == "reference":
        biases_shown = ("none" if spec.biases == "none" else "trained" if spec.train_biases
                        else "fixed")
    gradients = spec.gradients or ("expanded" if design == "reference" else "delta")
    return {"design": design, "gradients": gradients, "biases_shown": biases_shown}


def training(spec: NetworkSpec, values: dict, *, data: DataSpec | None = None,
             optimizer: optimizers.OptimizerSpec | None = None, biases_shown: str = "none",
             reference_errata: bool = False, **run) -> Training:
    """Any network's `Training`: its layers, loss and optimizer, compiled with `options` (once
    per description: the size check and the run share it), from `values`."""
    key = (spec, data, optimizer or optimizers.OptimizerSpec(), biases_shown, reference_errata)
    try:
        hash(key)
    except TypeError:  # a description holding a list: compiled each time
        return _compile(*key).starting_from(values, **run)
    return _compiled(*key).starting_from(values, **run)


def _compile(spec: NetworkSpec, data: DataSpec | None, optimizer: optimizers.OptimizerSpec,
             biases_shown: str, reference_errata: bool) -> Training:
    return compile_training(spec, spec.layer_objects(), loss(spec.loss), optimizers.optimizer(optimizer), {},
                            data=data, reference_errata=reference_errata,
                            errata=template()["errata"], **options(spec, data, biases_shown))


_compiled = lru_cache(maxsize=16)(_compile)


def reference(biases: str = "none", reference_errata: bool = False, **run) -> Training:
    """The reference exercise with its own values, in bias mode `biases`."""
    spec, values = reference_spec(Setup(biases=biases))
    return training(spec, values, reference_errata=reference_errata, **run)


@cache
def reference_network(biases: str = "none", reference_errata: bool = False) -> Network:
    """The reference exercise's graph in bias mode `biases` (what a hand-made sheet is checked
    against), with its two mistakes when `reference_errata`."""
    return reference(biases, reference_errata).network
