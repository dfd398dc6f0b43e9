"""`sheetgen report`: the exercise's write-up, from the same model rows as the workbooks.

Writes DIR/report/README.md (Markdown with $…$ math, for a code-hosting site),
DIR/report/index.html (one page that renders offline: MathML, no script, no web request) and
DIR/report/images/ (the network picture and the loss plots). Each file is written whole or not
at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from sheetgen.core.model import Trace
from sheetgen.core.template import format_rate
from sheetgen.core.training import Training
from sheetgen.layout.assemble import equations, traces
from sheetgen.layout.book import network_picture


def write_report(training: Training, runs: Mapping[float, Trace] | None = None,
                 correct_runs: Mapping[float, Trace] | None = None) -> list[Path]:
    """Write the report of `training`; returns the paths written.

    `runs`: the model's run per learning rate, as the workbooks were written from
    (`layout.assemble.traces`); run here when not given. `correct_runs`: with
    `training.reference_errata`, the runs with the correct maths (run here when not given), for
    the section on the original's mistakes. ConfigError and ModelError come before any file."""
    from sheetgen.report.document import Correct
    from sheetgen.report.errata import compare_runs
    from sheetgen.write.atomic import output_set
    from sheetgen.write.plots import plot_paths

    net = equations(training)
    runs = runs if runs is not None else traces(training, net)
    correct = None
    if training.correct is not None:  # --reference-errata: the same graph without the mistakes
        right = training.correct
        right_runs = correct_runs if correct_runs is not None else traces(training, right)
        correct = Correct(right, right_runs, {rate: compare_runs(runs[rate], right_runs[rate])
                                              for rate in training.learning_rates})

    folder = training.output_dir / "report"
    images = folder / "images"
    with output_set(training.output_dir, [images / "network.png", *plot_paths(training, images),
                                            folder / "README.md", folder / "index.html"]):
        return _write(training, net, runs, correct, folder, images)


def _write(training: Training, net, runs, correct, folder: Path, images: Path) -> list[Path]:
    from sheetgen.report.document import build_document
    from sheetgen.report.html import to_html
    from sheetgen.report.markdown import to_markdown
    from sheetgen.write.atomic import atomic_path
    from sheetgen.write.picture_png import render_png
    from sheetgen.write.plots import write_plots

    written = []
    target = images / "network.png"
    with atomic_path(target) as tmp:
        # Full size: the sheets draw it smaller only to share a laptop's screen with the chart.
        tmp.write_bytes(render_png(replace(network_picture(training), scale=1.0)))
    written.append(target)
    plots = write_plots(training, runs, images, titled=False)  # the report captions them
    written += plots
    links = {"network": "images/network.png", "all": f"images/{plots[-1].name}"}
    links |= {format_rate(rate): f"images/{path.name}"
              for rate, path in zip(training.learning_rates, plots, strict=False)}

    if training.spec.images:  # an image network: conv output, pooled and kernel gradient
        from sheetgen.report.conv import build_conv_document

        doc = build_conv_document(training, runs, links)
    elif training.spec.unrolled:  # recurrent: one step of BPTT worked
        from sheetgen.report.recurrent import build_recurrent_document

        doc = build_recurrent_document(training, runs, links)
    elif training.data is not None:  # a data set and an optimizer: step 1 worked for one sample
        from sheetgen.report.training import build_training_document

        doc = build_training_document(training, runs, links)
    else:
        doc = build_document(training, net, runs, links, correct)
    for name, text in (("README.md", to_markdown(doc)), ("index.html", to_html(doc))):
        target = folder / name
        with atomic_path(target) as tmp:
            tmp.write_text(text, encoding="utf-8")
        written.append(target)
    return written


__all__ = ["write_report"]
