"""Training on a data set with an optimizer: one table row per update step.

A `DataSpec` (the config's ``[data]`` table) holds the samples and how a step takes them: all of
them (``batch = "full"``), one at a time, cycling (``batch = 1``), or k at a time. Each sample of a
step gets its own forward and backward columns (suffixed ``_s1``, ``_s2``, … when a step has more
than one); the step's E_total and gradients combine them by ``reduction`` (mean or sum).

An `OptimizerSpec` (``[optimizer]``) turns the gradients into the update, with exactly these
equations (g the parameter's gradient in the row, t its step number):

    gd        w ← w − lr·g
    momentum  v ← β·v + (1 − β)·g                       w ← w − lr·v
    rmsprop   s ← β·s + (1 − β)·g²                      w ← w − lr·g / (√s + ε)
    adam      m ← β1·m + (1 − β1)·g;  s ← β2·s + (1 − β2)·g²
              w ← w − lr·m̂ / (√ŝ + ε),  m̂ = m / (1 − β1ᵗ),  ŝ = s / (1 − β2ᵗ)

A row holds the parameters and the optimizer state going into its step (the first row: the
initial values as plain numbers); the next row's state is computed from this row, and the next
row's parameters from this row's and the new state (``cur(v_w1)``). Without bias correction
m̂ = m and ŝ = s; with ε = 0 the ε term is left out of the formula.

The samples live on a ``data`` sheet: each sample column of the table picks its value there with
INDEX (``index(data_i1, k)``), so editing a sample recomputes everything.
"""

from __future__ import annotations

import ast
import copy
import csv
import errno
import io
import math
import os
import re
import stat
from array import array
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from sheetgen.core.cells import column_letter, ref
from sheetgen.core.expressions import Expression
from sheetgen.core.model import Network, Quantity
from sheetgen.core.network import (
    MAX_COLUMNS,
    MAX_FORMULA,
    ColumnSpec,
    NetworkSpec,
    _sum,
    derive_cached,
    spanner,
)
from sheetgen.errors import ConfigError

OPTIMIZERS = ("gd", "momentum", "rmsprop", "adam")
REDUCTIONS = ("mean", "sum")
# The state each optimizer keeps per parameter, and the hyper-parameters its formulas read.
STATES = {"gd": (), "momentum": ("v",), "rmsprop": ("s",), "adam": ("m", "s")}
HYPER = {"gd": (), "momentum": ("beta",), "rmsprop": ("beta", "epsilon"),
         "adam": ("beta1", "beta2", "epsilon")}
LABELS = {"beta": "β", "beta1": "β1", "beta2": "β2", "epsilon": "ε", "h": "h (gradient check)"}
PER_SAMPLE = ("targets", "inputs", "pre", "exp", "act", "errors", "delta")


@dataclass(frozen=True)
class DataSpec:
    """Samples, as columns named i1…, t1…, and how a step takes them."""

    names: tuple[str, ...]                   # inputs then targets, in the network's order
    rows: tuple[tuple[float, ...], ...]      # one per sample
    batch: int | None = None                 # None: the full batch
    reduction: str = "mean"
    source: str = "inline"                   # or the CSV file's name, for the settings block

    @property
    def n(self) -> int:
        return len(self.rows)

    @property
    def batch_size(self) -> int:
        return self.n if self.batch is None else self.batch

    @property
    def batch_text(self) -> str:
        return "full" if self.batch is None else str(self.batch)

    def column(self, name: str) -> tuple[float, ...]:
        k = self.names.index(name)
        return tuple(row[k] for row in self.rows)

    def steps_per_epoch(self) -> int:
        """Rows it takes to use every sample once (rounded up when k does not divide n)."""
        return math.ceil(self.n / self.batch_size)


