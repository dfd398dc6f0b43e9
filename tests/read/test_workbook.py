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


# --- each sheet part inflated once ---------------------------------------------------------------

@pytest.fixture(scope="module")
def tall_books(tmp_path_factory) -> dict[str, object]:
    """Two sheets of 300 rows each, in both formats: sheet parts far longer than their first rows."""
    from sheetgen.config import Config
    from sheetgen.generation import generate

    out = tmp_path_factory.mktemp("tall")
    paths = generate(Config(learning_rates=(0.5, 2.0), iterations=300, plots=False,
                            output_dir=out).training())
    return {p.suffix[1:]: p for p in paths}


def inflated_bytes(monkeypatch) -> dict[str, int]:
    """Bytes of each zip entry inflated by sheetgen's own reading, by entry name, from now on:
    through the zip library (every read of an opened entry goes through _read1) and through
    the safety check's own inflating. calamine's reading, in Rust, is not counted."""
    import zipfile

    from sheetgen.read import safety

    counts: dict[str, int] = {}
    read1 = zipfile.ZipExtFile._read1

    def counted_read1(self, n):
        data = read1(self, n)
        counts[self.name] = counts.get(self.name, 0) + len(data)
        return data

    inflated = safety.inflated

    def counted_inflated(zf, info):
        for piece in inflated(zf, info):
            counts[info.filename] = counts.get(info.filename, 0) + len(piece)
            yield piece

    monkeypatch.setattr(zipfile.ZipExtFile, "_read1", counted_read1)
    monkeypatch.setattr(safety, "inflated", counted_inflated)
    monkeypatch.setattr(safety, "_PASSED", {})  # the check runs again, and is counted
    return counts


@pytest.mark.parametrize("fmt", ["xlsx", "ods"])
def test_an_audit_inflates_each_sheet_part_once(tall_books, monkeypatch, fmt):
    """The safety check streams each sheet part once; the formulas an audit reads (each table's
    first rows) come from the first rows the check kept of content.xml (.ods), or from the first
    bytes of each sheet part (.xlsx, openpyxl). Only the check's look at each part's prolog
    (its first 64 KB) comes on top."""
    import zipfile

    from sheetgen.read.safety import PROLOG_LIMIT

    path = tall_books[fmt]
    with zipfile.ZipFile(path) as zf:
        sizes = {i.filename: i.file_size for i in zf.infolist()}
    sheets = [n for n in sizes if n == "content.xml" or n.startswith("xl/worksheets/sheet")]
    assert len(sheets) == (1 if fmt == "ods" else 3)   # .xlsx: the summary and two tables
    assert sum(sizes[n] > 4 * PROLOG_LIMIT for n in sheets) == (1 if fmt == "ods" else 2)
    counts = inflated_bytes(monkeypatch)
    result = audit_module.audit(path)
    assert len(result.sheets) == 2 and result.exit_status == 0
    first_rows = 0 if fmt == "ods" else 256 * 1024   # openpyxl reads a sheet part in blocks
    for name in sheets:
        assert sizes[name] <= counts.get(name, 0) <= sizes[name] + PROLOG_LIMIT + first_rows, \
            (name, counts.get(name), sizes[name])


def test_the_first_rows_the_check_keeps_give_the_formulas_a_full_pass_gives(tall_books, tmp_path,
                                                                             monkeypatch):
    """Formulas from the kept first rows, from a pass over content.xml, and from a file whose rows
    sit in a row group (cut there, its XML no longer closes: read in full instead) agree."""
    import re
    import zipfile

    from sheetgen.read.xml_stream import OdsHeads

    path = tall_books["ods"]
    far = f"W{OdsHeads.ROWS + 100}"   # beyond the kept rows
    wanted = {"lr=0.5": ["I17", "W18", "AE60"], "lr=2": ["I17", far]}
    kept = Workbook(path).formulas_in(wanted)
    assert all(len(kept[s]) == len(cells) for s, cells in wanted.items()), kept
    grouped = tmp_path / "grouped.ods"
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(grouped, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "content.xml":
                data = re.sub(rb"(<table:table-row[ >].*?)(</table:table>)",
                              rb"<table:table-row-group>\1</table:table-row-group>\2", data, flags=re.S)
            zout.writestr(info, data)
    assert Workbook(grouped).formulas_in(wanted) == kept
    monkeypatch.setattr(workbook_module, "ods_head", lambda path: None)
    assert Workbook(path).formulas_in(wanted) == kept
