"""Convolutional networks: conv2d, maxpool, avgpool and flatten layers before dense ones.

A `ConvSpec` (the config's ``[network]`` table with a list of layer tables) names every
quantity in one vocabulary, the same in config keys, headers, formulas and report:

    i1_3_4        input channel 1, row 3, column 4
    k1_r1c2       map 1's kernel, row 1, column 2 (k3_2_r1c2: map 3's kernel over input channel 2)
    b_c1          map 1's bias
    c1_3_4        map 1 (numbered across every conv2d layer), row 3, column 4: pre-activation
    a_c1_3_4      its activation
    p1_2_2        map 1 pooled, row 2, column 2
    w1…, b1…      the dense layers' weights and biases, numbered as a dense network numbers them
    h1…, o1…      dense neurons (h2_3 with more than one hidden dense layer), a_h1, a_o1
    δ_c1_3_4      ∂E_total/∂c1_3_4, δ_p1_2_2 and δ_o1 likewise

Flatten reads channel by channel, row by row (PyTorch's order): the dense layer after it
multiplies p1_1_1, p1_1_2, …. Only the forward equations are written here; the backward ones
(δ columns, gradients) are derived from them by reverse-mode differentiation
(`Expression.derivative`), max-pool's included: max routes its derivative to the first largest
of its window (`first_max`), as PyTorch does.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from functools import cached_property, lru_cache

from sheetgen.core import ops
from sheetgen.core.expressions import RANGE_FROM
from sheetgen.core.layers.conv2d import PADDINGS, out_size
from sheetgen.core.layers.dense import ACTIVATIONS
from sheetgen.core.losses import LOSSES
from sheetgen.core.network import MAX_COLUMNS, MAX_FORMULA
from sheetgen.errors import ConfigError

KINDS = ("input", "conv2d", "maxpool", "avgpool", "flatten", "dense")


# --- layers ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class InputLayer:
    channels: int
    height: int
    width: int
    kind: str = "input"


@dataclass(frozen=True)
class Conv2dLayer:
    maps: int                                   # out-channels
    kernel: int                                 # k: a k × k kernel
    stride: int = 1
    padding: str = "valid"
    activation: str = "identity"
    kernels: tuple[float, ...] | None = None    # given values, [map][in-channel][row][column]
    biases: tuple[float, ...] | None = None     # given values, one per map
    kind: str = "conv2d"


@dataclass(frozen=True)
class PoolLayer:
    kind: str                                   # maxpool | avgpool
    size: int                                   # k × k windows, stride k


@dataclass(frozen=True)
class FlattenLayer:
    kind: str = "flatten"


@dataclass(frozen=True)
class DenseLayer:
    size: int
    activation: str = "sigmoid"
    weights: tuple[float, ...] | None = None    # given values, [neuron][input]
    biases: tuple[float, ...] | None = None
    kind: str = "dense"


Layer = InputLayer | Conv2dLayer | PoolLayer | FlattenLayer | DenseLayer


@dataclass(frozen=True)
class ConvSpec:
    """A network of image layers then dense ones, each layer's settings in its own table."""

    layers: tuple[Layer, ...]
    loss: str = "half_sse"
    biases: str = "per_neuron"        # per_neuron (a bias per map and per dense neuron) | none
    train_biases: bool = True
    leaky_relu_slope: float = 0.01
    seed: int = 0
    activation_params: tuple[tuple[str, float], ...] = ()   # ("elu_alpha", 0.5), …

    # Never the reference exercise; gradients always in δ form (core/presets.py asks both).
    is_reference = False
    gradients = None
    images = True      # a maps sheet, the layers drawn as blocks (core/network.py says more)
    unrolled = False

    def layer_objects(self) -> tuple:
        return build_layers(self)

    def params_of(self, kind: str) -> dict[str, float]:
        """An activation's constant arguments by their names in the registry ({"slope": 0.01})."""
        given = dict(self.activation_params) | {"leaky_relu_slope": self.leaky_relu_slope}
        return {p: given.get(key, default) for key, (name, p, default) in ops.activation_params().items()
                if name == kind}

    @property
    def shape_text(self) -> str:
        """The layers and their shapes, for titles and the settings block."""
        return describe(self).rsplit("; ", 1)[0]

    # --- checks ------------------------------------------------------------------------------

    def check(self) -> None:
        """ConfigError naming the layer of the first unusable setting (shapes by arithmetic)."""
        layers = self.layers
        if not layers or not isinstance(layers[0], InputLayer):
            raise ConfigError("network.layers: the first layer must be {input = [channels, height, width]}")
        seen_flatten = False
        for n, layer in enumerate(layers[1:], start=2):
            where = f"network.layers[{n}] ({layer.kind})"
            if isinstance(layer, InputLayer):
                raise ConfigError(f"{where}: only the first layer is the input")
            if isinstance(layer, Conv2dLayer | PoolLayer) and seen_flatten:
                raise ConfigError(f"{where}: image layers come before flatten")
            if isinstance(layer, DenseLayer) and not seen_flatten:
                raise ConfigError(f"{where}: a dense layer needs \"flatten\" before it")
            if isinstance(layer, FlattenLayer):
                if seen_flatten:
                    raise ConfigError(f"{where}: flatten only once")
                seen_flatten = True
            if isinstance(layer, PoolLayer) and not isinstance(layers[n - 2], Conv2dLayer):
                raise ConfigError(f"{where}: a pooling layer follows a conv2d layer")
            if isinstance(layer, Conv2dLayer):
                if layer.padding not in PADDINGS:
                    raise ConfigError(f"{where}: padding must be valid or same, got {layer.padding!r}")
                if layer.stride not in (1, 2):
                    raise ConfigError(f"{where}: stride must be 1 or 2, got {layer.stride}")
            for key in ("maps", "kernel", "size"):
                value = getattr(layer, key, 1)
                if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    raise ConfigError(f"{where}: {key} must be a whole number of at least 1, got {value!r}")
            activation = getattr(layer, "activation", None)
            if activation is not None and activation not in ACTIVATIONS:
                raise ConfigError(f"{where}: unknown activation {activation!r}; choose from "
                                  f"{', '.join(ACTIVATIONS)}")
            if activation == "softmax" and (n != len(layers) or not isinstance(layer, DenseLayer)):
                raise ConfigError(f"{where}: softmax only in the last layer, a dense one")
        if not seen_flatten:
            raise ConfigError("network.layers: \"flatten\" must follow the image layers")
        for n, (layer, (before, after)) in enumerate(zip(layers[1:], self._shape_pairs, strict=True),
                                                     start=2):
            if len(after) == 3 and min(after[1:]) < 1:
                raise ConfigError(f"network.layers[{n}] ({layer.kind}): a {before[1]}×{before[2]} "
                                  f"input is smaller than its {getattr(layer, 'kernel', None) or layer.size}"
                                  f"-wide window")
            if isinstance(layer, PoolLayer) and (before[1] % layer.size or before[2] % layer.size):
                raise ConfigError(f"network.layers[{n}] ({layer.kind}): {before[1]}×{before[2]} maps "
                                  f"do not divide into {layer.size}×{layer.size} windows")
        if self.loss not in LOSSES:
            raise ConfigError(f"network.loss: unknown loss {self.loss!r}; choose from {', '.join(LOSSES)}")
        out = self.output_activation
        if self.loss == "cross_entropy" and out not in ("softmax", "sigmoid"):
            raise ConfigError(f"network.loss: cross_entropy needs softmax or sigmoid outputs, not {out}")
        if self.loss == "binary_cross_entropy" and out != "sigmoid":
            raise ConfigError(f"network.loss: binary_cross_entropy needs sigmoid outputs, not {out}")
        if out == "softmax" and len(self.targets) < 2:
            raise ConfigError("network.layers: softmax needs at least 2 outputs")
        if self.biases not in ("none", "per_neuron"):
            raise ConfigError(f"network.biases: must be none or per_neuron with image layers, "
                              f"got {self.biases!r}")
        self._check_given()

    def _check_given(self) -> None:
        for n, layer in enumerate(self.layers[1:], start=2):
            where = f"network.layers[{n}] ({layer.kind})"
            if isinstance(layer, Conv2dLayer):
                want = layer.maps * self.shapes[n - 2][0] * layer.kernel ** 2
                if layer.kernels is not None and len(layer.kernels) != want:
                    raise ConfigError(f"{where}: kernels: {len(layer.kernels)} values for "
                                      f"{want} ({layer.maps} maps × {self.shapes[n - 2][0]} channels × "
                                      f"{layer.kernel}×{layer.kernel})")
                if layer.biases is not None and len(layer.biases) != layer.maps:
                    raise ConfigError(f"{where}: biases: {len(layer.biases)} values for {layer.maps} maps")
            if isinstance(layer, DenseLayer):
                want = layer.size * self.shapes[n - 2][0]
                if layer.weights is not None and len(layer.weights) != want:
                    raise ConfigError(f"{where}: weights: {len(layer.weights)} values for {want} "
                                      f"({layer.size} neurons × {self.shapes[n - 2][0]} inputs)")
                if layer.biases is not None and len(layer.biases) != layer.size:
                    raise ConfigError(f"{where}: biases: {len(layer.biases)} values for "
                                      f"{layer.size} neurons")
            if getattr(layer, "biases", None) is not None and self.biases == "none":
                raise ConfigError(f"{where}: biases given, but network.biases is \"none\"")

    # --- shapes and names --------------------------------------------------------------------

    @cached_property
    def shapes(self) -> tuple[tuple[int, ...], ...]:
        """Each layer's output: (channels, height, width) for image layers, (n,) after."""
        first = self.layers[0]
        shapes = [(first.channels, first.height, first.width)]
        for layer in self.layers[1:]:
            shapes.append(_shape_after(layer, shapes[-1]))
        return tuple(shapes)

    @property
    def _shape_pairs(self):
        return list(zip(self.shapes, self.shapes[1:], strict=False))

    @property
    def output_activation(self) -> str:
        last = self.layers[-1]
        if isinstance(last, DenseLayer):
            return last.activation
        conv = [layer for layer in self.layers if isinstance(layer, Conv2dLayer)]
        if isinstance(self.layers[-2], PoolLayer) or not conv:
            return "identity"
        return conv[-1].activation

    def first_map(self, n: int) -> int:
        """The number of conv layer `n`'s first map (maps are numbered across conv layers)."""
        return 1 + sum(layer.maps for layer in self.layers[:n] if isinstance(layer, Conv2dLayer))

    def image_names(self, n: int) -> list[list[list[str]]]:
        """The names of layer n's output as [channel][row][column] (image layers only)."""
        layer, (channels, height, width) = self.layers[n], self.shapes[n]
        if isinstance(layer, InputLayer):
            return [[[f"i{c + 1}_{r + 1}_{x + 1}" for x in range(width)] for r in range(height)]
                    for c in range(channels)]
        if isinstance(layer, Conv2dLayer):
            first = self.first_map(n)
            return [[[f"a_c{first + c}_{r + 1}_{x + 1}" for x in range(width)] for r in range(height)]
                    for c in range(channels)]
        first = self.first_map(n - 1)   # a pooling layer's maps keep their conv map's number
        return [[[f"p{first + c}_{r + 1}_{x + 1}" for x in range(width)] for r in range(height)]
                for c in range(channels)]

    def pre_names(self, n: int) -> list[list[list[str]]]:
        """Conv layer n's pre-activations c…, [map][row][column]."""
        return [[[name[2:] for name in row] for row in plane] for plane in self.image_names(n)]

    def vector(self, n: int) -> list[str]:
        """Layer n's output as a flat list (flatten's order: channel, row, column)."""
        if isinstance(self.layers[n], DenseLayer):
            return ["a_" + z for z in self.neurons(n)]
        if isinstance(self.layers[n], FlattenLayer):
            return self.vector(n - 1)
        return [name for plane in self.image_names(n) for row in plane for name in row]

    @property
    def dense_layers(self) -> list[int]:
        return [n for n, layer in enumerate(self.layers) if isinstance(layer, DenseLayer)]

    def neurons(self, n: int) -> list[str]:
        dense = self.dense_layers
        size = self.layers[n].size
        if n == len(self.layers) - 1:
            return [f"o{j}" for j in range(1, size + 1)]
        if len(dense) == 2:
            return [f"h{j}" for j in range(1, size + 1)]
        return [f"h{dense.index(n) + 1}_{j}" for j in range(1, size + 1)]

    def kernel_names(self, n: int) -> list[list[list[list[str]]]]:
        """Conv layer n's kernels, [map][in-channel][row][column]."""
        layer, channels = self.layers[n], self.shapes[n - 1][0]
        first = self.first_map(n)
        k = layer.kernel

        def name(m: int, c: int, r: int, x: int) -> str:
            inner = f"_{c + 1}" if channels > 1 else ""
            return f"k{first + m}{inner}_r{r + 1}c{x + 1}"
        return [[[[name(m, c, r, x) for x in range(k)] for r in range(k)] for c in range(channels)]
                for m in range(layer.maps)]

    def conv_biases(self, n: int) -> list[str]:
        if self.biases == "none":
            return []
        first = self.first_map(n)
        return [f"b_c{first + m}" for m in range(self.layers[n].maps)]

    def dense_weights(self, n: int) -> list[list[str]]:
        """Dense layer n's weights per neuron, numbered across dense layers as a dense network does."""
        first = 1 + sum(self.layers[d].size * self.shapes[d - 1][0] for d in self.dense_layers if d < n)
        fan_in = self.shapes[n - 1][0]
        return [[f"w{first + j * fan_in + i}" for i in range(fan_in)] for j in range(self.layers[n].size)]

    def dense_biases(self, n: int) -> list[str]:
        if self.biases == "none":
            return []
        first = 1 + sum(self.layers[d].size for d in self.dense_layers if d < n)
        return [f"b{first + j}" for j in range(self.layers[n].size)]

    def parameters_of(self, n: int) -> tuple[list[str], list[str]]:
        """Layer n's (weights, biases) names in column order."""
        if isinstance(self.layers[n], Conv2dLayer):
            return [k for m in self.kernel_names(n) for c in m for r in c for k in r], self.conv_biases(n)
        if isinstance(self.layers[n], DenseLayer):
            return [w for row in self.dense_weights(n) for w in row], self.dense_biases(n)
        return [], []

    @property
    def inputs(self) -> tuple[str, ...]:
        return tuple(self.vector(0))

    @property
    def outputs(self) -> tuple[str, ...]:
        return tuple(self.vector(len(self.layers) - 1))

    @property
    def targets(self) -> tuple[str, ...]:
        return tuple(f"t{k}" for k in range(1, self.shapes[-1][0] + 1))

    @property
    def weight_names(self) -> tuple[str, ...]:
        return tuple(w for n in range(1, len(self.layers)) for w in self.parameters_of(n)[0])

    @property
    def bias_names(self) -> tuple[str, ...]:
        return tuple(b for n in range(1, len(self.layers)) for b in self.parameters_of(n)[1])

    @property
    def activations(self) -> tuple[str, ...]:
        return tuple(layer.activation for layer in self.layers if hasattr(layer, "activation"))

    # --- sizes, by arithmetic ----------------------------------------------------------------

    def layer_columns(self, n: int) -> tuple[int, int]:
        """Table columns of layer n: (per sample: its forward quantities and δs; per parameter
        trained or not: the parameter columns, and the trained ones' gradients)."""
        layer, shape = self.layers[n], self.shapes[n]
        weights, biases = self.parameters_of(n)
        parameters = len(weights) + len(biases) + len(weights) + (len(biases) if self.train_biases else 0)
        if isinstance(layer, Conv2dLayer):
            return 3 * math.prod(shape), parameters
        if isinstance(layer, PoolLayer):
            return 2 * math.prod(shape), 0
        if isinstance(layer, DenseLayer):
            exps = layer.size if layer.activation == "softmax" else 0
            return 3 * layer.size + exps, parameters
        if isinstance(layer, InputLayer):
            return math.prod(shape), 0
        return 0, 0

    @property
    def n_columns(self) -> int:
        """Table columns of one sample (no data set): as `derive` lays them out."""
        return self.training_columns()

    def training_columns(self, batch: int = 1, samples: int = 1, states: int = 0,
                         check: bool = False, upto: int | None = None) -> int:
        """Table columns with `batch` samples per step out of `samples`, `states` optimizer
        values per trained parameter (and a gradient check column each): by arithmetic, as
        `derive` and `optim.build` lay them out; `upto`: only the layers up to that one."""
        trained = len(self.weight_names) + (len(self.bias_names) if self.train_biases else 0)
        extra = states + (1 if check else 0)
        outputs = self.shapes[-1][0]
        slot = 2 * outputs + 1 + (1 if batch < samples else 0)   # targets, errors, loss, sample
        # E_total and iteration; the outputs' targets and errors count with the last layer
        total = batch * slot + (1 if batch > 1 else 0) + 1 if upto is None else 0
        last = len(self.layers) - 1 if upto is None else upto
        for n in range(last + 1):
            sample, parameters = self.layer_columns(n)
            total += batch * sample + parameters
            weights, biases = self.parameters_of(n)
            total += extra * (len(weights) + (len(biases) if self.train_biases else 0))
        del trained
        return total

    def longest_formula(self, batch: int = 1) -> tuple[int, int]:
        """An upper bound of the longest formula's characters and the layer it belongs to, from
        the sizes alone: every reference counted at its longest ($XFD$1048576, 12 characters)."""
        ref = 12
        product = 2 * ref + 1                          # A1*B1
        best = (0, 0)
        for n in range(1, len(self.layers)):
            layer, before, shape = self.layers[n], self.shapes[n - 1], self.shapes[n]
            where = n
            lengths = []
            if isinstance(layer, Conv2dLayer):
                k, cin = layer.kernel, before[0]
                # forward: k rows per channel, each a sumproduct or k products
                row = 26 + 4 * ref if k > RANGE_FROM else k * (product + 1)
                lengths.append(cin * k * (row + 1) + ref + 40)
                # a kernel gradient: per output row a sumproduct of two ranges (or products)
                rows, cols = shape[1], shape[2]
                # (zero padding can leave a row RANGE_FROM products, written out)
                row = (max(26 + 4 * ref, RANGE_FROM * (product + 1)) if cols > RANGE_FROM
                       and layer.stride == 1 else cols * (product + 1))
                lengths.append(batch * (rows * (row + 1) + 20) + 10)   # a step adds its samples'
                lengths.append(batch * (2 * ref + 8) + 10)             # a bias: SUM of its δ map
                # the δ of an input to this layer (none for the image itself): every map and
                # kernel position that reads it, times its activation's slope
                if n > 1:
                    reach = math.ceil(k / layer.stride) ** 2
                    lengths.append(layer.maps * reach * (product + 1) + 120)
            elif isinstance(layer, PoolLayer):
                lengths.append(layer.size ** 2 * (ref + 1) + 20)
                # δ of a window's element: first_max tests each element once
                lengths.append(2 * layer.size ** 2 * (2 * ref + 3) + 40 + ref)
            elif isinstance(layer, DenseLayer):
                fan_in = before[0]
                lengths.append(30 + 4 * ref if fan_in > RANGE_FROM else fan_in * (product + 1) + ref)
                lengths.append(batch * (product + 3) + 10)             # a weight's gradient
                # a δ of the layer below: every neuron's weight to it
                lengths.append(layer.size * (product + 1) + 60)
                if layer.activation == "softmax":
                    lengths.append(4 * layer.size * (ref + 2) + 40)
            for length in lengths:
                best = max(best, (length, where))
        return best

    def check_fits(self, batch: int = 1, samples: int = 1, states: int = 0, check: bool = False) -> None:
        """ConfigError naming the layer unless a sheet holds it (Excel's limits), from the sizes
        alone, before anything is derived: the columns with `batch` samples per step (of
        `samples`) and `states` optimizer values per parameter, and the longest formula."""
        total = self.training_columns(batch, samples, states, check)
        for n in range(len(self.layers)):
            columns = (self.training_columns(batch, samples, states, check, upto=n)
                       if n < len(self.layers) - 1 else total)
            if columns > MAX_COLUMNS:
                raise ConfigError(f"network.layers[{n + 1}] ({self.layers[n].kind}): too big for a "
                                  f"sheet: the table needs {total:,} columns, {columns:,} of them up "
                                  f"to this layer, and a sheet has at most {MAX_COLUMNS:,}")
        length, n = self.longest_formula(batch)
        if length > MAX_FORMULA:
            raise ConfigError(f"network.layers[{n + 1}] ({self.layers[n].kind}): too big for a sheet: "
                              f"a formula needs up to {length:,} characters, a formula may have at "
                              f"most {MAX_FORMULA:,}")