@dataclass(frozen=True)
class OptimizerSpec:
    name: str = "gd"
    beta: float = 0.9
    beta1: float = 0.9
    beta2: float = 0.999
    epsilon: float = 1e-8
    bias_correction: bool = True
    initial_state: tuple[tuple[str, float], ...] = ()   # ("m_w1", 0.0), ...
    check_gradients: bool = False
    h: float = 1e-6

    @property
    def states(self) -> tuple[str, ...]:
        return STATES[self.name]

    @property
    def hyper(self) -> tuple[str, ...]:
        # With ε = 0 the formulas have no ε term, so no cell pretends to feed them.
        used = tuple(k for k in HYPER[self.name] if k != "epsilon" or self.epsilon != 0)
        return used + (("h",) if self.check_gradients else ())

    def describe(self) -> str:
        if self.name == "gd":
            return "gd"
        parts = [f"{LABELS[k]} = {getattr(self, k):g}" for k in HYPER[self.name]]
        if self.name == "adam":
            parts.append("bias correction" if self.bias_correction else "no bias correction")
        return f"{self.name} ({', '.join(parts)})"


# --- reading and checking --------------------------------------------------------------------

# The data sheet holds a title row and a header row, then one row per sample, down to the last
# row of a sheet (1,048,576 in both formats).
MAX_SAMPLES = 1_048_576 - 2
# Room per number in a CSV line: a float written out in full takes at most 24 characters.
CSV_CELL_BYTES = 32
CSV_CHUNK = 4 * 1024**2
ECHO = 80  # characters of a file's text shown in a message
_CSV_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_BLANK_LINE = re.compile(rb"^[ \t\r,]*$", re.M)


def echo(text: str, limit: int = ECHO) -> str:
    """`text` from a file as a message shows it: repr'd, cut to about `limit` characters."""
    return repr(text) if len(text) <= limit else f"{text[:limit - 12]!r}... ({len(text):,} characters)"


def csv_number(cell: str) -> float:
    """A CSV cell as a number, in the config's syntax: decimal digits, a point, an exponent;
    ValueError for anything else (1_0, 0x1, inf) and for a number that underflows to 0."""
    text = cell.strip()
    if not _CSV_NUMBER.fullmatch(text):
        raise ValueError("is not a number")
    value = float(text)
    if value == 0 and any(c in "123456789" for c in text.lower().partition("e")[0]):
        raise ValueError("underflows to 0 (the smallest float is about 5e-324)")
    if not math.isfinite(value):
        raise ValueError("is beyond the largest float (about 1.8e308)")
    return value


def read_csv(path: Path, key: str = "data.file", columns: int | None = None,
             fits=None) -> tuple[tuple[str, ...], list[tuple[float, ...]]]:
    """Header row of names, then one row of numbers per sample. Only a regular file, not a
    symbolic link, is opened (a FIFO would block, /dev/zero never ends); with `columns`, the
    names the network needs, its size and line count are bounded by what the data sheet holds
    before it is parsed; `fits(samples)`, if given, may refuse the count before parsing too."""
    path = Path(path)

    def fail(message: str) -> ConfigError:
        return ConfigError(f"{key}: {path}: {message}")

    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; fstat then refuses it.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        raise fail("file not found") from None
    except IsADirectoryError:
        raise fail("is a folder, not a CSV file") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise fail("is a symbolic link; give the file itself") from None
        raise fail(f"cannot read: {exc.strerror or exc}") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        if stat.S_ISDIR(info.st_mode):
            raise fail("is a folder, not a CSV file")
        kinds = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"),
                 (stat.S_ISSOCK, "a socket"))
        kind = next((name for test, name in kinds if test(info.st_mode)), "a special file")
        raise fail(f"not a regular file ({kind}), not a CSV file")
    with os.fdopen(fd, "rb") as stream:
        width = max(columns or 0, 1) * CSV_CELL_BYTES + 2
        if columns is not None and info.st_size > (MAX_SAMPLES + 1) * width:
            raise fail(f"too large for a data set of {columns} columns ({info.st_size:,} bytes; "
                       f"at most {(MAX_SAMPLES + 1) * width:,}: {MAX_SAMPLES:,} samples of at most "
                       f"{CSV_CELL_BYTES} characters a number)")
        lines = _count_lines(stream, fail, width if columns is not None else None)
        if lines > MAX_SAMPLES + 1:
            raise fail(f"{lines - 1:,} samples; at most {MAX_SAMPLES:,} samples fit on the data sheet")
        if fits is not None and lines > 1:
            fits(lines - 1)
        stream.seek(0)
        text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
        header, values = _parse_csv(text, fail)
    if header is None:
        raise fail("empty (give a header row i1,i2,…,t1,… and one row per sample)")
    if not values:
        raise fail("no rows (only the header row)")
    n = len(header)
    return header, [tuple(values[k:k + n]) for k in range(0, len(values), n)]


