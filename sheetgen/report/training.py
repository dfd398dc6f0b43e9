"""The write-up of a data set trained by an optimizer ([data] and [optimizer] tables).

The same sections as the one-sample report: the picture, the forward pass worked for one
sample of step 1, how the step combines its samples' losses and gradients, the δ form of the
gradients, the optimizer's update equations (as the README states them) with step 1's numbers,
then the plots, the table and the best rate. Every number is read from the model's trace.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping

from sheetgen.config import Config
from sheetgen.core import optim
from sheetgen.core.model import Trace
from sheetgen.core.network import derive_cached
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
    equation,
)
from sheetgen.report.latex import OPERAND_DIGITS, number, partial, render_lines, symbol

LOSS = "E_total"


def _operand(value: float) -> str:
    text = number(value, OPERAND_DIGITS)
    return f"({text})" if text.startswith("-") else text


def _rules(opt: optim.OptimizerSpec) -> list[str]:
    """The update equations of the README's table, in LaTeX (g the gradient, t the step)."""
    eps = r" + \varepsilon" if opt.epsilon != 0 else ""
    lr = r"\mathit{lr}"
    if opt.name == "gd":
        return [rf"w \leftarrow w - {lr} \cdot g"]
    if opt.name == "momentum":
        return [r"v \leftarrow \beta \cdot v + (1 - \beta) \cdot g", rf"w \leftarrow w - {lr} \cdot v"]
    if opt.name == "rmsprop":
        return [r"s \leftarrow \beta \cdot s + (1 - \beta) \cdot g^{2}",
                rf"w \leftarrow w - {lr} \cdot g / (\sqrt{{s}}{eps})"]
    rules = [r"m \leftarrow \beta_{1} \cdot m + (1 - \beta_{1}) \cdot g",
             r"s \leftarrow \beta_{2} \cdot s + (1 - \beta_{2}) \cdot g^{2}",
             rf"w \leftarrow w - {lr} \cdot \hat{{m}} / (\sqrt{{\hat{{s}}}}{eps})"]
    if opt.bias_correction:
        rules.append(r"\hat{m} = m / (1 - \beta_{1}^{t}), \quad \hat{s} = s / (1 - \beta_{2}^{t})")
    else:
        rules.append(r"\hat{m} = m, \quad \hat{s} = s")
    return rules


def _worked_update(opt: optim.OptimizerSpec, p: str, before: Mapping[str, float],
                   after: Mapping[str, float] | None, rate: float) -> list[tuple[str, str, str | None]]:
    """(left side, right side with step 1's numbers, result from the next row) per equation."""
    o = _operand
    g = o(before["dE_d" + p])
    t = int(before["iteration"])
    eps = rf" + {o(opt.epsilon)}" if opt.epsilon != 0 else ""

    def new(name: str) -> str | None:
        return None if after is None else number(after[name])

    def state(name: str) -> str:
        return symbol(f"{name}_{p}")

    lines = []
    if opt.name == "momentum":
        v = f"v_{p}"
        lines.append((state("v"), rf"{o(opt.beta)} \cdot {o(before[v])} + (1 - {o(opt.beta)}) \cdot {g}",
                      new(v)))
        step = rf"{o(after[v]) if after else state('v')}"
        lines.append((symbol(p), rf"{o(before[p])} - {o(rate)} \cdot {step}", new(p)))
    elif opt.name == "rmsprop":
        s = f"s_{p}"
        lines.append((state("s"),
                      rf"{o(opt.beta)} \cdot {o(before[s])} + (1 - {o(opt.beta)}) \cdot {g}^{{2}}", new(s)))
        root = o(after[s]) if after else state("s")
        lines.append((symbol(p), rf"{o(before[p])} - {o(rate)} \cdot {g} / (\sqrt{{{root}}}{eps})", new(p)))
    elif opt.name == "adam":
        m, s = f"m_{p}", f"s_{p}"
        lines.append((state("m"), rf"{o(opt.beta1)} \cdot {o(before[m])} + (1 - {o(opt.beta1)}) \cdot {g}",
                      new(m)))
        lines.append((state("s"),
                      rf"{o(opt.beta2)} \cdot {o(before[s])} + (1 - {o(opt.beta2)}) \cdot {g}^{{2}}", new(s)))
        m1 = o(after[m]) if after else state("m")
        s1 = o(after[s]) if after else state("s")
        if opt.bias_correction:
            m_hat = rf"\frac{{{m1}}}{{1 - {o(opt.beta1)}^{{{t}}}}}"
            s_hat = rf"\frac{{{s1}}}{{1 - {o(opt.beta2)}^{{{t}}}}}"
        else:
            m_hat, s_hat = m1, s1
        lines.append((symbol(p), rf"{o(before[p])} - {o(rate)} \cdot {m_hat} / (\sqrt{{{s_hat}}}{eps})",
                      new(p)))
    else:
        lines.append((symbol(p), rf"{o(before[p])} - {o(rate)} \cdot {g}", new(p)))
    return lines


