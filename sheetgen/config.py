"""What one `sheetgen generate` run makes: the experiment and where its files go.

A run's settings come from three places, later ones winning: the defaults (the reference
exercise), an optional TOML file (`--config`), and command-line flags. Everything is checked
here, before any file is opened; each problem is one line naming the field.
"""

from __future__ import annotations

import difflib
import math
import os
import stat
import tomllib
from dataclasses import dataclass, field, fields, replace
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from sheetgen.core import conv, ops, optimizers, presets, recurrent, schedules
from sheetgen.core import data as datasets
from sheetgen.core import network as general
from sheetgen.core.exercise import MAX_DRAWS, ExerciseSpec
from sheetgen.core.model import Setup
from sheetgen.core.network import NetworkSetup, NetworkSpec
from sheetgen.core.template import format_rate, sheet_name, template
from sheetgen.core.training import Training, check_fits, check_gradient_size, check_size
from sheetgen.errors import ConfigError

FORMATS = ("xlsx", "ods")
DEFAULT_LEARNING_RATES = (0.1, 0.2, 0.5, 0.8, 1.0, 2.0)
DEFAULT_ITERATIONS = 22  # the reference table's row count
# Rows per sheet: 1,048,576 in Excel and in LibreOffice Calc (since 7.4, the .ods limit too).
ROW_LIMITS = {"xlsx": 1_048_576, "ods": 1_048_576}
EXAMPLES = ("reference", "biased", "mazur-trained-biases", "era", "deep", "softmax", "softmax-per-layer",
            "xor", "linear-sgd", "linear-momentum", "linear-adam", "conv-digits", "conv-edge", "rnn-sum",
            "rnn-sine", "lstm-memory", "gru-memory")
# Data files an example reads, shipped beside it (init-config --output writes them beside FILE).
EXAMPLE_FILES = {"conv-digits": ("conv-digits.csv",)}
# The summary chart has one series per rate; Excel's charts hold at most 255 series.
MAX_LEARNING_RATES = 255
MAX_NAME_BYTES = 255  # a file name's length on Linux, macOS and Windows file systems


@dataclass(frozen=True)
class Config:
    # The reference network's `Setup`, or a `NetworkSetup` when `network` (the [network] table)
    # describes another network.
    setup: Setup | NetworkSetup = field(default_factory=Setup)
    learning_rates: tuple[float, ...] = DEFAULT_LEARNING_RATES
    iterations: int = DEFAULT_ITERATIONS
    formats: tuple[str, ...] = FORMATS
    output_dir: Path = Path("outputs")
    basename: str = "BackPropagation"
    reference_errata: bool = False
    plots: bool = True
    network: NetworkSpec | None = None   # None: the reference network, from `setup`
    data: datasets.DataSpec | None = None   # [data]: samples and batches (with `optimizer`)
    optimizer: optimizers.OptimizerSpec | None = None
    exercise: ExerciseSpec | None = None    # [class]: a variant per student (sheetgen class)

    def output_path(self, fmt: str) -> Path:
        return self.output_dir / f"{self.basename}.{fmt}"

    def training(self) -> Training:
        """The model every later part reads (`build`)."""
        return build(self)


def build(config: Config) -> Training:
    """The `Training` of `config`, built once per settings (`_build`)."""
    try:
        hash(config)
    except TypeError:  # a list given where the config keeps a tuple: not cached
        return _build(config)
    return _build_cached(config)


def _build(config: Config) -> Training:
    """The one place settings become the `Training` that layout, writers, plots, report and
    audit read: the network (the reference's from `setup` when no [network] table gives one),
    its values, the data set and the optimizer, with the run settings."""
    if config.network is None:
        spec, values = presets.reference_spec(config.setup)
    else:
        spec, values = config.network, config.setup.values()
    return presets.training(spec, values, data=config.data, optimizer=config.optimizer,
                            biases_shown=config.setup.biases,
                            reference_errata=config.reference_errata,
                            learning_rates=tuple(config.learning_rates), iterations=config.iterations,
                            formats=tuple(config.formats), output_dir=Path(config.output_dir),
                            basename=config.basename, plots=config.plots)


_build_cached = lru_cache(maxsize=16)(_build)


# --- the TOML file ----------------------------------------------------------------------------

# Top-level keys of a config file; the tables hold exactly the names of `Setup`'s fields.
TABLES = {
    "inputs": ("i1", "i2"),
    "targets": ("t1", "t2"),
    "weights": ("w1", "w2", "w3", "w4", "w5", "w6", "w7", "w8"),
    "biases": ("b1", "b2", "train"),
}
_TABLE_OF = {name: table for table, names in TABLES.items() for name in names}
SCALARS = ("learning_rates", "iterations", "formats", "output_dir", "basename", "reference_errata",
           "plots")
KEYS = SCALARS + tuple(TABLES) + ("network", "data", "optimizer", "schedule", "class")
CLASS_KEYS = ("seed", "blank", "self_check", "learning_rate", "marks", "inputs", "targets", "weights",
              "biases", "decimals", "slip_rows", "max_draws")
DATA_KEYS = ("samples", "file", "batch", "reduction", "shuffle", "drop_last", "order")
ORDERS = ("epochs", "cycle")
OPTIMIZER_KEYS = ("name", "beta", "beta1", "beta2", "betas", "epsilon", "eps", "bias_correction",
                  "momentum", "dampening", "nesterov", "alpha", "centered", "amsgrad",
                  "weight_decay", "initial_state", "check_gradients", "h")
SCHEDULE_KEYS = ("name", "step_size", "gamma", "T_max", "eta_min", "start_factor", "end_factor",
                 "total_iters", "total_steps", "pct_start", "div_factor", "final_div_factor")
# The [network] table's keys and their defaults (the reference network).
NETWORK_KEYS = ("layers", "activations", *ops.activation_params(), "loss", "biases", "train_biases",
                "seed", "gradients", "init", "bias_init", "init_dtype")