def _parse_csv(text, fail) -> tuple[tuple[str, ...] | None, array]:
    reader = csv.reader(text)
    header: tuple[str, ...] | None = None
    values = array("d")  # 8 bytes a number, however many samples
    try:
        for line in reader:
            if not any(c.strip() for c in line):
                continue
            if header is None:
                header = tuple(c.strip() for c in line)
                if len(set(header)) != len(header):
                    raise fail("a column name is repeated in the header row")
                continue
            r = reader.line_num
            if len(line) != len(header):
                raise fail(f"line {r} has {len(line)} values for {len(header)} columns")
            for name, cell in zip(header, line, strict=True):
                try:
                    values.append(csv_number(cell))
                except ValueError as exc:
                    raise fail(f"line {r}, column {echo(name, 40)[1:-1]}: {echo(cell.strip())} "
                               f"{exc}") from None
    except csv.Error as exc:
        raise fail(f"line {reader.line_num}: not CSV: {exc}") from None
    except UnicodeDecodeError:
        raise fail("not a text file (not UTF-8)") from None
    return header, values


def _count_lines(stream, fail, width: int | None) -> int:
    """Lines holding a value (the header's and the samples'), counted chunk by chunk at the
    regex engine's speed; with `width`, a longer line is refused before anything is parsed.
    Stops once there are more than the data sheet holds."""
    counted, seen, carry = 0, 0, b""
    while True:
        chunk = stream.read(CSV_CHUNK)
        text = carry + chunk
        cut = text.rfind(b"\n") + 1 if chunk else len(text)
        body, carry = text[:cut].removesuffix(b"\n"), text[cut:]
        if width is not None and len(carry) > width:
            at = seen + body.count(b"\n") + 2
            raise fail(f"line {at:,} is longer than a row of samples may "
                       f"be (over {width:,} characters)")
        if body or (not chunk and text):
            long = re.search(rb"[^\n]{%d}" % (width + 1), body) if width is not None else None
            if long:
                start, end = body.rfind(b"\n", 0, long.start()) + 1, body.find(b"\n", long.start())
                length = (len(body) if end < 0 else end) - start
                at = seen + body.count(b"\n", 0, start) + 1
                raise fail(f"line {at:,} is longer than a row of "
                           f"samples may be ({length:,} characters; at most {width:,})")
            lines = body.count(b"\n") + 1
            counted += lines - len(_BLANK_LINE.findall(body))
            seen += lines
        if not chunk or counted > MAX_SAMPLES + 1:
            return counted


def data_spec(spec: NetworkSpec, samples: list[dict[str, float]], batch: int | None,
              reduction: str, source: str, key: str = "data.samples") -> DataSpec:
    """The samples as the network's columns; ConfigError naming the key of a missing one."""
    names = spec.inputs + spec.targets
    if not samples:
        raise ConfigError(f"{key}: no samples")
    if len(samples) > MAX_SAMPLES:
        raise ConfigError(f"{key}: {len(samples):,} samples; at most {MAX_SAMPLES:,} samples fit on "
                          "the data sheet")
    rows = []
    for k, sample in enumerate(samples, start=1):
        for name in names:
            if name not in sample:
                what = "input" if name[0] == "i" else "target"
                raise ConfigError(f"{key}: sample {k} has no {what} {name} (the network needs "
                                  f"{', '.join(names)})")
        for name in sample:
            if name not in names:
                raise ConfigError(f"{key}: sample {k}: unknown column {echo(str(name))} (the network "
                                  f"has {', '.join(names)})")
        rows.append(tuple(float(sample[name]) for name in names))
    if reduction not in REDUCTIONS:
        raise ConfigError(f"data.reduction: must be mean or sum, got {reduction!r}")
    if batch is not None and not 1 <= batch <= len(rows):
        raise ConfigError(f"data.batch: {batch} is larger than the data set ({len(rows)} samples)"
                          if batch > len(rows) else f"data.batch: must be at least 1, got {batch}")
    return DataSpec(names, tuple(rows), batch, reduction, source)


