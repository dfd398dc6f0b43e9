"""Experiments from a config file: loading, merging with flags, the shipped examples, and every
kind of bad setting refused before anything is written."""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import openpyxl
import pytest

from sheetgen import cli
from sheetgen.config import (
    EXAMPLES,
    Config,
    ConfigError,
    example_text,
    from_file,
    from_mapping,
    max_iterations,
    override,
    validate,
)
from sheetgen.core import model
from sheetgen.core.cells import column_letter
from sheetgen.core.model import Setup
from sheetgen.core.presets import reference_network as network
from sheetgen.generation import generate

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "sheetgen" / "examples"


def write(tmp_path: Path, text: str, name: str = "experiment.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, "utf-8")
    return path


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    status = cli.main(list(args))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


# --- the shipped examples ---------------------------------------------------------------------

def test_reference_example_holds_exactly_the_defaults(tmp_path):
    assert from_file(EXAMPLES_DIR / "reference.toml") == Config()


def test_examples_are_packaged_and_printed_by_init_config(capsys):
    for name in EXAMPLES:
        status, out, _ = run_cli(capsys, "init-config", "--example", name)
        assert status == 0
        assert out == example_text(name) == (EXAMPLES_DIR / f"{name}.toml").read_text("utf-8")
    assert run_cli(capsys, "init-config")[1] == example_text("reference")


def test_init_config_writes_a_file_and_never_overwrites(tmp_path, capsys):
    target = tmp_path / "experiment.toml"
    status, out, _ = run_cli(capsys, "init-config", "--example", "biased", "--output", str(target))
    assert status == 0 and str(target) in out
    assert from_file(target).setup.biases == "fixed"
    target.write_text("# mine\n")
    status, _, err = run_cli(capsys, "init-config", "--output", str(target))
    assert status == 2 and "already exists" in err and len(err.strip().splitlines()) == 1
    assert target.read_text() == "# mine\n"


def hand_first_iteration(i1, i2, t1, t2, w, b1, b2, lr):
    """The worked example's first forward and backward pass, in plain arithmetic."""
    def sig(x):
        return 1 / (1 + math.exp(-x))
    a_h1 = sig(w[1] * i1 + w[2] * i2 + b1)
    a_h2 = sig(w[3] * i1 + w[4] * i2 + b1)
    a_o1 = sig(w[5] * a_h1 + w[6] * a_h2 + b2)
    a_o2 = sig(w[7] * a_h1 + w[8] * a_h2 + b2)
    e_total = 0.5 * (t1 - a_o1) ** 2 + 0.5 * (t2 - a_o2) ** 2
    delta_o1 = (a_o1 - t1) * a_o1 * (1 - a_o1)
    delta_o2 = (a_o2 - t2) * a_o2 * (1 - a_o2)
    delta_h1 = (delta_o1 * w[5] + delta_o2 * w[7]) * a_h1 * (1 - a_h1)
    delta_h2 = (delta_o1 * w[6] + delta_o2 * w[8]) * a_h2 * (1 - a_h2)
    return {
        "E_total": e_total,
        "w5": w[5] - lr * delta_o1 * a_h1,
        "w1": w[1] - lr * delta_h1 * i1,
        "b1": b1 - lr * (delta_h1 + delta_h2),
        "b2": b2 - lr * (delta_o1 + delta_o2),
    }


WORKED = dict(i1=0.05, i2=0.10, t1=0.01, t2=0.99,
              w={1: 0.15, 2: 0.20, 3: 0.25, 4: 0.30, 5: 0.40, 6: 0.45, 7: 0.50, 8: 0.55},
              b1=0.35, b2=0.60, lr=0.5)


def test_biased_example_reproduces_the_worked_example(tmp_path):
    config = from_file(EXAMPLES_DIR / "biased.toml")
    assert config.learning_rates == (0.5,)
    assert (config.setup.b1, config.setup.b2, config.setup.biases) == (0.35, 0.60, "fixed")
    rows = model.run(network("fixed"), config.setup, 0.5, 2)
    assert f"{rows[0]['E_total']:.9f}" == "0.298371109"
    hand = hand_first_iteration(**WORKED)
    assert f"{hand['E_total']:.9f}" == "0.298371109"
    # The worked example's published first updates, and sheetgen's, agree with the hand values.
    assert round(hand["w5"], 8) == 0.35891648 and round(hand["w1"], 9) == 0.149780716
    assert math.isclose(rows[1]["w5"], hand["w5"], rel_tol=1e-14)
    assert math.isclose(rows[1]["w1"], hand["w1"], rel_tol=1e-14)


def test_biased_example_workbook_records_its_settings(tmp_path):
    config = replace(from_file(EXAMPLES_DIR / "biased.toml"), output_dir=tmp_path, formats=("xlsx",),
                     plots=False)
    (path,) = generate(config.training())
    assert path.name == "BackPropagation-biased.xlsx"
    ws = openpyxl.load_workbook(path, data_only=True)["lr=0.5"]
    # The settings in A1:A7 (each label above its value) and the fixed biases' cells H12:I13.
    settings = {ws.cell(r, 1).value: ws.cell(r + 1, 1).value for r in (2, 4, 6)}
    settings |= {ws.cell(r, 8).value: ws.cell(r, 9).value for r in (12, 13)}
    assert settings == {"iterations": 22, "biases": "fixed", "b1": 0.35, "b2": 0.6, "maths": "correct"}
    assert ws["G13"].value == 0.5
    assert [ws.cell(17, c).value for c in range(1, 5)] == [0.01, 0.99, 0.05, 0.1]
    assert f"{ws['W17'].value:.9f}" == "0.298371109"
    hand = hand_first_iteration(**WORKED)
    assert math.isclose(ws["M18"].value, hand["w5"], rel_tol=1e-14)
    formulas = openpyxl.load_workbook(path)["lr=0.5"]
    assert "$I$12" in formulas["I18"].value and "$I$13" in formulas["Q18"].value


def test_trained_biases_get_columns_after_the_reference_ones(tmp_path):
    path = write(tmp_path, "learning_rates = [0.5]\niterations = 3\nformats = ['xlsx']\n"
                           "biases = { b1 = 0.35, b2 = 0.60, train = true }\nplots = false\n")
    config = override(from_file(path), output_dir=tmp_path)
    assert config.setup.biases == "trained"
    (book,) = generate(config.training())
    ws = openpyxl.load_workbook(book, data_only=True)["lr=0.5"]
    headers = [ws.cell(16, c).value for c in range(1, 37)]
    assert headers[:31] == ("t1 t2 i1 i2 w1 w2 w3 w4 h1 a_h1 h2 a_h2 w5 w6 w7 w8 o1 a_o1 o2 a_o2 "
                            "e1 e2 E_total E∂W1 E∂W2 E∂W3 E∂W4 E∂W5 E∂W6 E∂W7 E∂W8").split()
    assert headers[31:] == ["iteration", "b1", "b2", "E∂b1", "E∂b2"]
    col = {h: column_letter(i) for i, h in enumerate(headers)}
    hand = hand_first_iteration(**WORKED)
    assert ws[f"{col['b1']}17"].value == 0.35 and ws[f"{col['b2']}17"].value == 0.6
    assert math.isclose(ws[f"{col['b1']}18"].value, hand["b1"], rel_tol=1e-14)
    assert math.isclose(ws[f"{col['b2']}18"].value, hand["b2"], rel_tol=1e-14)
    assert math.isclose(ws["E18"].value, hand["w1"], rel_tol=1e-14)


# --- merging: defaults < file < flags ---------------------------------------------------------

def test_file_sets_every_parameter(tmp_path):
    path = write(tmp_path, """
learning_rates = [0.3, 3]
iterations = 7
inputs  = { i1 = 1, i2 = -1 }
targets = { t1 = 0.2, t2 = 0.7 }
weights = { w1 = 1, w2 = 2, w3 = 3, w4 = 4, w5 = 5, w6 = 6, w7 = 7, w8 = 8 }
biases  = { b1 = 0.1, b2 = 0.2 }
formats = ["ods"]
output_dir = "somewhere/else"
basename = "run1"
reference_errata = true
plots = false
""")
    config = from_file(path)
    assert config == Config(
        setup=Setup(i1=1, i2=-1, t1=0.2, t2=0.7, w1=1, w2=2, w3=3, w4=4, w5=5, w6=6, w7=7, w8=8,
                    b1=0.1, b2=0.2, biases="fixed"),
        learning_rates=(0.3, 3.0), iterations=7, formats=("ods",),
        output_dir=Path("somewhere/else"), basename="run1", reference_errata=True, plots=False)
    assert config.output_path("ods") == Path("somewhere/else/run1.ods")


def test_partial_tables_keep_the_other_defaults():
    config = from_mapping({"weights": {"w5": 2.5}})
    assert config.setup == replace(Setup(), w5=2.5)


def test_flags_override_the_file(tmp_path, capsys):
    path = write(tmp_path, "learning_rates = [0.5]\niterations = 22\nformats = ['xlsx', 'ods']\n"
                           "basename = 'run'\nplots = false\n")
    status, out, err = run_cli(capsys, "generate", "--config", str(path), "--iterations", "3",
                               "--format", "xlsx", "--output-dir", str(tmp_path / "out"))
    assert status == 0, err
    assert "1 sheet x 3 iterations" in out
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["run.xlsx"]
    ws = openpyxl.load_workbook(tmp_path / "out" / "run.xlsx", read_only=True)["lr=0.5"]
    assert ws["AF19"].value is not None and ws["AF20"].value is None  # 3 rows: 17..19


# --- bad settings: one line naming the field, status 2, nothing written ----------------------

BAD_FILES = [
    ("learnig_rates = [0.1]", "learnig_rates: unknown key (did you mean 'learning_rates'?)"),
    ("weights = { w1 = 0.1, w9 = 0.2 }", "weights.w9: unknown key"),
    ("learning_rates = [0.1, 'fast']", "learning_rates[1]: must be a number, got a string 'fast'"),
    ("learning_rates = 0.1", "learning_rates: must be a list of numbers"),
    ("learning_rates = []", "learning_rates: the list is empty"),
    ("learning_rates = [0.1, 0.1]", "learning_rates: 0.1 is listed twice"),
    ("learning_rates = [1, 1.0]", "learning_rates: 1 is listed twice"),
    ("weights = { w1 = nan }", "weights.w1: must be a finite number, got nan"),
    ("inputs = { i1 = inf }", "inputs.i1: must be a finite number, got inf"),
    ("targets = { t2 = -inf }", "targets.t2: must be a finite number, got -inf"),
    ("inputs = { i1 = true }", "inputs.i1: must be a number, got true/false True"),
    ("weights = 0.5", "weights: must be a table"),
    ("iterations = 0", "iterations: must be at least 1, got 0"),
    ("iterations = -5", "iterations: must be at least 1, got -5"),
    ("iterations = 2.5", "iterations: must be a whole number, got a number 2.5"),
    ("iterations = '22'", "iterations: must be a whole number, got a string '22'"),
    ("iterations = 1048561", "iterations: at most 1,048,560 fit in an .xlsx sheet"),
    ("iterations = 1048561\nformats = ['ods']", "iterations: at most 1,048,560 fit in an .ods sheet"),
    ("biases = { b1 = 0.35 }", "biases: b2 is missing"),
    ("biases = { b1 = 0.35, b2 = 0.6, train = 'yes' }", "biases.train: must be true or false"),
    ("biases = { b1 = 0.35, b2 = 0.6, trained = true }",
     "biases.trained: unknown key (did you mean 'train'?)"),
    ("formats = ['pdf']", "formats: choose from xlsx, ods, not 'pdf'"),
    ("formats = []", "formats: must be a non-empty list"),
    ("basename = ''", "basename: must be a non-empty string"),
    ("basename = 'a/b'", "basename: must be a plain file name without folders"),
    ("reference_errata = 'no'", "reference_errata: must be true or false"),
    ("plots = 1", "plots: must be true or false, got a whole number 1"),
    ("iterations = 22\niterations = 23", "not valid TOML"),
    ("learning_rates = [0.1", "not valid TOML"),
]


@pytest.mark.parametrize("text, message", BAD_FILES, ids=[m for _, m in BAD_FILES])
def test_bad_config_file(tmp_path, capsys, text, message):
    path = write(tmp_path, text + f"\noutput_dir = '{tmp_path / 'out'}'\n")
    status, out, err = run_cli(capsys, "generate", "--config", str(path))
    assert status == 2
    assert err.count("\n") == 1 and err.startswith(f"error: {path}: ")
    assert message in err
    assert not (tmp_path / "out").exists()


def test_bad_config_file_itself(tmp_path, capsys):
    missing = tmp_path / "nope.toml"
    status, _, err = run_cli(capsys, "generate", "--config", str(missing))
    assert status == 2 and err == f"error: {missing}: config file not found\n"
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00\x01")
    status, _, err = run_cli(capsys, "generate", "--config", str(binary))
    assert status == 2 and err == f"error: {binary}: not a text file (not UTF-8)\n"
    status, _, err = run_cli(capsys, "generate", "--config", str(tmp_path))
    assert status == 2 and err == f"error: {tmp_path}: is a folder, not a config file\n"


def test_output_dir_that_cannot_be_created(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    status, _, err = run_cli(capsys, "generate", "--output-dir", str(blocker / "sub"))
    assert status == 2
    assert err == f"error: output_dir: {blocker / 'sub'} cannot be created: {blocker} is a file\n"
    status, _, err = run_cli(capsys, "generate", "--output-dir", str(blocker))
    assert status == 2 and err == f"error: output_dir: {blocker} is a file, not a folder\n"
    assert blocker.read_text() == "x"


def test_output_dir_that_is_not_writable(tmp_path, monkeypatch):
    # Permission bits do not stop root, so the refusal from the system is simulated.
    import sheetgen.config as config_module

    monkeypatch.setattr(config_module.os, "access", lambda path, mode: False)
    with pytest.raises(ConfigError, match=r"^output_dir: .* is not writable$"):
        validate(Config(output_dir=tmp_path))


def test_too_many_iterations_from_the_command_line(tmp_path, capsys):
    status, _, err = run_cli(capsys, "generate", "--iterations", str(max_iterations("xlsx") + 1),
                             "--output-dir", str(tmp_path / "out"))
    assert status == 2 and err.startswith("error: iterations: at most 1,048,560 fit")
    assert not (tmp_path / "out").exists()


def test_the_largest_table_fits_exactly():
    # Row 17 plus 1,048,560 - 1 more rows ends on the last row a sheet has, 1,048,576.
    assert 17 + max_iterations("xlsx") - 1 == 1_048_576
    validate(Config(iterations=max_iterations("ods"), output_dir=Path(".")))


@pytest.mark.parametrize("rates, shown", [("0.5,-0.1", "-0.1"), ("0,0.5", "0")])
def test_non_positive_learning_rate_is_allowed_with_a_warning(tmp_path, capsys, rates, shown):
    status, out, err = run_cli(capsys, "generate", "--learning-rates", rates, "--iterations", "2",
                               "--format", "ods", "--no-plots", "--output-dir", str(tmp_path))
    assert status == 0
    assert err.count("\n") == 1 and err.startswith(f"warning: learning rate {shown} is not positive")
    assert (tmp_path / "BackPropagation.ods").is_file()


def test_positive_rates_give_no_warning():
    assert validate(Config(output_dir=Path("."))) == []


def test_validate_catches_what_the_dataclass_allows():
    with pytest.raises(ConfigError, match="^w3: must be a finite number"):
        validate(Config(setup=Setup(w3=math.nan)))
    with pytest.raises(ConfigError, match="^learning_rates: the list is empty"):
        validate(Config(learning_rates=()))
    with pytest.raises(ConfigError, match="^biases: must be none, fixed or trained"):
        validate(Config(setup=Setup(biases="sometimes")))


def test_a_real_process_reports_a_typo_without_a_traceback(tmp_path):
    path = write(tmp_path, "learnig_rates = [0.1]\n")
    result = subprocess.run([sys.executable, "-m", "sheetgen", "generate", "--config", str(path)],
                            capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert result.returncode == 2
    assert result.stderr == (f"error: {path}: learnig_rates: unknown key "
                             "(did you mean 'learning_rates'?)\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["experiment.toml"]


@pytest.mark.libreoffice
@pytest.mark.skipif(shutil.which("soffice") is None,
                    reason="LibreOffice not installed (Debian: apt-get install libreoffice-calc-nogui)")
def test_biased_example_generates_and_verifies_in_libreoffice(tmp_path):
    """(The reference example is the defaults, whose workbooks tests/test_verify.py verifies.)"""
    from sheetgen.check.verify import verify_file

    config = replace(from_file(EXAMPLES_DIR / "biased.toml"), output_dir=tmp_path, plots=False)
    paths = generate(config.training())
    assert sorted(p.suffix for p in paths) == [".ods", ".xlsx"]
    for path in paths:
        report = verify_file(path, timeout=120)
        assert report.ok, (path.name, [(s.name, s.differences[:2], s.errors[:2]) for s in report.sheets])
        assert report.checked >= len(config.learning_rates) * config.iterations * 31


# --- odd config files: refused in one line, never read without bound --------------------------

def test_a_fifo_a_device_and_a_huge_file_are_refused_at_once(tmp_path):
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    huge = tmp_path / "huge.toml"
    huge.write_text("# padding\n" * 200_000)  # 2 MB of comments: valid TOML, too large
    cases = {fifo: "not a regular file (a FIFO), not a config file",
             Path("/dev/zero"): "not a regular file (a device), not a config file",
             huge: "too large for a config file (2,000,000 bytes; at most 1,048,576)"}
    for path, message in cases.items():
        # A child process: a FIFO that blocked would hang it, not the test run.
        result = subprocess.run([sys.executable, "-m", "sheetgen", "generate", "--config", str(path),
                                 "--output-dir", str(tmp_path / "out")],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 2 and result.stderr == f"error: {path}: {message}\n", result.stderr
    assert not (tmp_path / "out").exists()


def test_deep_nesting_is_one_line(tmp_path, capsys):
    path = write(tmp_path, "x = " + "[" * 5000 + "]" * 5000 + "\n")
    status, _, err = run_cli(capsys, "generate", "--config", str(path))
    assert status == 2
    assert err == f"error: {path}: not valid TOML for sheetgen: arrays or tables nested too deeply\n"


def test_a_byte_order_mark_is_skipped(tmp_path):
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbfiterations = 7\n")
    assert from_file(path).iterations == 7


def test_init_config_with_standard_output_closed(tmp_path):
    result = subprocess.run(f"'{sys.executable}' -m sheetgen init-config >&-", shell=True,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr == "error: standard output is closed; give --output FILE to write the example\n"


@pytest.mark.parametrize(("args", "message"), [
    (["--output-dir", ""], "argument --output-dir: must not be empty (for the current folder, give .)"),
    (["--learning-rates", "0.5,1e-400"],
     "argument --learning-rates: 1e-400 underflows to 0 (the smallest float is about 5e-324)"),
    (["--iterations", "9" * 5000], "argument --iterations: not a whole number: "
                                   "'9999999999999999999999999999... (5,000 characters)'"),
    (["--iterations", "9" * 1000], "iterations: at most 1,048,560 fit in an .xlsx sheet (1,048,576 rows), "
                                   "got a number of 1,000 digits"),
    (["--format", "x" * 100], "argument --format: choose xlsx, ods or both, not "
                              "'xxxxxxxxxxxxxxxxxxxxxxxxxxxx... (100 characters)'"),
])
def test_flags_are_refused_in_one_short_line(tmp_path, capsys, args, message):
    status, _, err = run_cli(capsys, "generate", "--no-plots", *args)
    assert status == 2 and err.count("\n") == 1 and message in err, err
    assert len(err) < 200


@pytest.mark.parametrize(("text", "message"), [
    ("learning_rates = [0.5, 1e-400]", "learning_rates[1]: 1e-400 underflows to 0"),
    ("basename = 'a\\nb'", "basename: must be a plain file name without folders or control characters"),
    ("basename = 'a/b'", "basename: must be a plain file name without folders or control characters"),
    ('basename = "x"\noutput_dir = "a\\u0000b"', "output_dir: must not contain a NUL character"),
    (f"basename = '{'b' * 251}'\nplots = false",
     "basename: too long: 256 bytes with its extension, a file name has at most 255"),
    (f"basename = '{'b' * 240}'",  # the plots' names are checked before the workbooks are written
     "basename: too long: 256 bytes in _loss_lr_0.1.png, a file name has at most 255"),
    (f"learning_rates = [{', '.join(str(k / 1000) for k in range(1, 257))}]",
     "learning_rates: at most 255 (one series each in the summary chart, which holds 255), got 256"),
])
def test_odd_settings_in_a_file(tmp_path, capsys, text, message):
    out = f"\noutput_dir = '{tmp_path / 'out'}'"
    path = write(tmp_path, text + (out if "output_dir" not in text else ""))
    status, _, err = run_cli(capsys, "generate", "--config", str(path))
    assert status == 2 and err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "out").exists()


def test_many_rates_are_refused_at_once(tmp_path, capsys):
    """20,000 rates: refused by their count before any quadratic work (it took minutes)."""
    import time

    rates = ",".join(str(k / 100_000) for k in range(1, 20_001))
    start = time.process_time()  # CPU time: the machine may be shared
    status, _, err = run_cli(capsys, "generate", "--learning-rates", rates,
                             "--output-dir", str(tmp_path / "o"))
    assert status == 2 and "learning_rates: at most 255" in err and "got 20,000" in err
    assert time.process_time() - start < 5
    config = Config(learning_rates=tuple(k / 100_000 for k in range(1, 20_001)))
    with pytest.raises(ConfigError, match="at most 255"):
        validate(config)


def test_plots_folder_that_is_a_file_stops_before_anything_is_written(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "plots").write_text("not a folder")
    status, _, err = run_cli(capsys, "generate", "--iterations", "3", "--output-dir", str(out))
    assert status == 2 and err == f"error: output_dir: {out / 'plots'} is a file, not a folder\n"
    assert sorted(p.name for p in out.iterdir()) == ["plots"]
    assert run_cli(capsys, "generate", "--iterations", "3", "--no-plots", "--output-dir", str(out))[0] == 0
