"""Telling a wrong formula from amplified last-bit drift, for an engine whose functions differ
from ours in the last bits (Gnumeric).

Gnumeric's exp, tanh and friends round differently from the C library in the last bit or two.
Training feeds each row into the next, so these 1e-16 differences grow row by row: after 60
rows of the deep example they reach 1.6e-11 relative, beyond the strict 1e-12. A wrong formula
looks different: it is already wrong where everything it reads agrees.

Gnumeric also computes in long double (it shows 0.01 as 0.0099999999999999999998), so even
where its inputs agree with ours a subtraction of close numbers can come out a few ulps of the
operands apart: (t1 - a_o1)^2 with both near 1.82 and their difference 2.2e-4 differs by 1.4e-12
relative.

The rule: a cell may differ from its cached value by more than `rtol` (never more than
DRIFT_RTOL) only when
- at least one cell its formula reads already differs in that engine (carried-in drift), or
- its inputs agree but the result is much smaller than they are (cancellation): it may differ
  by `rtol` times (largest input magnitude / its own magnitude).
A wrong formula in a table column is therefore caught in its first row (which reads typed values
and agrees unless the formula cancels), and a wrong formula anywhere still fails once it moves a
value by more than DRIFT_RTOL. Texts must match exactly.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from sheetgen.core.cells import column_number

# Largest amplified drift measured on the shipped examples in Gnumeric 1.12 was 1.6e-11 (deep,
# 60 rows); a million times the strict tolerance leaves room for longer runs and stays far below
# what a wrong formula does to a value (1e-3 and more in every mutation tried in the tests).
DRIFT_RTOL = 1e-6

_STRING = re.compile(r'"(?:[^"]|"")*"')
_CELL = r"\$?([A-Z]{1,3})\$?([0-9]+)"
_XLSX = re.compile(r"(?<![A-Za-z0-9_.$])(?:('(?:[^']|'')+'|[A-Za-z_][A-Za-z0-9_.]*)!)?"
                   + _CELL + r"(?::" + _CELL + r")?(?![A-Za-z0-9_(])")
_ODS = re.compile(r"\[\$?('(?:[^']|'')+'|[^.\[\]:']*)\.\$?([A-Z]{1,3})\$?([0-9]+)"
                  r"(?::\$?(?:'(?:[^']|'')+'|[^.\[\]:']*)\.\$?([A-Z]{1,3})\$?([0-9]+))?\]")

Cell = tuple[str, int, int]  # sheet, 0-based row, 0-based column


def _sheet(name: str | None, own: str) -> str:
    if not name:
        return own
    return name[1:-1].replace("''", "'") if name.startswith("'") else name


def _block(sheet: str, c1: str, r1: str, c2: str | None, r2: str | None) -> list[Cell]:
    first_row, first_col = int(r1) - 1, column_number(c1) - 1
    last_row = int(r2) - 1 if r2 else first_row
    last_col = column_number(c2) - 1 if c2 else first_col
    return [(sheet, r, c) for r in range(first_row, last_row + 1)
            for c in range(first_col, last_col + 1)]


def references(formula: str, sheet: str) -> list[Cell]:
    """Every cell a formula reads (ranges expanded), in either dialect ('of:=' for .ods)."""
    text = _STRING.sub('""', formula)
    cells: list[Cell] = []
    if text.startswith("of:"):
        for name, c1, r1, c2, r2 in _ODS.findall(text):
            cells += _block(_sheet(name, sheet), c1, r1, c2 or None, r2 or None)
    else:
        for name, c1, r1, c2, r2 in _XLSX.findall(text):
            cells += _block(_sheet(name, sheet), c1, r1, c2 or None, r2 or None)
    return cells


def is_amplified_drift(relative: float, inputs: list[Cell],
                       input_differs: Callable[[Cell], bool]) -> bool:
    """Whether a numeric difference of `relative` (already beyond the strict tolerance) is drift
    carried in from the formula's inputs rather than a wrong formula."""
    return relative <= DRIFT_RTOL and any(input_differs(cell) for cell in inputs)


def is_cancellation(relative: float, value: float, inputs: list[float], rtol: float) -> bool:
    """Whether a difference of `relative` is within what cancellation of inputs that agree
    allows: `rtol` scaled by how much larger the largest input is than the value."""
    if not inputs or value == 0 or relative > DRIFT_RTOL:
        return False
    return relative <= rtol * max(1.0, max(abs(x) for x in inputs) / abs(value))


__all__ = ["DRIFT_RTOL", "is_amplified_drift", "is_cancellation", "references"]
