"""The one model of a training: layers, loss, data and optimizer compiled into one graph.

`compile_training` is the only constructor (the config calls it, once per run). In order:

1. the targets and inputs (state columns; with a data set, columns that read the data sheet);
2. each layer's `forward` (core/layers/): its parameter columns and forward quantities;
3. the loss (core/losses.py): one error term per output (E1, header e1) and E_total;
4. the backward pass, derived from those expressions (core/backward.py): δ columns, and one
   gradient column per trained parameter (dE_dw5, header E∂W5), in the chosen gradient form;
5. with a data set (core/data.py), the per-sample columns repeated for each sample of a step and
   the step's E_total and gradients combined by its reduction;
6. the optimizer (core/optimizers/): its state columns and every parameter's next value.

The result, a `Training`, is what every later part reads: the `Network` the model runs
(core/model.py), the table's columns with headers and blocks, the text beside the table, the
parameter cells and the run settings (rates, iterations, output files). The reference exercise
is the preset `design = "reference"`: the same graph, its columns in the order of
templates/backprop.toml and fixed biases as parameter cells (core/template.py), so that the
layout reads its positions from there.
"""

from __future__ import annotations

import ast
import copy
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from sheetgen.core.backward import Backward, delta_name, expanded, side_by_side
from sheetgen.core.cells import a1, cell_range, ref
from sheetgen.core.data import DataSpec, data_name
from sheetgen.core.expressions import Expression, rendered_length
from sheetgen.core.graph import Column, Graph
from sheetgen.core.layers import Layer
from sheetgen.core.losses import Loss, total_of
from sheetgen.core.model import Network, Values
from sheetgen.core.network import MAX_COLUMNS, MAX_FORMULA, NetworkSpec, spanner
from sheetgen.core.ops import OPS
from sheetgen.core.optimizers import Optimizer
from sheetgen.core.template import column_specs
from sheetgen.errors import ConfigError

DESIGNS = ("reference", "network")
# The blocks of a one-sample table that each sample of a step repeats.
PER_SAMPLE = ("targets", "inputs", "pre", "exp", "act", "errors", "delta")


@dataclass(frozen=True, eq=False)
class Training:
    """Everything a workbook, plot, report or audit needs to know about one training."""

    network: Network                  # the graph of named quantities the model runs
    columns: tuple[Column, ...]       # the table, in order
    setup: Values                     # what the first row and the parameter cells start from
    layers: tuple[Layer, ...]
    loss: Loss
    optimizer: Optimizer
    spec: NetworkSpec                 # the names of inputs, targets, neurons, weights
    data: DataSpec | None = None      # a data set on its own sheet, or None: one sample in the table
    design: str = "network"           # "reference": the reference exercise's own layout
    gradients: str = "delta"          # "delta" (δ columns) or "expanded" (chain-rule products)
    reference_errata: bool = False
    hyper: tuple[str, ...] = ()       # parameter cells besides the learning rate
    trained: tuple[str, ...] = ()     # the parameters the optimizer moves
    equations: tuple[str, ...] = ()   # the forward equations, as text
    derivations: tuple[str, ...] = () # the chain rule for one weight per layer, as text
    updates: tuple[str, ...] = ()     # the optimizer's update, as text
    deltas: dict[str, Expression] = field(default_factory=dict)
    one_sample: Network | None = None  # with a data set: one sample's network (the report's)
    correct: Network | None = None     # with reference_errata: the network without the mistakes
    # Run settings: which rates, how many rows, which files.
    learning_rates: tuple[float, ...] = (0.1,)
    iterations: int = 22
    formats: tuple[str, ...] = ("xlsx", "ods")
    output_dir: Path = Path("outputs")
    basename: str = "BackPropagation"
    plots: bool = True

    def output_path(self, fmt: str) -> Path:
        return self.output_dir / f"{self.basename}.{fmt}"

    def starting_from(self, values: dict, **run) -> Training:
        """The same graph from other initial values (parameters; without a data set also the
        inputs and targets) and run settings: the optimizer's state starts at its initial
        values, the data columns hold the samples."""
        if self.data is None:
            start = dict(values)
        else:
            start = {n: v for n, v in values.items() if n not in self.spec.inputs + self.spec.targets}
            start |= self.optimizer.initial_values(self.trained)
            start |= {data_name(x): self.data.column(x) for x in self.data.names}
            if data_name("order") in data_names(self.data) and self.data.order_fits():
                start[data_name("order")] = self.data.order_column()
        return replace(self, setup=Values(tuple(start.items()), self.setup.biases), **run)

    @property
    def data_names(self) -> tuple[str, ...]:
        return data_names(self.data) if self.data is not None else ()

    @property
    def shape(self) -> str:
        """'2-3-3-2': the layer sizes (an image network: its layers and their shapes)."""
        if hasattr(self.spec, "shape_text"):
            return self.spec.shape_text
        return "-".join(map(str, self.spec.layers))

    def describe(self) -> str:
        """'2-3-3-2: tanh, tanh, sigmoid; half_sse' for the settings block."""
        if hasattr(self.spec, "shape_text"):  # an image network: its layers name their activations
            return f"{self.shape}; {self.loss.name}"
        return f"{self.shape}: {', '.join(layer.activation for layer in self.layers)}; {self.loss.name}"

    @property
    def title(self) -> str:
        """The workbook's title property: '…, 2-2-2 sigmoid network', '…, 2-3-3-2 network (tanh,
        sigmoid)'."""
        if hasattr(self.spec, "shape_text"):  # an image network: its layers name their activations
            return f"Backpropagation, {self.shape} network"
        kinds = list(dict.fromkeys(layer.activation for layer in self.layers))
        if len(kinds) == 1:
            return f"Backpropagation, {self.shape} {kinds[0]} network"
        return f"Backpropagation, {self.shape} network ({', '.join(kinds)})"


