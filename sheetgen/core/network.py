"""A dense network's description (the config's ``[network]`` table) and its names.

A `NetworkSpec` names every quantity as the reference exercise does: inputs i1…, targets t1…,
weights w1… numbered layer by layer and, within a layer, neuron by neuron over its incoming
weights (h1 = w1·i1 + w2·i2, h2 = w3·i1 + w4·i2, …). With one hidden layer its neurons are h1,
h2, … and the outputs o1, o2, …; with more, neuron j of hidden layer l is ``h<l>_<j>`` (h2_3). A
neuron's activation is ``a_`` + its name (a_h1, a_o1), its error signal δ ``delta_`` + its name
(header δ_o1). `layers` turns it into `Dense` layers (core/layers/dense.py); the equations are
compiled by core/training.py. Nothing here knows cell positions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from sheetgen.core import ops
from sheetgen.core.backward import GRADIENT_FORMS
from sheetgen.core.cells import a1, cell_range
from sheetgen.core.init import BIAS_INITS, DTYPES, INITS, draw
from sheetgen.core.layers.dense import ACTIVATIONS, Dense
from sheetgen.core.losses import LOSSES, loss
from sheetgen.core.model import Values
from sheetgen.errors import ConfigError

BIASES = ("none", "per_layer", "per_neuron")
# Defaults for the reference's own names when a config leaves inputs or targets out.
REFERENCE_VALUES = {"i1": 0.05, "i2": 0.1, "t1": 0.01, "t2": 0.99}
# Spreadsheet limits (Excel's; LibreOffice's are larger): columns per sheet, characters per formula.
MAX_COLUMNS = 16_384
MAX_FORMULA = 8_192


@dataclass(frozen=True)
class NetworkSpec:
    """The ``[network]`` table: layer sizes (inputs first), one activation per later layer."""

    layers: tuple[int, ...] = (2, 2, 2)
    activations: tuple[str, ...] = ("sigmoid", "sigmoid")
    loss: str = "half_sse"
    biases: str = "none"              # none | per_layer | per_neuron
    train_biases: bool = False
    leaky_relu_slope: float = 0.01
    seed: int = 0
    gradients: str | None = None      # expanded | delta; None: the design's own (core/presets.py)
    # The other activations' constants, by config key (("elu_alpha", 0.5),): ops.activation_params.
    activation_params: tuple[tuple[str, float], ...] = ()
    init: str = "glorot"              # how missing weights and biases are drawn (core/init.py)
    bias_init: str = "same"           # or "zeros"
    init_dtype: str = "float32"       # init = "torch": torch's default dtype the draw follows

    # What the layers above ask a network's description (ConvSpec and RecurrentSpec answer too):
    images = False     # image layers: a maps sheet, the layers drawn as blocks, their own report
    unrolled = False   # steps in time: columns grouped under "t = k", drawn unrolled, BPTT worked

    def params_of(self, kind: str) -> dict[str, float]:
        """An activation's constant arguments by their names in the registry ({"slope": 0.01})."""
        given = dict(self.activation_params) | {"leaky_relu_slope": self.leaky_relu_slope}
        return {p: given.get(key, default) for key, (name, p, default) in ops.activation_params().items()
                if name == kind}

    def layer_objects(self) -> tuple[Dense, ...]:
        """Its layers (core/layers/), as the training compiles them."""
        return layers(self)

    @property
    def shape_text(self) -> str:
        """'2-3-3-2': the layer sizes, for titles and the settings block."""
        return "-".join(map(str, self.layers))

    def check(self) -> None:
        """ConfigError naming the key of the first unusable setting."""
        if len(self.layers) < 2:
            raise ConfigError(f"network.layers: give at least inputs and outputs, such as [2, 2, 2], "
                              f"got {list(self.layers)}")
        for k, size in enumerate(self.layers):
            if isinstance(size, bool) or not isinstance(size, int) or size < 1:
                raise ConfigError(f"network.layers: layer {k} has size {size!r}; every layer needs "
                                  "at least 1 neuron")
        if len(self.activations) != len(self.layers) - 1:
            raise ConfigError(f"network.activations: {len(self.activations)} given for "
                              f"{len(self.layers) - 1} layers after the inputs (one each)")
        for k, name in enumerate(self.activations):
            if name not in ACTIVATIONS:
                raise ConfigError(f"network.activations: unknown activation {name!r}; choose from "
                                  f"{', '.join(ACTIVATIONS)}")
            if name == "softmax" and k != len(self.activations) - 1:
                raise ConfigError("network.activations: softmax only in the output layer, not in "
                                  f"hidden layer {k + 1}")
        if self.activations[-1] == "softmax" and self.layers[-1] < 2:
            raise ConfigError("network.activations: softmax needs at least 2 outputs")
        if self.loss not in LOSSES:
            raise ConfigError(f"network.loss: unknown loss {self.loss!r}; choose from {', '.join(LOSSES)}")
        loss(self.loss).check(self.activations[-1])
        if self.gradients is not None and self.gradients not in GRADIENT_FORMS:
            raise ConfigError(f"network.gradients: must be {' or '.join(GRADIENT_FORMS)}, "
                              f"got {self.gradients!r}")
        if self.biases not in BIASES:
            raise ConfigError(f"network.biases: must be {', '.join(BIASES)}, got {self.biases!r}")
        for key, value in (("leaky_relu_slope", self.leaky_relu_slope), *self.activation_params):
            if not math.isfinite(value):
                raise ConfigError(f"network.{key}: must be a finite number")
        for key, known in (("init", INITS), ("bias_init", BIAS_INITS), ("init_dtype", DTYPES)):
            if getattr(self, key) not in known:
                raise ConfigError(f"network.{key}: must be {', '.join(known)}, got {getattr(self, key)!r}")

    # --- names ---------------------------------------------------------------------------------

    @property
    def inputs(self) -> tuple[str, ...]:
        return tuple(f"i{k}" for k in range(1, self.layers[0] + 1))

    @property
    def targets(self) -> tuple[str, ...]:
        return tuple(f"t{k}" for k in range(1, self.layers[-1] + 1))

    def neurons(self, layer: int) -> tuple[str, ...]:
        """Names of layer `layer`'s neurons (1: the first hidden layer; the last: outputs)."""
        size = self.layers[layer]
        if layer == len(self.layers) - 1:
            return tuple(f"o{j}" for j in range(1, size + 1))
        if len(self.layers) == 3:
            return tuple(f"h{j}" for j in range(1, size + 1))
        return tuple(f"h{layer}_{j}" for j in range(1, size + 1))

    def sources(self, layer: int) -> tuple[str, ...]:
        """What feeds layer `layer`: the inputs, or the previous layer's activations."""
        return self.inputs if layer == 1 else tuple("a_" + n for n in self.neurons(layer - 1))

    def weights(self, layer: int) -> list[list[str]]:
        """Per neuron of `layer`, its incoming weights' names, in the reference's numbering."""
        first = 1 + sum(self.layers[k - 1] * self.layers[k] for k in range(1, layer))
        fan_in = self.layers[layer - 1]
        return [[f"w{first + j * fan_in + k}" for k in range(fan_in)]
                for j in range(self.layers[layer])]

    def biases_of(self, layer: int) -> list[str]:
        """Per neuron of `layer`, its bias name (the shared one repeated for per_layer)."""
        if self.biases == "none":
            return []
        if self.biases == "per_layer":
            return [f"b{layer}"] * self.layers[layer]
        first = 1 + sum(self.layers[1:layer])
        return [f"b{first + j}" for j in range(self.layers[layer])]

    @property
    def n_layers(self) -> int:
        """Layers after the inputs."""
        return len(self.layers) - 1

    @property
    def weight_names(self) -> tuple[str, ...]:
        return tuple(w for layer in range(1, len(self.layers)) for row in self.weights(layer) for w in row)

    @property
    def bias_names(self) -> tuple[str, ...]:
        names: list[str] = []
        for layer in range(1, len(self.layers)):
            for b in self.biases_of(layer):
                if b not in names:
                    names.append(b)
        return tuple(names)

    @property
    def n_columns(self) -> int:
        """Table columns, counted by arithmetic on the layer sizes, without listing a name: the
        size check comes first, before a layer of 10,000,000 neurons is ever spelled out."""
        weights = sum(self.layers[k - 1] * self.layers[k] for k in range(1, len(self.layers)))
        neurons = sum(self.layers[1:])
        exps = self.layers[-1] if self.activations[-1] == "softmax" else 0
        biases = {"none": 0, "per_layer": len(self.layers) - 1, "per_neuron": neurons}[self.biases]
        trained = biases if self.train_biases else 0
        deltas = 0 if self.gradients == "expanded" else neurons
        return (self.layers[0] + 2 * self.layers[-1] + 2 * weights + biases + trained
                + 2 * neurons + deltas + exps + 2)

    @property
    def is_reference(self) -> bool:
        """The reference exercise's network: 2-2-2, sigmoid, ½·SSE, no biases or one per layer."""
        return (self.layers == (2, 2, 2) and self.activations == ("sigmoid", "sigmoid")
                and self.loss == "half_sse" and self.biases in ("none", "per_layer"))