def example_files(name: str) -> dict[str, str]:
    """The data files an example reads (file name -> text)."""
    folder = resources.files("sheetgen.examples")
    return {f: (folder / f).read_text("utf-8") for f in EXAMPLE_FILES.get(name, ())}


def example_text(name: str) -> str:
    """The text of a shipped example config (`EXAMPLES`): 'reference' holds the defaults."""
    if name not in EXAMPLES:
        raise ConfigError(f"no example named {name!r}; choose from {', '.join(EXAMPLES)}")
    return (resources.files("sheetgen.examples") / f"{name}.toml").read_text("utf-8")


MAX_CONFIG_BYTES = 1024**2  # an experiment is a few hundred bytes; this bounds what is read


class _Underflow(float):
    """A TOML float that rounds to 0 although its digits are not all 0 (1e-400)."""

    text = ""


def _parse_float(text: str) -> float:
    value = float(text)
    if value == 0 and any(c in "123456789" for c in text.lower().partition("e")[0]):
        underflow = _Underflow(value)
        underflow.text = text
        return underflow
    return value


def read_file(path: Path) -> dict[str, Any]:
    """The parsed TOML of a config file, or ConfigError saying why not. Only a regular file of at
    most MAX_CONFIG_BYTES is read (a FIFO would block, /dev/zero never ends); a UTF-8 byte-order
    mark is skipped."""
    path = Path(path)
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; fstat then refuses it.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder, not a config file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise ConfigError(f"{path}: is a folder, not a config file")
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError(f"{path}: not a regular file ({_file_kind(info.st_mode)}), not a config file")
        if info.st_size > MAX_CONFIG_BYTES:
            raise ConfigError(f"{path}: too large for a config file ({info.st_size:,} bytes; "
                              f"at most {MAX_CONFIG_BYTES:,})")
        with os.fdopen(fd, "rb", closefd=False) as stream:
            data = stream.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if len(data) > MAX_CONFIG_BYTES:  # it grew while being read
        raise ConfigError(f"{path}: too large for a config file (over {MAX_CONFIG_BYTES:,} bytes)")
    try:
        text = data.decode("utf-8-sig")  # a byte-order mark some editors write is not TOML
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a text file (not UTF-8)") from None
    try:
        return tomllib.loads(text, parse_float=_parse_float)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: not valid TOML for sheetgen: arrays or tables nested "
                          "too deeply") from None


def _file_kind(mode: int) -> str:
    kinds = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"),
             (stat.S_ISSOCK, "a socket"))
    return next((name for test, name in kinds if test(mode)), "a special file")


def from_file(path: Path, base: Config | None = None) -> Config:
    """`base` (default: the defaults) with every setting the file gives."""
    return from_mapping(read_file(path), str(path), base)


def from_mapping(data: dict[str, Any], source: str = "config", base: Config | None = None) -> Config:
    """Settings from parsed TOML over `base`; ConfigError names `source` and the field."""
    base = base or Config()

    def fail(key: str, message: str) -> ConfigError:
        return ConfigError(f"{source}: {key}: {message}")

    _unknown_keys(data, KEYS, "", fail)
    changes: dict[str, Any] = {}
    if "class" in data:
        changes["exercise"] = _exercise(data["class"], fail)
        data = {k: v for k, v in data.items() if k != "class"}
    if "learning_rates" in data:
        rates = data["learning_rates"]
        if not isinstance(rates, list):
            raise fail("learning_rates", f"must be a list of numbers, got {_kind(rates)}")
        changes["learning_rates"] = tuple(
            _number(v, f"learning_rates[{i}]", fail) for i, v in enumerate(rates))
    if "iterations" in data:
        value = data["iterations"]
        if isinstance(value, bool) or not isinstance(value, int):
            raise fail("iterations", f"must be a whole number, got {_kind(value)}")
        changes["iterations"] = value
    if "formats" in data:
        changes["formats"] = _formats(data["formats"], fail)
    for key in ("output_dir", "basename"):
        if key in data:
            value = data[key]
            if not isinstance(value, str) or not value.strip():
                raise fail(key, f"must be a non-empty string, got {_kind(value)}")
            changes[key] = Path(value) if key == "output_dir" else value
    for key in ("reference_errata", "plots"):
        if key in data:
            if not isinstance(data[key], bool):
                raise fail(key, f"must be true or false, got {_kind(data[key])}")
            changes[key] = data[key]

    if isinstance(data.get("network"), dict) and "cell" in data["network"]:
        changes.update(_recurrent(data, source, fail))
        return replace(base, **changes)
    network_table = data.get("network")
    if isinstance(network_table, dict) and conv.is_layer_list(network_table.get("layers")):
        if "data" not in data:  # image layers train on images, which only [data] holds
            raise fail("data", "image layers need a [data] table with the images (samples or file)")
    if "data" in data or "optimizer" in data or "schedule" in data:
        # Training on samples: the [network] table's network, or the reference one.
        data = {**data, "network": data.get("network", {})}
    if "network" in data:
        training = "data" in data or "optimizer" in data or "schedule" in data
        changes["network"], changes["setup"] = _network(data, fail, training)
        if training:
            changes["data"], changes["optimizer"], changes["setup"] = _training(
                data, source, changes["network"], changes["setup"], fail)
            return override(replace(base, **changes))
        return replace(base, **changes)
    setup: dict[str, Any] = {}
    for table, names in TABLES.items():
        if table not in data:
            continue
        values = data[table]
        if not isinstance(values, dict):
            raise fail(table, f"must be a table such as {{ {names[0]} = 0.5 }}, got {_kind(values)}")
        _unknown_keys(values, names, f"{table}.", fail)
        for name, value in values.items():
            if name != "train":
                setup[name] = _number(value, f"{table}.{name}", fail)
    if "biases" in data:
        biases = data["biases"]
        for name in ("b1", "b2"):
            if name not in biases:
                raise fail("biases", f"{name} is missing (give both b1 and b2, or leave biases out)")
        train = biases.get("train", False)
        if not isinstance(train, bool):
            raise fail("biases.train", f"must be true or false, got {_kind(train)}")
        setup["biases"] = "trained" if train else "fixed"
    if setup:
        changes["setup"] = replace(base.setup, **setup)
    return replace(base, **changes)


