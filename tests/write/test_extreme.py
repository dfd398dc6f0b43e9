"""Extreme settings: huge learning rates and weights never overflow, in the model or in the
spreadsheet formulas; a setting that truly leaves floating point stops before any file is written."""

from __future__ import annotations

import math
import shutil
from dataclasses import replace
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sheetgen import cli
from sheetgen import generation as generate_module
from sheetgen.config import Config
from sheetgen.core.cells import column_letter
from sheetgen.core.expressions import sigmoid
from sheetgen.core.model import ModelError, Setup, run
from sheetgen.core.presets import reference_network as network
from sheetgen.generation import generate

needs_soffice = pytest.mark.skipif(
    shutil.which("soffice") is None,
    reason="LibreOffice not installed (Debian: apt-get install libreoffice-calc-nogui python3-uno)")

# Weights at the limit of 50 that cancel, so every neuron starts at 0.5 with a large
# gradient: at learning rate ±1000 the first update throws h1 and h2 to about ±6000, where a
# naive 1/(1+EXP(-x)) overflows (EXP overflows past 709).
EXTREME = Setup(i1=1, i2=1, w1=50, w2=-50, w3=-50, w4=50, w5=50, w6=-50, w7=-50, w8=50,
                b1=0, b2=0, biases="trained")
ACTIVATIONS = ("a_h1", "a_h2", "a_o1", "a_o2")

weight = st.floats(-50, 50, allow_nan=False)
unit = st.floats(0, 1, allow_nan=False)


def test_sigmoid_at_the_ends_of_floating_point():
    assert sigmoid(1e308) == 1.0 and sigmoid(-1e308) == 0.0
    assert sigmoid(-745.2) == 0.0 and 0 < sigmoid(-745.0) < 1e-300
    assert sigmoid(0.0) == 0.5


@settings(max_examples=60, deadline=None)
@given(ws=st.lists(weight, min_size=10, max_size=10), inputs=st.lists(unit, min_size=4, max_size=4),
       learning_rate=st.floats(-1e3, 1e3, allow_nan=False),
       biases=st.sampled_from(["none", "fixed", "trained"]))
def test_model_stays_finite_at_extreme_settings(ws, inputs, learning_rate, biases):
    w = dict(zip(("w1", "w2", "w3", "w4", "w5", "w6", "w7", "w8", "b1", "b2"), ws, strict=True))
    i1, i2, t1, t2 = inputs
    setup = Setup(i1=i1, i2=i2, t1=t1, t2=t2, biases=biases, **w)
    rows = run(network(biases), setup, learning_rate, 300)  # ModelError or OverflowError would fail
    for row in rows:
        assert all(math.isfinite(v) for v in row.values()), row
        assert all(0.0 <= row[a] <= 1.0 for a in ACTIVATIONS)
        assert 0.0 <= row["E_total"] <= 1.0  # targets in [0, 1]: each error is at most 1/2


def test_many_iterations_at_the_limits():
    for rate in (1e3, -1e3):
        rows = run(network("trained"), EXTREME, rate, 20_000)
        assert all(math.isfinite(v) for row in rows for v in row.values())
        assert max(abs(row[x]) for row in rows for x in ("h1", "h2")) > 5000  # far past EXP's 709
        assert abs(rows[-1]["w1"]) > 3000  # the weights did move far


def test_formulas_give_no_error_values_in_pycel(tmp_path):
    """pycel evaluates the .xlsx formulas as a spreadsheet would, without LibreOffice."""
    from pycel import ExcelCompiler

    config = Config(setup=EXTREME, learning_rates=(1e3,), iterations=20, formats=("xlsx",),
                    output_dir=tmp_path, plots=False)
    (path,) = generate(config.training())
    cached = openpyxl.load_workbook(path, data_only=True)["lr=1000"]
    excel = ExcelCompiler(filename=str(path))
    checked = 0
    for row in range(17, 17 + 20):
        for col in range(1, 37):
            value = excel.evaluate(f"lr=1000!{column_letter(col - 1)}{row}")
            stored = cached.cell(row, col).value
            assert isinstance(value, int | float), (row, col, value)  # not '#NUM!' or another error
            assert math.isclose(value, stored, rel_tol=1e-9, abs_tol=1e-300), (row, col, value, stored)
            checked += 1
    assert checked == 20 * 36