def layers(spec: NetworkSpec) -> tuple[Dense, ...]:
    """The network's layers, named as above."""
    trained = spec.train_biases and spec.biases != "none"
    return tuple(Dense(k, spec.neurons(k), spec.sources(k), tuple(map(tuple, spec.weights(k))),
                       tuple(spec.biases_of(k)), spec.activations[k - 1],
                       tuple(spec.params_of(spec.activations[k - 1]).items()), trained)
                 for k in range(1, len(spec.layers)))



# A spec is frozen and hashable and its names are asked for many times: compute each once.
for _method in ("neurons", "sources", "weights", "biases_of"):
    setattr(NetworkSpec, _method, lru_cache(maxsize=4096)(getattr(NetworkSpec, _method)))


# Initial values of a network's state, by name, and the bias mode the settings block shows.
NetworkSetup = Values


def initial_values(spec: NetworkSpec, given: dict[str, float]) -> NetworkSetup:
    """`given` values by name; missing weights and biases drawn from `spec.seed` as `spec.init`
    says (core/init.py: glorot, torch or zeros), missing inputs and targets from the reference's."""
    values: dict[str, float] = {}
    for name in spec.targets + spec.inputs:
        if name in given:
            values[name] = float(given[name])
        elif name in REFERENCE_VALUES:
            values[name] = REFERENCE_VALUES[name]
        else:
            table = "inputs" if name[0] == "i" else "targets"
            raise ConfigError(f"{table}.{name}: missing (the network has {len(spec.inputs)} inputs "
                              f"and {len(spec.targets)} targets; give each a value)")
    # Each parameter the layers declare, drawn in their order whether given or not, so that
    # giving one value changes no other (core/init.py: glorot, torch or zeros).
    drawn = draw(layers(spec), spec.seed, spec.init, spec.bias_init, spec.init_dtype)
    for name, value in drawn.items():
        values[name] = float(given[name]) if name in given else value
    return NetworkSetup(tuple(values.items()), spec.biases + (" (trained)" if spec.train_biases
                                                               and spec.biases != "none" else ""))


def spanner(column_of: dict[str, int], dialect: str, row: str):
    """The `span` of `Expression.to_formula`: names in side-by-side cells as one range."""
    def span(names: list[str]) -> str | None:
        cols = [column_of.get(n) for n in names]
        if None in cols or cols != list(range(cols[0], cols[0] + len(cols))):
            return None
        return cell_range(dialect, a1(cols[0], row), a1(cols[-1], row))
    return span


def check_columns(spec: NetworkSpec) -> None:
    """ConfigError unless the table's columns fit an .xlsx sheet: counted, before any equation
    is compiled (`core/training.check_fits` measures the formulas)."""
    columns = spec.n_columns
    if columns > MAX_COLUMNS:
        raise ConfigError(f"network: too big for a sheet: it needs {columns:,} columns, a sheet has "
                          f"at most {MAX_COLUMNS:,}")
