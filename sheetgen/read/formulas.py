"""Formula texts as a user reads them: the ODF dialect as typed, references as the maths'
names. The texts themselves come from `Workbook.formulas` (sheetgen.read.workbook)."""

from __future__ import annotations

import re

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


__all__ = ["formula_in_names", "plain_formula"]