def check_optimizer(opt: OptimizerSpec, parameters: tuple[str, ...]) -> None:
    if opt.name not in OPTIMIZERS:
        raise ConfigError(f"optimizer.name: unknown optimizer {opt.name!r}; choose from "
                          f"{', '.join(OPTIMIZERS)}")
    for key in ("beta", "beta1", "beta2"):
        value = getattr(opt, key)
        if not 0 <= value < 1:
            raise ConfigError(f"optimizer.{key}: must be in [0, 1), got {value:g}")
    if opt.epsilon < 0:
        raise ConfigError(f"optimizer.epsilon: must be 0 or more, got {opt.epsilon:g}")
    if not opt.h > 0:
        raise ConfigError(f"optimizer.h: must be more than 0, got {opt.h:g}")
    for name, value in opt.initial_state:
        state, parameter = name.split("_", 1)
        if state not in opt.states:
            have = ", ".join(opt.states) or "none"
            raise ConfigError(f"optimizer.initial_state.{state}: {opt.name} keeps no state {state!r} "
                              f"(its state: {have})")
        if parameter not in parameters:
            raise ConfigError(f"optimizer.initial_state.{state}.{parameter}: no trained parameter "
                              f"{parameter!r} (they are {', '.join(parameters)})")
        if state == "s" and value < 0:  # its square root is taken
            raise ConfigError(f"optimizer.initial_state.s.{parameter}: must be 0 or more (s is a mean "
                              f"of squared gradients), got {value:g}")


def trained_parameters(spec: NetworkSpec) -> tuple[str, ...]:
    trained = spec.train_biases and spec.biases != "none"
    return spec.weight_names + (spec.bias_names if trained else ())


# --- the equations ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Training:
    network: Network
    columns: tuple[ColumnSpec, ...]
    data_names: tuple[str, ...]     # parameters that are data-sheet columns (data_i1, ...)
    hyper: tuple[str, ...]          # parameter cells besides the learning rate
    updates: tuple[str, ...]        # the update equations, as text


def data_name(column: str) -> str:
    return "data_" + column


def _reduce(terms: list[str], reduction: str) -> str:
    total = ast.unparse(_sum([ast.parse(f"({t})", mode="eval").body for t in terms]))
    if reduction == "mean" and len(terms) > 1:
        return f"({total}) / {len(terms)}"
    return total


def _perturbed(name: str, forward: dict[str, Expression], order: list[str]) -> Expression:
    """E_total with `name` read as name + h: every quantity that depends on it written out (its
    cells hold the unperturbed values), sigmoid as ½ + ½·tanh(½x) so each appears once. The
    written-out parts are shared subtrees, turned into text once at the end: the text grows
    with every layer, and re-reading it at each step would cost its square."""
    expanded: dict[str, ast.expr] = {}
    shifted = ast.parse(f"({name} + h)", mode="eval").body
    for q in order:
        f = forward[q]
        if not (f.names & (set(expanded) | {name})):
            continue
        tree = _SigmoidAsTanh().visit(copy.deepcopy(f.tree))
        trees = {n: expanded[n] for n in f.names if n in expanded}
        expanded[q] = _Insert({**trees, name: shifted}).visit(tree)
    return Expression.parse(ast.unparse(ast.fix_missing_locations(expanded["E_total"])))


class _Insert(ast.NodeTransformer):
    """Names replaced by (shared) subtrees, which are not visited again."""

    def __init__(self, trees: dict[str, ast.expr]):
        self.trees = trees

    def visit_Name(self, node: ast.Name) -> ast.expr:
        return self.trees.get(node.id, node)


