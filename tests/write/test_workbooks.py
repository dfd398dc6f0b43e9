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
from sheetgen.core.presets import reference_network as network
from sheetgen.core.template import sheet_name
from sheetgen.generation import generate

SHEETS = ["lr=0.1", "lr=0.2", "lr=0.5", "lr=0.8", "lr=1", "lr=2"]
SUMMARY = "summary"  # the first sheet, before the learning-rate sheets (tests/test_charts.py)
HEADERS = ("t1 t2 i1 i2 w1 w2 w3 w4 h1 a_h1 h2 a_h2 w5 w6 w7 w8 o1 a_o1 o2 a_o2 e1 e2 E_total "
           "E∂W1 E∂W2 E∂W3 E∂W4 E∂W5 E∂W6 E∂W7 E∂W8").split()
PLAIN_FIRST_ROW = set("ABCDEFGHMNOP") | {"AF"}  # inputs, targets, initial weights, iteration

# Which cells each column's row-18 formula must refer to, written out by hand from the maths
# (not from the template), so a wrong reference in the template fails here.
ROW18_REFERENCES = {
    "A": {"A17"}, "B": {"B17"}, "C": {"C17"}, "D": {"D17"},
    "E": {"E17", "$G$13", "X17"}, "F": {"F17", "$G$13", "Y17"},
    "G": {"G17", "$G$13", "Z17"}, "H": {"H17", "$G$13", "AA17"},
    "I": {"E18", "C18", "F18", "D18"}, "J": {"I18"},
    "K": {"G18", "C18", "H18", "D18"}, "L": {"K18"},
    "M": {"M17", "$G$13", "AB17"}, "N": {"N17", "$G$13", "AC17"},
    "O": {"O17", "$G$13", "AD17"}, "P": {"P17", "$G$13", "AE17"},
    "Q": {"M18", "J18", "N18", "L18"}, "R": {"Q18"},
    "S": {"O18", "J18", "P18", "L18"}, "T": {"S18"},
    "U": {"A18", "R18"}, "V": {"B18", "T18"}, "W": {"U18", "V18"},
    "X": {"R18", "A18", "M18", "T18", "B18", "O18", "J18", "C18"},
    "Y": {"R18", "A18", "M18", "T18", "B18", "O18", "J18", "D18"},
    "Z": {"R18", "A18", "N18", "T18", "B18", "P18", "L18", "C18"},
    "AA": {"R18", "A18", "N18", "T18", "B18", "P18", "L18", "D18"},
    "AB": {"R18", "A18", "J18"}, "AC": {"R18", "A18", "L18"},
    "AD": {"T18", "B18", "J18"}, "AE": {"T18", "B18", "L18"},
    "AF": {"AF17"},
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
        assert [ws.cell(16, c + 1).value for c in range(31)] == HEADERS
        rows = expected_rows(rate)
        names = network().names
        checked = 0
        for k, row in enumerate(rows):
            for c, quantity in enumerate(names):
                value = ws.cell(17 + k, c + 1).value
                assert close(value, row[quantity]), (name, 17 + k, quantity, value, row[quantity])
                checked += 1
        assert checked == 22 * 32
        assert ws.cell(17 + len(rows), 1).value is None  # nothing after the last iteration


def test_ods_cached_values_equal_the_model(default_books):
    for rate, name in zip(DEFAULT_LEARNING_RATES, SHEETS, strict=True):
        df = pd.read_excel(default_books["ods"], engine="odf", sheet_name=name, header=15)
        assert list(df.columns[:31]) == HEADERS
        rows = expected_rows(rate)
        assert len(df) == len(rows)
        for c, quantity in enumerate(network().names):
            for k, row in enumerate(rows):
                value = df.iloc[k, c]
                assert close(float(value), row[quantity]), (name, 17 + k, quantity)


def test_xlsx_computed_cells_hold_formulas(default_books):
    wb = openpyxl.load_workbook(default_books["xlsx"])
    for name in SHEETS:
        ws = wb[name]
        for r in range(17, 17 + DEFAULT_ITERATIONS):
            for c in range(1, 33):
                letter, value = column_letter(c - 1), ws.cell(r, c).value
                if r == 17 and letter in PLAIN_FIRST_ROW:
                    assert isinstance(value, int | float), (name, letter, r, value)
                else:
                    assert isinstance(value, str) and value.startswith("="), (name, letter, r)


def test_ods_computed_cells_hold_formulas(default_books):
    sheets = ods_cells(default_books["ods"])
    assert list(sheets) == [SUMMARY, *SHEETS]
    for name in SHEETS:
        cells = sheets[name]
        for r in range(17, 17 + DEFAULT_ITERATIONS):
            for c in range(32):
                letter = column_letter(c)
                formula, value, _ = cells[f"{letter}{r}"]
                assert value is not None
                if r == 17 and letter in PLAIN_FIRST_ROW:
                    assert formula is None, (name, letter)
                else:
                    assert formula and formula.startswith("of:="), (name, letter, r)


def _refs(formula: str) -> set[str]:
    return set(re.findall(r"\$?[A-Z]{1,2}\$?[0-9]+", formula.replace("[.", "").replace("]", "")))


@pytest.mark.parametrize("fmt", ["xlsx", "ods"])
def test_each_column_refers_to_the_cells_it_should(default_books, fmt):
    if fmt == "xlsx":
        ws = openpyxl.load_workbook(default_books["xlsx"])["lr=0.8"]
        formulas = {letter: ws[f"{letter}18"].value for letter in ROW18_REFERENCES}
    else:
        cells = ods_cells(default_books["ods"])["lr=0.8"]
        formulas = {letter: cells[f"{letter}18"][0] for letter in ROW18_REFERENCES}
    for letter, expected in ROW18_REFERENCES.items():
        assert _refs(formulas[letter]) == expected, (letter, formulas[letter])


@pytest.mark.parametrize("fmt", ["xlsx", "ods"])
def test_sheet_holds_the_reference_blocks_above_its_table(default_books, fmt):
    refs = ("G12", "G13", "G1", "G11", "L1", "L10", "A14", "A15")
    if fmt == "xlsx":
        ws = openpyxl.load_workbook(default_books["xlsx"])["lr=2"]
        text = {ref: ws[ref].value for ref in refs}
    else:
        cells = ods_cells(default_books["ods"])["lr=2"]
        text = {ref: (cells[ref][2] if ref in cells else None) for ref in refs}
        text["G13"] = float(cells["G13"][1])
    assert text["G12"] == "Learning_rate"
    assert text["G13"] == 2
    assert text["G1"] == "h1 = w1*i1+w2*i2"
    assert text["G11"] == "E_total = E1 + E2"
    assert "a_o1" in text["L1"] and "a_01" not in text["L1"]
    assert text["L10"].startswith("∂E_total/∂W8")  # the reference says W6 here by mistake
    assert text["A14"] is None and text["A15"] is None  # the reference's stray cells are left out


def test_an_xlsx_part_past_the_zip32_limit_is_written_with_zip64(tmp_path, monkeypatch):
    """A sheet's XML passes 2 GiB at about 750,000 rows; the zip then needs ZIP64 (without it
    XlsxWriter failed after the whole write). The limit is lowered here to 1 MB to show it."""
    import zipfile

    monkeypatch.setattr(zipfile, "ZIP64_LIMIT", 1024**2)
    path = generate(Config(iterations=1000, learning_rates=(0.5,), formats=("xlsx",), plots=False,
                           output_dir=tmp_path).training())[0]
    monkeypatch.undo()
    with zipfile.ZipFile(path) as zf:
        big = zf.getinfo("xl/worksheets/sheet2.xml")
        assert big.file_size > 1024**2 and zf.testzip() is None
    assert openpyxl.load_workbook(path, read_only=True)["lr=0.5"].max_row > 1000