def _exercise(table: Any, fail) -> ExerciseSpec:
    """The [class] table: the variants' seed and ranges, the blank columns, the marks."""
    if not isinstance(table, dict):
        raise fail("class", f"must be a table ([class] with blank = [\"gradients\"]), got {_kind(table)}")
    _unknown_keys(table, CLASS_KEYS, "class.", fail)
    values: dict[str, Any] = {}
    for key, low, high in (("seed", 0, 2**63 - 1), ("decimals", 0, 12), ("slip_rows", 1, 1000),
                           ("max_draws", 1, MAX_DRAWS)):
        if key in table:
            value = table[key]
            if isinstance(value, bool) or not isinstance(value, int):
                raise fail(f"class.{key}", f"must be a whole number, got {_kind(value)}")
            if not low <= value <= high:
                raise fail(f"class.{key}", f"must be from {low:,} to {high:,}, got {_count(value)}")
            values[key] = value
    if "blank" in table:
        blank = table["blank"]
        if isinstance(blank, str):
            blank = [blank]
        if not isinstance(blank, list) or not blank or not all(isinstance(b, str) and b for b in blank):
            raise fail("class.blank", f'must be a non-empty list of names such as ["gradients", '
                                      f'"updates"] or ["dE_dw1", "a_o2"], got {_kind(blank)}')
        if len(set(blank)) != len(blank):
            raise fail("class.blank", "a name is listed twice")
        values["blank"] = tuple(blank)
    if "self_check" in table:
        if not isinstance(table["self_check"], bool):
            raise fail("class.self_check", f"must be true or false, got {_kind(table['self_check'])}")
        values["self_check"] = table["self_check"]
    if "learning_rate" in table:
        values["learning_rate"] = _number(table["learning_rate"], "class.learning_rate", fail)
    for key in ("inputs", "targets", "weights", "biases"):
        if key in table:
            pair = table[key]
            if not isinstance(pair, list) or len(pair) != 2:
                raise fail(f"class.{key}", f"must be a range [low, high], got {_kind(pair)}")
            low, high = (_number(v, f"class.{key}", fail) for v in pair)
            if not low < high:
                raise fail(f"class.{key}", f"the range's low end must be below its high end, "
                                           f"got [{low:g}, {high:g}]")
            values[key] = (low, high)
    if "marks" in table:
        marks = table["marks"]
        if not isinstance(marks, dict):
            raise fail("class.marks", f"must be a table such as {{ updates = 1, dE_dw5 = 2 }}, "
                                      f"got {_kind(marks)}")
        items = []
        for name, value in marks.items():
            number = _number(value, f"class.marks.{name}", fail)
            if number < 0:
                raise fail(f"class.marks.{name}", f"must not be negative, got {number:g}")
            items.append((name, number))
        values["marks"] = tuple(items)
    return ExerciseSpec(**values)


def _network(data: dict[str, Any], fail, training: bool = False) -> tuple[NetworkSpec, NetworkSetup]:
    """The [network] table and the initial values the other tables give it by name (`training`:
    the inputs and targets come from [data], so none is missing here)."""
    table = data["network"]
    if not isinstance(table, dict):
        raise fail("network", f"must be a table ([network] with layers = [2, 2, 2], ...), got {_kind(table)}")
    if conv.is_layer_list(table.get("layers")):
        return _image_network(data, fail)
    _unknown_keys(table, NETWORK_KEYS, "network.", fail)
    spec: dict[str, Any] = {}
    for key in ("layers", "activations"):
        if key in table:
            value = table[key]
            if not isinstance(value, list) or not value:
                raise fail(f"network.{key}", f"must be a non-empty list, got {_kind(value)}")
            spec[key] = tuple(value)
    if "layers" in spec and "activations" not in spec:
        spec["activations"] = ("sigmoid",) * (len(spec["layers"]) - 1)
    for key in ("loss", "biases", "gradients", "init", "bias_init", "init_dtype"):
        if key in table:
            if not isinstance(table[key], str):
                raise fail(f"network.{key}", f"must be a string, got {_kind(table[key])}")
            spec[key] = table[key]
    if "train_biases" in table:
        if not isinstance(table["train_biases"], bool):
            raise fail("network.train_biases", f"must be true or false, got {_kind(table['train_biases'])}")
        spec["train_biases"] = table["train_biases"]
    if "seed" in table:
        seed = table["seed"]
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise fail("network.seed", f"must be a whole number, got {_kind(seed)}")
        spec["seed"] = seed
    params = []  # the activations' constants (leaky_relu_slope, elu_alpha): the registry's
    for key in ops.activation_params():
        if key in table:
            value = _number(table[key], f"network.{key}", fail)
            if key in {f.name for f in fields(NetworkSpec)}:
                spec[key] = value
            else:
                params.append((key, value))
    if params:
        spec["activation_params"] = tuple(params)
    for key, value in spec.items():
        if key in ("layers", "activations"):
            kind = int if key == "layers" else str
            for k, item in enumerate(value):
                if isinstance(item, bool) or not isinstance(item, kind):
                    what = "a whole number" if kind is int else "a name such as \"sigmoid\""
                    raise fail(f"network.{key}", f"item {k + 1} must be {what}, got {_kind(item)}")
    net = NetworkSpec(**spec)
    optimizer = data.get("optimizer")
    try:
        net.check()
        if training and isinstance(optimizer, dict) and optimizer.get("check_gradients") is True:
            check_gradient_size(net)  # arithmetic, before deriving a network this deep
        general.check_columns(net)  # before the values: a network too big needs none of them
        check_fits(presets.training(net, {}))
    except ConfigError as exc:
        raise fail(*str(exc).split(": ", 1)) from None
    names = {"inputs": net.inputs, "targets": net.targets, "weights": net.weight_names,
             "biases": net.bias_names}
    given: dict[str, float] = {}
    for key, known in names.items():
        if key not in data:
            continue
        values = data[key]
        if not isinstance(values, dict):
            example = (known or ("b1",))[0]
            raise fail(key, f"must be a table such as {{ {example} = 0.5 }}, got {_kind(values)}")
        for name, value in values.items():
            if name not in known:
                what = {"inputs": "inputs", "targets": "targets", "weights": "weights",
                        "biases": "biases"}[key]
                have = f"{known[0]}…{known[-1]}" if known else "none: network.biases is \"none\""
                raise fail(f"{key}.{name}", f"the network has {len(known)} {what} ({have})")
            given[name] = _number(value, f"{key}.{name}", fail)
    if training:
        for name in net.inputs + net.targets:
            given.setdefault(name, general.REFERENCE_VALUES.get(name, 0.0))
    try:
        return net, general.initial_values(net, given)
    except ConfigError as exc:
        raise fail(*str(exc).split(": ", 1)) from None


