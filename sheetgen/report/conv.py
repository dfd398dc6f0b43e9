"""The write-up of an image network (conv2d, pooling, dense): the picture, then one convolution
output, one pooled gradient and one kernel gradient worked through with iteration 1's numbers,
the update of that kernel value, then the plots, the table and the best rate. Every number is
read from the model's trace; every formula is the one the workbook's cells hold."""

from __future__ import annotations

from collections.abc import Mapping

from sheetgen.core.conv import Conv2dLayer, ConvSpec, PoolLayer, describe
from sheetgen.core.model import Trace
from sheetgen.core.training import PER_SAMPLE, Training
from sheetgen.report.document import Document, Heading, Image, Math, _results, equation
from sheetgen.report.latex import number, partial, render_lines, symbol
from sheetgen.report.training import _worked_update

LOSS = "E_total"


def build_conv_document(training: Training, runs: Mapping[float, Trace],
                        images: Mapping[str, str]) -> Document:
    spec: ConvSpec = training.spec
    data, opt = training.data, training.optimizer
    base = training.one_sample
    rate = training.learning_rates[0]
    run = runs[rate]
    first = run.row(0)
    after = run.row(1) if run.iterations > 1 else None
    k, n = data.batch_size, data.n
    suffix = "" if k == 1 else "_s1"   # sample 1 of the step, in one sample's names
    per_sample = {c.quantity.removesuffix(suffix) for c in training.columns
                  if c.block in PER_SAMPLE and c.quantity.endswith(suffix)}

    def named(x: str) -> str:
        return x if k == 1 else f"{x}_s1"

    values = dict(first) | {x: first[named(x)] for x in per_sample}
    for p in training.trained:  # sample 1's own gradient
        values["dE_d" + p] = (first["dE_d" + p] if k == 1
                              else base.quantity("dE_d" + p).formula.evaluate(values))
    which = int(first[named("sample")]) if k < n else 1

    doc = Document(f"{describe(spec)}: a convolutional network trained by backpropagation")
    doc.para(f"A convolutional network trained on {n} images, {k} per step, with {opt.name}. "
             f"This page works one convolution output, one pooled gradient and one kernel gradient "
             f"through with the numbers of sample {which} in step 1 at learning rate "
             f"{number(rate)}, as the workbooks {training.basename}.xlsx and .ods compute them "
             f"(their `maps` sheet draws every map of any rate and iteration).")
    doc.add(Heading(2, "The network"), Image(images["network"], "the layers and their shapes"))

    conv = next(m for m, layer in enumerate(spec.layers) if isinstance(layer, Conv2dLayer))
    z = spec.pre_names(conv)[0][0][0]
    kernel = spec.kernel_names(conv)[0][0][0][0]

    def show(name: str, lhs: str | None = None, sample: bool = True) -> None:
        formula = base.quantity(name).formula
        value = values[name] if sample or k == 1 else first[name]
        doc.add(equation(lhs or symbol(name), render_lines(formula), render_lines(formula, values),
                         number(value)))

    doc.add(Heading(2, "One convolution output"))
    doc.para("Map 1's kernel slides over the input; at the top-left position it multiplies each "
             "kernel value by the pixel under it and adds the map's bias (a cross-correlation, as "
             "in PyTorch's conv2d):")
    show(z)
    if spec.layers[conv].activation != "identity":
        doc.para(f"then its activation ({spec.layers[conv].activation}):")
        show("a_" + z)

    pooled = conv + 1 < len(spec.layers) and isinstance(spec.layers[conv + 1], PoolLayer)
    if pooled:
        p = spec.image_names(conv + 1)[0][0][0]
        kind = spec.layers[conv + 1].kind
        doc.add(Heading(2, "One pooled value and its gradient"))
        doc.para(f"The {kind} layer takes each {spec.layers[conv + 1].size}×"
                 f"{spec.layers[conv + 1].size} window:")
        show(p)
        doc.para("Its gradient ", Math(rf"{symbol('delta_' + p)} = {partial(LOSS, p)}"),
                 " collects what the next layer sends back through every weight that reads it:")
        show("delta_" + p)
        window = sorted(base.quantity(p).formula.names)
        window = [w for w in spec.vector(conv) if w in window]   # row-major order
        if kind == "maxpool":
            largest = max(values[w] for w in window)
            winner = next(w for w in window if values[w] == largest)[2:]
            doc.para("A maximum passes its gradient to the window's largest element only: ",
                     Math(r"\operatorname{first\_max}(j, x_1, \ldots, x_n)"),
                     " is 1 when x_j is the first largest of the window in row-major order (PyTorch's "
                     "rule for ties) and 0 otherwise. Here the largest is ", Math(symbol("a_" + winner)),
                     ", which receives the gradient (times its activation's slope):")
            show("delta_" + winner)
            if winner != z:
                doc.para("while the window's first element receives none:")
                show("delta_" + z)
        else:
            doc.para("An average spreads its gradient evenly over the window:")
            show("delta_" + z)
    else:
        doc.add(Heading(2, "The gradient of that output"))
        show("delta_" + z)

    doc.add(Heading(2, "One kernel gradient"))
    doc.para("A kernel value multiplies one pixel at every position of the map, so its gradient "
             "adds up every position's ", Math(r"\delta"), " times the pixel it multiplied there "
             "(the workbook groups each output row into one SUMPRODUCT):")
    show("dE_d" + kernel, partial(LOSS, kernel))

    doc.add(Heading(2, f"Update: {opt.name}"))
    doc.para("The update equations, exactly as the sheet computes them (g the gradient of the "
             "step, combined over its samples by " + data.reduction + "):")
    for rule in opt.latex_lines():
        doc.add(equation(rule))
    for lhs, worked, result in _worked_update(training, kernel, first, after, rate):
        doc.add(equation(f"{lhs}^{{+}}", worked, *([result] if result is not None else [])))
    _results(doc, training, runs, images, LOSS)
    return doc
