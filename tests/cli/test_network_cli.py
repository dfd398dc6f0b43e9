"""General networks from the command line: the shipped examples generate, LibreOffice agrees with
every cached value of both formats, the two formats compare equal, and each bad [network] input is
one line naming its key, status 2, nothing written."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from sheetgen.check import verify
from sheetgen.check.compare import compare_workbooks
from sheetgen.cli import build_parser, main
from sheetgen.config import EXAMPLES
from sheetgen.errors import VerifyError

GOOD_NETWORK = """
learning_rates = [0.5]
iterations = 3
inputs = { i1 = 0.05, i2 = 0.1 }
targets = { t1 = 0.01, t2 = 0.99 }
[network]
layers = [2, 2, 2]
"""


def _small(text: str, out: Path) -> str:
    """An example's config made small: one rate, 3 iterations, no plots, written under `out`."""
    text = re.sub(r"^learning_rates.*$", "learning_rates = [0.5]", text, flags=re.M)
    # A data set's example runs past its first epoch, so that sample picking wraps around.
    rows = 35 if "[data]" in text else 3
    text = re.sub(r"^iterations.*$", f"iterations = {rows}", text, flags=re.M)
    text = re.sub(r"^(output_dir|plots|formats).*$", "", text, flags=re.M)
    head, sep, rest = text.partition("[network]")
    return f'output_dir = "{out}"\nplots = false\n' + head + sep + rest


