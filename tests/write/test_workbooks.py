"""The generated workbooks: every sheet, every cell value, every formula, the layout."""

from __future__ import annotations

import math
import re

import openpyxl
import pandas as pd
import pytest
from parts import ods_cells

from sheetgen.config import DEFAULT_ITERATIONS, DEFAULT_LEARNING_RATES, Config
from sheetgen.core import model
from sheetgen.core.cells import column_letter
from sheetgen.core.model import Setup
from sheetgen.core.template import network, sheet_name
from sheetgen.generation import generate

SHEETS = ["lr=0.1", "lr=0.2", "lr=0.5", "lr=0.8", "lr=1", "lr=2"]
SUMMARY = "summary"  # the first sheet, before the learning-rate sheets (tests/test_charts.py)
HEADERS = ("t1 t2 i1 i2 w1 w2 w3 w4 h1 a_h1 h2 a_h2 w5 w6 w7 w8 o1 a_o1 o2 a_o2 e1 e2 E_total "
           "E∂W1 E∂W2 E∂W3 E∂W4 E∂W5 E∂W6 E∂W7 E∂W8").split()
PLAIN_FIRST_ROW = set("ABCDEFGHMNOP") | {"AF"}  # inputs, targets, initial weights, iteration

# Which cells each column's row-40 formula must refer to, written out by hand from the maths
# (not from the template), so a wrong reference in the template fails here.
ROW40_REFERENCES = {
    "A": {"A39"}, "B": {"B39"}, "C": {"C39"}, "D": {"D39"},
    "E": {"E39", "$J$29", "X39"}, "F": {"F39", "$J$29", "Y39"},
    "G": {"G39", "$J$29", "Z39"}, "H": {"H39", "$J$29", "AA39"},
    "I": {"E40", "C40", "F40", "D40"}, "J": {"I40"},
    "K": {"G40", "C40", "H40", "D40"}, "L": {"K40"},
    "M": {"M39", "$J$29", "AB39"}, "N": {"N39", "$J$29", "AC39"},
    "O": {"O39", "$J$29", "AD39"}, "P": {"P39", "$J$29", "AE39"},
    "Q": {"M40", "J40", "N40", "L40"}, "R": {"Q40"},
    "S": {"O40", "J40", "P40", "L40"}, "T": {"S40"},
    "U": {"A40", "R40"}, "V": {"B40", "T40"}, "W": {"U40", "V40"},
    "X": {"R40", "A40", "M40", "T40", "B40", "O40", "J40", "C40"},
    "Y": {"R40", "A40", "M40", "T40", "B40", "O40", "J40", "D40"},
    "Z": {"R40", "A40", "N40", "T40", "B40", "P40", "L40", "C40"},
    "AA": {"R40", "A40", "N40", "T40", "B40", "P40", "L40", "D40"},
    "AB": {"R40", "A40", "J40"}, "AC": {"R40", "A40", "L40"},
    "AD": {"T40", "B40", "J40"}, "AE": {"T40", "B40", "L40"},
    "AF": {"AF39"},
}


def expected_rows(rate: float) -> list[dict[str, float]]:
    return model.run(network(), Setup(), rate, DEFAULT_ITERATIONS)


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-300)


def test_sheet_names_follow_the_learning_rates(default_books):
    assert [sheet_name(r) for r in DEFAULT_LEARNING_RATES] == SHEETS
    assert openpyxl.load_workbook(default_books["xlsx"], read_only=True).sheetnames == [SUMMARY, *SHEETS]
    assert list(pd.read_excel(default_books["ods"], engine="odf", sheet_name=None)) == [SUMMARY, *SHEETS]


def test_xlsx_cached_values_equal_the_model(default_books):
    wb = openpyxl.load_workbook(default_books["xlsx"], data_only=True)
    for rate, name in zip(DEFAULT_LEARNING_RATES, SHEETS, strict=True):
        ws = wb[name]
        assert [ws.cell(38, c + 1).value for c in range(31)] == HEADERS
        rows = expected_rows(rate)
        names = network().names
        checked = 0
        for k, row in enumerate(rows):
            for c, quantity in enumerate(names):
                value = ws.cell(39 + k, c + 1).value
                assert close(value, row[quantity]), (name, 39 + k, quantity, value, row[quantity])
                checked += 1
        assert checked == 22 * 32
        assert ws.cell(39 + len(rows), 1).value is None  # nothing after the last iteration