def _forward(layers: tuple[Layer, ...], loss: Loss, spec, graph: Graph) -> list[str]:
    """Targets, inputs, every layer, the loss: into `graph`; returns the error terms' names."""
    for t in spec.targets:
        graph.state(t, block="targets")
    for i in spec.inputs:
        graph.state(i, block="inputs")
    sources = tuple(spec.inputs)
    for layer in layers:
        sources = layer.forward(graph, sources)
    errors = [f"E{k}" for k in range(1, len(sources) + 1)]
    last = layers[-1]
    outputs = tuple(getattr(last, "neurons", ()))
    for e, t, a in zip(errors, spec.targets, sources, strict=True):
        z = a[2:] if a.startswith("a_") and a[2:] in outputs else None
        logit = loss.logit_term(t, z, outputs, last.activation) if z else None
        graph.add(e, logit or loss.term(t, a), block="errors", header="e" + e[1:])
    graph.add("E_total", loss.total(errors), block="total")
    return errors


def _backward(layers: tuple[Layer, ...], loss: Loss, spec, graph: Graph, gradients: str) -> dict:
    forward = dict(graph.formulas)
    order = [(layer, x) for layer in reversed(layers) for x in layer.deltas()]
    closed = layers[-1].output_deltas(forward, loss, spec.targets)
    held = frozenset(x for layer in layers for x in layer.held())
    backward = Backward(forward, [x for _, x in order], closed, held=held)
    if gradients == "delta":
        for layer, x in order:
            graph.add(delta_name(x), backward.delta[x], block="delta", header="δ_" + x,
                      layer=layer.index)
    layer_of = {p.name: layer.index for layer in layers for p in layer.parameters()}
    position = {c.quantity: k for k, c in enumerate(graph.columns)}
    for p in graph.trained:
        formula = backward.gradient(p)
        if gradients == "expanded":
            formula = expanded(formula, backward.delta)
        formula = side_by_side(formula, position)
        is_weight = graph.column(p).block == "weights"
        header = "E∂W" + p[1:] if is_weight and p[1:].isdigit() else "E∂" + p   # E∂W5, E∂k1_r1c2
        graph.add("dE_d" + p, formula, block="gradient", header=header,
                  layer=layer_of[p] if is_weight else 0)
        graph.gradients.add("dE_d" + p)
    return backward.delta