class _SigmoidAsTanh(ast.NodeTransformer):
    def visit_Call(self, node: ast.Call) -> ast.expr:
        self.generic_visit(node)
        if isinstance(node.func, ast.Name) and node.func.id == "sigmoid":
            x = ast.unparse(node.args[0])
            return ast.parse(f"0.5 + 0.5 * tanh(0.5 * ({x}))", mode="eval").body
        return node


# The least a name costs in a formula: a cell reference with a 7-digit row (A1048576), as the
# size check measures; a name inside SUM or SUMPRODUCT may share a range with its neighbours.
REFERENCE_CHARS = 8


# What an activation adds around its argument in a written-out formula, at least:
# 0.5+0.5*TANH(0.5*(x)), TANH(x), MAX(0,x), IF(x>0,x,0.01*x) (x three times), x.
_ACTIVATION_CHARS = {"sigmoid": (1, 20), "tanh": (1, 6), "relu": (1, 6), "leaky_relu": (3, 9),
                     "identity": (1, 0), "softmax": (1, 0)}


def least_check_chars(spec: NetworkSpec, samples: int = 1) -> tuple[int, str]:
    """A lower bound on the longest gradient-check formula, by arithmetic on the layer sizes
    alone (nothing derived or listed): perturbing a weight into layer l writes out its neuron,
    then every neuron of every later layer, each with all its terms (once a term is an
    expression, no range can stand for its neighbours: each weight and source is a reference
    of at least REFERENCE_CHARS)."""
    layers, biased = spec.layers, spec.biases != "none"
    ref = REFERENCE_CHARS
    longest, first, worst = 0, 1, "w1"
    for start in range(1, len(layers)):
        written = 0   # the least length of one dependent activation of the previous layer
        dependent = 0
        for layer in range(start, len(layers)):
            fan_in = layers[layer - 1]
            terms = fan_in * (2 * ref + 2) + ref * biased
            if layer == start:   # one neuron, its weight as (w+h)
                z, dependent = terms + 2 * ref + 3 - ref, 1
            else:
                z, dependent = terms - dependent * ref + dependent * written, layers[layer]
            copies, extra = _ACTIVATION_CHARS[spec.activations[layer - 1]]
            written = copies * z + extra
        if dependent * written > longest:
            longest, worst = dependent * written, f"w{first}"
        first += layers[start - 1] * layers[start]  # the next layer's first weight, by arithmetic
    return samples * longest + len("(()-E)/h"), worst


def check_gradient_size(spec: NetworkSpec, samples: int = 1) -> None:
    """ConfigError when even the least a gradient check's formula can take exceeds a formula's
    limit: arithmetic on the layer sizes, before the network is derived."""
    least, worst = least_check_chars(spec, samples)
    if least > MAX_FORMULA:
        shown = f"{least:,}" if least < 10**15 else f"{least:.3g}"
        raise ConfigError(f"optimizer.check_gradients: too big for a sheet: (E({worst}+h)−E)/h's formula "
                          f"needs at least {shown} characters, a formula may have at most {MAX_FORMULA:,}")


def table_columns(spec: NetworkSpec, data: DataSpec, opt: OptimizerSpec) -> int:
    """The columns `build` lays out, counted from the network's columns without building."""
    return columns_for(spec, data.batch_size, data.n, opt)


def columns_for(spec: NetworkSpec, k: int, n: int, opt: OptimizerSpec) -> int:
    """`table_columns` for steps of k of n samples: known once a data file's lines are counted."""
    blocks = [c.block for c in derive_cached(spec).columns]
    per_sample = sum(b in PER_SAMPLE for b in blocks)
    return (sum(b in ("weights", "biases") for b in blocks)
            + k * ((k < n) + per_sample + 1) + (k > 1)
            + blocks.count("gradient") * (1 + opt.check_gradients)
            + len(opt.states) * len(trained_parameters(spec)) + 1)


