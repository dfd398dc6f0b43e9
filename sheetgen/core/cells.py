"""Cell addresses: column letters, A1 references and quoted sheet names, in both dialects."""

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


def ref(dialect: str, col: int, row: str, absolute: bool = False) -> str:
    """A reference to a cell of the same sheet; `row` is text so that it can be a template."""
    dollar = "$" if absolute else ""
    plain = f"{dollar}{column_letter(col)}{dollar}{row}"
    return f"[.{plain}]" if dialect == "ods" else plain


def separator(dialect: str) -> str:
    """The argument separator of a dialect's formulas."""
    return ";" if dialect == "ods" else ","


def sheet_ref(sheet: str, row: int, col: int) -> dict[str, str]:
    """An absolute reference to another sheet's cell (0-based), per dialect."""
    cell = f"${column_letter(col)}${row + 1}"
    return {"xlsx": f"{quote_sheet(sheet)}!{cell}", "ods": f"[${quote_sheet(sheet)}.{cell}]"}
