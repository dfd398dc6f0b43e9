"""Data sets and optimizers from a config file: the cells hold the issue's update equations over
labelled parameter cells, samples are picked from the data sheet by live formulas, a CSV file is
read relative to its config, and each bad [data] or [optimizer] input is one line naming its key,
status 2, nothing written. (LibreOffice checks the examples' small books in test_network_cli.py.)"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from sheetgen.cli import main
from sheetgen.config import example_text, from_file, from_mapping, validate
from sheetgen.layout.assemble import build_book
from sheetgen.layout.book import render_row

LINEAR = """
learning_rates = [0.1]
iterations = 10
[network]
layers = [1, 1]
activations = ["identity"]
loss = "sse"
biases = "per_neuron"
train_biases = true
[data]
samples = [{ i1 = -1, t1 = -1 }, { i1 = 1, t1 = 3 }, { i1 = 2, t1 = 5 }]
batch = 1
"""


def _book(text: str):
    config = from_mapping(tomllib.loads(text), "test")
    validate(config)
    return config, build_book(config.training())


def _cell(sheet, name: str, first: bool = False) -> str:
    column = next(c for c in sheet.columns if c.quantity == name)
    return render_row(column, "xlsx", sheet.first_row + (1 if first else 5), first)


def _parameter(sheet, label: str) -> str:
    """The absolute address of the parameter cell labelled `label` (the value under its label)."""
    cell = next(c for c in sheet.cells if c.style == "label" and c.value == label)
    value = next(c for c in sheet.cells if c.row == cell.row + 1 and c.col == cell.col)
    letters = re.sub(r"\d", "", "ABCDEFGHIJ"[value.col])
    return f"${letters}${value.row + 1}"


def test_momentum_cells_are_the_equations_over_the_beta_cell():
    config, book = _book(LINEAR + '[optimizer]\nname = "momentum"\nbeta = 0.8\n'
                         'initial_state = { v = { w1 = 0.25 } }\n')
    sheet = book.sheets[0]
    beta = _parameter(sheet, "β")
    v, w, g = (next(c for c in sheet.columns if c.quantity == n).index for n in ("v_w1", "w1", "dE_dw1"))
    letter = {k: re.sub(r"\d", "", parse_letter(k)) for k in (v, w, g)}
    row = sheet.first_row + 5  # 1-based number of the rendered row
    assert _cell(sheet, "v_w1") == f"{beta}*{letter[v]}{row - 1}+(1-{beta})*{letter[g]}{row - 1}"
    # The new weight reads the new state in its own row.
    rate = _parameter(sheet, "Learning_rate")
    assert _cell(sheet, "w1") == f"{letter[w]}{row - 1}-{rate}*{letter[v]}{row}"
    # The first row holds the initial state as a plain number.
    assert _cell(sheet, "v_w1", first=True) is None
    first = next(iter(sheet.rows))
    assert first[v] == 0.25 and first[next(c.index for c in sheet.columns if c.quantity == "v_b1")] == 0


def parse_letter(index: int) -> str:
    from sheetgen.core.cells import column_letter

    return column_letter(index)


def test_one_sample_per_row_picks_from_the_data_sheet_and_shows_which():
    _, book = _book(LINEAR)
    sheet = book.sheets[0]
    assert "MOD(" in _cell(sheet, "sample")
    assert _cell(sheet, "i1").startswith("INDEX(data!$A$3:$A$5,")
    assert _cell(sheet, "t1").startswith("INDEX(data!$B$3:$B$5,")
    column = next(c.index for c in sheet.columns if c.quantity == "sample")
    assert [row[column] for row in sheet.rows] == [1, 2, 3, 1, 2, 3, 1, 2, 3, 1]
    data = book.sheets[-1]
    assert data.name == "data"
    assert [c.value for c in data.cells if c.style == "input"] == [-1, -1, 1, 3, 2, 5]  # as typed


def test_full_batch_has_every_sample_and_combines_them():
    text = example_text("xor").replace('reduction = "mean"', 'reduction = "sum"')
    text = re.sub(r"^iterations.*$", "iterations = 5", text, flags=re.M)
    _, book = _book(text)
    sheet = book.sheets[0]
    headers = [c.header for c in sheet.columns]
    assert {"i1_s1", "i2_s4", "t1_s3", "a_o1_s2", "δ_h1_s4", "E_s1", "E_total"} <= set(headers)
    total = _cell(sheet, "E_total")
    assert total.count("+") == 3 and "/" not in total  # sum, not mean


def test_adam_without_epsilon_or_bias_correction_is_the_textbook_form():
    _, book = _book(LINEAR + '[optimizer]\nname = "adam"\nepsilon = 0\nbias_correction = false\n')
    sheet = book.sheets[0]
    formula = _cell(sheet, "w1")
    assert "SQRT(" in formula and "^" not in formula and "+$" not in formula.split("SQRT")[1]
    assert not any(c.value == "ε" for c in sheet.cells)
    _, book = _book(LINEAR + '[optimizer]\nname = "adam"\n')
    formula = _cell(book.sheets[0], "w1")
    assert formula.count("^") == 2 and _parameter(book.sheets[0], "ε") in formula


def test_gradient_check_columns_sit_beside_the_gradients_and_read_h():
    _, book = _book(LINEAR + '[optimizer]\ncheck_gradients = true\nh = 1e-7\n')
    sheet = book.sheets[0]
    names = [c.quantity for c in sheet.columns]
    assert names[names.index("dE_dw1") + 1] == "fd_w1"
    h = _parameter(sheet, "h (grad. check)")
    assert _cell(sheet, "fd_w1").endswith(f")/{h}")


def test_summary_has_the_loss_per_epoch():
    config, book = _book(LINEAR)
    labels = [c.value for c in book.summary.cells if isinstance(c.value, str)]
    assert any(t.startswith("Loss per epoch (3 steps each)") for t in labels)
    epochs = [f for f in book.summary.formulas if "AVERAGE" in f.formulas["xlsx"]]
    assert len(epochs) == 3  # 10 steps: three full epochs, then one of a single step
    assert max(c.value for c in book.summary.cells if c.style == "integer") == 4
    rows = list(book.sheets[0].rows)
    column = next(c.index for c in book.sheets[0].columns if c.quantity == "E_total")
    assert epochs[0].value == pytest.approx(sum(r[column] for r in rows[:3]) / 3, rel=1e-15)
    assert config.data.steps_per_epoch() == 3


def test_csv_samples_are_read_relative_to_the_config(tmp_path):
    folder = tmp_path / "exp"
    folder.mkdir()
    (folder / "samples.csv").write_text("i1,t1\n0,1\n1,3\n2,5\n", "utf-8")
    text = LINEAR.replace("samples = [{ i1 = -1, t1 = -1 }, { i1 = 1, t1 = 3 }, { i1 = 2, t1 = 5 }]",
                          'file = "samples.csv"')
    (folder / "exp.toml").write_text(text, "utf-8")
    config = from_file(folder / "exp.toml")
    assert config.data.rows == ((0.0, 1.0), (1.0, 3.0), (2.0, 5.0))
    assert config.data.source == "samples.csv"


BAD = {
    "sample missing an input": ("[data]\nsamples = [{ i1 = 0, i2 = 1, t1 = 1 }, { i1 = 0, t1 = 1 }]",
                                "data.samples", "sample 2 has no input i2"),
    "sample missing a target": ("[data]\nsamples = [{ i1 = 0, i2 = 1 }]", "data.samples",
                                "no target t1"),
    "CSV with text": ('[data]\nfile = "text.csv"', "data.file", "'abc' is not a number"),
    "CSV without rows": ('[data]\nfile = "empty.csv"', "data.file", "no rows"),
    "batch too large": ("[data]\nsamples = [{ i1 = 0, i2 = 1, t1 = 1 }]\nbatch = 2", "data.batch",
                        "larger than the data set"),
    "unknown optimizer": ('[optimizer]\nname = "lion"', "optimizer.name", "unknown optimizer"),
    "beta of 1": ('[optimizer]\nname = "momentum"\nbeta = 1', "optimizer.beta", "[0, 1)"),
    "negative beta2": ('[optimizer]\nname = "adam"\nbeta2 = -0.1', "optimizer.beta2", "[0, 1)"),
    "negative epsilon": ('[optimizer]\nname = "adam"\nepsilon = -1e-8', "optimizer.epsilon", "0 or more"),
    "unknown state": ('[optimizer]\nname = "adam"\ninitial_state = { v = { w1 = 0.1 } }',
                      "optimizer.initial_state.v", "keeps no state"),
    "negative s": ('[optimizer]\nname = "rmsprop"\ninitial_state = { s = { w1 = -0.1 } }',
                   "optimizer.initial_state.s.w1", "must be 0 or more"),
    "negative s, adam": ('[optimizer]\nname = "adam"\ninitial_state = { s = { w2 = -1e-9 } }',
                         "optimizer.initial_state.s.w2", "must be 0 or more"),
    "unknown parameter": ('[optimizer]\nname = "adam"\ninitial_state = { m = { w9 = 0.1 } }',
                          "optimizer.initial_state.m.w9", "no trained parameter"),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_data_or_optimizer_input_is_one_line_and_nothing_written(case, tmp_path, capsys):
    text, key, words = BAD[case]
    (tmp_path / "text.csv").write_text("i1,i2,t1\n0,1,1\n0,abc,1\n", "utf-8")
    (tmp_path / "empty.csv").write_text("i1,i2,t1\n", "utf-8")
    out = tmp_path / "out"
    config = tmp_path / "bad.toml"
    network = "[network]\nlayers = [2, 2, 1]\n"
    config.write_text(f'output_dir = "{out}"\n{network}{text}\n', "utf-8")
    assert main(["generate", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f" {key}:" in err and words in err, err
    assert not out.exists()


def test_every_listed_key_appears_in_the_readme():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text("utf-8")
    for _, key, _ in BAD.values():
        assert key.split(".")[0] + "." in readme
    for equation in ("v ← β·v + (1 − β)·g", "s ← α·s + (1 − α)·g²", "w ← w − lr·m̂ / (√ŝ + ε)"):
        assert equation in readme


def test_report_of_a_data_set_is_written(tmp_path, capsys):
    config = tmp_path / "xor.toml"
    config.write_text(example_text("xor"), "utf-8")
    out = tmp_path / "out"
    assert main(["report", "--config", str(config), "--iterations", "5", "--output-dir", str(out),
                 "--quiet"]) == 0
    assert "Traceback" not in capsys.readouterr().err
    text = (out / "report" / "README.md").read_text("utf-8")
    assert "One step over the batch" in text and "Update: " in text


# --- data.file gets the config file's guards -------------------------------------------------

def _data_file(tmp_path: Path, case: str) -> str:
    """The `file = ...` of a hostile data file, made in tmp_path."""
    import os

    csv = tmp_path / "s.csv"
    if case == "fifo":
        os.mkfifo(csv)
    elif case == "device":
        return "/dev/zero"
    elif case == "folder":
        csv.mkdir()
    elif case == "too large":   # 3 columns: at most 1,048,575 lines of 98 bytes
        with open(csv, "wb") as f:
            f.truncate(200 * 1024**2)  # sparse: nothing is written, and it is never read
    elif case == "long cell":
        csv.write_text("i1,i2,t1\n0,0,0\n" + "1" * 140_000 + ",1,1\n", "utf-8")
    elif case == "symbolic link":
        (tmp_path / "real.csv").write_text("i1,i2,t1\n0,0,0\n", "utf-8")
        csv.symlink_to(tmp_path / "real.csv")
    elif case == "..":
        (tmp_path.parent / f"{tmp_path.name}.csv").write_text("i1,i2,t1\n0,0,0\n", "utf-8")
        return f"../{tmp_path.name}.csv"
    elif case == "linked folder":
        (tmp_path / "elsewhere").symlink_to(tmp_path.parent)
        return "elsewhere/s.csv"
    elif case == "too many samples":
        csv.write_bytes(b"i1,i2,t1\n" + b"0,1,1\n" * 1_048_575)
    else:
        csv.write_text("i1,i2,t1\n0,0,0\n" + {"1_0": "1_0", "1e-400": "1e-400", "0x10": "0x10",
                                              "long text": "x" * 30}[case] + ",1,1\n", "utf-8")
    return "s.csv"


DATA_FILE = {
    "fifo": "s.csv: not a regular file (a FIFO), not a CSV file",
    "device": "/dev/zero: not a regular file (a device), not a CSV file",
    "folder": "s.csv: is a folder, not a CSV file",
    "too large": "s.csv: too large for a data set of 3 columns (209,715,200 bytes; at most 102,760,350",
    "long cell": "s.csv: line 3 is longer than a row of samples may be (140,004 characters; at most 98)",
    "symbolic link": "s.csv: is a symbolic link; give the file itself",
    "..": ": must not leave the config file's folder (no ..)",
    "linked folder": "elsewhere/s.csv: a linked folder leads out of the config file's folder",
    "too many samples": "s.csv: 1,048,575 samples; at most 1,048,574 samples fit on the data sheet",
    "1_0": "s.csv: line 3, column i1: '1_0' is not a number",
    "1e-400": "s.csv: line 3, column i1: '1e-400' underflows to 0 (the smallest float is about 5e-324)",
    "0x10": "s.csv: line 3, column i1: '0x10' is not a number",
    "long text": "line 3, column i1: 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' is not a number",
}


@pytest.mark.parametrize("case", DATA_FILE)
def test_a_hostile_data_file_is_one_line_fast_and_nothing_written(case, tmp_path, capsys):
    import resource
    import time

    name = _data_file(tmp_path, case)
    out = tmp_path / "out"
    config = tmp_path / "bad.toml"
    config.write_text(f'output_dir = "{out}"\n[network]\nlayers = [2, 2, 1]\n[data]\nfile = "{name}"\n'
                      "batch = 1\n", "utf-8")
    start, peak = time.process_time(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert main(["generate", "--config", str(config)]) == 2
    assert time.process_time() - start < 1  # CPU time: the machine may be shared
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak < 100 * 1024  # KiB
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"error: {config}: data.file: ") and DATA_FILE[case] in err, err
    assert len(err.replace(str(tmp_path), "DIR")) < 300  # short, wherever the files are
    assert not out.exists()


def test_a_data_file_within_the_limits_is_read(tmp_path):
    folder = tmp_path / "exp"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "s.csv").write_text("\ufeffi1,t1\r\n 1.5e3 ,-.5\r\n\r\n,\r\n+2.,3E-2\r\n", "utf-8")
    (folder / "exp.toml").write_text(LINEAR.replace(
        "samples = [{ i1 = -1, t1 = -1 }, { i1 = 1, t1 = 3 }, { i1 = 2, t1 = 5 }]",
        'file = "sub/s.csv"'), "utf-8")
    assert from_file(folder / "exp.toml").data.rows == ((1500.0, -0.5), (2.0, 0.03))


def test_a_data_target_outside_its_range_names_the_file(tmp_path, capsys):
    (tmp_path / "s.csv").write_text("i1,i2,t1\n0,0,0\n0,1,1.5\n", "utf-8")
    config = tmp_path / "x.toml"
    config.write_text(f'output_dir = "{tmp_path / "out"}"\n[network]\nlayers = [2, 2, 1]\n'
                      'loss = "binary_cross_entropy"\n[data]\nfile = "s.csv"\n', "utf-8")
    assert main(["generate", "--config", str(config)]) == 2
    assert ("data.file: s.csv: sample 2, column t1: binary_cross_entropy needs targets in [0, 1], "
            "got 1.5") in capsys.readouterr().err


# --- refusals come from arithmetic on the sizes, before anything is built --------------------

EARLY = {
    "a layer of ten million": ("[network]\nlayers = [2, 10000000, 2]\n", "network: too big for a sheet: "
                               "it needs 110,000,014 columns"),
    "a layer of 2**63 - 1": ("[network]\nlayers = [2, 9223372036854775807, 2]\n",
                             "network: too big for a sheet: it needs 101,457,092,405,402,533,891 columns"),
    "a gradient check 13 layers deep": (
        "[network]\nlayers = [2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2]\n[optimizer]\ncheck_gradients = true\n",
        "optimizer.check_gradients: too big for a sheet: (E(w1+h)−E)/h's formula needs at least"),
    "a gradient check of 2-60-60-2": (
        "[network]\nlayers = [2, 60, 60, 2]\n[optimizer]\ncheck_gradients = true\n",
        "optimizer.check_gradients: too big for a sheet"),
    "a gradient check 5 layers deep": (
        "[network]\nlayers = [2, 3, 3, 3, 3, 2]\n[optimizer]\ncheck_gradients = true\n",
        "optimizer.check_gradients: too big for a sheet"),
    # Its least length by arithmetic (5,886) fits: counted exactly, before the table is built.
    "a gradient check of 2-4-4-3-2 over two samples": (
        "[network]\nlayers = [2, 4, 4, 3, 2]\n[data]\nsamples = [{ i1 = 0.1, i2 = 0.2, t1 = 0.3, t2 = 0.4 },"
        " { i1 = 0.5, i2 = 0.6, t1 = 0.7, t2 = 0.8 }]\n[optimizer]\ncheck_gradients = true\n",
        "optimizer.check_gradients: too big for a sheet: (E(w1+h)−E)/h's formula needs 8,871 characters"),
    "a full batch of 10,000 samples": ('[network]\nlayers = [2, 2, 1]\n[data]\nfile = "s.csv"\n',
                                       "data: too big for a sheet: it needs 140,014 columns"),
    # 7,014 columns fit: each gradient sums 500 samples' terms, counted before they are written.
    "a full batch of 500 samples": ('[network]\nlayers = [2, 2, 1]\n[data]\nfile = "s.csv"\n',
                                      "data: too big for a sheet: E∂W6's formula needs 10,905 characters"),
    "a full batch of 40,000 samples": ('[network]\nlayers = [2, 2, 1]\n[data]\nfile = "s.csv"\n',
                                       "data: too big for a sheet: it needs 560,014 columns"),
    "1,048,575 samples, one a step": ('[network]\nlayers = [2, 2, 1]\n[data]\nfile = "s.csv"\nbatch = 1\n',
                                      "s.csv: 1,048,575 samples; at most 1,048,574 samples fit on the "
                                      "data sheet"),
}


@pytest.mark.parametrize("case", EARLY)
def test_a_refusal_comes_from_the_sizes_in_a_second(case, tmp_path, capsys):
    import time
    import tracemalloc

    text, words = EARLY[case]
    samples = {"10,000": 10_000, "40,000": 40_000, "1,048,575": 1_048_575, "500 samples": 500}
    count = next((n for key, n in samples.items() if key in case), 0)
    if count:
        (tmp_path / "s.csv").write_bytes(b"i1,i2,t1\n" + b"0.5,1,0\n" * count)
    out = tmp_path / "out"
    config = tmp_path / "x.toml"
    config.write_text(f'output_dir = "{out}"\n{text}', "utf-8")
    # Once unmeasured: the modules a run imports load then, whatever tests this process ran first.
    assert main(["generate", "--config", str(config)]) == 2
    capsys.readouterr()
    tracemalloc.start()
    start = time.process_time()  # CPU time: the machine may be shared
    try:
        assert main(["generate", "--config", str(config)]) == 2
        seconds, (_, peak) = time.process_time() - start, tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err, err
    assert seconds < 1 and peak < 100 * 1024**2, (seconds, peak)
    assert not out.exists()


@pytest.mark.parametrize("case", ["a gradient check of 2-4-4-3-2 over two samples",
                                  "a full batch of 500 samples"])
def test_a_formula_too_long_is_refused_before_its_table_is_built(case, tmp_path, monkeypatch, capsys):
    from sheetgen.core import training

    def never(*args, **kwargs):
        raise AssertionError("the table was built before the refusal")

    real = training._data_forward
    monkeypatch.setattr(training, "_on_data_set", never)
    if "batch" in case:  # its columns alone are what the count reads (a check's reads the forward pass)
        monkeypatch.setattr(training, "_data_forward",
                            lambda *a, formulas=True: never() if formulas else real(*a, formulas=False))
    (tmp_path / "s.csv").write_bytes(b"i1,i2,t1\n" + b"0.5,1,0\n" * 500)
    text, words = EARLY[case]
    config = tmp_path / "x.toml"
    config.write_text(f'output_dir = "{tmp_path / "out"}"\n{text}', "utf-8")
    assert main(["generate", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err, err
    assert not (tmp_path / "out").exists()


def test_an_image_networks_data_file_that_is_a_fifo_is_refused(tmp_path, capsys):
    import os

    os.mkfifo(tmp_path / "conv-digits.csv")  # a blocking read would wait for a writer forever
    config = tmp_path / "conv.toml"
    config.write_text(example_text("conv-digits"), "utf-8")
    assert main(["generate", "--config", str(config), "--output-dir", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "data.file: " in err and "not a regular file (a FIFO), not a CSV file" in err, err
    assert err.count("\n") == 1 and not (tmp_path / "out").exists()