def check_columns(spec: NetworkSpec, k: int, n: int, opt: OptimizerSpec) -> None:
    columns = columns_for(spec, k, n, opt)
    if columns > MAX_COLUMNS:
        raise ConfigError(f"data: too big for a sheet: it needs {columns:,} columns, a sheet has "
                          f"at most {MAX_COLUMNS:,}")


def check_size(spec: NetworkSpec, data: DataSpec, opt: OptimizerSpec) -> None:
    """ConfigError, from arithmetic on the sizes alone, for a table too wide for a sheet or a
    gradient check whose formula cannot fit, before anything is built: both grow with the
    data set, and a check's formula with the depth (it doubles with each layer of two)."""
    k, n = data.batch_size, data.n
    if opt.check_gradients:
        check_gradient_size(spec, k)
    derivation = derive_cached(spec)
    parameters = trained_parameters(spec)
    check_columns(spec, k, n, opt)
    if opt.check_gradients:
        least = k * _least_check_length(derivation, parameters)
        worst = max(range(len(parameters)), key=lambda i: least[i])
        if least[worst] > MAX_FORMULA:
            shown = f"{least[worst]:,.0f}" if least[worst] < 1e15 else f"{least[worst]:.3g}"
            raise ConfigError(f"optimizer.check_gradients: too big for a sheet: "
                              f"(E({parameters[worst]}+h)−E)/h's formula needs at least {shown} "
                              f"characters, a formula may have at most {MAX_FORMULA:,}")


def _least_check_length(derivation, parameters: tuple[str, ...]):
    """Per parameter, a lower bound on the length of one sample's E_total written out with that
    parameter + h (`_perturbed`), counted over the forward formulas without writing them."""
    import numpy as np

    index = {p: i for i, p in enumerate(parameters)}
    formulas = {q.name: q.formula for q in derivation.network.quantities}
    # Per quantity and parameter: does it depend on it, and if so its least written-out length.
    depends: dict[str, np.ndarray] = {}
    length: dict[str, np.ndarray] = {}
    reference = np.full(len(parameters), float(REFERENCE_CHARS))

    def name_cost(name: str, in_sum: bool):
        own = 0.0 if in_sum else reference
        if name in index:
            cost = np.array(own, dtype=float) * np.ones(len(parameters))
            cost[index[name]] = 2 * REFERENCE_CHARS + 1  # (w + h)
            return cost, np.eye(1, len(parameters), index[name])[0] > 0
        if name in length:
            return np.where(depends[name], length[name], own), depends[name]
        return own * np.ones(len(parameters)), np.zeros(len(parameters), bool)

    def cost(node: ast.expr, in_sum: bool = False):
        if isinstance(node, ast.Name):
            return name_cost(node.id, in_sum)
        if isinstance(node, ast.Constant):
            return np.ones(len(parameters)), np.zeros(len(parameters), bool)
        if isinstance(node, ast.Call):
            summing = isinstance(node.func, ast.Name) and node.func.id in ("sum", "sumproduct")
            parts = [cost(arg, summing) for arg in node.args]
        else:
            parts = [cost(child) for child in ast.iter_child_nodes(node) if isinstance(child, ast.expr)]
        total = np.ones(len(parameters))  # an operator or a function's name, at least
        uses = np.zeros(len(parameters), bool)
        for part, used in parts:
            total, uses = total + part, uses | used
        return total, uses

    for column in derivation.columns:
        if column.block in ("pre", "exp", "act", "errors", "total"):
            length[column.quantity], depends[column.quantity] = cost(formulas[column.quantity].tree)
    return np.where(depends["E_total"], length["E_total"], 0.0)


