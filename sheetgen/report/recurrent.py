"""The write-up of a recurrent network (rnn, lstm, gru) trained by backpropagation through time.

The picture unrolled over time, the equations of a step, the forward pass of sample 1 in step 1
worked with its numbers, then one step of BPTT worked backward — the δ columns of the last step
and of the step before it, each reading the later one — and a gradient as the sum over the
steps, the optimizer's update with step 1's numbers, and the results. Every number is read from
the model's trace, the rows the workbooks hold.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping

from sheetgen.core.model import Trace
from sheetgen.core.recurrent import RecurrentSpec, step_of
from sheetgen.core.training import Training
from sheetgen.report.document import SHOWN_WEIGHTS, Document, Heading, Image, Math, _results, equation
from sheetgen.report.latex import number, partial, render_lines, symbol
from sheetgen.report.training import _worked_update, first_sample

LOSS = "E_total"


def _shown_steps(spec: RecurrentSpec) -> list[int]:
    return list(range(1, spec.steps + 1)) if spec.steps <= 3 else [1, spec.steps]


def build_recurrent_document(training: Training, runs: Mapping[float, Trace],
                             images: Mapping[str, str]) -> Document:
    spec, data, opt = training.spec, training.data, training.optimizer
    base = training.one_sample
    rates = list(training.learning_rates)
    one = first_sample(training, runs[rates[0]])
    first, after, values, sample_loss, which = one.first, one.after, one.values, one.sample_loss, one.which
    k, n = data.batch_size, data.n
    parameters = training.trained

    kind = {"rnn": "Elman RNN", "lstm": "LSTM", "gru": "GRU"}[spec.cell]
    doc = Document(f"{kind} trained by backpropagation through time")
    article = "An" if kind[0] in "AEIOU" else "A"
    doc.para(f"{article} {kind} ({spec.describe()}) trained on {n} sequences of {spec.steps} steps with "
             f"{opt.describe()}. This page works through step 1 by hand — the forward pass over the "
             "time steps, then backpropagation through time — and shows training at each learning "
             f"rate. Every number comes from the same run as the workbooks {training.basename}.xlsx "
             f"and .ods, {training.iterations} steps per learning rate.")
    doc.add(Heading(2, "The network, unrolled over time"),
            Image(images["network"], "the network unrolled over its time steps"))
    doc.para("The same weights are used at every step; each step's state feeds the next. "
             "The equations of one step (⊙: unit by unit):")
    for line in training.equations:
        if not line.startswith(("E", "⋮")):
            doc.para(line)

    # --- forward
    doc.add(Heading(2, f"Forward pass (sample {which} of step 1)"))
    steps = _shown_steps(spec)
    doc.para("Each quantity from the ones before it, as the workbook's formula and then with the "
             "numbers in place" + (f"; steps {steps[0] + 1} to {spec.steps - 1} repeat the same "
                                   "equations with their own inputs" if len(steps) < spec.steps else "")
             + ":")
    forward = [q for q in base.quantities if q.formula is not None and not q.gradient
               and not q.name.startswith("delta_")]
    for q in forward:
        t = step_of(q.name)
        if t is not None and t not in steps:
            continue
        lhs = symbol(sample_loss if q.name == LOSS else q.name)
        worked = [] if isinstance(q.formula.tree, ast.Name) else [render_lines(q.formula, values)]
        doc.add(equation(lhs, render_lines(q.formula), *worked, number(values[q.name])))

    # --- one step of BPTT
    doc.add(Heading(2, "Backpropagation through time, one step worked"))
    last = spec.steps
    back = [t for t in (last, last - 1) if t >= spec.active_from]
    doc.para("A δ column δ_x holds ∂E_total/∂x: of each net (z…: a gate's, rnn's h's, the "
             "outputs') and of the states c_t and, for lstm and gru, h_t. They run "
             f"from step {last} back to step {spec.active_from}"
             + (f" (bptt = {spec.bptt}: the earlier steps are held constant)" if spec.bptt else "")
             + f"; here step {last}" + (f" and then step {last - 1}, whose δs read step {last}'s"
                                        if len(back) > 1 else "") + ":")
    for q in base.quantities:
        if q.name.startswith("delta_") and (step_of(q.name) in back or
                                            (step_of(q.name) is None and spec.output == "last")):
            doc.add(equation(symbol(q.name), render_lines(q.formula), render_lines(q.formula, values),
                             number(values[q.name])))
    g = spec.gates[0]
    tag = spec.tag(len(spec.hidden))
    for w in (f"Wx{g}{tag}_1_1", f"Wh{g}{tag}_1_1"):
        doc.para("Each weight is used at every step, so its gradient is the sum over the steps "
                 "of δ times what the weight multiplies:" if w.startswith("Wx") else
                 "The recurrent weight multiplies the previous step's state:")
        formula = base.quantity("dE_d" + w).formula
        doc.add(equation(partial(sample_loss, w), render_lines(formula), render_lines(formula, values),
                         number(values["dE_d" + w])))
    if k > 1:
        how = "averages" if data.reduction == "mean" else "adds up"
        doc.para(f"The step's gradient {how} its {k} samples' sums, as the workbook's gradient "
                 "column computes it:")
        p = f"Wx{g}{tag}_1_1"
        formula = training.network.quantity("dE_d" + p).formula
        doc.add(equation(partial(LOSS, p), render_lines(formula, first), number(first["dE_d" + p])))

    # --- update
    doc.add(Heading(2, f"Update: {opt.name}"))
    doc.para("The update equations, exactly as the sheet computes them (", Math("g"),
             " a parameter's gradient in the row):")
    for rule in opt.latex_lines():
        doc.add(equation(rule))
    doc.para("With ", Math(rf"\mathit{{lr}} = {number(rates[0])}"), ", the first rate, step 1 moves "
             f"the first {min(SHOWN_WEIGHTS, len(parameters))} of the {len(parameters)} parameters to "
             "their values in step 2:")
    for p in parameters[:SHOWN_WEIGHTS]:
        for lhs, worked, result in _worked_update(training, p, first, after, rates[0]):
            doc.add(equation(f"{lhs}^{{+}}", worked, *([result] if result is not None else [])))

    _results(doc, training, runs, images, LOSS)
    return doc
