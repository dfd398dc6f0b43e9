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
import csv
import math
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

def read_csv(path: Path, key: str = "data.file") -> tuple[tuple[str, ...], list[list[float]]]:
    """Header row of names, then one row of numbers per sample."""
    try:
        text = Path(path).read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(f"{key}: {path}: file not found") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{key}: {path}: not a text file (not UTF-8)") from None
    except OSError as exc:
        raise ConfigError(f"{key}: {path}: cannot read: {exc.strerror or exc}") from None
    lines = [row for row in csv.reader(text.splitlines()) if any(c.strip() for c in row)]
    if not lines:
        raise ConfigError(f"{key}: {path}: empty (give a header row i1,i2,…,t1,… and one row per sample)")
    header = tuple(c.strip() for c in lines[0])
    if len(set(header)) != len(header):
        raise ConfigError(f"{key}: {path}: a column name is repeated in the header row")
    rows = []
    for r, line in enumerate(lines[1:], start=2):
        if len(line) != len(header):
            raise ConfigError(f"{key}: {path}: line {r} has {len(line)} values for {len(header)} columns")
        row = []
        for name, cell in zip(header, line, strict=True):
            try:
                value = float(cell)
            except ValueError:
                raise ConfigError(f"{key}: {path}: line {r}, column {name}: {cell.strip()!r} is not "
                                  "a number") from None
            if not math.isfinite(value):
                raise ConfigError(f"{key}: {path}: line {r}, column {name}: must be a finite number")
            row.append(value)
        rows.append(row)
    if not rows:
        raise ConfigError(f"{key}: {path}: no rows (only the header row)")
    return header, rows


def data_spec(spec: NetworkSpec, samples: list[dict[str, float]], batch: int | None,
              reduction: str, source: str, key: str = "data.samples") -> DataSpec:
    """The samples as the network's columns; ConfigError naming the key of a missing one."""
    names = spec.inputs + spec.targets
    if not samples:
        raise ConfigError(f"{key}: no samples")
    rows = []
    for k, sample in enumerate(samples, start=1):
        for name in names:
            if name not in sample:
                what = "input" if name[0] == "i" else "target"
                raise ConfigError(f"{key}: sample {k} has no {what} {name} (the network needs "
                                  f"{', '.join(names)})")
        for name in sample:
            if name not in names:
                raise ConfigError(f"{key}: sample {k}: unknown column {name!r} (the network has "
                                  f"{', '.join(names)})")
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
    for name, _ in opt.initial_state:
        state, parameter = name.split("_", 1)
        if state not in opt.states:
            have = ", ".join(opt.states) or "none"
            raise ConfigError(f"optimizer.initial_state.{state}: {opt.name} keeps no state {state!r} "
                              f"(its state: {have})")
        if parameter not in parameters:
            raise ConfigError(f"optimizer.initial_state.{state}.{parameter}: no trained parameter "
                              f"{parameter!r} (they are {', '.join(parameters)})")


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
    cells hold the unperturbed values), sigmoid as ½ + ½·tanh(½x) so each appears once."""
    expanded: dict[str, str] = {}
    for q in order:
        f = forward[q]
        if not (f.names & (set(expanded) | {name})):
            continue
        mapping: dict[str, str] = {n: f"({expanded[n]})" for n in f.names if n in expanded}
        mapping[name] = f"({name} + h)"
        tree = _SigmoidAsTanh().visit(f.substitute(mapping).tree)
        expanded[q] = ast.unparse(ast.fix_missing_locations(tree))
    return Expression.parse(expanded["E_total"])


class _SigmoidAsTanh(ast.NodeTransformer):
    def visit_Call(self, node: ast.Call) -> ast.expr:
        self.generic_visit(node)
        if isinstance(node.func, ast.Name) and node.func.id == "sigmoid":
            x = ast.unparse(node.args[0])
            return ast.parse(f"0.5 + 0.5 * tanh(0.5 * ({x}))", mode="eval").body
        return node


def build(spec: NetworkSpec, data: DataSpec, opt: OptimizerSpec) -> Training:
    # A recurrent network (core/recurrent.py) brings its own unrolled derivation.
    derivation = spec.derivation() if hasattr(spec, "derivation") else derive_cached(spec)
    base = {q.name: q for q in derivation.network.quantities}
    k, n = data.batch_size, data.n
    per_sample = [c for c in derivation.columns if c.block in PER_SAMPLE]
    sample_names = {c.quantity for c in per_sample}

    cols: list[ColumnSpec] = []
    formulas: dict[str, Expression] = {}
    nexts: dict[str, Expression] = {}
    for c in derivation.columns:
        if c.block in ("weights", "biases", "initial"):   # initial: a recurrent h_t0, c_t0
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