def build(spec: NetworkSpec, data: DataSpec, opt: OptimizerSpec) -> Training:
    check_size(spec, data, opt)
    derivation = derive_cached(spec)
    base = {q.name: q for q in derivation.network.quantities}
    k, n = data.batch_size, data.n
    per_sample = [c for c in derivation.columns if c.block in PER_SAMPLE]
    sample_names = {c.quantity for c in per_sample}

    cols: list[ColumnSpec] = []
    formulas: dict[str, Expression] = {}
    nexts: dict[str, Expression] = {}
    for c in derivation.columns:
        if c.block in ("weights", "biases"):
            cols.append(c)
            nexts[c.quantity] = base[c.quantity].next
    slot_losses = []
    for j in range(1, k + 1):
        def named(x: str, j: int = j) -> str:
            return x if k == 1 else f"{x}_s{j}"

        mapping = {x: named(x) for x in sample_names}
        if k < n:  # which sample this slot takes: in order, cycling
            offset = f" + {j - 1}" if j > 1 else ""
            step = "(iteration - 1)" if k == 1 else f"(iteration - 1) * {k}"
            cols.append(ColumnSpec(named("sample"), named("sample"), "sample", integer=True))
            formulas[named("sample")] = Expression.parse(f"mod({step}{offset}, {n}) + 1")
            which = named("sample")
        else:
            which = str(j)
        last_error = [x for x in per_sample if x.block == "errors"][-1]
        for c in per_sample:
            header = c.header if k == 1 else f"{c.header}_s{j}"
            cols.append(ColumnSpec(named(c.quantity), header, c.block, c.layer))
            if c.block in ("targets", "inputs"):
                formulas[named(c.quantity)] = Expression.parse(f"index({data_name(c.quantity)}, {which})")
            else:
                formulas[named(c.quantity)] = base[c.quantity].formula.substitute(mapping)
            if c is last_error:
                # The sample's loss right after its error terms (one sample per row: E_total).
                loss = "E_total" if k == 1 else f"E_s{j}"
                cols.append(ColumnSpec(loss, loss, "total" if k == 1 else "sample_total"))
                formulas[loss] = base["E_total"].formula.substitute(mapping)
                slot_losses.append(loss)
    if k > 1:  # the step's loss, after every sample's columns
        cols.append(ColumnSpec("E_total", "E_total", "total"))
        formulas["E_total"] = Expression.parse(_reduce(slot_losses, data.reduction))
    forward_order = [c.quantity for c in cols if c.quantity in formulas and c.block != "delta"]
    forward = {q: formulas[q] for q in forward_order}

    parameters = trained_parameters(spec)
    gradient_cols = [c for c in derivation.columns if c.block == "gradient"]
    for c in gradient_cols:
        g = base[c.quantity].formula
        terms = [g.text if k == 1 else g.substitute({x: f"{x}_s{j}" for x in sample_names}).text
                 for j in range(1, k + 1)]
        cols.append(c)
        formulas[c.quantity] = Expression.parse(_reduce(terms, data.reduction))
        if opt.check_gradients:
            p = c.quantity[len("dE_d"):]
            fd = f"fd_{p}"
            cols.append(ColumnSpec(fd, f"(E({p}+h)−E)/h", "check"))
            formulas[fd] = Expression.parse(f"(({_perturbed(p, forward, forward_order).text}) - E_total) / h")

    for state in opt.states:
        for p in parameters:
            cols.append(ColumnSpec(f"{state}_{p}", f"{state}_{p}", "state"))
    eps = " + epsilon" if opt.epsilon != 0 else ""
    for p in parameters:
        g = f"dE_d{p}"
        v, m, s = f"v_{p}", f"m_{p}", f"s_{p}"
        if opt.name == "gd":
            nexts[p] = Expression.parse(f"{p} - learning_rate * {g}")
        elif opt.name == "momentum":
            nexts[v] = Expression.parse(f"beta * {v} + (1 - beta) * {g}")
            nexts[p] = Expression.parse(f"{p} - learning_rate * cur({v})")
        elif opt.name == "rmsprop":
            nexts[s] = Expression.parse(f"beta * {s} + (1 - beta) * {g} ** 2")
            nexts[p] = Expression.parse(f"{p} - learning_rate * {g} / (sqrt(cur({s})){eps})")
        else:
            nexts[m] = Expression.parse(f"beta1 * {m} + (1 - beta1) * {g}")
            nexts[s] = Expression.parse(f"beta2 * {s} + (1 - beta2) * {g} ** 2")
            if opt.bias_correction:
                m_hat, s_hat = f"cur({m}) / (1 - beta1 ** iteration)", f"cur({s}) / (1 - beta2 ** iteration)"
            else:
                m_hat, s_hat = f"cur({m})", f"cur({s})"
            nexts[p] = Expression.parse(f"{p} - learning_rate * ({m_hat}) / (sqrt({s_hat}){eps})")
    updates = update_lines(opt)
    cols.append(ColumnSpec("iteration", "iteration", "iteration", integer=True))
    nexts["iteration"] = Expression.parse("iteration + 1")

    gradient_names = {c.quantity for c in gradient_cols}
    quantities = tuple(Quantity(c.quantity, formulas.get(c.quantity), nexts.get(c.quantity),
                                c.quantity in gradient_names) for c in cols)
    data_names = tuple(data_name(x) for x in data.names)
    hyper = opt.hyper
    net = Network(quantities, frozenset({"learning_rate", *hyper, *data_names}))
    return Training(net, tuple(cols), data_names, hyper, tuple(updates))


