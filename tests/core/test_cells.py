"""The one home of reference and range text: A1 cells, ranges per dialect, sheet-qualified
ranges and ODF addresses."""

from __future__ import annotations

from sheetgen.core.cells import a1, cell_range, column_letter, odf_address, parse_cell, ref, sheet_ref


def test_a1_with_and_without_dollars():
    assert a1(0, 1) == "A1"
    assert a1(27, 39, True, True) == "$AB$39"
    assert a1(5, "{r}", col_abs=True) == "$F{r}"
    assert a1(5, 2, row_abs=True) == "F$2"
    assert parse_cell(a1(730, 12)) == (11, 730)
    assert a1(16_383, 1_048_576) == column_letter(16_383) + "1048576"


def test_ranges_in_both_dialects():
    assert cell_range("xlsx", "A39", "F39") == "A39:F39"
    assert cell_range("ods", "A39", "F39") == "[.A39:.F39]"
    assert cell_range("xlsx", "$R$39", "$R$60", "lr=0.5") == "'lr=0.5'!$R$39:$R$60"
    assert cell_range("ods", "$R$39", "$R$60", "lr=0.5") == "[$'lr=0.5'.$R$39:.$R$60]"
    assert cell_range("xlsx", "$A$2", "$A$9", "data", quote=False) == "data!$A$2:$A$9"
    assert cell_range("ods", "$A$2", "$A$9", "data", quote=False) == "[$data.$A$2:.$A$9]"
    # One cell: the same as `ref` on this sheet, and as `sheet_ref` on another.
    assert cell_range("ods", "B3") == ref("ods", 1, "3") == "[.B3]"
    assert sheet_ref("it's", 2, 1) == {"xlsx": "'it''s'!$B$3", "ods": "[$'it''s'.$B$3]"}


def test_odf_addresses():
    assert odf_address("lr=1", "A1") == "'lr=1'.A1"
    assert odf_address("lr=1", "B2", "B9") == "'lr=1'.B2:'lr=1'.B9"
