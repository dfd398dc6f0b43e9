"""The report takes the model's rows as given (computed once, elsewhere) or runs the model
itself, in one pass per rate; long runs are compared a chunk at a time."""

from __future__ import annotations

from dataclasses import replace

import pytest

from sheetgen.check.compare import compare_frames
from sheetgen.config import Config
from sheetgen.core.model import Trace, trace
from sheetgen.core.presets import reference_network as network
from sheetgen.layout.assemble import traces
from sheetgen.report import write_report
from sheetgen.report.errata import compare_runs


def test_given_runs_make_the_same_report(tmp_path, made_report):
    config, own = made_report("errata")  # the model run inside write_report
    runs = traces(config.training(), network("none", True))
    correct = traces(config.training(), network("none", False))
    given = replace(config, output_dir=tmp_path)
    write_report(given.training(), runs, correct)
    for name in ("README.md", "index.html"):
        assert (tmp_path / "report" / name).read_bytes() == (own / name).read_bytes()
    # The report prints the runs it is given: other numbers there, other numbers in it.
    doubled = replace(runs[0.5], values=runs[0.5].values * 2)
    write_report(given.training(), runs | {0.5: doubled}, correct)
    assert (tmp_path / "report" / "README.md").read_text("utf-8") != (own / "README.md").read_text("utf-8")


@pytest.mark.parametrize("chunk", [1, 7, 50])
def test_chunked_comparison_is_the_whole_comparison(chunk):
    setup = Config().setup
    a = trace(network("none", True), setup, 0.8, 40)
    b = trace(network("none", False), setup, 0.8, 40)
    values = b.values.copy()
    values[25] += 1  # a difference that starts late in a column
    b = Trace(b.names, b.learning_rate, values)
    whole = compare_frames(a.to_frame().reset_index(drop=True), b.to_frame().reset_index(drop=True),
                           ("original", "correct"))
    assert compare_runs(a, b, chunk) == whole
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
