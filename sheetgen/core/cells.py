"""Cell addresses: column letters, A1 references, ranges and quoted sheet names, in both
dialects. Every reference or range text sheetgen writes is built here."""

from __future__ import annotations

import re

DIALECTS = ("xlsx", "ods")


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def column_number(letters: str) -> int:
    """'A' -> 1, 'AA' -> 27 (1-based, as in the file formats)."""
    number = 0
    for letter in letters.upper():
        number = number * 26 + ord(letter) - 64
    return number


def parse_cell(ref: str) -> tuple[int, int]:
    """'J29' -> (28, 9), 0-based row and column."""
    match = re.fullmatch(r"([A-Z]+)([0-9]+)", ref)
    if not match:
        raise ValueError(f"not a cell reference: {ref!r}")
    return int(match.group(2)) - 1, column_number(match.group(1)) - 1


def quote_sheet(sheet: str) -> str:
    """A sheet name as formulas write it: 'lr=0.5', with inner quotes doubled."""
    return "'" + sheet.replace("'", "''") + "'"


def a1(col: int, row: int | str, col_abs: bool = False, row_abs: bool = False) -> str:
    """'B2' from 0-based column 1 and 1-based row 2 (`row` may be text, a row template such
    as '{r}'); '$B2', 'B$2' or '$B$2' with the column and/or the row absolute."""
    return f"{'$' if col_abs else ''}{column_letter(col)}{'$' if row_abs else ''}{row}"


def ref(dialect: str, col: int, row: str, absolute: bool = False) -> str:
    """A reference to a cell of the same sheet; `row` is text so that it can be a template."""
    plain = a1(col, row, absolute, absolute)
    return f"[.{plain}]" if dialect == "ods" else plain


def cell_range(dialect: str, first: str, last: str | None = None, sheet: str | None = None,
               quote: bool = True) -> str:
    """A reference in a formula, from A1 texts (`a1`): 'A1:F1' (xlsx) or '[.A1:.F1]' (ods);
    with a sheet "'lr=0.5'!$R$39:$R$60" or "[$'lr=0.5'.$R$39:.$R$60]"; `last` None: one cell.
    `quote`: False for a sheet name that needs no quotes (data)."""
    name = None if sheet is None else (quote_sheet(sheet) if quote else sheet)
    if dialect == "ods":
        inner = f".{first}" if last is None else f".{first}:.{last}"
        return f"[{'' if name is None else '$' + name}{inner}]"
    inner = first if last is None else f"{first}:{last}"
    return inner if name is None else f"{name}!{inner}"


def odf_address(sheet: str, first: str, last: str | None = None) -> str:
    """An ODF cell (range) address, as chart and style attributes hold it: "'lr=0.5'.A1" or
    "'lr=0.5'.A1:'lr=0.5'.A9" (no brackets, the sheet on both ends)."""
    name = quote_sheet(sheet)
    return f"{name}.{first}" if last is None else f"{name}.{first}:{name}.{last}"


def separator(dialect: str) -> str:
    """The argument separator of a dialect's formulas."""
    return ";" if dialect == "ods" else ","


def sheet_ref(sheet: str, row: int, col: int) -> dict[str, str]:
    """An absolute reference to another sheet's cell (0-based), per dialect."""
    cell = a1(col, row + 1, True, True)
    return {d: cell_range(d, cell, sheet=sheet) for d in DIALECTS}
