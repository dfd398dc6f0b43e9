"""Telling a wrong formula from amplified last-bit drift, for an engine whose arithmetic differs
from ours in the last bits (Gnumeric; LibreOffice's compensated sums on long cancelling sums).

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
  measured by nudging each input (`condition_number`), or
- its terms cancel to (nearly) 0, like a softmax output bias's gradient Σ δ_o = 1 − 1: there a
  relative difference says nothing (1e-16 against 1e-19 is "relative 1"), so the absolute
  difference may be CANCELLATION_RTOL of the terms' magnitude (the sum's own rounding:
  LibreOffice returns 0 for a sum whose operands agree to 2^-48) plus GROWTH times what the
  terms' own differences carry through (`is_carried_cancellation`), never more than DRIFT_RTOL
  of the terms.
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
              "MAX": "max", "MIN": "min", "TANH": "math.tanh", "IF": "_if",
              "SUM": "_sum", "SUMPRODUCT": "_sumproduct"}
MAX_RANGE = 400   # cells of one range a measured formula may read
_CALL = re.compile(r"\b([A-Z][A-Z0-9.]*)\(")
STEP = 1e-7


def _sum(*parts) -> float:
    return sum(sum(p) if isinstance(p, list) else p for p in parts)


def _compiled(formula: str, sheet: str):
    """(code, the cells it reads in order): the formula as Python over `v`, or None when it is
    more than arithmetic, SUM, SUMPRODUCT and a few functions (lookups, texts, long ranges)."""
    ods = formula.startswith("of:")
    text = (formula[3:] if ods else formula).lstrip("=")
    if '"' in text:
        return None
    names: list[Cell] = []

    def cell(match: re.Match) -> str:
        name, c1, r1, c2, r2 = match.groups()
        block = _block(_sheet(name, sheet), c1, r1, c2 or None, r2 or None)
        if len(block) > MAX_RANGE:
            raise LookupError("a long range")
        start = len(names)
        names.extend(block)
        items = [f"v[{k}]" for k in range(start, len(names))]
        return items[0] if not (c2 or r2) else "[" + ",".join(items) + "]"

    def call(match: re.Match) -> str:
        if match.group(1) not in _FUNCTIONS:
            raise LookupError(match.group(1))
        return _FUNCTIONS[match.group(1)] + "("

    try:
        text = (_ODS if ods else _XLSX).sub(cell, text)
        text = _CALL.sub(call, text).replace(";", ",").replace("^", "**").replace("<>", "!=")
        text = re.sub(r"(?<![<>!=])=(?!=)", "==", text)
        if not names:
            return None
        return compile(text, "<formula>", "eval"), names
    except (LookupError, SyntaxError, ValueError):
        return None


def _evaluate(code, v: list[float]) -> float | None:
    try:
        out = eval(code, {"__builtins__": {}, "math": math, "abs": abs, "max": max, "min": min,  # noqa: S307
                          "_if": lambda c, a, b: a if c else b, "_sum": _sum,
                          "_sumproduct": lambda a, b: sum(x * y for x, y in zip(a, b, strict=True))},
                   {"v": v})
    except (ArithmeticError, ValueError, TypeError):
        return None
    return float(out) if isinstance(out, int | float) and math.isfinite(out) else None


def sensitivities(formula: str, sheet: str, value_of: Callable[[Cell], float | None]
                  ) -> tuple[float, list[tuple[Cell, float, float]]] | None:
    """The formula's value at the inputs `value_of` gives, and for each input it reads (a cell
    read twice counts twice): (cell, its value, |d f / d x|), measured by nudging the input by
    STEP relative (STEP where it is 0). None where `condition_number` cannot measure."""
    compiled = _compiled(formula, sheet)
    if compiled is None:
        return None
    code, names = compiled
    values = [value_of(c) for c in names]
    if any(v is None for v in values):
        return None
    base = _evaluate(code, values)
    if base is None:
        return None
    found = []
    for k, x in enumerate(values):
        h = STEP * abs(x) if x else STEP
        nudged = _evaluate(code, [*values[:k], x + h, *values[k + 1:]])
        if nudged is None:
            return None
        found.append((names[k], x, abs(nudged - base) / h))
    return base, found


def condition_number(formula: str, sheet: str, value_of: Callable[[Cell], float | None]) -> float | None:
    """How much the formula magnifies relative changes of the cells it reads: the sum over its
    inputs of |d f / f| / |d x / x|, measured by nudging each input by STEP relative. None when the
    formula is more than arithmetic, SUM, SUMPRODUCT and a few functions (lookups, texts)."""
    measured = sensitivities(formula, sheet, value_of)
    if measured is None or measured[0] == 0:
        return None
    base, inputs = measured
    return sum(slope * abs(x) for _, x, slope in inputs) / abs(base)


# A formula's result may differ between engines by this many ulps of its largest operand: a sum
# that cancels to (nearly) zero, like a softmax output bias's gradient Σ (a_o − t) = 1 − 1, is
# 5.55e-17 in one order of addition and 0 in another.
CANCELLATION_ULPS = 4
# ... and by this much of its magnitude Σ |d f / d x · x| (for a sum, Σ |x|). LibreOffice's
# addition returns 0 where its operands agree to 2^-48 of the first one (rtl::math::approxAdd),
# which after the first of n terms is at most Σ |x|: 2^-44 covers that for sums of up to 16 terms
# and is 5.7e-14 of the terms, far below what a wrong formula does.
CANCELLATION_RTOL = 2.0 ** -44


def is_carried_cancellation(difference: float, formula: str, sheet: str,
                            stored: Callable[[Cell], float | None],
                            engine: Callable[[Cell], float | None]) -> bool:
    """Whether two results `difference` apart (absolute) agree for a formula whose terms may
    cancel: at most CANCELLATION_RTOL of the formula's magnitude Σ |d f / d x · x| (the rounding
    of the cancelling sum itself) plus GROWTH times Σ |d f / d x| · |x_engine − x_stored| over the
    cells it reads (their own differences carried through), never more than DRIFT_RTOL of the
    magnitude. Absolute, unlike the rules above: where the terms cancel to 0 the result's relative
    difference says nothing (1e-16 against 1e-19 is "relative 1"); the terms' last bits, which
    every engine rounds its own way, set what the result can be."""
    measured = sensitivities(formula, sheet, stored)
    if measured is None:
        return False
    _, inputs = measured
    carried = magnitude = 0.0
    for cell, x, slope in inputs:
        other = engine(cell)
        if other is None or not math.isfinite(other):
            return False
        carried += slope * abs(other - x)
        magnitude += slope * abs(x)
    allowed = CANCELLATION_RTOL * magnitude + GROWTH * carried
    return difference <= min(allowed, DRIFT_RTOL * magnitude)


def is_cancellation(relative: float, condition: float | None, rtol: float) -> bool:
    """Whether a difference of `relative` is within what the formula's own conditioning allows
    for inputs that agree: `rtol` times its condition number (cancellation magnifies the last-bit
    differences of an engine computing in another precision)."""
    return condition is not None and relative <= min(DRIFT_RTOL, rtol * max(1.0, condition))


__all__ = ["CANCELLATION_RTOL", "CANCELLATION_ULPS", "DRIFT_RTOL", "condition_number", "is_amplified_drift",
           "is_cancellation", "is_carried_cancellation", "references", "sensitivities"]