@pytest.mark.libreoffice
@needs_soffice
def test_libreoffice_recalculates_extreme_sheets_without_errors(tmp_path):
    from sheetgen.check.verify import verify_file

    config = Config(setup=EXTREME, learning_rates=(1e3, -1e3), iterations=100, output_dir=tmp_path,
                    plots=False)
    for path in generate(config.training()):
        report = verify_file(path, rtol=1e-12, timeout=120)
        sheets = [s for s in report.sheets if s.name.startswith("lr=")]
        assert [s.name for s in sheets] == ["lr=1000", "lr=-1000"]
        for sheet in sheets:
            assert sheet.checked >= 100 * 31
            assert sheet.errors == [], (path.name, sheet.name, sheet.errors[:3])
            assert sheet.differences == [], (path.name, sheet.name, sheet.differences[:3])


# --- leaving floating point -----------------------------------------------------------------

OVERFLOWING = Config(setup=Setup(i1=1e300, w1=0.0), learning_rates=(0.5, 1e3), iterations=5)


def test_model_names_the_iteration_that_leaves_floating_point():
    with pytest.raises(ModelError, match=r"^iteration 2: h1 is not a finite number \(learning rate 1000\)"):
        run(network(), OVERFLOWING.setup, 1e3, 5)


def test_nothing_is_written_when_the_model_overflows(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(generate_module, "atomic_path", lambda target: calls.append(target))
    monkeypatch.setattr(generate_module, "WRITERS",
                        {fmt: lambda book, path, fmt=fmt: calls.append(fmt) for fmt in ("xlsx", "ods")})
    previous = tmp_path / "BackPropagation.xlsx"
    previous.write_bytes(b"an earlier workbook")
    with pytest.raises(ModelError, match="^iteration 2: "):
        generate(replace(OVERFLOWING, output_dir=tmp_path).training())
    assert calls == []  # the model ran first: no file was opened, no writer started
    assert sorted(p.name for p in tmp_path.iterdir()) == ["BackPropagation.xlsx"]
    assert previous.read_bytes() == b"an earlier workbook"


def test_cli_reports_the_overflow_in_one_line(tmp_path, capsys):
    config = tmp_path / "huge.toml"
    config.write_text(f"inputs = {{ i1 = 1e300 }}\nweights = {{ w1 = 0 }}\nlearning_rates = [1000]\n"
                      f"output_dir = '{tmp_path / 'out'}'\n")
    status = cli.main(["generate", "--config", str(config)])
    err = capsys.readouterr().err
    assert status == 2
    assert err == ("error: iteration 2: h1 is not a finite number (learning rate 1000); "
                   "the setting leaves floating point\n")
    assert not Path(tmp_path / "out").exists()


@settings(max_examples=100, deadline=None)
@given(values=st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=14, max_size=14),
       learning_rate=st.floats(allow_nan=False, allow_infinity=False),
       biases=st.sampled_from(["none", "fixed", "trained"]))
def test_any_finite_setting_gives_finite_rows_or_a_model_error(values, learning_rate, biases):
    """Whatever the numbers, never an OverflowError or a silent inf/NaN: finite rows, or
    ModelError naming the iteration."""
    names = ("i1", "i2", "t1", "t2", "w1", "w2", "w3", "w4", "w5", "w6", "w7", "w8", "b1", "b2")
    setup = Setup(biases=biases, **dict(zip(names, values, strict=True)))
    try:
        rows = run(network(biases), setup, learning_rate, 20)
    except ModelError as exc:
        assert str(exc).startswith("iteration ") and "leaves floating point" in str(exc)
    else:
        assert all(math.isfinite(v) for row in rows for v in row.values())


def test_a_huge_target_overflows_cleanly(tmp_path, capsys):
    config = tmp_path / "huge.toml"
    config.write_text(f"targets = {{ t1 = 1e200 }}\noutput_dir = '{tmp_path / 'out'}'\n")
    status = cli.main(["generate", "--config", str(config)])
    assert status == 2
    assert capsys.readouterr().err == ("error: iteration 1: a value is too large for floating point "
                                       "(learning rate 0.1); the setting leaves floating point\n")
    assert not (tmp_path / "out").exists()
