"""`sheetgen report`: the exercise's write-up, from the same model rows as the workbooks.

Writes DIR/report/README.md (Markdown with $…$ math, for a code-hosting site),
DIR/report/index.html (one page that renders offline: MathML, no script, no web request) and
DIR/report/images/ (the network picture and the loss plots). Each file is written whole or not
at all.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from sheetgen.build.book import network_picture
from sheetgen.config import Config, validate
from sheetgen.core.model import Network, iterate
from sheetgen.core.template import format_rate, network, template
from sheetgen.report.document import Correct
from sheetgen.report.errata import RunningComparison
from sheetgen.report.runs import Digest, chunks

Rows = Sequence[Sequence[float]]


def model_rows(net: Network, config: Config, rate: float) -> Iterator[tuple[float, ...]]:
    """One learning rate's rows, values in `net.names` order, produced as they are read."""
    return iterate(net, config.setup, rate, config.iterations)


def digest_runs(config: Config, net: Network, runs: Mapping[float, Rows] | None = None,
                correct_runs: Mapping[float, Rows] | None = None) -> tuple[dict, Correct | None]:
    """One pass over each rate's rows (and, with the original's errata, the correct maths' rows
    beside them): what the report keeps of them, and compare's figures for the two."""
    loss = template()["chart"]["y"]
    right = network(config.setup.biases, False) if config.reference_errata else None
    digests: dict[float, Digest] = {}
    right_digests: dict[float, Digest] = {}
    comparisons = {}
    for rate in config.learning_rates:
        rows = runs[rate] if runs is not None else model_rows(net, config, rate)
        digest = digests[rate] = Digest(net.index(loss))
        if right is None:
            for chunk in chunks(rows):
                digest.add(chunk)
            continue
        other = chunks(correct_runs[rate] if correct_runs is not None else model_rows(right, config, rate))
        right_digest = right_digests[rate] = Digest(right.index(loss))
        comparison = RunningComparison()
        for chunk in chunks(rows):
            beside = next(other, [])
            digest.add(chunk)
            right_digest.add(beside)
            comparison.add(net, chunk, right, beside)
        for beside in other:
            right_digest.add(beside)
        comparisons[rate] = comparison.result
    return digests, (Correct(right, right_digests, comparisons) if right is not None else None)


def write_report(config: Config, runs: Mapping[float, Rows] | None = None,
                 correct_runs: Mapping[float, Rows] | None = None) -> list[Path]:
    """Write the report of `config`; returns the paths written.

    `runs`: each learning rate's rows from the model (as the workbooks were written from),
    values in network order; run here when not given. `correct_runs`: with
    `config.reference_errata`, the rows with the correct maths (run here when not given), for
    the section on the original's mistakes. ConfigError and ModelError come before any file."""
    from sheetgen.report.document import build_document
    from sheetgen.report.html import to_html
    from sheetgen.report.markdown import to_markdown
    from sheetgen.write.atomic import atomic_path
    from sheetgen.write.picture_png import render_png
    from sheetgen.write.plots import thin, write_loss_plots

    validate(config)
    net = network(config.setup.biases, config.reference_errata)
    digests, correct = digest_runs(config, net, runs, correct_runs)

    folder = config.output_dir / "report"
    images = folder / "images"
    written = []
    target = images / "network.png"
    with atomic_path(target) as tmp:
        tmp.write_bytes(render_png(network_picture(config)))
    written.append(target)
    curves = {rate: thin(digests[rate].losses) for rate in config.learning_rates}
    plots = write_loss_plots(curves, images)
    written += plots
    links = {"network": "images/network.png", "all": f"images/{plots[-1].name}"}
    links |= {format_rate(rate): f"images/{path.name}"
              for rate, path in zip(config.learning_rates, plots, strict=False)}

    doc = build_document(config, net, digests, links, correct)
    for name, text in (("README.md", to_markdown(doc)), ("index.html", to_html(doc))):
        target = folder / name
        with atomic_path(target) as tmp:
            tmp.write_text(text, encoding="utf-8")
        written.append(target)
    return written


__all__ = ["digest_runs", "model_rows", "write_report"]
