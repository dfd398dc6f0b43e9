"""The write-up as data: headings, paragraphs, equations, images and tables, in the order of
the original exercise's README. The Markdown and HTML modules only lay this out.

Every number comes from the rows handed in (the model's trace, one list of rows per learning
rate, in network order); every equation is rendered from the network's expressions.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from sheetgen.check.compare import SheetComparison
from sheetgen.core.expressions import Expression
from sheetgen.core.model import Network, Trace
from sheetgen.core.network import NetworkSpec
from sheetgen.core.ops import OPS
from sheetgen.core.template import format_rate, template
from sheetgen.core.training import Training
from sheetgen.report.derive import Chain, Term, Trained
from sheetgen.report.latex import (
    OPERAND_DIGITS,
    RESULT_DIGITS,
    number,
    partial,
    plain_number,
    render,
    render_lines,
    symbol,
    visible_width,
)

# A last-iteration drop in E_total smaller than this fraction counts as levelled off.
LEVELLED_OFF = 1e-3


@dataclass(frozen=True)
class Correct:
    """The correct maths' run beside the original's: its network, what is kept of its rows per
    rate, and sheetgen compare's figures for the two runs per rate."""

    network: Network
    runs: Mapping[float, Trace]
    comparisons: Mapping[float, SheetComparison]


@dataclass(frozen=True)
class Math:
    latex: str


class Verbatim(str):
    """Text from the user (a file name): shown exactly, never read as Markdown or HTML."""


@dataclass(frozen=True)
class Heading:
    level: int
    text: str


@dataclass(frozen=True)
class Paragraph:
    parts: tuple[str | Math, ...]


@dataclass(frozen=True)
class Equation:
    """One displayed equation; a long one on several lines, each after the first starting
    with its operator or with '='."""

    lines: tuple[str, ...]

    @property
    def latex(self) -> str:
        return " ".join(self.lines)


LINE_WIDTH = 80  # characters drawn per equation line, about a page's width