def _image_network(data: dict[str, Any], fail) -> tuple[conv.ConvSpec, NetworkSetup]:
    """The [network] table of image layers (core/conv.py): kernels, biases and weights are given
    in their layer's table or drawn from the seed."""
    for key in ("inputs", "targets", "weights", "biases"):
        if key in data:
            raise fail(key, "not with image layers: give values in the layer tables "
                            "(kernels, biases, weights) and the images in [data]")
    try:
        spec = conv.spec_from_table(data["network"])
    except ConfigError as exc:
        raise fail(*str(exc).split(": ", 1)) from None
    mode = "none" if spec.biases == "none" else spec.biases + (" (trained)" if spec.train_biases else "")
    return spec, NetworkSetup(tuple(conv.initial_parameters(spec).items()), mode)


def _training(data: dict[str, Any], source: str, net: NetworkSpec, setup: NetworkSetup, fail):
    """The [data] and [optimizer] tables: the samples, the optimizer and the values a run starts
    from (parameters, optimizer state, hyper-parameters, data columns)."""
    table = data.get("data", {})
    if not isinstance(table, dict):
        raise fail("data", f"must be a table ([data] with samples = [...]), got {_kind(table)}")
    _unknown_keys(table, DATA_KEYS, "data.", fail)
    given = setup.values()
    try:
        opt = _optimizer(data.get("optimizer", {}), net, _plain, data.get("schedule"))
        batch = table.get("batch", "full")
        if batch == "full":
            batch = None
        elif isinstance(batch, bool) or not isinstance(batch, int):
            raise ConfigError(f'data.batch: must be "full" or a whole number, got {_kind(batch)}')

        def fits(n: int) -> None:  # a full batch of 10,000 samples is refused by its width
            if not isinstance(net, conv.ConvSpec):  # an image network counts its own (conv.check_fits)
                check_size(net, presets.training(net, {}), n if batch is None else min(batch, n), n,
                           len(optimizers.optimizer(opt).states), opt.check_gradients)

        if "samples" in table and "file" in table:
            raise ConfigError("data: give samples or file, not both")
        if "file" in table:
            name = table["file"]
            if isinstance(name, os.PathLike):  # the Python API gives paths too
                name = os.fspath(name)
            if not isinstance(name, str) or not name.strip():
                raise ConfigError(f"data.file: must be a file name, got {_kind(name)}")
            path = _data_path(name, Path(source).parent)
            if isinstance(net, conv.ConvSpec):
                os.close(datasets.open_regular(path, lambda m: ConfigError(f"data.file: {path}: {m}")))
                samples = conv.read_image_csv(path, net)
            else:
                header, rows = datasets.read_csv(path, columns=len(net.inputs + net.targets), fits=fits)
                samples = [dict(zip(header, row, strict=True)) for row in rows]
            where, origin = "data.file", name
        elif "samples" in table:
            samples = table["samples"]
            if not isinstance(samples, list) or not all(isinstance(x, dict) for x in samples):
                raise ConfigError("data.samples: must be a list of tables such as "
                                  "{ i1 = 0, i2 = 1, t1 = 1 }")
            if isinstance(net, conv.ConvSpec):
                samples = [conv.sample_names(net, sample, f"data.samples[{k}]")
                           for k, sample in enumerate(samples, start=1)]
            for k, sample in enumerate(samples, start=1):
                for name, value in sample.items():
                    _number(value, f"data.samples[{k}].{name}", _plain)
            where, origin = "data.samples", "inline"
        else:  # one sample: the inputs and targets tables
            samples = [{n: given[n] for n in net.inputs + net.targets}]
            where, origin = "inputs", "inputs and targets"
        if isinstance(samples, list) and samples:
            fits(len(samples))
        reduction = table.get("reduction", "mean")
        spec = datasets.data_spec(net, samples, batch, reduction, origin, where)
        if spec.batch is not None and spec.batch == spec.n:
            spec = replace(spec, batch=None)
        spec = _data_options(spec, table, net.seed, data.get("iterations", DEFAULT_ITERATIONS))
        opt = _optimizer(data.get("optimizer", {}), net, _plain, data.get("schedule"))
        if isinstance(net, conv.ConvSpec) and opt.check_gradients:
            raise ConfigError("optimizer.check_gradients: only for dense networks (an image network's "
                              "forward pass, written out per parameter, passes a formula's 8,192 "
                              "characters)")
    except ConfigError as exc:
        raise fail(*str(exc).split(": ", 1)) from None
    values = {n: v for n, v in given.items() if n not in net.inputs + net.targets}
    return spec, opt, NetworkSetup(tuple(values.items()), setup.biases)


RECURRENT_KEYS = ("cell", "inputs", "hidden", "output", "layers", "activations", "activation",
                  "loss", "bptt", "seed", "h0", "c0")


