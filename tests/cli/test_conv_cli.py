"""Image networks from the command line: both examples via init-config (conv-digits' CSV
written beside the config), small books in both formats that compare equal, LibreOffice and
Gnumeric recalculating every cell of both formats to its cached value (the maps sheet's
INDEX and CHOOSE formulas included), and a network too big refused in one line, nothing written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sheetgen.check import verify
from sheetgen.check.compare import compare_workbooks
from sheetgen.cli import main
from sheetgen.errors import VerifyError

EXAMPLES = ("conv-digits", "conv-edge")


@pytest.fixture(scope="module")
def books(tmp_path_factory) -> dict[str, dict[str, Path]]:
    root = tmp_path_factory.mktemp("conv")
    out = {}
    for name in EXAMPLES:
        config = root / name / f"{name}.toml"
        config.parent.mkdir()
        assert main(["init-config", "--example", name, "--output", str(config)]) == 0
        text = config.read_text("utf-8")
        # Small books: one rate, a few steps (past conv-digits' first digits). 0.5, a binary
        # fraction: Gnumeric writes 0.01 in the chart's title cell as 0.0099999999999999999998.
        text = re.sub(r"^learning_rates.*$", "learning_rates = [0.5]", text, flags=re.M)
        text = re.sub(r"^iterations.*$", "iterations = 12", text, flags=re.M)
        config.write_text(f'output_dir = "{root / name / "out"}"\nplots = false\n' + text, "utf-8")
        assert main(["generate", "--config", str(config), "--quiet"]) == 0
        out[name] = {p.suffix[1:]: p for p in (root / name / "out").iterdir()}
        assert set(out[name]) == {"xlsx", "ods"}
    return out


def test_init_config_writes_the_digits_beside_the_config(books):
    csv = books["conv-digits"]["xlsx"].parent.parent / "conv-digits.csv"
    lines = csv.read_text("utf-8").splitlines()
    assert lines[0].startswith("i1_1_1,") and lines[0].endswith(",t10")
    assert len(lines) == 11 and all(len(line.split(",")) == 74 for line in lines)


def test_both_formats_compare_equal(books):
    for name, paths in books.items():
        assert compare_workbooks(paths["xlsx"], paths["ods"]).equal, name


def _engine(engine: str) -> None:
    try:
        verify.check_engines(engine)
    except VerifyError as exc:
        pytest.skip(str(exc))


@pytest.mark.libreoffice
@pytest.mark.parametrize("fmt", ["xlsx", "ods"])
@pytest.mark.parametrize("name", EXAMPLES)
def test_libreoffice_recalculates_every_cell(books, name, fmt):
    _engine("libreoffice")
    report = verify.verify_file(books[name][fmt])
    assert report.ok, verify.format_report(report)
    assert any(sheet.name == "maps" and sheet.checked > 0 for sheet in report.sheets)


@pytest.mark.gnumeric
@pytest.mark.parametrize("fmt", ["xlsx", "ods"])
@pytest.mark.parametrize("name", EXAMPLES)
def test_gnumeric_recalculates_every_cell(books, name, fmt):
    _engine("gnumeric")
    report = verify.verify_file(books[name][fmt], engine="gnumeric")
    assert report.ok, verify.format_report(report)


def test_too_big_is_one_line_status_2_nothing_written(tmp_path, capsys):
    config = tmp_path / "big.toml"
    config.write_text(f'output_dir = "{tmp_path / "out"}"\n[network]\n'
                      'layers = [{input = [1, 100, 100]}, {conv2d = 4, kernel = 3}, "flatten"]\n'
                      '[data]\nfile = "none.csv"\n', "utf-8")
    assert main(["generate", "--config", str(config)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "network.layers[2] (conv2d): too big for a sheet" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.libreoffice
def test_the_maps_follow_the_typed_rate_sheet_iteration_and_sample(tmp_path):
    """A book of two rates whose maps sheet was typed to rate sheet 2, iteration 9, sample slot
    3: LibreOffice recalculates every block to that sheet's step's sample values (the cached
    ones), so the CHOOSEs and INDEX follow the typed cells."""
    _engine("libreoffice")
    import tomllib

    from sheetgen.config import example_text, from_mapping
    from sheetgen.core.cells import column_letter
    from sheetgen.generation import write_workbook
    from sheetgen.layout.assemble import build_book
    from sheetgen.layout.maps import build_maps

    data = tomllib.loads(example_text("conv-edge"))
    data |= {"iterations": 12, "learning_rates": [0.5, 0.25], "output_dir": str(tmp_path), "plots": False}
    training = from_mapping(data, "edge").training()
    book = build_book(training)
    book.maps = build_maps(training.spec, book.sheets[:2], training.data.batch_size, iteration=9,
                           sample=3, rate=2)
    assert book.maps.formulas[1].value == book.sheets[0].trace.row(8)["i1_1_1_s3"]   # the image
    column = next(c for c in book.sheets[0].columns if c.quantity == "k1_r1c1")
    source = f"!${column_letter(column.index)}${book.sheets[0].first_row + 1}:"
    kernel = next(f for f in book.maps.formulas if source in f.formulas["xlsx"])
    assert kernel.value == book.sheets[1].trace.row(8)["k1_r1c1"] != book.sheets[0].trace.row(8)["k1_r1c1"]
    for fmt in ("xlsx", "ods"):
        report = verify.verify_file(write_workbook(book, fmt))
        maps = next(sheet for sheet in report.sheets if sheet.name == "maps")
        assert report.ok and maps.checked > 80, verify.format_report(report)
