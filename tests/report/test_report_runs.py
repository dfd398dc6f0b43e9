"""The report takes the model's rows as given (computed once, elsewhere) or runs the model
itself, in one pass per rate; long runs are compared a chunk at a time."""

from __future__ import annotations

from dataclasses import replace

import pytest

from sheetgen.config import Config
from sheetgen.core.model import run
from sheetgen.core.template import network
from sheetgen.report import model_rows, write_report
from sheetgen.report.errata import RunningComparison, compare_runs
from sheetgen.report.runs import chunks


def test_given_rows_make_the_same_report(tmp_path):
    config = Config(output_dir=tmp_path / "own", reference_errata=True, learning_rates=(0.5, 2.0))
    write_report(config)
    wrong, right = network("none", True), network("none", False)
    runs = {r: list(model_rows(wrong, config, r)) for r in config.learning_rates}
    correct = {r: list(model_rows(right, config, r)) for r in config.learning_rates}
    given = replace(config, output_dir=tmp_path / "given")
    write_report(given, runs, correct)
    for name in ("README.md", "index.html"):
        assert (tmp_path / "given" / "report" / name).read_bytes() == \
            (tmp_path / "own" / "report" / name).read_bytes()
    # Rows that are not the model's show up in the report: it prints what it is given.
    runs[0.5][0] = tuple(v * 2 for v in runs[0.5][0])
    write_report(given, runs, correct)
    assert (tmp_path / "given" / "report" / "README.md").read_text("utf-8") != \
        (tmp_path / "own" / "report" / "README.md").read_text("utf-8")


@pytest.mark.parametrize("size", [1, 7, 50])
def test_chunked_comparison_is_the_whole_comparison(size):
    wrong, right = network("none", True), network("none", False)
    setup = Config().setup
    a = [tuple(r.values()) for r in run(wrong, setup, 0.8, 40)]
    b = [tuple(r.values()) for r in run(right, setup, 0.8, 40)]
    b[25] = tuple(v + 1 for v in b[25])  # a difference that starts late in a column
    whole = compare_runs(wrong, a, right, b)
    running = RunningComparison()
    for x, y in zip(chunks(a, size), chunks(b, size), strict=True):
        running.add(wrong, x, right, y)
    assert running.result == whole
    assert {c.quantity: c.first_iteration for c in whole.columns}["t1"] == 26


@pytest.mark.parametrize("curves, best, expected", [
    ({0.5: [0.3, 0.2, 0.1]}, 0.5, "After 2 iterations E was still falling, so that run had not "
                                   "converged: more iterations would lower the loss further."),
    ({0.1: [0.3, 0.2999999], 1.0: [0.3, 0.2]}, 1.0,
     "After 2 iterations E was still falling at learning rate 1, so that run had not converged; "
     "it had levelled off at learning rate 0.1, and the largest rate got furthest: more "
     "iterations, or a larger rate, would lower the loss further."),
    ({0.1: [0.3, 0.2], 9.0: [0.3, 0.4, 0.25]}, 0.1,
     "After 2 iterations E was still falling at learning rate 0.1, so that run had not "
     "converged; it rose at some iteration at learning rate 9, a sign of steps too large."),
])
def test_what_the_plots_show(curves, best, expected):
    from sheetgen.report.document import Math, _convergence

    n = 2
    parts = _convergence(curves, n, best, "E")
    assert "".join("E" if isinstance(p, Math) else p for p in parts) == expected