def _recurrent(data: dict[str, Any], source: str, fail) -> dict[str, Any]:
    """A [network] table with a `cell` (rnn, lstm, gru): the network, its sequences ([data]) and
    optimizer, and the values a run starts from."""
    table = data["network"]
    _unknown_keys(table, RECURRENT_KEYS, "network.", fail)
    try:
        values: dict[str, Any] = {}
        for key in ("cell", "output", "activation", "loss"):
            if key in table:
                if not isinstance(table[key], str):
                    raise ConfigError(f"network.{key}: must be a string, got {_kind(table[key])}")
                values[key] = table[key]
        for key, field_name in (("inputs", "inputs_per_step"), ("bptt", "bptt"), ("seed", "seed")):
            if key in table:
                if isinstance(table[key], bool) or not isinstance(table[key], int):
                    raise ConfigError(f"network.{key}: must be a whole number, got {_kind(table[key])}")
                values[field_name] = table[key]
        for key, field_name, kind in (("hidden", "hidden", int), ("layers", "dense", int),
                                      ("activations", "activations", str)):
            if key in table:
                items = table[key]
                if isinstance(items, int | str) and not isinstance(items, bool):
                    items = [items]
                if not isinstance(items, list) or not items or any(
                        isinstance(v, bool) or not isinstance(v, kind) for v in items):
                    what = "whole numbers" if kind is int else "names"
                    raise ConfigError(f"network.{key}: must be a non-empty list of {what}, "
                                      f"got {_kind(table[key])}")
                values[field_name] = tuple(items)
        if "layers" in table and "activations" not in table:
            values["activations"] = ("identity",) * len(values["dense"])
        output = values.get("output", "last")
        if output not in recurrent.OUTPUTS:  # before the samples, whose targets it shapes
            raise ConfigError(f"network.output: must be last (many-to-one) or every (many-to-many), "
                              f"got {output!r}")
        sheet = data.get("data")
        if not isinstance(sheet, dict) or not ({"samples", "file"} & set(sheet)):
            raise ConfigError("data: a recurrent network trains on sequences: give [data] with "
                              "samples = [{ x = [[0.1], [0.5]], y = [0.6] }, …] or file = \"….csv\"")
        _unknown_keys(sheet, DATA_KEYS, "data.", fail)
        if "samples" in sheet and "file" in sheet:
            raise ConfigError("data: give samples or file, not both")
        if "file" in sheet:
            name = sheet["file"]
            if not isinstance(name, str) or not name.strip():
                raise ConfigError(f"data.file: must be a file name, got {_kind(name)}")
            path = Path(name) if Path(name).is_absolute() else Path(source).parent / name
            header, rows = datasets.read_csv(path)
            samples = [dict(zip(header, row, strict=True)) for row in rows]
            where, origin = "data.file", name
        else:
            raw = sheet["samples"]
            if not isinstance(raw, list) or not raw or not all(isinstance(x, dict) for x in raw):
                raise ConfigError("data.samples: must be a list of tables such as "
                                  "{ x = [[0.1], [0.5]], y = [0.6] }")
            samples = []
            for k, sample in enumerate(raw, start=1):
                flat = recurrent.flatten_sample(sample, output, f"data.samples[{k}]")
                for name, value in flat.items():
                    _number(value, f"data.samples[{k}].{name}", _plain)
                samples.append(flat)
            where, origin = "data.samples", "inline"
        steps, width = recurrent.sequence_shape(samples[0])
        for k, sample in enumerate(samples[1:], start=2):
            if recurrent.sequence_shape(sample)[0] != steps:
                raise ConfigError(f"{where}: sample {k} has {recurrent.sequence_shape(sample)[0]} "
                                  f"steps, sample 1 has {steps}: every sequence needs the same length")
        values.setdefault("inputs_per_step", width)
        spec = recurrent.RecurrentSpec(steps=steps, **values)
        spec.check()
        batch = sheet.get("batch", "full")
        if batch == "full":
            batch = None
        elif isinstance(batch, bool) or not isinstance(batch, int):
            raise ConfigError(f'data.batch: must be "full" or a whole number, got {_kind(batch)}')
        opt = _optimizer(data.get("optimizer", {}), spec, _plain, data.get("schedule"))
        if opt.check_gradients:
            raise ConfigError("optimizer.check_gradients: not for a recurrent network (each "
                              "finite difference would write out every later step again)")
        n = len(samples)
        size = n if batch is None else batch
        if not 1 <= size <= n:
            raise ConfigError(f"data.batch: must be between 1 and the {n} samples, got {size}")
        spec_data = datasets.data_spec(spec, samples, batch, sheet.get("reduction", "mean"), origin, where)
        if spec_data.batch is not None and spec_data.batch == spec_data.n:
            spec_data = replace(spec_data, batch=None)
        spec_data = _data_options(spec_data, sheet, spec.seed, data.get("iterations", DEFAULT_ITERATIONS))
        recurrent.check_size(spec, size, n, len(optimizers.optimizer(opt).states),
                             short=spec_data.short_last)   # by arithmetic, before any work
        given: dict[str, float] = {}
        for key, names in (("weights", spec.weight_names), ("biases", spec.bias_names)):
            table_values = data.get(key, {})
            if not isinstance(table_values, dict):
                raise ConfigError(f"{key}: must be a table such as {{ {names[0]} = 0.5 }}")
            for name, value in table_values.items():
                if name not in names:
                    raise ConfigError(f"{key}.{name}: the network has no such {key[:-1]} "
                                      f"({names[0]}…{names[-1]})")
                given[name] = _number(value, f"{key}.{name}", _plain)
        for kind in ("h0", "c0"):
            if kind not in table:
                continue
            if kind == "c0" and spec.cell != "lstm":
                raise ConfigError("network.c0: only an lstm has a cell state")
            rows = table[kind]
            rows = rows if rows and isinstance(rows[0], list) else [rows]
            sizes = list(spec.hidden)
            if len(rows) != len(sizes) or any(not isinstance(r, list) or len(r) != size
                                              for r, size in zip(rows, sizes, strict=False)):
                raise ConfigError(f"network.{kind}: give one value per hidden unit "
                                  f"({list(spec.hidden)}), one list per layer when stacked")
            for layer, row in enumerate(rows, start=1):
                for j, value in enumerate(row, start=1):
                    given[spec.unit(kind[0], layer, 0, j)] = _number(value, f"network.{kind}", _plain)
    except ConfigError as exc:
        raise fail(*str(exc).split(": ", 1)) from None
    start = recurrent.draw_values(spec, given)
    return {"network": spec, "data": spec_data, "optimizer": opt,
            "setup": NetworkSetup(tuple(start.items()), "per_neuron (trained)")}