def _text(layers: tuple[Layer, ...], loss: Loss, spec, graph: Graph, deltas: dict) -> tuple[list, list]:
    from sheetgen.core.layers.dense import pretty, shown

    equations = [line for layer in layers for line in layer.equation_lines()]
    n = len(spec.targets)
    for k in shown(tuple(range(1, n + 1))):
        equations.append("⋮" if k is None else f"E{k} = {pretty(graph.formulas[f'E{k}'].text)}")
    total = " + ".join(f"E{k}" for k in range(1, min(n, 3) + 1))
    if n > 3:
        total += f" + … + E{n}"
    equations.append(f"E_total = {loss.total_text(total, n)}")
    derivations = []
    for k in range(len(layers) - 1, -1, -1):
        nxt = layers[k + 1] if k + 1 < len(layers) else None
        derivations += layers[k].derivation_lines(deltas, nxt)
    return equations, derivations


def compile_training(spec, layers: tuple[Layer, ...], loss: Loss, optimizer: Optimizer,
                     values: dict, *, data: DataSpec | None = None, design: str = "network",
                     gradients: str = "delta", reference_errata: bool = False,
                     biases_shown: str = "none", errata: dict | None = None, **run) -> Training:
    """The one constructor. `values`: initial values of the parameters (and, without a data set,
    of the inputs and targets); `run`: learning_rates, iterations, formats, output_dir, basename,
    plots. `errata` ({quantity: {name: replacement}}): the reference's mistakes, with
    `reference_errata`."""
    base = Graph()
    _forward(layers, loss, spec, base)
    # Every weight, then every trained bias: the order of gradient and state columns.
    weights = [p for p in base.trained if base.column(p).block == "weights"]
    base.trained = weights + [p for p in base.trained if p not in weights]
    deltas = _backward(layers, loss, spec, base, gradients)
    equations, derivations = _text(layers, loss, spec, base, deltas)
    trained = tuple(base.trained)
    if data is None:
        graph = base
        for p in trained:
            graph.nexts.update(optimizer.update(p, "dE_d" + p))
        graph.state("iteration", "iteration + 1", block="iteration", integer=True)
        graph.parameter("learning_rate")
        one = None
    else:
        _check_batch_lengths(base, _data_forward(base, data, trained, spec, formulas=False), data)
        part = _data_forward(base, data, trained, spec)
        if optimizer.spec.check_gradients:  # counted before it is written out: a refusal costs nothing
            _check_gradient_lengths(part, data, trained)
        graph = _on_data_set(base, part, data, optimizer, trained)
        one = base.network()
    if design == "reference":
        graph = _as_reference(graph, biases_shown, gradients)
    network = correct = graph.network()
    if reference_errata and errata:
        network = network.substitute(errata)
    training = Training(network, tuple(graph.columns), Values((), biases_shown), tuple(layers),
                        loss, optimizer, spec, data=data, design=design, gradients=gradients,
                        reference_errata=reference_errata,
                        hyper=optimizer.hyper if data is not None else (), trained=trained,
                        equations=tuple(equations), derivations=tuple(derivations),
                        updates=tuple(optimizer.text_lines()), deltas=deltas, one_sample=one,
                        correct=correct if reference_errata else None)
    return training.starting_from(values, **run)


def _as_reference(graph: Graph, biases: str, gradients: str) -> Graph:
    """The reference exercise's columns in the template's order; fixed biases as parameter cells."""
    order = [c["quantity"] for c in column_specs(biases, gradients)]
    by_name = {c.quantity: c for c in graph.columns}
    missing = set(by_name) - set(order)
    for name in missing:  # a fixed bias: a parameter cell, not a column
        assert graph.nexts[name].text == name, name
        del graph.nexts[name]
        graph.parameter(name)
    graph.columns = [by_name[name] for name in order]
    return graph


@dataclass
class _DataForward:
    """A data set's table up to its step's E_total: every column before the gradients."""

    graph: Graph
    sample_names: set[str]
    weights: list[str]            # per slot: the column weighing its sample ("" for none)
    total_divisor: str | int
    forward: dict[str, Expression]
    forward_order: list[str]


