"""The write-up of a data set trained by an optimizer ([data] and [optimizer] tables).

The same sections as the one-sample report: the picture, the forward pass worked for one
sample of step 1, how the step combines its samples' losses and gradients, the δ form of the
gradients, the optimizer's update equations (as the README states them) with step 1's numbers,
then the plots, the table and the best rate. Every number is read from the model's trace.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass

from sheetgen.core.expressions import Expression
from sheetgen.core.model import Trace
from sheetgen.core.optimizers.base import LATEX
from sheetgen.core.training import PER_SAMPLE, Training
from sheetgen.report.document import (
    SHOWN_WEIGHTS,
    Document,
    Heading,
    Image,
    Math,
    Verbatim,
    _network_backward,
    _results,
    _title,
    definitions,
    equation,
)
from sheetgen.report.latex import number, partial, render, render_lines, symbol

LOSS = "E_total"


def _worked_update(training: Training, p: str, before: Mapping[str, float],
                   after: Mapping[str, float] | None, rate: float) -> list[tuple[str, str, str | None]]:
    """(left side, right side with step 1's numbers, result from the next row) per equation:
    the optimizer's own update expressions (core/optimizers/) with the numbers in place, a
    state's new value (cur(v)) from the next row."""
    opt = training.optimizer
    update = opt.update(p, "dE_d" + p, "lr" if opt.schedule is not None else "learning_rate")
    values = dict(before) | {h: opt.value(h) for h in opt.hyper} | {"learning_rate": rate}
    lines = []
    for target, expression in update.items():
        new = {f"cur({s})": f"{s}__new" for s in update if s != p}
        text = expression.text
        for old, name in new.items():
            text = text.replace(old, name)
        shown = dict(values)
        if after is not None:
            shown |= {f"{s}__new": after[s] for s in update if s != p}
        rendered = render(Expression.parse(text), shown,
                          name=lambda n: symbol(n.removesuffix("__new")))
        lines.append((symbol(target), rendered, None if after is None else number(after[target])))
    return lines


@dataclass(frozen=True)
class FirstSample:
    """Sample 1 of step 1 of a run, in the one-sample network's own names: what the reports
    of a data set (this one, report/conv.py, report/recurrent.py) work through by hand."""

    first: dict[str, float]            # step 1's row, in the table's names
    after: dict[str, float] | None     # step 2's row (None: a run of one step)
    values: dict[str, float]           # sample 1's quantities and own gradients, one sample's names
    sample_loss: str                   # its loss in the table: E_s1, or E_total with one sample a step
    which: int                         # the data set's sample it is


def _of_sample_1(x: str, batch: int) -> str:
    """One sample's name x as sample 1 of a step of `batch` samples holds it in the table."""
    return x if batch == 1 else f"{x}_s1"


def first_sample(training: Training, run: Trace) -> FirstSample:
    """Sample 1 of step 1 of `run` (a data set's training)."""
    first = run.row(0)
    after = run.row(1) if run.iterations > 1 else None
    k, n = training.data.batch_size, training.data.n
    suffix = "" if k == 1 else "_s1"
    per_sample = {c.quantity.removesuffix(suffix) for c in training.columns
                  if c.block in PER_SAMPLE and c.quantity.endswith(suffix)}
    sample_loss = LOSS if k == 1 else "E_s1"
    values = dict(first) | {x: first[_of_sample_1(x, k)] for x in per_sample} | {LOSS: first[sample_loss]}
    values = {name: v for name, v in values.items() if not isinstance(v, tuple)}
    for p in training.trained:  # sample 1's own gradient: the step's when it has one sample
        values["dE_d" + p] = (first["dE_d" + p] if k == 1
                              else training.one_sample.quantity("dE_d" + p).formula.evaluate(values))
    which = int(first[_of_sample_1("sample", k)]) if k < n else 1
    return FirstSample(first, after, values, sample_loss, which)


def build_training_document(training: Training, runs: Mapping[float, Trace],
                            images: Mapping[str, str]) -> Document:
    """`runs`: the model's run per learning rate (the workbooks' rows). `images`: as for
    `build_document`."""
    spec, data, opt = training.spec, training.data, training.optimizer
    base = training.one_sample
    rates = list(training.learning_rates)
    run = runs[rates[0]]
    one = first_sample(training, run)
    first, after, values, sample_loss, which = one.first, one.after, one.values, one.sample_loss, one.which
    k, n = data.batch_size, data.n
    parameters = training.trained

    doc = Document(_title(spec))
    steps = training.iterations
    how_taken = ("in order and cycling" if data.order == "cycle"
                 else "shuffled anew each epoch" if data.shuffle else "in order, an epoch one pass")
    batch = ("all " + str(n) + " samples (the full batch)" if k == n
             else f"one sample, {how_taken}" if k == 1
             else f"{k} samples, {how_taken}")
    doc.para(
        f"Training on a data set of {n} samples: each update step takes {batch}, and "
        f"{opt.describe()} moves the parameters. This page works through step 1 by hand and then "
        f"shows training at each learning rate. Every number on it comes from the same run as the "
        "workbooks ", Verbatim(f"{training.basename}.xlsx"), f" and .ods, {steps} steps per learning rate.")

    doc.add(Heading(2, "The network"), Image(images["network"], "the network with its initial weights"))

    # --- forward pass, one sample
    sample = [q for q in spec.inputs + spec.targets]
    parts: list[str | Math] = [f"Step 1 starts with sample {which} ("]
    for j, name in enumerate(sample):
        parts += [", " if j else "", Math(f"{symbol(name)} = {number(values[name])}")]
    parts.append(") and the initial parameters drawn above.")
    doc.para(*parts)
    doc.add(Heading(2, f"Forward pass (sample {which} of step 1)"))
    intro = ("Each quantity from the ones before it, first as the workbook's formula and then with "
             f"sample {which}'s numbers in place")
    forward = [q for q in base.quantities if q.formula is not None and not q.gradient
               and not q.name.startswith("delta_")]
    doc.para(intro, *definitions(q.formula for q in forward))
    for q in forward:
        lhs = symbol(sample_loss if q.name == LOSS else q.name)
        worked = [] if isinstance(q.formula.tree, ast.Name) else [render_lines(q.formula, values)]
        doc.add(equation(lhs, render_lines(q.formula), *worked, number(values[q.name])))

    # --- how the step combines its samples
    doc.add(Heading(2, "One step over the batch"))
    per = data.divisor(spec)
    if k == 1 and per == 1:
        which_sample = ([Math(r"((t - 1) \bmod " + str(n) + ") + 1")] if not data.shuffle
                        else ["the one its sample column reads from the epoch's permutation"])
        doc.para("A step takes one sample (step ", Math("t"), " takes sample ", *which_sample,
                 "), so ", Math(symbol(LOSS)),
                 " and the gradients are that sample's own: those worked out below.")
    else:
        count = f"{k}" + (", fewer in an epoch's short last batch" if data.short_last else "")
        how = ("their sum" if data.reduction == "sum"
               else f"their mean (the sum divided by {count})" if per == 1
               else f"torch's mean (the sum divided by the samples, {count}, times {per} outputs)")
        doc.para(f"A step's loss and gradients combine its {k} samples' by {how}:")
        total = training.network.quantity(LOSS).formula
        doc.add(equation(symbol(LOSS), render_lines(total), render_lines(total, first), number(first[LOSS])))
        scale = ("" if data.reduction == "sum" else rf"\frac{{1}}{{{k}}} " if per == 1
                 else rf"\frac{{1}}{{{k} \cdot {per}}} ")
        doc.add(equation(partial(LOSS, "w"), rf"{scale}\sum_{{s=1}}^{{{k}}} {partial('E_s', 'w')}"))

    # --- gradients in δ form, the sample's; then the step's
    _network_backward(doc, spec, base, values, values, sample_loss)
    if k > 1:
        doc.add(Heading(2, "The step's gradients"))
        doc.para(f"Each gradient of step 1 {'adds up' if data.reduction == 'sum' else 'averages'} "
                 "the samples' chain-rule products, as the workbook's gradient columns compute them:")
        for p in parameters[:SHOWN_WEIGHTS]:
            formula = training.network.quantity("dE_d" + p).formula
            doc.add(equation(partial(LOSS, p), render_lines(formula, first), number(first["dE_d" + p])))

    # --- the optimizer's update
    doc.add(Heading(2, f"Update: {opt.name}"))
    uses_step = any("iteration" in rule for _, rule in opt.rules() + opt.definitions())
    doc.para("The update equations, exactly as the sheet computes them (", Math("g"),
             " a parameter's gradient in the row, ", Math(r"\mathit{lr}"), " the learning rate",
             *([", ", Math("t"), " the step"] if uses_step else []), "):")
    for rule in opt.latex_lines():
        doc.add(equation(rule))
    parts = ["With ", Math(rf"\mathit{{lr}} = {number(rates[0])}"), ", the first rate"]
    for h in opt.hyper:
        if h != "h":
            parts += [", ", Math(f"{LATEX.get(h, symbol(h))} = {number(opt.value(h))}")]
    parts.append(", step 1 moves each parameter to the value it has in step 2" +
                 (" (its state starts at the initial values, 0 unless given)" if opt.states else "") + ":")
    doc.para(*parts)
    for p in parameters:
        for lhs, worked, result in _worked_update(training, p, first, after, rates[0]):
            doc.add(equation(f"{lhs}^{{+}}", worked, *([result] if result is not None else [])))

    _results(doc, training, runs, images, LOSS)
    return doc
