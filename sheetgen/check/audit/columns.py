"""A table's columns as arrays, and one equation checked against one column.

Every column is checked against its own equation evaluated on the sheet's *own* other values
(same row for a formula, the row above for an update), so each mistake shows in its own column
only, however far its effect spreads. Equations are the template's expressions, evaluated over
whole columns by `Expression.evaluate_array`.

Tolerances. A spreadsheet stores at least 10 significant digits (the reference stores exactly
10), so each stored value is within RHO = 5e-10 of the computed one, relatively. In a column
check that error is propagated through the equation (first order, input by input), and
SAFETY times it is allowed.
"""

from __future__ import annotations

import ast
import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from sheetgen.core.expressions import Expression
from sheetgen.core.model import Quantity

RHO = 5e-10
SAFETY = 4.0
# A first pass with this relative tolerance sorts out most candidate equations cheaply.
LOOSE = 1e-6


@dataclass
class Check:
    """One equation against one column: what it gives, what the sheet holds, row by row."""

    values: np.ndarray      # what the equation gives (NaN: not checkable there)
    target: np.ndarray      # what the sheet holds
    tolerance: np.ndarray

    @property
    def wrong(self) -> np.ndarray:
        checkable = np.isfinite(self.values)
        return checkable & ~(np.abs(self.values - self.target) <= self.tolerance)

    @property
    def checked(self) -> int:
        return int(np.isfinite(self.values).sum())


def shift(values: np.ndarray, k: int) -> np.ndarray:
    """out[r] = values[r + k]; NaN where that row is outside the table."""
    if k == 0:
        return values
    out = np.full_like(values, np.nan)
    n = len(values)
    if abs(k) < n:
        if k > 0:
            out[:n - k] = values[k:]
        else:
            out[-k:] = values[:n + k]
    return out


def cur_names(expression: Expression) -> frozenset[str]:
    """The names an update reads in its own (new) row: cur(m_w1), an optimizer's new state."""
    return _cur_names(expression.text) if "cur(" in expression.text else frozenset()


@functools.lru_cache(maxsize=4096)
def _cur_names(text: str) -> frozenset[str]:
    expression = Expression.parse(text)
    return frozenset(node.args[0].id for node in ast.walk(expression.tree)
                     if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                     and node.func.id == "cur")


class Columns:
    """The table's columns as float arrays, and the parameters (learning rate, labelled cells,
    an optimizer's hyper-parameters, a data sheet's columns as tuples). `quantum`: per column,
    half the unit of the last decimal its values were rounded to (0: stored in full)."""

    def __init__(self, columns: Mapping[str, np.ndarray], parameters: Mapping[str, object],
                 quantum: Mapping[str, float] | None = None):
        self.columns = dict(columns)
        self.parameters = dict(parameters)
        self.quantum = dict(quantum or {})
        self.n = len(next(iter(self.columns.values()))) if self.columns else 0

    def names(self) -> set[str]:
        return set(self.columns) | set(self.parameters)

    def inputs(self, expression: Expression, base: int, shifts: Mapping[str, int] | None = None
               ) -> tuple[dict, dict]:
        """(values, row above) for evaluating `expression` on row r from row r + base."""
        shifts = shifts or {}
        here: dict = {}
        above: dict = {}
        for name in expression.names:
            if name in self.columns:
                here[name] = shift(self.columns[name], base + shifts.get(name, 0))
                above[name] = shift(self.columns[name], base + shifts.get(name, 0) - 1)
            elif name in self.parameters:
                here[name] = above[name] = self.parameters[name]
        for name in cur_names(expression):
            if name in self.columns:
                here["_next_" + name] = shift(self.columns[name], base + 1 + shifts.get(name, 0))
        return here, above

    def evaluate(self, expression: Expression, base: int, shifts: Mapping[str, int] | None = None
                 ) -> np.ndarray:
        here, above = self.inputs(expression, base, shifts)
        values = expression.evaluate_array(here, above)
        return np.broadcast_to(values, (self.n,)).astype(np.float64, copy=False)

    def check(self, quantity: Quantity, expression: Expression,
              shifts: Mapping[str, int] | None = None, loose_first: bool = False) -> Check | None:
        """The equation against the column; None when the sheet lacks something it uses.
        An update (`next`) reads the row above; `shifts` moves single names to other rows."""
        if not expression.names <= self.names() or quantity.name not in self.columns:
            return None
        base = -1 if quantity.is_state else 0
        values = self.evaluate(expression, base, shifts)
        target = self.columns[quantity.name]
        if loose_first:
            loose = np.maximum(LOOSE * np.abs(target), 2 * self.quantum.get(quantity.name, 0.0))
            near = np.abs(values - target) <= loose + 1e-12
            if not near[np.isfinite(values)].all():
                return Check(values, target, np.zeros_like(target))
        return Check(values, target, self.tolerance(expression, base, shifts, values, target,
                                                    quantity.name))

    def _error(self, name: str, values) -> np.ndarray:
        """How far a stored value may be from the one computed: its rounding."""
        return np.maximum(RHO * np.abs(values), self.quantum.get(name.removeprefix("_next_"), 0.0))

    def tolerance(self, expression: Expression, base: int, shifts, values, target,
                  name: str = "") -> np.ndarray:
        """Each stored input off by its rounding, propagated; the stored result's own too."""
        spread = self._error(name, target)
        here, above = self.inputs(expression, base, shifts)
        previous = expression.uses_previous_row
        for key, value in here.items():
            if key.removeprefix("_next_") not in self.columns:
                continue
            nudged = {**here, key: value + self._error(key, value)}
            spread = spread + np.abs(expression.evaluate_array(nudged, above) - values)
            if previous and key in above:
                nudged_above = {**above, key: above[key] + self._error(key, above[key])}
                spread = spread + np.abs(expression.evaluate_array(here, nudged_above) - values)
        return SAFETY * np.nan_to_num(spread, nan=0.0) + 1e-300