def _on_data_set(base: Graph, part: _DataForward, data: DataSpec, optimizer: Optimizer,
                 trained: tuple[str, ...]) -> Graph:
    """One sample's graph arranged for a data set: the parameters, then for each sample of a
    step its own forward and backward columns (suffixed _s1, _s2, … when a step has several),
    the step's E_total (all these in `part`, _data_forward), then the gradients (combined by
    the reduction) and the optimizer's state."""
    graph, forward, forward_order = part.graph, part.forward, part.forward_order

    once = None
    for c in [c for c in base.columns if c.block == "gradient"]:
        tree = _gradient_tree(base.formulas[c.quantity], part)
        graph.add(c.quantity, Expression.parse(ast.unparse(ast.fix_missing_locations(tree))),
                  block="gradient", header=c.header, layer=c.layer)
        graph.gradients.add(c.quantity)
        if optimizer.spec.check_gradients:
            p = c.quantity[len("dE_d"):]
            once = once or _once_forms(forward)
            tree = _check_tree(_perturbed_tree(p, forward, forward_order, once))
            graph.add(f"fd_{p}", Expression.parse(ast.unparse(ast.fix_missing_locations(tree))),
                      block="check", header=f"(E({p}+h)−E)/h")
    rate = "learning_rate"
    if optimizer.schedule is not None:  # the row's rate, in its own column before the updates read it
        graph.add("lr", optimizer.schedule.formula(), block="rate")
        rate = "lr"
    for state in optimizer.states:
        for p in trained:
            graph.state(f"{state}_{p}", block="state")
    for p in trained:
        graph.nexts.update(optimizer.update(p, "dE_d" + p, rate))
    graph.state("iteration", "iteration + 1", block="iteration", integer=True)
    for name in ("learning_rate", *optimizer.hyper, *data_names(data)):
        graph.parameter(name)
    return graph


def _gradient_tree(g: Expression, part: _DataForward) -> ast.expr:
    """One sample's gradient `g` over a step's samples: each slot's copy (its names suffixed
    _s1, _s2, …; the rest shared), weighed, summed, divided as the reduction says. A tree, so
    that its length can be counted (`rendered_length`) before its text is written."""
    k = len(part.weights)
    terms = []
    for j, weight in enumerate(part.weights, start=1):
        term = g.tree if k == 1 else _inserted(g.tree, {x: ast.Name(f"{x}_s{j}", ast.Load())
                                                        for x in g.names & part.sample_names})
        terms.append(ast.BinOp(ast.Name(weight, ast.Load()), ast.Mult(), term) if weight else term)
    total = total_of(terms)
    if part.total_divisor == 1:
        return total
    return ast.BinOp(total, ast.Div(), ast.parse(str(part.total_divisor), mode="eval").body)


def _batch_lengths(base: Graph, part: _DataForward, data: DataSpec) -> dict[str, int]:
    """The lengths of the formulas that grow with the batch (each gradient, E_total), by
    quantity, as check_fits measures them: counted on the table's columns alone (`_data_forward`
    without formulas), before anything is written out."""
    column_of = {c.quantity: k for k, c in enumerate(part.graph.columns)}
    reference, span = _longest_references(column_of, set(data_names(data)))
    trees = {c.quantity: _gradient_tree(base.formulas[c.quantity], part)
             for c in base.columns if c.block == "gradient"}
    if "E_total" in part.graph.formulas:
        trees["E_total"] = part.graph.formulas["E_total"].tree
    return {name: 1 + rendered_length(tree, reference, ",", span) for name, tree in trees.items()}


def _check_batch_lengths(base: Graph, part: _DataForward, data: DataSpec) -> None:
    """ConfigError, before anything is written out, when a formula that grows with the batch
    would pass a formula's limit."""
    lengths = _batch_lengths(base, part, data)
    name = max(lengths, key=lambda q: lengths[q], default=None)
    if name is not None and lengths[name] > MAX_FORMULA:
        header = next((c.header for c in base.columns if c.quantity == name), name)
        raise ConfigError(f"data: too big for a sheet: {header}'s formula needs {lengths[name]:,} "
                          f"characters, a formula may have at most {MAX_FORMULA:,}")