def definitions(expressions: Iterable[Expression]) -> list[str | Math]:
    """A sentence's end defining the functions these expressions call that the registry defines
    ('; σ(x) = 1/(1 + e^-x) is the sigmoid.'), or just its full stop."""
    used = {node.func.id for e in expressions for node in ast.walk(e.tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}
    parts: list[str | Math] = []
    for op in OPS.values():
        if op.name in used and op.definition is not None:
            parts += ["; " if not parts else ", ", Math(op.definition), f" is the {op.name}"]
    return [*parts, "."]


def equation(lhs: str, *sides: str | list[str]) -> Equation:
    """lhs = side = side ..., each side a line or lines (from `render_lines`), packed greedily."""
    lines = [lhs]
    for side in sides:
        for k, text in enumerate([side] if isinstance(side, str) else side):
            piece = f"= {text}" if k == 0 else text
            if visible_width(lines[-1] + piece) <= LINE_WIDTH or lines == [lhs]:
                lines[-1] += " " + piece
            else:
                lines.append(piece if piece.startswith("{}") else "{} " + piece)
    return Equation(tuple(lines))


@dataclass(frozen=True)
class Image:
    src: str            # relative to the report folder
    alt: str
    group: str = ""     # images of one group sit side by side in the web page


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


Block = Heading | Paragraph | Equation | Image | Table


@dataclass
class Document:
    title: str
    blocks: list[Block] = field(default_factory=list)

    def add(self, *blocks: Block) -> None:
        self.blocks.extend(blocks)

    def para(self, *parts: str | Math) -> None:
        self.blocks.append(Paragraph(tuple(parts)))


def _m(name: str) -> Math:
    return Math(symbol(name))


def _listing(items: Sequence[str]) -> str:
    if len(items) < 2:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _math_listing(names: Sequence[str], label: Callable[[str], str] = symbol) -> list[str | Math]:
    parts: list[str | Math] = []
    for k, name in enumerate(names):
        if k:
            parts.append(" and " if k == len(names) - 1 else ", ")
        parts.append(Math(label(name)))
    return parts


def labeller(chain: Chain) -> Callable[[str], str]:
    """LaTeX for a name, a gradient column written as the derivative it is."""
    gradient_of = {t.gradient: t.name for t in chain.trained}

    def label(name: str) -> str:
        return partial(chain.loss, gradient_of[name]) if name in gradient_of else symbol(name)

    return label


def _term(term: Term, loss: str) -> str:
    factors = [partial(loss, term.lead)] if term.lead is not None else []
    factors += [partial(top, bottom) for top, bottom in term.factors]
    return r" \cdot ".join(factors) or "1"


def heading_name(loss: str) -> str:
    """A loss as a heading (plain text, no maths) names it: E_s1 -> "sample 1's loss"; E_total,
    the workbook's own column header, stays as it is."""
    match = re.fullmatch(r"E_s(\d+)", loss)
    return f"sample {match.group(1)}'s loss" if match else loss


def loss_plot_title(rate: float) -> str:
    return template()["chart"]["title"].format(rate=format_rate(rate))


def build_document(training: Training, network: Network, runs: Mapping[float, Trace],
                   images: Mapping[str, str], correct: Correct | None = None) -> Document:
    """`runs`: the model's run per learning rate (every row, as the workbooks hold them).
    `images`: 'network', 'all' and each rate's format_rate text -> image path in the report.
    `correct`: with --reference-errata, the run with the correct maths and the comparison of
    the two, for the errata section."""
    loss = template()["chart"]["y"]
    chain = Chain(network, loss)
    rates = list(training.learning_rates)
    first = runs[rates[0]].row(0)
    parameters = training.setup.values() | {"learning_rate": rates[0]}
    values = {n: parameters[n] for n in network.parameters} | first
    doc = Document(template()["title"] if training.design == "reference" else _title(training.spec))
    n = training.iterations
    # δ columns: the backward pass layer by layer through them; expanded gradients: the chain
    # rule read off the graph, product by product.
    by_delta = training.gradients == "delta"
    label = labeller(chain)

    doc.para(
        "Backpropagation lowers the loss, the distance between what the network predicts and the "
        "target, by moving every weight a small step against its derivative. This page works "
        "through one training step by hand and then shows training at each learning rate. "
        "Every number on it comes from the same run as the workbooks ", Verbatim(f"{training.basename}.xlsx"),
        f" and .ods, {n} iterations per learning rate, so they cannot disagree.")

    doc.add(Heading(2, "The network"), Image(images["network"], "the network with its initial weights"))
    inputs = [q.name for q in network.quantities if q.is_state and not _trained(chain, q.name)
              and q.name != "iteration"]
    fixed = sorted(network.parameters - {"learning_rate"})
    parts: list[str | Math] = ["It starts from "]
    for k, name in enumerate(inputs + fixed):
        parts += [", " if k else "", Math(f"{symbol(name)} = {number(values[name])}")]
    parts.append(" and the initial weights drawn above.")
    doc.para(*parts)

    # --- forward pass
    doc.add(Heading(2, "Forward pass"))
    doc.para("Each quantity from the ones before it, first as the workbook's formula and then with "
             "iteration 1's numbers in place (operands to ", f"{_words(OPERAND_DIGITS)} significant "
             f"digits, results to {_words(RESULT_DIGITS)})",
             *definitions(q.formula for q in chain.forward))
    # A general network's δ columns belong to the backward pass.
    forward = [q for q in chain.forward if not q.name.startswith("delta_")]
    for q in forward:
        doc.add(equation(symbol(q.name), render_lines(q.formula), render_lines(q.formula, values),
                         number(first[q.name])))

    # --- backward pass, the layer nearest the loss first
    if by_delta:
        _network_backward(doc, training.spec, network, values, first, loss)
    groups: dict[int, list[Trained]] = {}
    for t in () if by_delta else chain.trained:
        groups.setdefault(t.depth, []).append(t)
    defined: set[str] = set()
    known_locals: set[tuple[str, str]] = set()
    errata = template()["errata"] if training.reference_errata else {}
    for depth in sorted(groups):
        group = groups[depth]
        doc.add(Heading(2, f"Derivatives of {heading_name(loss)} with respect to "
                           f"{_listing([t.name for t in group])}"))
        doc.para("By the chain rule:")
        leads: list[str] = []
        for t in group:
            doc.add(equation(partial(loss, t.name),
                             " + ".join(_term(term, loss) for term in chain.expand(t.name))))
            leads += [lead for lead in chain.leads(t.name) if lead not in leads and lead not in defined]
        if leads:
            doc.para("where each of ", *_math_listing(leads),
                     " feeds several quantities, so its derivative adds up their paths:")
            for lead in leads:
                doc.add(equation(partial(loss, lead),
                                 " + ".join(_term(term, loss) for term in chain.expand(lead))))
            defined.update(leads)
        new = []
        for t in group:
            for name in [t.name, *chain.leads(t.name)]:
                for term in chain.expand(name):
                    for pair in term.factors:
                        if pair not in known_locals and pair not in new:
                            new.append(pair)
        if new:
            doc.para("Each factor is the derivative of one formula of the forward pass:")
            for top, bottom in new:
                doc.add(equation(partial(top, bottom), render(chain.local(top, bottom))))
            known_locals.update(new)
        doc.para("Multiplied out, as the workbook's gradient columns compute them, and with "
                 "iteration 1's numbers:")
        for t in group:
            formula = network.quantity(t.gradient).formula
            doc.add(equation(partial(loss, t.name), render_lines(formula)),
                    equation(partial(loss, t.name), render_lines(formula, values),
                             number(first[t.gradient])))
        wrong = [t for t in group if t.gradient in errata]
        if wrong:
            doc.para("As in the original workbook, ", *_math_listing([t.gradient for t in wrong], label),
                     " reproduce its mistakes on purpose (see the last section): they are not the "
                     "true derivatives.")

    # --- update
    doc.add(Heading(2, "Weight update"))
    doc.para("Every weight then moves against its derivative, scaled by the learning rate ",
             _m("learning_rate"), "; all of them change at once, from the same row. With ",
             Math(f"{symbol('learning_rate')} = {number(rates[0])}"),
             ", the first rate, iteration 2 starts from (",
             Math(f"{symbol('w')}^{{+}}"), " is a weight's next value):")
    for t in chain.trained:
        rule = network.quantity(t.name).next
        after = rule.evaluate(values)
        doc.add(equation(f"{symbol(t.name)}^{{+}}", render_lines(rule, name=label),
                         render_lines(rule, values), number(after)))

    _results(doc, training, runs, images, loss)

    if correct is not None:
        _errata_section(doc, training, network, runs, correct, loss)
    return doc


def _results(doc: Document, training: Training, runs: Mapping[float, Trace], images: Mapping[str, str],
             loss: str) -> None:
    """The plots, the table of initial and final loss per rate and the best rate."""
    rates = list(training.learning_rates)
    n = training.iterations
    # --- loss per learning rate; a data set's per epoch (one sample's loss per step is a saw-tooth)
    if training.data is not None:
        from sheetgen.layout.training_book import epoch_losses

        curves = {rate: epoch_losses(training, runs[rate].column(loss)) for rate in rates}
        unit, count = "epoch", len(curves[rates[0]])
    else:
        curves = {rate: runs[rate].column(loss) for rate in rates}
        unit, count = "iteration", n
    doc.add(Heading(2, "Loss per learning rate"))
    if training.data is None:
        doc.para("Training repeats the forward pass, the derivatives and the update ", f"{n} times "
                 "per learning rate. ", _m(loss), " at each iteration:")
    else:
        doc.para(f"Training takes {n} steps per learning rate, {training.data.steps_per_epoch()} to "
                 f"an epoch (one pass over the data). Each step's ", _m(loss), " is that step's "
                 f"samples' only, so the rates are compared by the loss per epoch: the "
                 f"{training.data.reduction} of ", _m(loss), " over the epoch's steps:")
    for rate in rates:
        doc.add(Image(images[format_rate(rate)], loss_plot_title(rate), group="rates"))
    if len(rates) > 1:
        doc.para("All learning rates together:")
        doc.add(Image(images["all"], template()["summary"]["chart"]["title"]))
    finals = {rate: float(curve[-1]) for rate, curve in curves.items()}
    best = min(rates, key=lambda r: finals[r])
    first, last = ((f"initial {loss}", f"final {loss} (iteration {n})") if training.data is None else
                   ("first epoch's loss", f"last epoch's loss (epoch {count})"))
    doc.add(Table(("learning rate", first, last, "best"),
                  tuple((plain_number(rate), plain_number(curves[rate][0]), plain_number(finals[rate]),
                         "best" if rate == best else "") for rate in rates)))

    doc.add(Heading(2, "Best learning rate"))
    ends = "lowest " if training.data is None else "lowest loss in its last epoch, "
    opening = (f"Learning rate {plain_number(best)} is the best of those tried: it ends with the "
               + ends if len(rates) > 1 else f"Only learning rate {plain_number(best)} was tried; "
               "it ends with " + ("" if training.data is None else "a last epoch's loss of "))
    conclusion = _convergence(curves, count, best, loss, unit)
    if training.data is None:
        doc.para(opening, _m(loss), f" = {plain_number(finals[best])}. ", *conclusion)
    else:
        doc.para(opening, f"{plain_number(finals[best])}. ", *conclusion)


def _title(spec: NetworkSpec) -> str:
    """'2-3-3-2 network (tanh, tanh, sigmoid) trained by backpropagation'."""
    sizes = "-".join(str(size) for size in spec.layers)
    return f"{sizes} network ({', '.join(spec.activations)}) trained by backpropagation"


# A layer with more weights than this shows its first neuron's; the rest follow the same pattern.
SHOWN_WEIGHTS = 12


def _network_backward(doc: Document, spec: NetworkSpec, network: Network,
                      values: Mapping[str, float], first: Mapping[str, float], loss: str) -> None:
    """The δ form of the chain rule, one section per layer from the outputs back: each neuron's
    δ = ∂E/∂(its pre-activation), then ∂E/∂w = δ · (what w multiplies), all from the derived
    δ and gradient columns with iteration 1's numbers."""
    trained = {q.name for q in network.quantities if q.gradient}
    delta = r"\delta"
    for layer in range(spec.n_layers, 0, -1):
        neurons = spec.neurons(layer)
        weights = spec.weights(layer)
        names = [w for row in weights for w in row]
        where = "the output layer" if layer == spec.n_layers else (
            "the hidden layer" if spec.n_layers == 2 else f"hidden layer {layer}")
        listed = _listing(names) if len(names) <= 4 else f"{names[0]}…{names[-1]}"
        doc.add(Heading(2, f"Derivatives of {heading_name(loss)} with respect to {listed} ({where})"))
        z, w, s = neurons[0], weights[0][0], spec.sources(layer)[0]
        doc.para("By the chain rule through the pre-activation a weight feeds, with ",
                 Math(rf"{symbol('delta_' + z)} = {partial(loss, z)}"), " the neuron's error signal:")
        doc.add(equation(partial(loss, w), rf"{partial(loss, z)} \cdot {partial(z, w)}",
                         rf"{symbol('delta_' + z)} \cdot {symbol(s)}"))
        if layer == spec.n_layers:
            doc.para("At the outputs ", Math(delta), " comes from the loss and the output "
                     "activation (", Math(rf"{partial(loss, 'a_' + z)} \cdot {partial('a_' + z, z)}"),
                     ", or the closed form of the pair):")
        else:
            k, nxt = "k", spec.neurons(layer + 1)
            doc.para("A hidden neuron feeds every neuron ", Math(k), " of the next layer (",
                     *_math_listing(list(nxt)), "), so its ", Math(delta),
                     " adds up their error signals through the weights between, times its own "
                     "activation's slope:")
            doc.add(Equation((rf"{symbol('delta_' + z)} = \Big(\sum_{{{k}}} \delta_{{{k}}} \cdot "
                              rf"w_{{{k},{symbol(z)}}}\Big) \cdot f\prime({symbol(z)})",)))
        for n in neurons:
            formula = network.quantity("delta_" + n).formula
            doc.add(equation(symbol("delta_" + n), render_lines(formula), render_lines(formula, values),
                             number(first["delta_" + n])))
        shown = names if len(names) <= SHOWN_WEIGHTS else list(weights[0])
        doc.para("Each weight's derivative, as the workbook's gradient column computes it"
                 + ("" if shown == names else f" (the first neuron's {len(shown)} weights; the other "
                    f"{len(names) - len(shown)} follow the same pattern)") + ":")
        for w in shown:
            formula = network.quantity("dE_d" + w).formula
            doc.add(equation(partial(loss, w), render_lines(formula), render_lines(formula, values),
                             number(first["dE_d" + w])))
        biases = [b for b in dict.fromkeys(spec.biases_of(layer)) if "dE_d" + b in trained]
        if biases:
            doc.para("A bias multiplies 1, so its derivative is the ", Math(delta),
                     " of the neurons it feeds:")
            for b in biases:
                formula = network.quantity("dE_d" + b).formula
                worked = [] if isinstance(formula.tree, ast.Name) else [render_lines(formula, values)]
                doc.add(equation(partial(loss, b), render_lines(formula), *worked,
                                 number(first["dE_d" + b])))


def _trained(chain: Chain, name: str) -> bool:
    return any(t.name == name for t in chain.trained)


def _words(k: int) -> str:
    return {6: "six", 10: "ten"}.get(k, str(k))


def _convergence(curves: Mapping[float, Sequence[float]], n: int, best: float,
                 loss: str, unit: str = "iteration") -> list[str | Math]:
    """One sentence on what the curves show: which rates were still falling, levelled off or rose,
    and which were too small (never rose, yet ended at more than twice the best rate's loss)."""
    falling, flat, rising = [], [], []
    finals = {rate: float(np.asarray(curve)[-1]) for rate, curve in curves.items()}
    for rate, curve in curves.items():
        curve = np.asarray(curve, dtype=np.float64)
        if (np.diff(curve) > 0).any():
            rising.append(rate)
        elif len(curve) > 1 and (curve[-2] - curve[-1]) > LEVELLED_OFF * curve[-2]:
            falling.append(rate)
        else:
            flat.append(rate)
    one = len(curves) == 1
    listed = ["" if one else f" at learning rate{'s' * (len(group) > 1)} "
              + _listing([plain_number(r) for r in group]) for group in (falling, flat, rising)]
    if falling and len(falling) == len(curves) > 1:
        listed[0] = " at every rate"
    clauses = []
    if falling:
        runs = "that run" if len(falling) == 1 else "those runs"
        clauses.append(f"was still falling{listed[0]}, so {runs} had not converged")
    if flat:
        clauses.append(f"had levelled off{listed[1]}")
    if rising:
        clauses.append(f"rose at some {unit}{listed[2]}, a sign of steps too large")
    small = [r for r in curves if r < best and r not in rising and finals[r] > 2 * finals[best]]
    if small:
        clauses.append(f"fell slowest at learning rate{'s' * (len(small) > 1)} "
                       f"{_listing([plain_number(r) for r in small])}, a sign of steps too small")
    loss_name = "{loss}" if unit == "iteration" else "the loss per epoch"
    clauses = [f"after {n} {unit}s {loss_name} {clauses[0]}"] + [f"it {c}" for c in clauses[1:]]
    sentence = "; ".join(clauses)
    if best in falling and one:
        sentence += ": more iterations would lower the loss further"
    elif best in falling and best == max(curves):
        sentence += (", and the largest rate got furthest: more iterations, or a larger rate, "
                     "would lower the loss further")
    before, _, after = (sentence[0].upper() + sentence[1:] + ".").partition("{loss}")
    return [before, _m(loss), after] if _ else [before]


def _errata_section(doc: Document, training: Training, network: Network, runs: Mapping[float, Trace],
                    correct: Correct, loss: str) -> None:
    right_net, right_runs, comparisons = correct.network, correct.runs, correct.comparisons
    label = labeller(Chain(network, loss))
    depth = {t.gradient: t.depth for t in Chain(network, loss).trained}
    errata: dict[str, dict[str, str]] = template()["errata"]
    doc.add(Heading(2, "The original workbook's two mistakes"))
    doc.para("This report was made with --reference-errata: the workbook and every number above "
             "reproduce two calculation mistakes of the original sheet on purpose.")
    by_mapping: dict[tuple, list[str]] = {}
    for name, mapping in errata.items():
        by_mapping.setdefault(tuple(sorted(mapping.items())), []).append(name)
    rates = list(training.learning_rates)
    wrong_row = runs[rates[0]].row(0)
    right_row = right_runs[rates[0]].row(0)
    # The last layer's mistake first, as the derivations come.
    for mapping, gradients in sorted(by_mapping.items(), key=lambda item: (depth[item[1][0]], item[1])):
        swaps = [(right, wrong) for right, wrong in mapping]
        parts: list[str | Math] = list(_math_listing(gradients, label))
        parts.append(" use ")
        for k, (right, wrong) in enumerate(swaps):
            parts += [", " if k else "", _m(wrong), " where ", _m(right), " belongs"]
        parts.append(". The correct formula and the original's, at iteration 1:")
        doc.para(*parts)
        for g in gradients:
            doc.add(equation(rf"\text{{correct: }} {label(g)}",
                             render_lines(right_net.quantity(g).formula), number(right_row[g])),
                    equation(rf"\text{{original: }} {label(g)}",
                             render_lines(network.quantity(g).formula), number(wrong_row[g])))
    doc.para("Through the weight updates the mistakes reach every later row. The model run both "
             "ways and compared column by column (sheetgen compare's figures, relative tolerance "
             "one in a billion):")
    rows = []
    for rate in rates:
        c = comparisons[rate]
        first = min((col.first_iteration for col in c.differences), default=None)
        rows.append((plain_number(rate), plain_number(runs[rate].row(-1)[loss]),
                     plain_number(right_runs[rate].row(-1)[loss]),
                     f"{len(c.differences)} of {len(c.columns)}", str(first or "none")))
    doc.add(Table(("learning rate", f"final {loss}, original maths", f"final {loss}, correct maths",
                   "columns that differ", "first differing iteration"), tuple(rows)))
    lower = [r for r in rates
             if right_runs[r].row(-1)[loss] < runs[r].row(-1)[loss]]
    if lower:
        where = "every rate" if len(lower) == len(rates) else \
            f"learning rate {_listing([plain_number(r) for r in lower])}"
        doc.para("With the correct maths the final ", _m(loss), f" is lower at {where}: the "
                 "mistaken gradients point the updates slightly off the steepest descent.")