def _data_options(spec: datasets.DataSpec, table: dict, seed: int, iterations: int) -> datasets.DataSpec:
    """The [data] table's shuffle, drop_last and order, the seed of the shuffles and the epochs."""
    for key in ("shuffle", "drop_last"):
        if key in table:
            if not isinstance(table[key], bool):
                raise ConfigError(f"data.{key}: must be true or false, got {_kind(table[key])}")
            spec = replace(spec, **{key: table[key]})
    if "order" in table:
        if table["order"] not in ORDERS:
            raise ConfigError(f"data.order: must be {' or '.join(ORDERS)}, got {_kind(table['order'])}")
        spec = replace(spec, order=table["order"])
    if spec.order == "cycle" and (spec.shuffle or spec.drop_last):
        raise ConfigError("data.order: cycle takes the samples in order, wrapping around: "
                          "without shuffle or drop_last")
    if spec.drop_last and spec.batch is not None and spec.n // spec.batch == 0:
        raise ConfigError("data.drop_last: no full batch: every step would be dropped")
    spec = replace(spec, seed=seed)
    return with_epochs(spec, iterations)  # again in `override`


def _data_path(name: str, folder: Path) -> Path:
    """`data.file`: absolute, or relative to the config file's folder and inside it (no `..`, no
    linked folder leading out of it); the file itself is never a symbolic link (read_csv)."""
    if "\0" in name:
        raise ConfigError("data.file: must not contain a NUL character")
    given = Path(name)
    if given.is_absolute():
        return given
    if ".." in given.parts:
        raise ConfigError(f"data.file: {shorten(name, 80)}: must not leave the config file's "
                          "folder (no ..); give an absolute path for a file elsewhere")
    path = folder / given
    try:
        inside = path.parent.resolve().is_relative_to(folder.resolve())
    except (OSError, RuntimeError):
        inside = False
    if not inside:
        raise ConfigError(f"data.file: {shorten(name, 80)}: a linked folder leads out of the config "
                          "file's folder; give an absolute path for a file elsewhere")
    return path


def _plain(key: str, message: str) -> ConfigError:
    return ConfigError(f"{key}: {message}")


def _named_table(table: Any, key: str, known, example: str, fail) -> dict[str, Any]:
    """The start of an [optimizer] or [schedule] table: a table, known keys, a string name."""
    if not isinstance(table, dict):
        raise ConfigError(f'{key}: must be a table ([{key}] with name = "{example}"), got {_kind(table)}')
    _unknown_keys(table, known, f"{key}.", fail)
    values: dict[str, Any] = {}
    if "name" in table:
        if not isinstance(table["name"], str):
            raise ConfigError(f"{key}.name: must be a string, got {_kind(table['name'])}")
        values["name"] = table["name"]
    return values


def _optimizer(table: Any, net: NetworkSpec, fail, schedule: Any = None) -> optimizers.OptimizerSpec:
    values = _named_table(table, "optimizer", OPTIMIZER_KEYS, "adam", fail)
    # torch's names (eps, betas) and the older ones (epsilon, beta1, beta2; rmsprop's beta is α).
    table = dict(table)
    aliases = [("eps", "epsilon")]
    if values.get("name") == "rmsprop":
        aliases.append(("beta", "alpha"))
    for new, old in aliases:
        if new in table and old in table:
            raise ConfigError(f"optimizer.{new}: give {new} or {old}, not both")
        if new in table:
            table[old] = table.pop(new)
    if "betas" in table:
        betas = table.pop("betas")
        if "beta1" in table or "beta2" in table:
            raise ConfigError("optimizer.betas: give betas or beta1 and beta2, not both")
        if not isinstance(betas, list) or len(betas) != 2:
            raise ConfigError(f"optimizer.betas: must be two numbers [β1, β2], got {_kind(betas)}")
        table["beta1"], table["beta2"] = betas
    for key in ("beta", "beta1", "beta2", "epsilon", "h", "momentum", "dampening", "alpha",
                "weight_decay"):
        if key in table:
            values[key] = _number(table[key], f"optimizer.{key}", fail)
    for key in ("bias_correction", "check_gradients", "nesterov", "centered", "amsgrad"):
        if key in table:
            if not isinstance(table[key], bool):
                raise ConfigError(f"optimizer.{key}: must be true or false, got {_kind(table[key])}")
            values[key] = table[key]
    if schedule is not None:
        values["schedule"] = _schedule(schedule, fail)
    state = table.get("initial_state", {})
    if not isinstance(state, dict):
        raise ConfigError(f"optimizer.initial_state: must be a table such as {{ m = {{ w1 = 0.0 }} }}, "
                          f"got {_kind(state)}")
    items = []
    for name, per in state.items():
        if not isinstance(per, dict):
            raise ConfigError(f"optimizer.initial_state.{name}: must be a table such as {{ w1 = 0.0 }}, "
                              f"got {_kind(per)}")
        for parameter, value in per.items():
            items.append((f"{name}_{parameter}",
                          _number(value, f"optimizer.initial_state.{name}.{parameter}", fail)))
    opt = optimizers.OptimizerSpec(**values, initial_state=tuple(items))
    trained = spec_trained(net)
    optimizers.optimizer(opt).check(trained)
    return opt