@lru_cache(maxsize=16)
def build_cached(spec: NetworkSpec, data: DataSpec, opt: OptimizerSpec) -> Training:
    return build(spec, data, opt)


def update_lines(opt: OptimizerSpec) -> list[str]:
    """The update equations as the sheet computes them, for the text beside the table."""
    eps = " + ε" if opt.epsilon != 0 else ""
    if opt.name == "gd":
        return ["w ← w − lr·g"]
    if opt.name == "momentum":
        return ["v ← β·v + (1 − β)·g", "w ← w − lr·v"]
    if opt.name == "rmsprop":
        return ["s ← β·s + (1 − β)·g²", f"w ← w − lr·g / (√s{eps})"]
    lines = ["m ← β1·m + (1 − β1)·g", "s ← β2·s + (1 − β2)·g²", f"w ← w − lr·m̂ / (√ŝ{eps})"]
    lines.append("m̂ = m / (1 − β1ᵗ), ŝ = s / (1 − β2ᵗ), t the step" if opt.bias_correction
                 else "m̂ = m, ŝ = s (no bias correction)")
    return lines


def setup_values(weights: dict[str, float], data: DataSpec, opt: OptimizerSpec,
                 parameters: tuple[str, ...]) -> dict[str, object]:
    """Everything a run starts from besides the learning rate: parameters, optimizer state
    (0 unless given), hyper-parameters and the data columns."""
    values: dict[str, object] = dict(weights)
    initial = dict(opt.initial_state)
    for state in opt.states:
        for p in parameters:
            values[f"{state}_{p}"] = float(initial.get(f"{state}_{p}", 0.0))
    for key in opt.hyper:
        values[key] = float(getattr(opt, key))
    for name in data.names:
        values[data_name(name)] = data.column(name)
    return values


def check_fits(training: Training) -> None:
    """ConfigError unless every column and formula fits an .xlsx sheet (Excel's limits)."""
    columns = len(training.columns)
    if columns > MAX_COLUMNS:
        raise ConfigError(f"data: too big for a sheet: it needs {columns:,} columns, a sheet has "
                          f"at most {MAX_COLUMNS:,}")
    column_of = {c.quantity: k for k, c in enumerate(training.columns)}
    row = "1048576"
    span = spanner(column_of, "xlsx", row)

    def reference(name: str) -> str:
        if name in column_of:
            return ref("xlsx", column_of[name], row)
        return f"data!${column_letter(MAX_COLUMNS - 1)}$2:${column_letter(MAX_COLUMNS - 1)}${row}"

    for q, column in zip(training.network.quantities, training.columns, strict=True):
        expression = q.formula if q.formula is not None else q.next
        length = 1 + len(expression.to_formula(reference, ",", span))
        if length > MAX_FORMULA:
            key = "optimizer.check_gradients" if column.block == "check" else "data"
            raise ConfigError(f"{key}: too big for a sheet: {column.header}'s formula needs "
                              f"{length:,} characters, a formula may have at most {MAX_FORMULA:,}")