def build_training_document(config: Config, runs: Mapping[float, Trace],
                            images: Mapping[str, str]) -> Document:
    """`runs`: the model's run per learning rate (the workbooks' rows). `images`: as for
    `build_document`."""
    spec, data, opt = config.network, config.data, config.optimizer
    derivation = derive_cached(spec)
    base = derivation.network
    rates = list(config.learning_rates)
    run = runs[rates[0]]
    first = run.row(0)
    after = run.row(1) if run.iterations > 1 else None
    k, n = data.batch_size, data.n
    per_sample = {c.quantity for c in derivation.columns if c.block in optim.PER_SAMPLE}

    def named(x: str) -> str:
        return x if k == 1 else f"{x}_s1"

    sample_loss = LOSS if k == 1 else "E_s1"
    # Sample 1 of step 1, in the one-sample network's own names.
    values = dict(first) | {x: first[named(x)] for x in per_sample} | {LOSS: first[sample_loss]}
    which = int(first[named("sample")]) if k < n else 1
    parameters = optim.trained_parameters(spec)
    for p in parameters:  # sample 1's own gradient: the step's when it has one sample
        values["dE_d" + p] = (first["dE_d" + p] if k == 1
                              else base.quantity("dE_d" + p).formula.evaluate(values))

    doc = Document(_title(spec))
    steps = config.iterations
    batch = ("all " + str(n) + " samples (the full batch)" if k == n
             else "one sample, in order and cycling" if k == 1
             else f"{k} samples, in order and cycling")
    doc.para(
        f"Training on a data set of {n} samples: each update step takes {batch}, and "
        f"{opt.describe()} moves the parameters. This page works through step 1 by hand and then "
        f"shows training at each learning rate. Every number on it comes from the same run as the "
        "workbooks ", Verbatim(f"{config.basename}.xlsx"), f" and .ods, {steps} steps per learning rate.")

    doc.add(Heading(2, "The network"), Image(images["network"], "the network with its initial weights"))

    # --- forward pass, one sample
    sample = ([c for c in derivation.columns if c.block == "inputs"]
              + [c for c in derivation.columns if c.block == "targets"])
    parts: list[str | Math] = [f"Step 1 starts with sample {which} ("]
    for j, c in enumerate(sample):
        parts += [", " if j else "", Math(f"{symbol(c.quantity)} = {number(values[c.quantity])}")]
    parts.append(") and the initial parameters drawn above.")
    doc.para(*parts)
    doc.add(Heading(2, f"Forward pass (sample {which} of step 1)"))
    intro = ("Each quantity from the ones before it, first as the workbook's formula and then with "
             f"sample {which}'s numbers in place")
    if "sigmoid" in spec.activations:
        doc.para(intro + "; ", Math(r"\sigma(x) = \frac{1}{1 + e^{-x}}"), " is the sigmoid.")
    else:
        doc.para(intro + ".")
    forward = [q for q in base.quantities if q.formula is not None and not q.gradient
               and not q.name.startswith("delta_")]
    for q in forward:
        lhs = symbol(sample_loss if q.name == LOSS else q.name)
        worked = [] if isinstance(q.formula.tree, ast.Name) else [render_lines(q.formula, values)]
        doc.add(equation(lhs, render_lines(q.formula), *worked, number(values[q.name])))

    # --- how the step combines its samples
    doc.add(Heading(2, "One step over the batch"))
    if k == 1:
        doc.para("A step takes one sample (step ", Math("t"), " takes sample ",
                 Math(r"((t - 1) \bmod " + str(n) + ") + 1"), "), so ", Math(symbol(LOSS)),
                 " and the gradients are that sample's own: those worked out below.")
    else:
        how = "their mean (the sum divided by " + str(k) + ")" if data.reduction == "mean" else "their sum"
        doc.para(f"A step's loss and gradients combine its {k} samples' by {how}:")
        total = training_formula(config, LOSS)
        doc.add(equation(symbol(LOSS), render_lines(total), render_lines(total, first), number(first[LOSS])))
        scale = rf"\frac{{1}}{{{k}}} " if data.reduction == "mean" else ""
        doc.add(equation(partial(LOSS, "w"), rf"{scale}\sum_{{s=1}}^{{{k}}} {partial('E_s', 'w')}"))

    # --- gradients in δ form, the sample's; then the step's
    _network_backward(doc, spec, base, values, values, sample_loss)
    if k > 1:
        doc.add(Heading(2, "The step's gradients"))
        doc.para(f"Each gradient of step 1 {'averages' if data.reduction == 'mean' else 'adds up'} "
                 "the samples' chain-rule products, as the workbook's gradient columns compute them:")
        for p in parameters[:SHOWN_WEIGHTS]:
            formula = training_formula(config, "dE_d" + p)
            doc.add(equation(partial(LOSS, p), render_lines(formula, first), number(first["dE_d" + p])))

    # --- the optimizer's update
    doc.add(Heading(2, f"Update: {opt.name}"))
    doc.para("The update equations, exactly as the sheet computes them (", Math("g"),
             " a parameter's gradient in the row, ", Math(r"\mathit{lr}"), " the learning rate",
             *([", ", Math("t"), " the step"] if opt.name == "adam" else []), "):")
    for rule in _rules(opt):
        doc.add(equation(rule))
    names = {"beta": r"\beta", "beta1": r"\beta_{1}", "beta2": r"\beta_{2}", "epsilon": r"\varepsilon"}
    parts = ["With ", Math(rf"\mathit{{lr}} = {number(rates[0])}"), ", the first rate"]
    for h in optim.HYPER[opt.name]:
        if h != "epsilon" or opt.epsilon != 0:
            parts += [", ", Math(f"{names[h]} = {number(getattr(opt, h))}")]
    parts.append(", step 1 moves each parameter to the value it has in step 2" +
                 (" (its state starts at the initial values, 0 unless given)" if opt.states else "") + ":")
    doc.para(*parts)
    for p in parameters:
        for lhs, worked, result in _worked_update(opt, p, first, after, rates[0]):
            doc.add(equation(f"{lhs}^{{+}}", worked, *([result] if result is not None else [])))

    _results(doc, config, runs, images, LOSS)
    return doc


def training_formula(config: Config, name: str):
    """The formula of `name` in the table the workbooks compute."""
    return optim.build_cached(config.network, config.data, config.optimizer).network.quantity(name).formula