def _schedule(table: Any, fail) -> schedules.ScheduleSpec:
    values = _named_table(table, "schedule", SCHEDULE_KEYS, "cosine", fail)
    for key in ("step_size", "T_max", "total_iters", "total_steps"):
        if key in table:
            if isinstance(table[key], bool) or not isinstance(table[key], int):
                raise ConfigError(f"schedule.{key}: must be a whole number, got {_kind(table[key])}")
            values[key] = table[key]
    for key in ("gamma", "eta_min", "start_factor", "end_factor", "pct_start", "div_factor",
                "final_div_factor"):
        if key in table:
            values[key] = _number(table[key], f"schedule.{key}", fail)
    return schedules.ScheduleSpec(**values)


def with_epochs(data: datasets.DataSpec, iterations: Any) -> datasets.DataSpec:
    """`data` with enough epochs' shuffled orders stored for `iterations` steps."""
    if not data.shuffle or isinstance(iterations, bool) or not isinstance(iterations, int):
        return data
    return replace(data, epochs=max(1, math.ceil(iterations / data.steps_per_epoch())))


def spec_trained(net: NetworkSpec) -> tuple[str, ...]:
    """The parameters training moves: the weights, and the biases when they are trained."""
    return net.weight_names + (net.bias_names if net.train_biases and net.biases != "none" else ())


def override(config: Config, **flags: Any) -> Config:
    """`config` with the command-line values that were given (None: not given)."""
    config = replace(config, **{k: v for k, v in flags.items() if v is not None})
    if config.data is not None and config.data.shuffle:
        data = with_epochs(config.data, config.iterations)
        if data != config.data:  # the shuffled orders stored follow the iterations
            config = replace(config, data=data)
    return config


def load(path: Path | None = None, **flags: Any) -> tuple[Config, list[str]]:
    """The defaults, then the file at `path` (if any), then the flags given (not None), checked:
    the settings and their warnings, or ConfigError naming the file when the fault is in it."""
    data = read_file(path) if path is not None else {}
    config = override(from_mapping(data, str(path)), **flags)
    try:
        return config, validate(config)
    except ConfigError as exc:
        key = _TABLE_OF.get(exc.field, exc.field.split(".")[0])
        if key in data and flags.get(exc.field) is None:
            raise ConfigError(f"{path}: {exc}") from None
        raise


def _unknown_keys(data: dict, known: tuple[str, ...], prefix: str, fail) -> None:
    for key in data:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else f"; known keys: {', '.join(known)}"
            raise fail(f"{prefix}{key}", f"unknown key{hint}")


def shorten(text: str, limit: int = 40) -> str:
    """`text` as echoed in a message: at most about `limit` characters."""
    return text if len(text) <= limit else f"{text[:limit - 12]}... ({len(text):,} characters)"


def _count(n: int) -> str:
    digits = len(str(abs(n)))
    return f"{n:,}" if digits <= 15 else f"a number of {digits:,} digits"


def _kind(value: Any) -> str:
    names = {bool: "true/false", int: "a whole number", float: "a number", str: "a string",
             list: "a list", dict: "a table"}
    kind = names.get(type(value)) or ("a number" if isinstance(value, float) else type(value).__name__)
    shown = repr(value)
    return f"{kind} {shown}" if len(shown) <= 40 else kind