def shortest(value: float, uncertainty: float) -> float:
    """The number with fewest significant digits within `uncertainty` of `value`."""
    if not math.isfinite(value) or value == 0:
        return value
    for digits in range(1, 17):
        candidate = float(f"{value:.{digits - 1}e}")
        if abs(candidate - value) <= uncertainty:
            return candidate
    return value


def infer_learning_rate(columns: Columns, net, updates) -> float | None:
    """From consecutive rows of the updated columns: each update is linear in the rate,
    next = A + rate·B (gd: A = w, B = −∂E/∂w), so rate = (next − A) / B. Robust to a few wrong
    updates (the median), then the shortest number the precise rows agree with."""
    ratios, spreads = [], []
    for name in updates:
        q = net.quantity(name)
        # A schedule's lr column is a formula of the row, linear in the base rate as well.
        expression, base = (q.next, -1) if q.is_state else (q.formula, 0)
        if not expression.names - {"learning_rate"} <= columns.names():
            continue
        zero = Columns(columns.columns, {**columns.parameters, "learning_rate": 0.0}, columns.quantum)
        one = Columns(columns.columns, {**columns.parameters, "learning_rate": 1.0}, columns.quantum)
        a = zero.evaluate(expression, base)
        b = one.evaluate(expression, base) - a
        target = columns.columns[name]
        step = target - a
        error = columns._error(name, target) + columns._error(name, a)
        with np.errstate(all="ignore"):
            r = step / b
            spread = np.abs(r) * (error / np.abs(step) + RHO)
        ok = np.isfinite(r) & np.isfinite(spread) & (b != 0) & (step != 0)
        ratios.append(r[ok])
        spreads.append(spread[ok])
    if not ratios or not sum(len(r) for r in ratios):
        return None
    ratios_a, spreads_a = np.concatenate(ratios), np.concatenate(spreads)
    median = float(np.median(ratios_a))
    agree = np.abs(ratios_a - median) <= SAFETY * spreads_a + 1e-12 * abs(median)
    if not agree.any():
        return median
    best = int(np.argmin(np.where(agree, spreads_a, np.inf)))
    return shortest(float(ratios_a[best]), SAFETY * float(spreads_a[best]))


def infer_fixed_biases(columns: Mapping[str, np.ndarray], net_inputs: Mapping[str, tuple]) -> dict:
    """A bias added to every neuron of a layer shows as the same offset in each net input.
    `net_inputs`: bias -> [(net input, [(weight, input), ...]), ...]."""
    out = {}
    for bias, neurons in net_inputs.items():
        offsets = []
        for net_in, terms in neurons:
            if net_in not in columns or any(a not in columns or b not in columns for a, b in terms):
                break
            total = sum(columns[a] * columns[b] for a, b in terms)
            offset = columns[net_in] - total
            scale = np.abs(columns[net_in]) + sum(np.abs(columns[a] * columns[b]) for a, b in terms)
            offsets.append((float(np.nanmedian(offset)), SAFETY * RHO * float(np.nanmax(scale))))
        if len(offsets) != len(neurons) or not offsets:
            out[bias] = 0.0
            continue
        values = [a for a, _ in offsets]
        slack = sum(d for _, d in offsets)
        if any(abs(a) <= d for a, d in offsets) or max(values) - min(values) > slack:
            out[bias] = 0.0  # no bias, or they disagree (then one of them has a mistake)
        else:
            out[bias] = shortest(sum(values) / len(values), slack)
    return out


__all__ = ["Check", "Columns", "LOOSE", "RHO", "SAFETY", "infer_fixed_biases",
           "infer_learning_rate", "shift", "shortest"]
