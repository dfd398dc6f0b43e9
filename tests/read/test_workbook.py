"""The one workbook reader: opened and checked once, read as often as needed."""

from __future__ import annotations

import pytest

from sheetgen.check import audit as audit_module
from sheetgen.check.verify import stored_values
from sheetgen.errors import WorkbookError
from sheetgen.read import workbook as workbook_module
from sheetgen.read.workbook import Workbook


@pytest.fixture
def count_checks(monkeypatch):
    calls = []
    real = workbook_module.check_workbook
    monkeypatch.setattr(workbook_module, "check_workbook", lambda path: (calls.append(path), real(path)))
    return calls


@pytest.mark.parametrize("fmt", ["xlsx", "ods"])
def test_an_audit_runs_the_safety_check_once(default_books, count_checks, fmt):
    result = audit_module.audit(default_books[fmt])
    assert len(result.sheets) == 6 and result.exit_status == 0
    assert count_checks == [default_books[fmt]]


@pytest.mark.parametrize("fmt", ["xlsx", "ods"])
def test_one_workbook_serves_names_grids_formulas_and_cached_values(default_books, count_checks, fmt):
    book = Workbook(str(default_books[fmt]))
    assert book.sheet_names[1:] == ["lr=0.1", "lr=0.2", "lr=0.5", "lr=0.8", "lr=1", "lr=2"]
    assert book.grid("lr=0.8")[15][22] == "E_total"
    formula = book.formulas("lr=0.8", ["W17", "A1"])
    assert set(formula) == {"W17"} and formula["W17"].replace("[.", "").replace("]", "").endswith("U17+V17")
    cached = book.cached_values()
    assert cached["lr=0.8"][(16, 22)] == book.grid("lr=0.8")[16][22]
    assert len(count_checks) == 1


def test_the_ods_stream_parser_stops_at_the_last_wanted_row_and_agrees_with_the_full_pass(default_books):
    book = Workbook(default_books["ods"])
    cells = [f"{col}{row}" for col in ("I", "W", "AE") for row in (17, 23, 38)]
    formulas = book.formulas("lr=2", cells)
    assert sorted(formulas) == sorted(cells)
    assert stored_values(default_books["ods"])["lr=2"].keys() >= {(16, 8), (37, 30)}


def test_a_missing_sheet_is_one_line(default_books):
    with pytest.raises(WorkbookError, match="no sheet named 'nope'"):
        Workbook(default_books["xlsx"]).grid("nope")


def test_a_pretty_printed_text_result_keeps_only_its_value():
    """Gnumeric writes its .xlsx indented: the whitespace after </v> is not part of the text."""
    import io

    from sheetgen.read.xml_stream import xlsx_cached_values

    part = (b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            b'<sheetData><row r="15">\n  <c r="BX15" t="str">\n    <f>"a "&amp;A2</f>\n'
            b'    <v>when learning rate is 1</v>\n  </c>\n</row></sheetData></worksheet>')
    assert xlsx_cached_values(io.BytesIO(part)) == {(14, 75): "when learning rate is 1"}