def _number(value: Any, key: str, fail) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise fail(key, f"must be a number, got {_kind(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise fail(key, f"must be a finite number, got {value}")
    if isinstance(value, _Underflow):
        raise fail(key, f"{shorten(value.text)} underflows to 0 (the smallest float is about 5e-324)")
    try:
        return float(value)
    except OverflowError:  # a TOML integer beyond float range
        raise fail(key, "number too large") from None


def _formats(value: Any, fail) -> tuple[str, ...]:
    if value == "both":
        return FORMATS
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise fail("formats", f'must be a non-empty list such as ["xlsx", "ods"], got {_kind(value)}')
    for item in items:
        if item not in FORMATS:
            raise fail("formats", f"choose from {', '.join(FORMATS)}, not {item!r}")
    if len(set(items)) != len(items):
        raise fail("formats", "a format is listed twice")
    return tuple(items)


# --- checks on the finished settings ---------------------------------------------------------

def max_iterations(fmt: str) -> int:
    """Table rows that fit below the header in one sheet of format `fmt`."""
    return ROW_LIMITS[fmt] - (template()["table"]["first_row"] - 1)


def validate(config: Config) -> list[str]:
    """Raise ConfigError for the first unusable setting; return one-line warnings otherwise.
    Touches no file; the output folder is only looked at."""
    if not config.formats:
        raise ConfigError("formats: no format chosen")
    for fmt in config.formats:
        if fmt not in FORMATS:
            raise ConfigError(f"formats: choose from {', '.join(FORMATS)}, not {fmt!r}")
    if isinstance(config.iterations, bool) or not isinstance(config.iterations, int):
        raise ConfigError(f"iterations: must be a whole number, got {config.iterations!r}")
    if config.iterations < 1:
        raise ConfigError(f"iterations: must be at least 1, got {_count(config.iterations)}")
    for fmt in config.formats:
        limit = max_iterations(fmt)
        if config.iterations > limit:
            raise ConfigError(f"iterations: at most {limit:,} fit in an .{fmt} sheet "
                              f"({ROW_LIMITS[fmt]:,} rows), got {_count(config.iterations)}")

    rates = config.learning_rates
    if not rates:
        raise ConfigError("learning_rates: the list is empty")
    if len(rates) > MAX_LEARNING_RATES:
        raise ConfigError(f"learning_rates: at most {MAX_LEARNING_RATES} (one series each in the "
                          f"summary chart, which holds {MAX_LEARNING_RATES}), got {len(rates):,}")
    names: dict[str, float] = {}
    seen: set[float] = set()
    for rate in rates:
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not math.isfinite(rate):
            raise ConfigError(f"learning_rates: {shorten(repr(rate))} is not a finite number")
        if rate in seen:
            raise ConfigError(f"learning_rates: {rate:g} is listed twice")
        seen.add(rate)
        name = sheet_name(rate)
        if name.lower() in names:  # sheet names are case-insensitive in both formats
            raise ConfigError(f"learning_rates: {names[name.lower()]:g} and {rate:g} are the same "
                              f"rate (both would be sheet {name!r})")
        names[name.lower()] = rate

    if config.network is not None:
        _validate_network(config)
    if config.reference_errata:
        training = build(config)
        if training.design != "reference":
            raise ConfigError("reference_errata: only for the reference network (2-2-2, sigmoid, "
                              "half_sse, no biases or one per layer, no [data])")
        if training.gradients != "expanded":
            raise ConfigError('reference_errata: the reference\'s mistakes are in its expanded '
                              'gradients (network.gradients = "expanded")')
    for f in fields(config.setup) if config.network is None else ():
        value = getattr(config.setup, f.name)
        if f.name == "biases":
            if value not in ("none", "fixed", "trained"):
                raise ConfigError(f"biases: must be none, fixed or trained, got {value!r}")
        elif isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ConfigError(f"{f.name}: must be a finite number, got {value!r}")

    basename = config.basename
    if (not isinstance(basename, str) or not basename.strip() or basename in (".", "..")
            or any(c in basename for c in '/\\') or any(ord(c) < 32 or ord(c) == 127 for c in basename)):
        raise ConfigError(f"basename: must be a plain file name without folders or control "
                          f"characters, got {shorten(repr(basename))}")
    names = [f"{basename}.{fmt}" for fmt in config.formats]
    if config.plots:  # the plots' names are longer: checked before the first file is written
        names += [f"{basename}_loss_lr_{format_rate(rate)}.png" for rate in rates] + \
            [f"{basename}_loss_all.png"]
    longest = max(names, key=lambda name: len(name.encode("utf-8", "surrogateescape")))
    size = len(longest.encode("utf-8", "surrogateescape"))
    if size > MAX_NAME_BYTES:
        which = "with its extension" if longest.endswith(tuple(FORMATS)) else f"in {longest[len(basename):]}"
        raise ConfigError(f"basename: too long: {size} bytes {which}, a file name has at most "
                          f"{MAX_NAME_BYTES}")
    if "\0" in str(config.output_dir):
        raise ConfigError("output_dir: must not contain a NUL character")
    check_output_dir(config.output_dir)
    if config.plots:  # the PNG plots go to DIR/plots: a file there must stop the run before it writes
        check_output_dir(Path(config.output_dir) / "plots")

    warnings = []
    odd = [r for r in rates if r <= 0]
    if odd:
        listed = ", ".join(f"{r:g}" for r in odd)
        warnings.append(f"warning: learning rate {listed} is not positive: the weights will not "
                        "move down the gradient")
    return warnings


def _validate_network(config: Config) -> None:
    net = config.network
    net.check()
    values = config.setup.values()
    for name, value in values.items():
        if name.startswith("data_") and config.data is not None:
            continue  # a data column, checked when read
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ConfigError(f"{name}: must be a finite number, got {value!r}")
    if config.data is not None:
        targets = {t: config.data.column(t) for t in net.targets}
        samples = [{t: column[k] for t, column in targets.items()} for k in range(config.data.n)]
    else:
        samples = [values]
    for k, values in enumerate(samples if net.loss in ("cross_entropy", "binary_cross_entropy") else (),
                               start=1):
        for t in net.targets:
            if not 0 <= values[t] <= 1:
                raise ConfigError(f"{_target_key(config.data, k, t)}: {net.loss} needs targets in "
                                  f"[0, 1], got {values[t]:g}")
        total = sum(values[t] for t in net.targets)
        if net.activations[-1] == "softmax" and abs(total - 1) > 1e-9:
            raise ConfigError(f"targets: softmax with cross_entropy needs targets summing to 1 "
                              f"(δ = a − t), got {total:.10g}")
    if isinstance(net, conv.ConvSpec):  # by arithmetic, before the table is derived
        data, opt = config.data, config.optimizer
        net.check_fits(data.batch_size, data.n, len(optimizers.optimizer(opt).states),
                       opt.check_gradients)
    elif isinstance(net, recurrent.RecurrentSpec):  # by arithmetic, before anything is compiled
        states = len(optimizers.optimizer(config.optimizer).states)
        recurrent.check_size(net, config.data.batch_size, config.data.n, states,
                             short=config.data.short_last)
    else:
        general.check_columns(net)
    sched = config.optimizer.schedule if config.optimizer is not None else None
    if sched is not None and sched.name == "one_cycle" and sched.total_steps < config.iterations:
        raise ConfigError(f"schedule.total_steps: {sched.total_steps} is fewer than the "
                          f"{config.iterations} iterations (torch refuses a step past total_steps)")
    if config.data is not None and not config.data.order_fits():
        raise ConfigError(f"data.shuffle: {config.iterations:,} iterations need "
                          f"{config.data.epochs:,} shuffled orders of {config.data.n:,} samples, "
                          f"more than the {datasets.ORDER_LIMIT:,} rows of the data sheet")
    check_fits(build(config))


def _target_key(data: datasets.DataSpec | None, k: int, t: str) -> str:
    """Where target `t` of sample `k` was given: the targets table, a sample, a CSV file."""
    if data is None or data.source == "inputs and targets":
        return f"targets.{t}"
    if data.source == "inline":
        return f"data.samples[{k}].{t}"
    return f"data.file: {shorten(data.source, 80)}: sample {k:,}, column {t}"


def check_output_dir(path: Path) -> None:
    """ConfigError unless `path` is, or can be created as, a folder we may write into."""
    path = Path(path)
    probe = path
    while not probe.exists():
        if probe.is_symlink():
            raise ConfigError(f"output_dir: {probe} is a broken link")
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        problem = "is a file, not a folder" if probe == path else f"cannot be created: {probe} is a file"
        raise ConfigError(f"output_dir: {path} {problem}")
    if not os.access(probe, os.W_OK | os.X_OK):
        problem = "is not writable" if probe == path else f"cannot be created: {probe} is not writable"
        raise ConfigError(f"output_dir: {path} {problem}")