def _data_forward(base: Graph, data: DataSpec, trained: tuple[str, ...], spec,
                  formulas: bool = True) -> _DataForward:
    """The columns of a data set's table before its gradients (see _on_data_set), and their
    formulas but for E_total's only with `formulas`: the columns alone cost next to nothing, so
    the formulas that grow with the batch are measured on them before anything is written out."""
    k, n = data.batch_size, data.n
    per_sample = [c for c in base.columns if c.block in PER_SAMPLE]
    sample_names = {c.quantity for c in per_sample}
    graph = Graph()
    for c in base.columns:
        if c.block in ("weights", "biases", "initial"):   # initial: a recurrent layer's h_t0
            graph.columns.append(c)
            graph.nexts[c.quantity] = base.nexts[c.quantity]
    graph.trained = list(trained)
    divisor = data.divisor(spec)
    slot_losses, weights = [], []
    per = data.steps_per_epoch()
    short = data.short_last
    last_error = [c for c in per_sample if c.block == "errors"][-1]
    for j in range(1, k + 1):
        def named(x: str, j: int = j) -> str:
            return x if k == 1 else f"{x}_s{j}"

        mapping = {x: named(x) for x in sample_names}
        weight = ""
        if k < n:  # which sample this slot takes
            where = f"mod(iteration - 1, {per})" + (f" * {k}" if k > 1 else "") + (
                f" + {j - 1}" if j > 1 else "")       # its 0-based place in the epoch
            if data.order == "cycle":
                offset = f" + {j - 1}" if j > 1 else ""
                step = "(iteration - 1)" if k == 1 else f"(iteration - 1) * {k}"
                text = f"mod({step}{offset}, {n}) + 1"
            elif short and j > short:
                # In the epoch's short last batch this slot is empty: it reads sample 1, weighs 0.
                used = named("in")
                graph.columns.append(Column(used, used, "sample", integer=True))
                graph.formulas[used] = Expression.parse(f"if_positive({n} - ({where}), 1, 0)")
                weight = used
                text = f"if_positive({used}, {where} + 1, 1)"
            else:
                text = f"{where} + 1"
            if data.shuffle and data.order == "epochs":
                epoch = f"(iteration - 1 - mod(iteration - 1, {per})) / {per}"
                text = f"index({data_name('order')}, {epoch} * {n} + {text})"
            graph.columns.append(Column(named("sample"), named("sample"), "sample", integer=True))
            if formulas:
                graph.formulas[named("sample")] = Expression.parse(text)
            which = named("sample")
        else:
            which = str(j)
        weights.append(weight)
        for c in per_sample:
            header = c.header if k == 1 else f"{c.header}_s{j}"
            graph.columns.append(Column(named(c.quantity), header, c.block, c.layer))
            if formulas and c.block in ("targets", "inputs"):
                graph.formulas[named(c.quantity)] = Expression.parse(
                    f"index({data_name(c.quantity)}, {which})")
            elif formulas:
                graph.formulas[named(c.quantity)] = base.formulas[c.quantity].substitute(mapping)
            if c is last_error:
                # The sample's loss right after its error terms (one sample per row: E_total).
                loss = "E_total" if k == 1 and divisor == 1 else f"E_s{j}"
                graph.columns.append(Column(loss, loss, "total" if loss == "E_total" else "sample_total"))
                if formulas:
                    graph.formulas[loss] = base.formulas["E_total"].substitute(mapping)
                slot_losses.append(loss)
    count: str | int = 1 if data.reduction == "sum" else k
    if short:  # how many samples this step has: k, or the short last batch's
        graph.columns.append(Column("batch_size", "batch_size", "sample", integer=True))
        graph.formulas["batch_size"] = Expression.parse(" + ".join([str(short)] + [w for w in weights if w]))
        count = "batch_size" if data.reduction != "sum" else 1
    total_divisor: str | int = count if divisor == 1 else (
        divisor if count == 1 else f"({count} * {divisor})" if isinstance(count, str) else count * divisor)

    def weighed(terms: list[str]) -> list[str]:
        return [f"{w} * ({t})" if w else t for t, w in zip(terms, weights, strict=True)]

    if k > 1 or divisor != 1:  # the step's loss, after every sample's columns
        graph.add("E_total", _reduce(weighed(slot_losses), total_divisor), block="total")
    forward_order = [c.quantity for c in graph.columns if c.quantity in graph.formulas
                     and c.block != "delta"]
    forward = {q: graph.formulas[q] for q in forward_order}
    return _DataForward(graph, sample_names, weights, total_divisor, forward, forward_order)