def test_help_lists_every_example(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["init-config", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    for name in EXAMPLES:
        assert name in shown


@pytest.fixture(scope="module")
def example_books(tmp_path_factory) -> dict[str, dict[str, Path]]:
    """Every shipped example, via init-config and generate, as small books in both formats."""
    root = tmp_path_factory.mktemp("examples")
    books = {}
    for name in EXAMPLES:
        config = root / f"{name}.toml"
        assert main(["init-config", "--example", name, "--output", str(config)]) == 0
        config.write_text(_small(config.read_text("utf-8"), root / name), "utf-8")
        assert main(["generate", "--config", str(config), "--quiet"]) == 0
        books[name] = {p.suffix[1:]: p for p in (root / name).iterdir()}
        assert set(books[name]) == {"xlsx", "ods"}
    return books


def test_examples_formats_compare_equal(example_books):
    for name, paths in example_books.items():
        comparison = compare_workbooks(paths["xlsx"], paths["ods"])
        assert comparison.equal, name


# A layered network, a cancelling sum, a full batch, an optimizer, an image and a recurrent one.
ONE_OF_EACH_KIND = {"deep", "softmax-per-layer", "xor", "linear-adam", "conv-edge", "rnn-sum"}


@pytest.mark.libreoffice
def test_libreoffice_agrees_with_one_example_of_each_kind_in_both_formats(example_books):
    """One LibreOffice-backed run over one example of each kind (small books keep it short); .ci/run
    recalculates every example, larger, in both engines."""
    try:
        verify.find_uno_python()
    except VerifyError:
        pytest.skip("LibreOffice is not installed")
    books = [(name, fmt, path) for name, paths in example_books.items() if name in ONE_OF_EACH_KIND
             for fmt, path in paths.items()]
    assert {name for name, _, _ in books} == ONE_OF_EACH_KIND
    # Two private LibreOffice instances at a time: the start-up, not the sheet, is most of the time.
    with ThreadPoolExecutor(max_workers=2) as pool:
        reports = list(pool.map(lambda book: verify.verify_file(book[2]), books))
    for (name, fmt, _), report in zip(books, reports, strict=True):
        assert report.ok, f"{name} {fmt}: {verify.format_report(report)}"
        assert report.checked > 50


BAD = {
    "layer of size 0": ("[network]\nlayers = [2, 0, 2]", "network.layers"),
    "activation count": ('[network]\nlayers = [2, 2, 2]\nactivations = ["sigmoid"]',
                         "network.activations"),
    "unknown activation": ('[network]\nlayers = [2, 2]\nactivations = ["swish"]', "network.activations"),
    "unknown loss": ('[network]\nloss = "hinge"', "network.loss"),
    "softmax hidden": ('[network]\nlayers = [2, 2, 2]\nactivations = ["softmax", "sigmoid"]',
                       "network.activations"),
    "cross-entropy targets": ('targets = { t1 = 1.5, t2 = 0.5 }\n[network]\nloss = "cross_entropy"',
                              "targets.t1"),
    "weight beyond count": ("weights = { w9 = 0.1 }\n[network]\nlayers = [2, 2, 2]", "weights.w9"),
    "bias beyond count": ('biases = { b3 = 0.1 }\n[network]\nbiases = "per_layer"', "biases.b3"),
    "too many columns": ("[network]\nlayers = [2, 1489, 2]", "network"),
    "too long a formula": ("[network]\nlayers = [1, 1, 400]", "network"),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_network_input_is_one_line_and_nothing_written(case, tmp_path, capsys):
    text, key = BAD[case]
    out = tmp_path / "out"
    config = tmp_path / "bad.toml"
    config.write_text(f'output_dir = "{out}"\n{text}\n', "utf-8")
    assert main(["generate", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f" {key}" in err or f"{key}:" in err, err
    assert not out.exists()


def test_too_big_names_the_limit_and_the_size(tmp_path, capsys):
    for layers, words in (("[2, 1489, 2]", ("16,393 columns", "16,384")),
                          ("[1, 1, 400]", ("δ_h1", "8,192"))):
        config = tmp_path / "big.toml"
        config.write_text(f'output_dir = "{tmp_path / "out"}"\n[network]\nlayers = {layers}\n', "utf-8")
        assert main(["generate", "--config", str(config)]) == 2
        err = capsys.readouterr().err
        assert all(w in err for w in words), err


def test_a_general_network_sheet_has_its_columns_and_text(tmp_path):
    from sheetgen.read.workbook import Workbook

    config = tmp_path / "net.toml"
    config.write_text(f'output_dir = "{tmp_path}"\nformats = ["xlsx"]\nplots = false\n' + GOOD_NETWORK
                      + 'activations = ["tanh", "sigmoid"]\nbiases = "per_layer"\ntrain_biases = true\n',
                      "utf-8")
    assert main(["generate", "--config", str(config), "--quiet"]) == 0
    grid = Workbook(tmp_path / "BackPropagation.xlsx").grid("lr=0.5")
    header = next(row for row in grid if "E_total" in row)
    named = [h for h in header if h]
    assert named[:4] == ["t1", "t2", "i1", "i2"]
    assert {"w1", "b1", "h1", "a_h1", "δ_o1", "δ_h1", "E∂W8", "E∂b1", "iteration"} <= set(named)
    text = {v for row in grid for v in row if isinstance(v, str)}
    assert "a_h1 = tanh(h1)" in text
    assert any(t.startswith("δ_h1 = ") and "(1 − a_h1²)" in t for t in text)


def test_a_sigmoid_cross_entropy_far_past_underflow_still_trains(tmp_path, capsys):
    """Cross-entropy of a sigmoid output that underflows to 0: written from the logit, the loss
    stays finite where ln(a) met 0."""
    config = tmp_path / "zero.toml"
    config.write_text(f'output_dir = "{tmp_path / "out"}"\ninputs = {{ i1 = 1, i2 = 1 }}\n'
                      "weights = { w5 = -2000, w6 = -2000, w7 = -2000, w8 = -2000 }\n"
                      'formats = ["xlsx"]\nplots = false\niterations = 3\n'
                      '[network]\nloss = "cross_entropy"\n', "utf-8")
    assert main(["generate", "--config", str(config), "--quiet"]) == 0
    assert "error" not in capsys.readouterr().err
    assert (tmp_path / "out" / "BackPropagation.xlsx").is_file()


def test_report_of_a_general_network(tmp_path, capsys):
    """The report works from the derived equations: δ sections, one per layer (the reference's
    own network, asked for in δ form)."""
    config = tmp_path / "net.toml"
    config.write_text(f'output_dir = "{tmp_path / "out"}"\n' + GOOD_NETWORK + 'gradients = "delta"\n',
                      "utf-8")
    assert main(["report", "--config", str(config)]) == 0
    markdown = (tmp_path / "out" / "report" / "README.md").read_text("utf-8")
    assert "(the output layer)" in markdown and "\\delta_{o1}" in markdown
    assert (tmp_path / "out" / "report" / "index.html").is_file()
