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
- the cells its formula reads already differ in that engine, and by enough: at most GROWTH
  times their largest relative difference times the formula's condition number (carried-in
  drift; a cached value changed by 1e-9 where the inputs differ by an ulp still fails), or
- its formula is ill-conditioned (cancellation: the subtraction of close numbers, a finite
  difference over h = 1e-6): it may differ by `rtol` times the formula's condition number,
  measured by nudging each input (`condition_number`).
A wrong formula in a table column is therefore caught in its first row (which reads typed values
and agrees unless the formula cancels), and a wrong formula anywhere still fails once it moves a
value by more than DRIFT_RTOL. Texts must match exactly.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

from sheetgen.core.cells import column_number

# Largest amplified drift measured on the shipped examples in Gnumeric 1.12 was 1.6e-11 (deep,
# 60 rows); a million times the strict tolerance leaves room for longer runs and stays far below
# what a wrong formula does to a value (1e-3 and more in every mutation tried in the tests).
DRIFT_RTOL = 1e-6
# Roundings a formula adds on top of what it carries in: a few ulps, generously.
GROWTH = 8.0

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


def is_amplified_drift(relative: float, inputs: list[Cell], input_difference: Callable[[Cell], float],
                       condition: float | None) -> bool:
    """Whether a numeric difference of `relative` (already beyond the strict tolerance) is drift
    carried in from the formula's inputs rather than a wrong formula or a changed value: no more
    than GROWTH times what the inputs' own relative differences, magnified by the formula's
    condition number (1 where it cannot be measured), account for."""
    carried = max((input_difference(cell) for cell in inputs), default=0.0)
    allowed = GROWTH * max(1.0, condition or 1.0) * carried
    return relative <= min(DRIFT_RTOL, allowed)


_FUNCTIONS = {"EXP": "math.exp", "LN": "math.log", "SQRT": "math.sqrt", "ABS": "abs",
              "MAX": "max", "MIN": "min", "TANH": "math.tanh", "IF": "_if"}
_CALL = re.compile(r"\b([A-Z][A-Z0-9.]*)\(")
STEP = 1e-7


def condition_number(formula: str, sheet: str, value_of: Callable[[Cell], float | None]) -> float | None:
    """How much the formula magnifies relative changes of the cells it reads: the sum over its
    inputs of |d f / f| / |d x / x|, measured by nudging each input by STEP relative. None when the
    formula is more than arithmetic and a few functions (ranges, lookups, texts)."""
    ods = formula.startswith("of:")
    text = (formula[3:] if ods else formula).lstrip("=")
    if '"' in text:
        return None
    names: list[Cell] = []

    def cell(match: re.Match) -> str:
        groups = match.groups()
        name, c1, r1, c2, r2 = groups
        if c2 or r2:
            raise LookupError("a range")
        names.append((_sheet(name, sheet), int(r1) - 1, column_number(c1) - 1))
        return f"v[{len(names) - 1}]"

    def call(match: re.Match) -> str:
        if match.group(1) not in _FUNCTIONS:
            raise LookupError(match.group(1))
        return _FUNCTIONS[match.group(1)] + "("

    try:
        text = (_ODS if ods else _XLSX).sub(cell, text)
        text = _CALL.sub(call, text).replace(";", ",").replace("^", "**").replace("<>", "!=")
        text = re.sub(r"(?<![<>!=])=(?!=)", "==", text)
        values = [value_of(c) for c in names]
        if not names or any(v is None for v in values):
            return None
        code = compile(text, "<formula>", "eval")
    except (LookupError, SyntaxError, ValueError):
        return None

    def f(v: list[float]) -> float | None:
        try:
            out = eval(code, {"__builtins__": {}, "math": math, "abs": abs, "max": max, "min": min,  # noqa: S307
                              "_if": lambda c, a, b: a if c else b}, {"v": v})
        except (ArithmeticError, ValueError, TypeError):
            return None
        return float(out) if isinstance(out, int | float) and math.isfinite(out) else None

    base = f(values)
    if base is None or base == 0:
        return None
    total = 0.0
    for k, x in enumerate(values):
        if x == 0:
            continue
        nudged = f([*values[:k], x * (1 + STEP), *values[k + 1:]])
        if nudged is None:
            return None
        total += abs(nudged - base) / (STEP * abs(base))
    return total


def is_cancellation(relative: float, condition: float | None, rtol: float) -> bool:
    """Whether a difference of `relative` is within what the formula's own conditioning allows
    for inputs that agree: `rtol` times its condition number (cancellation magnifies the last-bit
    differences of an engine computing in another precision)."""
    return condition is not None and relative <= min(DRIFT_RTOL, rtol * max(1.0, condition))


__all__ = ["DRIFT_RTOL", "condition_number", "is_amplified_drift", "is_cancellation", "references"]