def data_names(data: DataSpec) -> tuple[str, ...]:
    """The data sheet's columns the table reads: the samples', and the shuffled order's."""
    names = tuple(data_name(x) for x in data.names)
    if data.shuffle and data.order == "epochs" and data.batch is not None:
        names += (data_name("order"),)
    return names


def _reduce(terms: list[str], divisor: str | int) -> str:
    total = ast.unparse(total_of([ast.parse(f"({t})", mode="eval").body for t in terms]))
    if divisor != 1:
        return f"({total}) / {divisor}"
    return total


def _check_tree(perturbed: ast.expr) -> ast.expr:
    """A gradient check's formula ((E(w + h)) - E_total) / h around its written-out E(w + h)."""
    return ast.BinOp(ast.BinOp(perturbed, ast.Sub(), ast.Name("E_total")), ast.Div(), ast.Name("h"))


def _perturbed_tree(name: str, forward: dict[str, Expression], order: list[str],
                    once: dict[str, ast.expr] | None = None) -> ast.expr:
    """E_total with `name` read as name + h: every quantity that depends on it written out (its
    cells hold the unperturbed values), each function in its form with x written once (sigmoid
    as ½ + ½·tanh(½x)). Its written-out parts are shared subtrees (so it is cheap to build and to
    measure, `rendered_length`): the text grows with every layer, and re-reading it at each step
    would cost its square. `once`: the forward formulas in their written-once forms
    (`_once_forms`), shared by every parameter's check."""
    once = _once_forms(forward) if once is None else once
    expanded_: dict[str, ast.expr] = {}
    shifted = ast.parse(f"({name} + h)", mode="eval").body
    for q in order:
        f = forward[q]
        if not (f.names & (set(expanded_) | {name})):
            continue
        trees = {n: expanded_[n] for n in f.names if n in expanded_}
        expanded_[q] = _inserted(once[q], {**trees, name: shifted})
    return expanded_["E_total"]


def _once_forms(forward: dict[str, Expression]) -> dict[str, ast.expr]:
    """Each forward formula with each function in its form with x written once (_Once)."""
    return {q: _Once().visit(copy.deepcopy(f.tree)) for q, f in forward.items()}


def _inserted(node: ast.expr, trees: dict[str, ast.expr]) -> ast.expr:
    """`node` with names replaced by (shared) subtrees, which are not visited; `node` itself is
    left as it is (the parts with nothing replaced are shared too)."""
    kind = type(node)
    if kind is ast.Name:
        return trees.get(node.id, node)
    if kind is ast.Constant:
        return node
    if kind is ast.BinOp:  # the common kinds directly: a batch's gradients copy thousands
        left, right = _inserted(node.left, trees), _inserted(node.right, trees)
        return node if left is node.left and right is node.right else ast.BinOp(left, node.op, right)
    if kind is ast.UnaryOp:
        operand = _inserted(node.operand, trees)
        return node if operand is node.operand else ast.UnaryOp(node.op, operand)
    changed, fields = False, {}
    for key, value in ast.iter_fields(node):
        if isinstance(value, ast.expr):
            new = _inserted(value, trees)
        elif isinstance(value, list):
            new = [_inserted(v, trees) if isinstance(v, ast.expr) else v for v in value]
            new = value if all(a is b for a, b in zip(new, value, strict=True)) else new
        else:
            new = value
        changed |= new is not value
        fields[key] = new
    return type(node)(**fields) if changed else node


class _Once(ast.NodeTransformer):
    """Each function that has a form with its argument written once (ops.Op.once) in that form."""

    def visit_Call(self, node: ast.Call) -> ast.expr:
        self.generic_visit(node)
        op = OPS.get(node.func.id) if isinstance(node.func, ast.Name) else None
        if op is not None and op.once is not None:
            return Expression.parse(op.once).substitute({"x": ast.unparse(node.args[0])}).tree
        return node


LONGEST_ROW = "1048576"  # formulas are measured with 7-digit row numbers, the most a sheet has


def _longest_references(column_of: dict[str, int], data: set[str]):
    """(reference, span) for `Expression.to_formula` as check_fits measures: each name at its
    longest (its column, a parameter cell in the last column, a data column's whole range)."""
    row, far = LONGEST_ROW, MAX_COLUMNS - 1

    def reference(name: str) -> str:
        if name in column_of:
            return ref("xlsx", column_of[name], row)
        if name in data:  # a data column's range, at its longest
            return cell_range("xlsx", a1(far, 2, True, True), a1(far, row, True, True), "data",
                              quote=False)
        return a1(far, row, True, True)  # a parameter cell, at its longest

    return reference, spanner(column_of, "xlsx", row)