def test_ods_cached_values_equal_the_model(default_books):
    for rate, name in zip(DEFAULT_LEARNING_RATES, SHEETS, strict=True):
        df = pd.read_excel(default_books["ods"], engine="odf", sheet_name=name, header=37)
        assert list(df.columns[:31]) == HEADERS
        rows = expected_rows(rate)
        assert len(df) == len(rows)
        for c, quantity in enumerate(network().names):
            for k, row in enumerate(rows):
                value = df.iloc[k, c]
                assert close(float(value), row[quantity]), (name, 39 + k, quantity)


def test_xlsx_computed_cells_hold_formulas(default_books):
    wb = openpyxl.load_workbook(default_books["xlsx"])
    for name in SHEETS:
        ws = wb[name]
        for r in range(39, 39 + DEFAULT_ITERATIONS):
            for c in range(1, 33):
                letter, value = column_letter(c - 1), ws.cell(r, c).value
                if r == 39 and letter in PLAIN_FIRST_ROW:
                    assert isinstance(value, int | float), (name, letter, r, value)
                else:
                    assert isinstance(value, str) and value.startswith("="), (name, letter, r)


def test_ods_computed_cells_hold_formulas(default_books):
    sheets = ods_cells(default_books["ods"])
    assert list(sheets) == [SUMMARY, *SHEETS]
    for name in SHEETS:
        cells = sheets[name]
        for r in range(39, 39 + DEFAULT_ITERATIONS):
            for c in range(32):
                letter = column_letter(c)
                formula, value, _ = cells[f"{letter}{r}"]
                assert value is not None
                if r == 39 and letter in PLAIN_FIRST_ROW:
                    assert formula is None, (name, letter)
                else:
                    assert formula and formula.startswith("of:="), (name, letter, r)


def _refs(formula: str) -> set[str]:
    return set(re.findall(r"\$?[A-Z]{1,2}\$?[0-9]+", formula.replace("[.", "").replace("]", "")))


@pytest.mark.parametrize("fmt", ["xlsx", "ods"])
def test_each_column_refers_to_the_cells_it_should(default_books, fmt):
    if fmt == "xlsx":
        ws = openpyxl.load_workbook(default_books["xlsx"])["lr=0.8"]
        formulas = {letter: ws[f"{letter}40"].value for letter in ROW40_REFERENCES}
    else:
        cells = ods_cells(default_books["ods"])["lr=0.8"]
        formulas = {letter: cells[f"{letter}40"][0] for letter in ROW40_REFERENCES}
    for letter, expected in ROW40_REFERENCES.items():
        assert _refs(formulas[letter]) == expected, (letter, formulas[letter])


@pytest.mark.parametrize("fmt", ["xlsx", "ods"])
def test_sheet_mirrors_the_reference_blocks(default_books, fmt):
    if fmt == "xlsx":
        ws = openpyxl.load_workbook(default_books["xlsx"])["lr=2"]
        text = {ref: ws[ref].value for ref in ("J28", "J29", "C23", "C33", "J5", "J14", "A15", "A16")}
    else:
        cells = ods_cells(default_books["ods"])["lr=2"]
        text = {ref: (cells[ref][2] if ref in cells else None) for ref in
                ("J28", "J29", "C23", "C33", "J5", "J14", "A15", "A16")}
        text["J29"] = float(cells["J29"][1])
    assert text["J28"] == "Learning_rate"
    assert text["J29"] == 2
    assert text["C23"] == "h1 = w1*i1+w2*i2"
    assert text["C33"] == "E_total = E1 + E2"
    assert "a_o1" in text["J5"] and "a_01" not in text["J5"]
    assert text["J14"].startswith("∂E_total/∂W8")  # the reference says W6 here by mistake
    assert text["A15"] is None and text["A16"] is None  # its stray cells are left out


def test_an_xlsx_part_past_the_zip32_limit_is_written_with_zip64(tmp_path, monkeypatch):
    """A sheet's XML passes 2 GiB at about 750,000 rows; the zip then needs ZIP64 (without it
    XlsxWriter failed after the whole write). The limit is lowered here to 1 MB to show it."""
    import zipfile

    monkeypatch.setattr(zipfile, "ZIP64_LIMIT", 1024**2)
    path = generate(Config(iterations=1000, learning_rates=(0.5,), formats=("xlsx",), plots=False,
                           output_dir=tmp_path))[0]
    monkeypatch.undo()
    with zipfile.ZipFile(path) as zf:
        big = zf.getinfo("xl/worksheets/sheet2.xml")
        assert big.file_size > 1024**2 and zf.testzip() is None
    assert openpyxl.load_workbook(path, read_only=True)["lr=0.5"].max_row > 1000