def _shape_after(layer: Layer, shape: tuple[int, ...]) -> tuple[int, ...]:
    if isinstance(layer, Conv2dLayer):
        _, h, w = shape
        return (layer.maps, out_size(h, layer.kernel, layer.stride, layer.padding),
                out_size(w, layer.kernel, layer.stride, layer.padding))
    if isinstance(layer, PoolLayer):
        c, h, w = shape
        return (c, h // layer.size, w // layer.size)
    if isinstance(layer, FlattenLayer):
        return (math.prod(shape),)
    if isinstance(layer, DenseLayer):
        return (layer.size,)
    raise ConfigError(f"network.layers: unknown layer {layer!r}")


# --- initial values --------------------------------------------------------------------------

def initial_parameters(spec: ConvSpec) -> dict[str, float]:
    """Every kernel, bias and weight: given in its layer's table, or drawn from `spec.seed`
    (Glorot uniform, ±√(6 / (fan-in + fan-out)), biases too), layer by layer in name order."""
    rng = random.Random(spec.seed)
    values: dict[str, float] = {}
    for n in range(1, len(spec.layers)):
        layer = spec.layers[n]
        weights, biases = spec.parameters_of(n)
        if not weights:
            continue
        if isinstance(layer, Conv2dLayer):
            k2 = layer.kernel ** 2
            limit = math.sqrt(6 / (spec.shapes[n - 1][0] * k2 + layer.maps * k2))
            given_w, given_b = layer.kernels, layer.biases
        else:
            limit = math.sqrt(6 / (spec.shapes[n - 1][0] + layer.size))
            given_w, given_b = layer.weights, layer.biases
        for j, name in enumerate(weights):
            drawn = rng.uniform(-limit, limit)     # drawn whether given or not: others stay put
            values[name] = float(given_w[j]) if given_w is not None else drawn
        for j, name in enumerate(biases):
            drawn = rng.uniform(-limit, limit)
            values[name] = float(given_b[j]) if given_b is not None else drawn
    return values


# --- the layers --------------------------------------------------------------------------------

def _grid(rows) -> tuple:
    return tuple(tuple(tuple(r) for r in plane) for plane in rows)


def build_layers(spec: ConvSpec) -> tuple:
    """The network's `Layer`s (core/layers/), named as above; the input is no layer."""
    from sheetgen.core.layers.avgpool import AvgPool
    from sheetgen.core.layers.conv2d import Conv2d
    from sheetgen.core.layers.dense import Dense
    from sheetgen.core.layers.flatten import Flatten
    from sheetgen.core.layers.maxpool import MaxPool

    trained = spec.train_biases and spec.biases != "none"
    out = []
    for n, layer in enumerate(spec.layers[1:], start=1):
        before = spec.shapes[n - 1]
        if isinstance(layer, Conv2dLayer):
            kernels = tuple(tuple(tuple(tuple(r) for r in c) for c in m) for m in spec.kernel_names(n))
            out.append(Conv2d(n, before, _grid(spec.pre_names(n)), kernels,
                              tuple(spec.conv_biases(n)), layer.stride, layer.padding,
                              layer.activation, tuple(spec.params_of(layer.activation).items()), trained,
                              tuple(spec.vector(n - 1))))
        elif isinstance(layer, PoolLayer):
            kind = MaxPool if layer.kind == "maxpool" else AvgPool
            out.append(kind(n, before, _grid(spec.image_names(n)), layer.size))
        elif isinstance(layer, FlattenLayer):
            out.append(Flatten(n, spec.shapes[n][0]))
        else:
            weights = tuple(tuple(row) for row in spec.dense_weights(n))
            out.append(Dense(n, tuple(spec.neurons(n)), tuple(spec.vector(n - 1)), weights,
                             tuple(spec.dense_biases(n)), layer.activation,
                             tuple(spec.params_of(layer.activation).items()), trained))
    return tuple(out)


# --- text --------------------------------------------------------------------------------------

def describe(spec: ConvSpec) -> str:
    """'1×8×8 → conv2d 2@3×3 relu → maxpool 2 → flatten → dense 10 softmax; cross_entropy'."""
    return " → ".join(layer_text(layer, shape) for layer, shape in
                      zip(spec.layers, spec.shapes, strict=True)) + f"; {spec.loss}"


def layer_text(layer: Layer, shape: tuple[int, ...]) -> str:
    if isinstance(layer, InputLayer):
        return "×".join(map(str, shape))
    if isinstance(layer, Conv2dLayer):
        extra = (f" stride {layer.stride}" if layer.stride != 1 else "") + \
                (" same" if layer.padding == "same" else "")
        act = "" if layer.activation == "identity" else f" {layer.activation}"
        return f"conv2d {layer.maps}@{layer.kernel}×{layer.kernel}{extra}{act}"
    if isinstance(layer, PoolLayer):
        return f"{layer.kind} {layer.size}"
    if isinstance(layer, FlattenLayer):
        return "flatten"
    act = "" if layer.activation == "identity" else f" {layer.activation}"
    return f"dense {layer.size}{act}"


# A spec is frozen and hashable and its names are asked for many times: compute each once.
for _method in ("image_names", "pre_names", "vector", "neurons", "kernel_names", "conv_biases",
                "dense_weights", "dense_biases", "parameters_of", "first_map"):
    setattr(ConvSpec, _method, lru_cache(maxsize=4096)(getattr(ConvSpec, _method)))


# --- from the config's tables ------------------------------------------------------------------

NETWORK_KEYS = ("layers", "loss", "biases", "train_biases", "leaky_relu_slope", "seed")
LAYER_KEYS = {
    "input": ("input",),
    "conv2d": ("conv2d", "kernel", "stride", "padding", "activation", "kernels", "biases"),
    "maxpool": ("maxpool",),
    "avgpool": ("avgpool",),
    "dense": ("dense", "activation", "weights", "biases"),
}


def is_layer_list(layers) -> bool:
    """Whether `[network] layers` describes layers by table (image networks), not by size."""
    return isinstance(layers, list) and any(isinstance(x, dict | str) for x in layers)


def _whole(value, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{key}: must be a whole number, got {value!r}"[:200])
    return value


def _flat(value, shape: tuple[int, ...], key: str, loose_first: bool = False) -> tuple[float, ...]:
    """Nested arrays of numbers of exactly `shape`, flattened row-major; `loose_first`: the first
    dimension may be left out when it is 1 (one input channel)."""
    def depth(x) -> int:
        return 1 + depth(x[0]) if isinstance(x, list) and x else (1 if isinstance(x, list) else 0)

    if loose_first and shape[0] == 1 and depth(value) == len(shape) - 1:
        value = [value]
    out: list[float] = []

    def walk(x, dims: tuple[int, ...], where: str) -> None:
        if not dims:
            if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x):
                raise ConfigError(f"{key}{where}: must be a finite number, got {x!r}"[:200])
            out.append(float(x))
            return
        if not isinstance(x, list) or len(x) != dims[0]:
            size = len(x) if isinstance(x, list) else "not a list"
            raise ConfigError(f"{key}{where}: expected {dims[0]} items "
                              f"(shape {' × '.join(map(str, shape))}), got {size}")
        for k, item in enumerate(x):
            walk(item, dims[1:], f"{where}[{k + 1}]")

    walk(value, shape, "")
    return tuple(out)


def spec_from_table(table: dict) -> ConvSpec:
    """The [network] table of an image network; ConfigError naming the key of a fault."""
    for key in table:
        if key not in NETWORK_KEYS:
            hint = " (give each layer its activation in its table)" if key == "activations" else ""
            raise ConfigError(f"network.{key}: unknown key with image layers{hint}; known keys: "
                              f"{', '.join(NETWORK_KEYS)}")
    items = table["layers"]
    layers: list[Layer] = []
    for n, item in enumerate(items, start=1):
        where = f"network.layers[{n}]"
        if item == "flatten":
            layers.append(FlattenLayer())
            continue
        if isinstance(item, str):
            raise ConfigError(f"{where}: unknown layer {item!r}; a string layer is only \"flatten\"")
        if not isinstance(item, dict):
            raise ConfigError(f"{where}: must be a table such as {{ conv2d = 2, kernel = 3 }} or "
                              f"\"flatten\", got {item!r}"[:200])
        kinds = [k for k in item if k in LAYER_KEYS]
        if len(kinds) != 1:
            raise ConfigError(f"{where}: name exactly one kind among {', '.join(LAYER_KEYS)} "
                              f"(found {', '.join(kinds) or 'none'})")
        kind = kinds[0]
        where = f"{where} ({kind})"
        for key in item:
            if key not in LAYER_KEYS[kind]:
                raise ConfigError(f"{where}: unknown key {key!r}; {kind} takes "
                                  f"{', '.join(LAYER_KEYS[kind])}")
        if kind == "input":
            dims = item["input"]
            if not isinstance(dims, list) or len(dims) not in (2, 3):
                raise ConfigError(f"{where}: give [channels, height, width] or [height, width]")
            dims = [_whole(d, where) for d in dims]
            dims = [1, *dims] if len(dims) == 2 else dims
            if min(dims) < 1:
                raise ConfigError(f"{where}: every size must be at least 1, got {dims}")
            layers.append(InputLayer(*dims))
        elif kind == "conv2d":
            activation = item.get("activation", "identity")
            if not isinstance(activation, str):
                raise ConfigError(f"{where}: activation must be a name such as \"relu\"")
            padding = item.get("padding", "valid")
            layers.append(Conv2dLayer(_whole(item["conv2d"], f"{where}.conv2d"),
                                      _whole(item.get("kernel", 3), f"{where}.kernel"),
                                      _whole(item.get("stride", 1), f"{where}.stride"),
                                      padding if isinstance(padding, str) else repr(padding),
                                      activation))
        elif kind in ("maxpool", "avgpool"):
            layers.append(PoolLayer(kind, _whole(item[kind], f"{where}.{kind}")))
        else:
            activation = item.get("activation", "sigmoid")
            if not isinstance(activation, str):
                raise ConfigError(f"{where}: activation must be a name such as \"sigmoid\"")
            layers.append(DenseLayer(_whole(item["dense"], f"{where}.dense"), activation))
    values: dict = {}
    if "loss" in table:
        values["loss"] = str(table["loss"])
    if "biases" in table:
        values["biases"] = str(table["biases"])
    if "train_biases" in table:
        if not isinstance(table["train_biases"], bool):
            raise ConfigError("network.train_biases: must be true or false")
        values["train_biases"] = table["train_biases"]
    if "seed" in table:
        values["seed"] = _whole(table["seed"], "network.seed")
    if "leaky_relu_slope" in table:
        slope = table["leaky_relu_slope"]
        if isinstance(slope, bool) or not isinstance(slope, int | float) or not math.isfinite(slope):
            raise ConfigError("network.leaky_relu_slope: must be a finite number")
        values["leaky_relu_slope"] = float(slope)
    spec = ConvSpec(tuple(layers), **values)
    spec.check()
    spec.check_fits()   # sizes first: explicit values of a network too big are never read
    # The given kernels, biases and weights, now that every layer's shape is known.
    given = []
    for n, (item, layer) in enumerate(zip(items, layers, strict=True), start=1):
        where = f"network.layers[{n}] ({layer.kind})"
        if isinstance(layer, Conv2dLayer):
            cin = spec.shapes[n - 2][0]
            kernels = item.get("kernels")
            biases = item.get("biases")
            layer = Conv2dLayer(layer.maps, layer.kernel, layer.stride, layer.padding, layer.activation,
                                None if kernels is None else _kernels(kernels, layer, cin, where),
                                None if biases is None else _flat(biases, (layer.maps,), f"{where}.biases"))
        elif isinstance(layer, DenseLayer):
            fan_in = spec.shapes[n - 2][0]
            weights, biases = item.get("weights"), item.get("biases")
            layer = DenseLayer(layer.size, layer.activation,
                               None if weights is None else _flat(weights, (layer.size, fan_in),
                                                                  f"{where}.weights"),
                               None if biases is None else _flat(biases, (layer.size,), f"{where}.biases"))
        given.append(layer)
    spec = ConvSpec(tuple(given), **values)
    spec._check_given()
    return spec


def _kernels(value, layer: Conv2dLayer, cin: int, where: str) -> tuple[float, ...]:
    """[map][in-channel][row][column]; [map][row][column] with one input channel, and one
    [row][column] kernel for one map over one channel."""
    k = layer.kernel
    depth = _depth(value)
    if depth == 2 and layer.maps == 1 and cin == 1:
        value = [[value]]
    elif depth == 3 and cin == 1:
        value = [[m] for m in value] if isinstance(value, list) else value
    return _flat(value, (layer.maps, cin, k, k), f"{where}.kernels")


def _depth(x) -> int:
    return 1 + _depth(x[0]) if isinstance(x, list) and x else (1 if isinstance(x, list) else 0)


def sample_names(spec: ConvSpec, sample: dict, key: str) -> dict[str, float]:
    """A [data] sample given as { image = [[...]], target = [...] } as named values (i1_1_1 …,
    t1 …); a sample given by names is returned as it is."""
    if "image" not in sample and "target" not in sample:
        return sample
    for name in sample:
        if name not in ("image", "target"):
            raise ConfigError(f"{key}: unknown key {name!r}; give image and target")
    if "image" not in sample or "target" not in sample:
        raise ConfigError(f"{key}: give both image and target")
    shape = spec.shapes[0]
    pixels = _flat(sample["image"], shape, f"{key}.image", loose_first=True)
    targets = _flat(sample["target"], (len(spec.targets),), f"{key}.target")
    return dict(zip(spec.inputs, pixels, strict=True)) | dict(zip(spec.targets, targets, strict=True))


def read_image_csv(path, spec: ConvSpec, key: str = "data.file") -> list[dict[str, float]]:
    """One sample per row: the pixels row by row, channel by channel, then the targets; a first
    row of names (i1_1_1, …, t1, …) is optional."""
    import csv
    from pathlib import Path

    try:
        text = Path(path).read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(f"{key}: {path}: file not found") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{key}: {path}: not a text file (not UTF-8)") from None
    except OSError as exc:
        raise ConfigError(f"{key}: {path}: cannot read: {exc.strerror or exc}") from None
    lines = [row for row in csv.reader(text.splitlines()) if any(c.strip() for c in row)]
    names = spec.inputs + spec.targets
    if lines and not _numeric(lines[0]):
        header = tuple(c.strip() for c in lines[0])
        if header != names:
            raise ConfigError(f"{key}: {path}: the header row must name {names[0]}, …, {names[-1]} "
                              f"in order ({len(names)} columns)")
        lines = lines[1:]
    if not lines:
        raise ConfigError(f"{key}: {path}: no samples")
    samples = []
    for r, line in enumerate(lines, start=1):
        if len(line) != len(names):
            raise ConfigError(f"{key}: {path}: sample {r} has {len(line)} values; the network needs "
                              f"{len(spec.inputs)} pixels and {len(spec.targets)} targets")
        try:
            values = [float(c) for c in line]
        except ValueError:
            raise ConfigError(f"{key}: {path}: sample {r}: not all numbers") from None
        if not all(map(math.isfinite, values)):
            raise ConfigError(f"{key}: {path}: sample {r}: must be finite numbers")
        samples.append(dict(zip(names, values, strict=True)))
    return samples


def _numeric(row: list[str]) -> bool:
    try:
        [float(c) for c in row]
    except ValueError:
        return False
    return True