def _gradient_check_lengths(part: _DataForward, data: DataSpec, trained: tuple[str, ...]) -> dict[str, int]:
    """Per trained parameter, the length of its gradient check's formula as check_fits measures
    it, counted exactly (`rendered_length`) on the table's columns before the gradients, without
    writing the formula out: well under a second for a few layers and samples, where writing it
    out takes seconds."""
    column_of = {c.quantity: k for k, c in enumerate(part.graph.columns)}
    reference, span = _longest_references(column_of, set(data_names(data)))
    once = _once_forms(part.forward)
    return {p: 1 + rendered_length(_check_tree(_perturbed_tree(p, part.forward, part.forward_order, once)),
                                   reference, ",", span)
            for p in trained}


def _check_gradient_lengths(part: _DataForward, data: DataSpec, trained: tuple[str, ...]) -> None:
    """ConfigError when a gradient check's formula would pass a formula's limit, before the
    table is built."""
    lengths = _gradient_check_lengths(part, data, trained)
    p = max(lengths, key=lambda name: lengths[name], default=None)  # the longest, as check_fits names
    if p is not None and lengths[p] > MAX_FORMULA:
        raise ConfigError(f"optimizer.check_gradients: too big for a sheet: (E({p}+h)−E)/h's "
                          f"formula needs {lengths[p]:,} characters, a formula may have at most "
                          f"{MAX_FORMULA:,}")


def check_fits(training: Training) -> None:
    """ConfigError unless every column and formula fits an .xlsx sheet (Excel's limits; the
    longest formula is measured with 7-digit row numbers, the most a sheet has)."""
    key = "network" if training.data is None else "data"
    columns = len(training.columns)
    if columns > MAX_COLUMNS:
        raise ConfigError(f"{key}: too big for a sheet: it needs {columns:,} columns, a sheet has "
                          f"at most {MAX_COLUMNS:,}")
    column_of = {c.quantity: k for k, c in enumerate(training.columns)}
    reference, span = _longest_references(column_of, set(training.data_names))
    longest, where = 0, None
    for q, column in zip(training.network.quantities, training.columns, strict=True):
        expression = q.formula if q.formula is not None else q.next
        length = 1 + len(expression.to_formula(reference, ",", span))
        if length > longest:
            longest, where = length, column
    if longest > MAX_FORMULA:
        if where.block == "check":
            key = "optimizer.check_gradients"
        raise ConfigError(f"{key}: too big for a sheet: {where.header}'s formula needs {longest:,} "
                          f"characters, a formula may have at most {MAX_FORMULA:,}")


# --- sizes, by arithmetic before anything is built -----------------------------------------------

# The least a name costs in a formula: a cell reference with a 7-digit row (A1048576), as the
# size check measures; a name inside SUM or SUMPRODUCT may share a range with its neighbours.
REFERENCE_CHARS = 8


def _activation_chars(name: str) -> tuple[int, int]:
    """(copies of x, characters around them) of an activation as a gradient check writes it out:
    its form with x written once, else its cell formula; a constant argument takes a character
    at least. From the ops registry, so a new activation needs no entry here."""
    op = OPS.get(name)
    if op is None:  # softmax: its exponentials are columns of their own
        return 1, 0
    if op.once is not None:
        text = op.once.replace(" ", "")
        return len(re.findall(r"\bx\b", text)), len(re.sub(r"\bx\b", "", text))
    copies = len(re.findall(r"\{0[^}]*\}", op.cell))
    constants = len(re.findall(r"\{[1-9][^}]*\}", op.cell))
    return copies, len(re.sub(r"\{\d[^}]*\}", "", op.cell)) + constants


