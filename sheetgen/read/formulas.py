"""Read the formula text of chosen cells of a workbook (values come from sheetgen.read.tables).

.xlsx through openpyxl in read-only mode; .ods by streaming content.xml, so that a long table
never sits in memory as a DOM.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable
from pathlib import Path

from sheetgen.core.cells import parse_cell
from sheetgen.errors import WorkbookError
from sheetgen.read.safety import check_workbook

_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"


def read_formulas(path: Path, sheet: str, cells: Iterable[str]) -> dict[str, str]:
    """{cell: formula text} for those of `cells` (e.g. 'AB39') that hold a formula."""
    path = Path(path)
    check_workbook(path)
    wanted = {parse_cell(c): c for c in cells}
    if not wanted:
        return {}
    try:
        if path.suffix.lower() == ".xlsx":
            return _xlsx(path, sheet, wanted)
        return _ods(path, sheet, wanted)
    except WorkbookError:
        raise
    except Exception as exc:  # a damaged file: one line for the user, whatever the parser raised
        raise WorkbookError(f"{path}: cannot read formulas: {' '.join(str(exc).split())[:200]}") from None


def _xlsx(path: Path, sheet: str, wanted: dict[tuple[int, int], str]) -> dict[str, str]:
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True, data_only=False)
    try:
        if sheet not in book.sheetnames:
            return {}
        rows = [r for r, _ in wanted]
        cols = [c for _, c in wanted]
        found = {}
        for r, row in enumerate(book[sheet].iter_rows(min_row=min(rows) + 1, max_row=max(rows) + 1,
                                                      min_col=min(cols) + 1, max_col=max(cols) + 1,
                                                      values_only=True), start=min(rows)):
            for c, value in enumerate(row, start=min(cols)):
                if (r, c) in wanted and isinstance(value, str) and value.startswith("="):
                    found[wanted[(r, c)]] = value
        return found
    finally:
        book.close()


def _ods(path: Path, sheet: str, wanted: dict[tuple[int, int], str]) -> dict[str, str]:
    from defusedxml.ElementTree import iterparse

    last_row = max(r for r, _ in wanted)
    found: dict[str, str] = {}
    with zipfile.ZipFile(path) as zf, zf.open("content.xml") as xml:
        in_sheet, row = False, -1
        for event, elem in iterparse(xml, events=("start", "end")):
            tag = elem.tag
            if tag == _TABLE + "table":
                if event == "start":
                    in_sheet, row = elem.get(_TABLE + "name") == sheet, 0
                elif in_sheet:
                    break
                continue
            if not in_sheet or event != "end":
                continue
            if tag == _TABLE + "table-row":
                col = 0
                for cell in elem:
                    repeat = int(cell.get(_TABLE + "number-columns-repeated", 1))
                    formula = cell.get(_TABLE + "formula")
                    if formula:
                        for c in range(col, col + min(repeat, 1024)):
                            if (row, c) in wanted:
                                found[wanted[(row, c)]] = formula
                    col += repeat
                row += int(elem.get(_TABLE + "number-rows-repeated", 1))
                elem.clear()
                if row > last_row:
                    break
    return found


# --- formulas in the maths' names -----------------------------------------------------------

_REF = re.compile(r"(?<![A-Za-z0-9_.])\$?([A-Z]{1,3})\$?([0-9]+)(?![0-9(A-Za-z_])")
_ODS_REF = re.compile(r"\[\$?[^\].]*\.(\$?[A-Z]{1,3}\$?[0-9]+)\]")


def plain_formula(formula: str) -> str:
    """'of:=[.R39]-[.C39]' -> '=R39-C39': the ODF dialect written as a user types it."""
    text = formula[3:] if formula.startswith("of:") else formula
    return _ODS_REF.sub(r"\1", text).replace(";", ",")


def formula_in_names(formula: str, row: int, names: dict[str, str],
                     cells: dict[str, str] | None = None) -> str:
    """A formula with its references read as names: `names` maps a column's letters to its
    name, `row` is the formula's own 1-based row; `cells` names single cells ('J29')."""
    cells = cells or {}

    def name(match: re.Match) -> str:
        letters, r = match.group(1), int(match.group(2))
        ref = f"{letters}{r}"
        if ref in cells:
            return cells[ref]
        if letters not in names:
            return match.group(0)
        if r == row:
            return names[letters]
        if r == row - 1:
            return f"{names[letters]}[row above]"
        return f"{names[letters]}[row {r}]"

    return _REF.sub(name, plain_formula(formula).lstrip("="))


__all__ = ["formula_in_names", "plain_formula", "read_formulas"]