def least_check_chars(spec: NetworkSpec, samples: int = 1) -> tuple[int, str]:
    """A lower bound on the longest gradient-check formula, by arithmetic on the layer sizes
    alone (nothing derived or listed): perturbing a weight into layer l writes out its neuron,
    then every neuron of every later layer, each with all its terms (once a term is an
    expression, no range can stand for its neighbours: each weight and source is a reference
    of at least REFERENCE_CHARS)."""
    layers, biased = spec.layers, spec.biases != "none"
    ref_ = REFERENCE_CHARS
    longest, first, worst = 0, 1, "w1"
    for start in range(1, len(layers)):
        written = 0   # the least length of one dependent activation of the previous layer
        dependent = 0
        for layer in range(start, len(layers)):
            fan_in = layers[layer - 1]
            terms = fan_in * (2 * ref_ + 2) + ref_ * biased
            if layer == start:   # one neuron, its weight as (w+h)
                z, dependent = terms + 2 * ref_ + 3 - ref_, 1
            else:
                z, dependent = terms - dependent * ref_ + dependent * written, layers[layer]
            copies, extra = _activation_chars(spec.activations[layer - 1])
            written = copies * z + extra
        if dependent * written > longest:
            longest, worst = dependent * written, f"w{first}"
        first += layers[start - 1] * layers[start]  # the next layer's first weight, by arithmetic
    return samples * longest + len("(()-E)/h"), worst


def _too_long(parameter: str, least: float) -> ConfigError:
    shown = f"{least:,.0f}" if least < 1e15 else f"{least:.3g}"
    return ConfigError(f"optimizer.check_gradients: too big for a sheet: (E({parameter}+h)−E)/h's "
                       f"formula needs at least {shown} characters, a formula may have at most "
                       f"{MAX_FORMULA:,}")


def check_gradient_size(spec: NetworkSpec, samples: int = 1) -> None:
    """ConfigError when even the least a gradient check's formula can take exceeds a formula's
    limit: arithmetic on the layer sizes, before the network is derived."""
    least, worst = least_check_chars(spec, samples)
    if least > MAX_FORMULA:
        raise _too_long(worst, least)


def columns_for(base: Training, k: int, n: int, states: int, check: bool) -> int:
    """The columns a data set's table needs at least, with steps of k of n samples, counted from
    one sample's table (`base`) without building: known once a data file's lines are counted."""
    blocks = [c.block for c in base.columns]
    per_sample = sum(b in PER_SAMPLE for b in blocks)
    gradients = blocks.count("gradient")
    return (sum(b in ("weights", "biases") for b in blocks)
            + k * ((k < n) + per_sample + 1) + (k > 1)
            + gradients * (1 + check) + states * gradients + 1)


def check_columns(base: Training, k: int, n: int, states: int, check: bool) -> None:
    columns = columns_for(base, k, n, states, check)
    if columns > MAX_COLUMNS:
        raise ConfigError(f"data: too big for a sheet: it needs {columns:,} columns, a sheet has "
                          f"at most {MAX_COLUMNS:,}")


def check_size(spec: NetworkSpec, base: Training, k: int, n: int, states: int, check: bool) -> None:
    """ConfigError, from arithmetic on the sizes alone, for a table too wide for a sheet or a
    gradient check whose formula cannot fit, before anything is built: both grow with the
    data set, and a check's formula with the depth (it doubles with each layer of two)."""
    if check:
        check_gradient_size(spec, k)
    check_columns(base, k, n, states, check)
    if check:
        parameters = tuple(c.quantity[len("dE_d"):] for c in base.columns if c.block == "gradient")
        least = k * _least_check_length(base, parameters)
        worst = max(range(len(parameters)), key=lambda i: least[i])
        if least[worst] > MAX_FORMULA:
            raise _too_long(parameters[worst], least[worst])


def _least_check_length(base: Training, parameters: tuple[str, ...]):
    """Per parameter, a lower bound on the length of one sample's E_total written out with that
    parameter + h (`_perturbed_tree`), counted over the forward formulas without writing them."""
    import numpy as np

    index = {p: i for i, p in enumerate(parameters)}
    formulas = {q.name: q.formula for q in base.network.quantities}
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

    for column in base.columns:
        if column.block in ("pre", "exp", "act", "errors", "total") and formulas.get(column.quantity):
            length[column.quantity], depends[column.quantity] = cost(formulas[column.quantity].tree)
    if "E_total" not in length:
        return np.zeros(len(parameters))
    return np.where(depends["E_total"], length["E_total"], 0.0)
