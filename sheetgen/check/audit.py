"""Audit a hand-made backpropagation sheet: find the columns whose formula is wrong, and how.

Every column is checked against its own equation evaluated on the sheet's *own* other values
(same row for a formula, the row above for an update), so each mistake shows in its own column
only, however far its effect spreads: several independent mistakes are all found. For a wrong
column, single plausible substitutions in its equation (one variable for another of the same
kind, the row above for the same row, one gradient for another in an update) are tried; those
that reproduce the column are the diagnosis. Finally the model recomputes the whole table from
the first row, with the true maths (what is wrong, from which iteration) and with the diagnosed
mistakes (whether they explain every value).

Tolerances. A spreadsheet stores at least 10 significant digits (the reference stores exactly
10), so each stored value is within RHO = 5e-10 of the computed one, relatively. In a column
check that error is propagated through the equation (first order, input by input), and
SAFETY times it is allowed. The whole-table recomputation starts from exact first-row numbers,
so there only the stored values' own rounding counts: GLOBAL_RTOL = 1e-9 (twice RHO).
"""

from __future__ import annotations

import ast
import json
import math
import textwrap
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from sheetgen.check.compare import json_ready
from sheetgen.core import model
from sheetgen.core.cells import column_letter
from sheetgen.core.expressions import Expression
from sheetgen.core.model import Network, Quantity, Setup
from sheetgen.core.template import network
from sheetgen.errors import AuditError, WorkbookError
from sheetgen.read.tables import Table, find_table
from sheetgen.read.workbook import Workbook

RHO = 5e-10
SAFETY = 4.0
GLOBAL_RTOL = 1e-9
REPORT_FORMATS = ("text", "json")
MAX_EXPLANATIONS = 4

# Variables that one is easily written for another.
KINDS: tuple[tuple[str, ...], ...] = (
    ("t1", "t2", "i1", "i2"),
    ("w1", "w2", "w3", "w4", "w5", "w6", "w7", "w8"),
    ("b1", "b2"),
    ("h1", "h2", "a_h1", "a_h2"),
    ("o1", "o2", "a_o1", "a_o2"),
    ("E1", "E2", "E_total"),
    ("dE_dw1", "dE_dw2", "dE_dw3", "dE_dw4", "dE_dw5", "dE_dw6", "dE_dw7", "dE_dw8",
     "dE_db1", "dE_db2"),
)
STAGES = ("forward", "errors", "output-layer gradients", "hidden-layer gradients", "updates")
_STAGE_OF = {
    **dict.fromkeys(("h1", "a_h1", "h2", "a_h2", "o1", "a_o1", "o2", "a_o2"), 0),
    **dict.fromkeys(("E1", "E2", "E_total"), 1),
    **dict.fromkeys(("dE_dw5", "dE_dw6", "dE_dw7", "dE_dw8", "dE_db2"), 2),
    **dict.fromkeys(("dE_dw1", "dE_dw2", "dE_dw3", "dE_dw4", "dE_db1"), 3),
}
_LEARNING_RATE_LABELS = {"learningrate", "lr", "η", "eta", "alpha", "α"}


# --- results ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Explanation:
    """One substitution that reproduces a wrong column."""

    belongs: str            # the variable that belongs there (t1)
    used: str               # what the sheet uses instead (i1, or w2 from the row above)
    uses: int               # how often `belongs` appears in the equation
    occurrence: int | None  # which one was replaced (1-based), None: every one
    previous_row: bool      # the replacement reads the row above
    expression: str         # the equation as the sheet computes it
    words: str              # for a student: "E∂W5 uses i1 where t1 belongs"


@dataclass(frozen=True)
class Mistake:
    """A column whose values its own equation does not give from the sheet's other values."""

    quantity: str
    header: str
    stage: str
    cell: str                  # the first wrong cell
    iteration: int             # its 1-based table row
    sheet_value: float
    correct_value: float       # what the correct equation gives there from the sheet's values
    difference: float          # sheet - correct
    wrong_rows: int
    rows_checked: int
    equation: str              # the correct equation, in the maths' names
    formula: str | None        # the first wrong cell's formula, when the sheet holds formulas
    formula_in_names: str | None
    explanations: list[Explanation]

    @property
    def explained(self) -> bool:
        return bool(self.explanations)


@dataclass(frozen=True)
class ColumnStatus:
    quantity: str
    header: str
    column: str
    status: str               # right | mistake | follows (only an earlier mistake's effect) | unchecked
    first_wrong_iteration: int | None = None   # against the true maths, whole-table recomputation
    sheet_value: float | None = None
    true_value: float | None = None


@dataclass
class SheetAudit:
    sheet: str
    rows: int
    setup: dict[str, float | str]
    learning_rate: float | None
    learning_rate_source: str
    columns: list[ColumnStatus]
    mistakes: list[Mistake]
    summary: list[str]                 # the diagnoses in words, grouped
    reproduced: bool | None            # the model with the diagnosed mistakes gives every value
    notes: list[str] = field(default_factory=list)

    @property
    def correct(self) -> bool:
        return not self.mistakes


@dataclass
class Audit:
    path: str
    sheets: list[SheetAudit]
    unreadable: dict[str, str]         # sheet -> why its table could not be audited

    @property
    def exit_status(self) -> int:
        """0: every table is right; 1: mistakes found; 2: no table could be read."""
        if not self.sheets:
            return 2
        return 0 if all(s.correct for s in self.sheets) else 1

    @property
    def ok(self) -> bool:
        """Every table was read and is right."""
        return self.exit_status == 0

    def to_frame(self):
        """One row per wrong column: sheet, quantity, header, first wrong cell and iteration,
        how many rows are wrong, the correct equation and the diagnosis in words."""
        import pandas as pd

        rows = [{"sheet": s.sheet, "quantity": m.quantity, "header": m.header, "cell": m.cell,
                 "iteration": m.iteration, "wrong_rows": m.wrong_rows, "equation": m.equation,
                 "diagnosis": m.explanations[0].words if m.explanations else None}
                for s in self.sheets for m in s.mistakes]
        return pd.DataFrame(rows, columns=["sheet", "quantity", "header", "cell", "iteration",
                                           "wrong_rows", "equation", "diagnosis"])


# --- vectorised evaluation of an equation over the sheet's columns -----------------------------

def _sigmoid(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(-np.abs(x))
        return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


_OPS = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.divide,
        ast.Pow: np.power}


def _evaluate(node: ast.expr, here: Mapping[str, np.ndarray | float],
              above: Mapping[str, np.ndarray]) -> np.ndarray | float:
    match node:
        case ast.Name(id=name):
            return here[name]
        case ast.Constant(value=value):
            return float(value)
        case ast.UnaryOp(operand=operand):
            return -_evaluate(operand, here, above)
        case ast.Call(func=ast.Name(id="prev"), args=[ast.Name(id=name)]):
            return above[name]
        case ast.Call(args=[arg]):
            return _sigmoid(np.asarray(_evaluate(arg, here, above), dtype=float))
        case ast.BinOp(left=left, op=op, right=right):
            with np.errstate(all="ignore"):
                return _OPS[type(op)](_evaluate(left, here, above), _evaluate(right, here, above))
    raise ValueError(f"cannot evaluate {ast.unparse(node)}")


@dataclass
class _Check:
    """One equation checked against one column: which rows it is checked on and the result."""

    values: np.ndarray      # what the equation gives
    target: np.ndarray      # what the sheet holds
    tolerance: np.ndarray
    rows: np.ndarray        # 1-based table rows of values/target

    @property
    def wrong(self) -> np.ndarray:
        checkable = np.isfinite(self.values)
        return checkable & ~(np.abs(self.values - self.target) <= self.tolerance)

    @property
    def checked(self) -> int:
        return int(np.isfinite(self.values).sum())


class _Sheet:
    """The sheet's columns as arrays, with the row above of each, and its parameters."""

    def __init__(self, frame, parameters: Mapping[str, float]):
        self.columns = {q: frame[q].to_numpy(dtype=float) for q in frame.columns}
        self.parameters = dict(parameters)
        self.n = len(frame)

    def names(self) -> set[str]:
        return set(self.columns) | set(self.parameters)

    def check(self, quantity: Quantity, expression: Expression) -> _Check | None:
        """The equation against the column; None when the sheet lacks something it uses."""
        if not expression.names <= self.names() or quantity.name not in self.columns:
            return None
        if quantity.is_state:  # an update: from row k-1 to row k
            if self.n < 2:
                return None
            here = {q: v[:-1] for q, v in self.columns.items()}
            above = {q: np.concatenate([v[:1], v[:-2]]) for q, v in self.columns.items()}
            target, rows = self.columns[quantity.name][1:], np.arange(2, self.n + 1)
        else:
            here = dict(self.columns)
            above = {q: np.concatenate([v[:1], v[:-1]]) for q, v in self.columns.items()}
            target, rows = self.columns[quantity.name], np.arange(1, self.n + 1)
        here.update(self.parameters)
        values = np.broadcast_to(np.asarray(_evaluate(expression.tree, here, above), float),
                                 target.shape)
        return _Check(values, target, self._tolerance(expression, here, above, values, target), rows)

    def _tolerance(self, expression, here, above, values, target) -> np.ndarray:
        """Each stored input off by RHO (relative), propagated; the stored result too."""
        spread = RHO * np.abs(target)
        tree = expression.tree
        previous = {n.args[0].id for n in ast.walk(tree)
                    if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "prev"}
        for name in expression.names:
            if name in self.columns:
                nudged = {**here, name: here[name] * (1 + RHO)}
                with np.errstate(all="ignore"):
                    spread = spread + np.abs(_evaluate(tree, nudged, above) - values)
            if name in previous:
                nudged_above = {**above, name: above[name] * (1 + RHO)}
                with np.errstate(all="ignore"):
                    spread = spread + np.abs(_evaluate(tree, here, nudged_above) - values)
        return SAFETY * np.nan_to_num(spread, nan=0.0) + 1e-300


# --- candidate substitutions -------------------------------------------------------------------

def _kind(name: str) -> tuple[str, ...]:
    return next((k for k in KINDS if name in k), ())


class _Occurrences(ast.NodeVisitor):
    """Variable occurrences in source order (left to right), function names left out."""

    def __init__(self):
        self.names: list[tuple[str, bool]] = []   # (name, inside prev())

    def visit_Call(self, node: ast.Call) -> None:
        for arg in node.args:
            if isinstance(arg, ast.Name) and node.func.id == "prev":
                self.names.append((arg.id, True))
            else:
                self.visit(arg)

    def visit_Name(self, node: ast.Name) -> None:
        self.names.append((node.id, False))


class _Replace(ast.NodeTransformer):
    """Replace the chosen occurrences (indices in source order) by `used`, or by prev(name)."""

    def __init__(self, chosen: set[int], used: str, previous: bool):
        self.chosen, self.used, self.previous, self.k = chosen, used, previous, -1

    def visit_Call(self, node: ast.Call) -> ast.expr:
        if node.func.id == "prev":
            self.k += 1
            if self.k in self.chosen:
                node.args = [ast.Name(id=self.used, ctx=ast.Load())]
            return node
        node.args = [self.visit(arg) for arg in node.args]
        return node

    def visit_Name(self, node: ast.Name) -> ast.expr:
        self.k += 1
        if self.k not in self.chosen:
            return node
        if self.previous:
            return ast.Call(func=ast.Name(id="prev", ctx=ast.Load()), args=[node], keywords=[])
        return ast.Name(id=self.used, ctx=ast.Load())


def _variants(quantity: Quantity, expression: Expression, allowed: set[str], columns: set[str]
              ) -> Iterator[tuple[str, str, int, int | None, bool, Expression]]:
    """(belongs, used, uses, occurrence, previous_row, expression) for each single substitution:
    one variable for another of its kind (every use of it, or one), or, in a same-row equation,
    a variable taken from the row above."""
    finder = _Occurrences()
    finder.visit(expression.tree)
    by_name: dict[str, list[int]] = {}
    for k, (name, _) in enumerate(finder.names):
        by_name.setdefault(name, []).append(k)
    for name, positions in by_name.items():
        replacements = [(m, False) for m in _kind(name) if m != name and m in allowed]
        if not quantity.is_state and name in columns and not any(finder.names[k][1] for k in positions):
            replacements.append((name, True))
        for used, previous in replacements:
            choices: list[int | None] = [None]
            if len(positions) > 1:
                choices += range(1, len(positions) + 1)
            for occurrence in choices:
                chosen = set(positions) if occurrence is None else {positions[occurrence - 1]}
                tree = _Replace(chosen, used, previous).visit(
                    ast.parse(expression.text, mode="eval").body)
                yield name, used, len(positions), occurrence, previous, \
                    Expression.parse(ast.unparse(tree))


def _depends_on(net: Network, name: str, target: str, seen: set[str] | None = None) -> bool:
    """Whether `name` (same row) is computed from `target`."""
    if name == target:
        return True
    if name not in net.names or net.quantity(name).is_state:
        return False
    seen = seen if seen is not None else set()
    if name in seen:
        return False
    seen.add(name)
    return any(_depends_on(net, n, target, seen) for n in net.quantity(name).formula.names)


def _ordinal(k: int) -> str:
    return {1: "1st", 2: "2nd", 3: "3rd"}.get(k, f"{k}th")


def _words(subject: str, plural: bool, is_update: bool, belongs: str, used: str, uses: int,
           occurrence: int | None, previous: bool, headers: Mapping[str, str]) -> str:
    """The diagnosis in a sentence; `subject` is one column's header or several joined."""
    gradient = belongs in _STAGE_OF and _STAGE_OF[belongs] in (2, 3)
    belongs_h, used_h = headers.get(belongs, belongs), headers.get(used, used)
    if previous:
        what = f"{used_h} from the row above where its own row's {belongs_h} belongs"
        text = f"{subject} {'take' if plural else 'takes'} {what}"
    elif is_update and gradient:
        text = f"{subject} {'are' if plural else 'is'} updated with {used_h} where {belongs_h} belongs"
    elif is_update:
        text = f"the update{'s' if plural else ''} of {subject} use{'' if plural else 's'} {used_h} " \
               f"where {belongs_h} belongs"
    else:
        text = f"{subject} {'use' if plural else 'uses'} {used_h} where {belongs_h} belongs"
    if occurrence is not None:
        text += f" (in the {_ordinal(occurrence)} of its {uses} uses of {belongs_h})"
    elif uses == 2:
        text += " (both times)"
    elif uses > 2:
        text += f" (all {uses} times)"
    return text


# --- the audit of one table ----------------------------------------------------------------------

def _first_row_setup(table: Table, biases: str, parameters: Mapping[str, float]) -> Setup:
    first = table.frame.iloc[0]
    values = {name: float(first[name]) for name in
              ("i1", "i2", "t1", "t2", "w1", "w2", "w3", "w4", "w5", "w6", "w7", "w8")}
    if biases == "trained":
        values |= {"b1": float(first["b1"]), "b2": float(first["b2"])}
    elif biases == "fixed":
        values |= {"b1": parameters["b1"], "b2": parameters["b2"]}
    return Setup(**values, biases=biases)


def _shortest(value: float, uncertainty: float) -> float:
    """The number with fewest significant digits within `uncertainty` of `value`."""
    if not math.isfinite(value) or value == 0:
        return value
    for digits in range(1, 17):
        candidate = float(f"{value:.{digits - 1}e}")
        if abs(candidate - value) <= uncertainty:
            return candidate
    return value


def _infer_learning_rate(table: Table, gradient_of: Mapping[str, str]) -> tuple[float | None, float]:
    """From consecutive weight rows: w_k - w_(k+1) = learning_rate * dE/dw_k. Robust to a few
    wrong updates (the median), then the shortest number the precise pairs agree with."""
    ratios, spreads = [], []
    frame = table.frame
    for weight, grad in gradient_of.items():
        if weight not in frame or grad not in frame:
            continue
        w = frame[weight].to_numpy(float)
        g = frame[grad].to_numpy(float)[:-1]
        step = w[:-1] - w[1:]
        with np.errstate(all="ignore"):
            r = step / g
            spread = np.abs(r) * (RHO * (np.abs(w[:-1]) + np.abs(w[1:])) / np.abs(step) + RHO)
        ok = np.isfinite(r) & np.isfinite(spread) & (g != 0)
        ratios.extend(r[ok])
        spreads.extend(spread[ok])
    if not ratios:
        return None, math.inf
    ratios_a, spreads_a = np.array(ratios), np.array(spreads)
    median = float(np.median(ratios_a))
    agree = np.abs(ratios_a - median) <= SAFETY * spreads_a + 1e-12 * abs(median)
    if not agree.any():
        return median, math.inf
    best = int(np.argmin(np.where(agree, spreads_a, np.inf)))
    estimate, uncertainty = float(ratios_a[best]), SAFETY * float(spreads_a[best])
    return _shortest(estimate, uncertainty), uncertainty


def _infer_fixed_biases(table: Table) -> dict[str, float]:
    """A bias added to both neurons of a layer shows as the same offset in h1 and h2 (o1, o2)."""
    f = table.frame
    need = {"h1", "h2", "o1", "o2", "a_h1", "a_h2", "i1", "i2"} | {f"w{k}" for k in range(1, 9)}
    if not need <= set(f.columns):
        return {"b1": 0.0, "b2": 0.0}
    out = {}
    for bias, pairs in (("b1", (("h1", "w1", "w2", "i1", "i2"), ("h2", "w3", "w4", "i1", "i2"))),
                        ("b2", (("o1", "w5", "w6", "a_h1", "a_h2"), ("o2", "w7", "w8", "a_h1", "a_h2")))):
        offsets = []
        for net_in, wa, wb, xa, xb in pairs:
            terms = f[wa] * f[xa] + f[wb] * f[xb]
            offset = (f[net_in] - terms).to_numpy(float)
            scale = (f[net_in].abs() + (f[wa] * f[xa]).abs() + (f[wb] * f[xb]).abs()).to_numpy(float)
            offsets.append((float(np.median(offset)), SAFETY * RHO * float(np.max(scale))))
        (a, da), (b, db) = offsets
        if abs(a) <= da or abs(b) <= db or abs(a - b) > da + db:
            out[bias] = 0.0  # no bias, or the two disagree (then one of them has a mistake)
        else:
            out[bias] = _shortest((a + b) / 2, da + db)
    return out


def _labelled_numbers(grid: list[list], labels: set[str], skip_row: int) -> list[tuple[str, float]]:
    """Numbers in the cells below (or else right of) a cell whose text is one of `labels`."""
    for r, row in enumerate(grid):
        if r == skip_row:
            continue
        for c, value in enumerate(row):
            if not isinstance(value, str):
                continue
            key = value.strip().lower().replace("_", "").replace(" ", "").replace("-", "")
            if key not in labels:
                continue
            found = []
            for rr in range(r + 1, len(grid)):
                v = grid[rr][c] if c < len(grid[rr]) else None
                if isinstance(v, bool) or not isinstance(v, int | float):
                    break
                found.append((f"{column_letter(c)}{rr + 1}", float(v)))
            if not found and c + 1 < len(row) and isinstance(row[c + 1], int | float) \
                    and not isinstance(row[c + 1], bool):
                found.append((f"{column_letter(c + 1)}{r + 1}", float(row[c + 1])))
            if found:
                return found
    return []


def _with_expressions(net: Network, replaced: Mapping[str, Expression]) -> Network:
    """`net` with some equations replaced, computed quantities reordered so that each comes
    after what it uses (a mistake may refer to a later column of the same row)."""
    quantities = []
    for q in net.quantities:
        if q.name in replaced:
            e = replaced[q.name]
            q = Quantity(q.name, None, e, q.gradient) if q.is_state else Quantity(q.name, e, q.next,
                                                                                     q.gradient)
        quantities.append(q)
    known = {q.name for q in quantities if q.is_state} | set(net.parameters)
    ordered = [q for q in quantities if q.is_state]
    pending = [q for q in quantities if not q.is_state]
    while pending:
        ready = next((q for q in pending if q.formula.names <= known), None)
        if ready is None:
            raise AuditError("the diagnosed equations refer to each other in a circle")
        ordered.append(ready)
        known.add(ready.name)
        pending.remove(ready)
    return Network(tuple(ordered), net.parameters)


def _global_tolerance(sheet: np.ndarray) -> np.ndarray:
    # An absolute floor far below any value the exercise shows, for values at zero.
    floor = 1e-12 * float(np.nanmax(np.abs(sheet))) if np.isfinite(sheet).any() else 0.0
    return GLOBAL_RTOL * np.abs(sheet) + floor + 1e-300


def _first_differences(net: Network, setup: Setup, learning_rate: float, table: Table
                       ) -> dict[str, tuple[int, float, float] | None]:
    """Per column: (iteration, sheet value, model value) of the first difference, or None."""
    rows = model.run(net, setup, learning_rate, len(table.frame))
    out = {}
    for q in net.names:
        if q not in table.frame or q == "iteration":  # a table may count from 0: not maths
            continue
        sheet = table.frame[q].to_numpy(float)
        computed = np.array([r[q] for r in rows])
        bad = ~(np.abs(sheet - computed) <= _global_tolerance(sheet))
        k = int(np.argmax(bad)) if bad.any() else -1
        out[q] = None if k < 0 else (k + 1, float(sheet[k]), float(computed[k]))
    return out


def audit_table(table: Table, *, learning_rate_cells: list[tuple[str, float]] | None = None,
                formulas: Mapping[str, str] | None = None,
                formula_reader=None) -> SheetAudit:
    """Audit one sheet's table (see the module's docstring). `learning_rate_cells`: numbers a
    label such as `Learning_rate` names; `formula_reader(cells) -> {cell: formula}` or
    `formulas` supply cell formulas to show beside the diagnosis."""
    frame = table.frame
    if len(frame) == 0:
        raise AuditError("the table has no rows")
    biases = "trained" if {"b1", "b2"} <= set(frame.columns) else "none"
    net0 = network(biases)
    required = [q for q in net0.names if q != "iteration"]
    missing = [q for q in required if q not in frame.columns]
    if missing:
        raise AuditError(f"the table lacks the column(s) {', '.join(missing)}")
    empty = [q for q in required if not np.isfinite(frame[q].to_numpy(float)).any()]
    if empty:
        raise AuditError(f"the column(s) {', '.join(empty)} hold no numbers (formulas saved without "
                         "their values? open and save the file in a spreadsheet program)")
    state = [q.name for q in net0.quantities if q.is_state and q.name != "iteration"]
    if not np.isfinite(frame[state].iloc[0].to_numpy(float)).all():
        raise AuditError("the first row does not hold the inputs, targets and initial weights")

    notes: list[str] = []
    parameters: dict[str, float] = {}
    if biases == "none":
        fixed = _infer_fixed_biases(table)
        if any(fixed.values()):
            biases = "fixed"
            net0 = network(biases)
            parameters |= fixed
    gradient_of = {q.name: next(iter(q.next.names - {q.name, "learning_rate"}), "")
                   for q in net0.quantities if q.is_state and "learning_rate" in q.next.names}
    learning_rate, _ = _infer_learning_rate(table, gradient_of)
    source = "weight updates"
    listed = learning_rate_cells or []
    if learning_rate is None:
        if listed:
            learning_rate, source = listed[0][1], f"cell {listed[0][0]}"
        else:
            learning_rate, source = 0.0, "none (a single row: no update to check)"
    elif listed:
        same = [ref for ref, v in listed if math.isclose(v, learning_rate, rel_tol=1e-9)]
        if same and same[0] == listed[0][0]:
            learning_rate, source = listed[0][1], f"weight updates, agreeing with cell {listed[0][0]}"
        elif same:
            source = "weight updates"
            notes.append(f"the learning-rate cell {listed[0][0]} holds {listed[0][1]:g}, but the "
                         f"table's updates use {learning_rate:g} (listed in {same[0]})")
        else:
            notes.append(f"the learning-rate cell {listed[0][0]} holds {listed[0][1]:g}, but the "
                         f"table's updates use {learning_rate:g}")
    parameters["learning_rate"] = learning_rate
    setup = _first_row_setup(table, biases, parameters)

    sheet = _Sheet(frame, parameters)
    headers = {q: table.headers.get(q, q) for q in net0.names}
    headers |= {p: p for p in net0.parameters}
    mistakes: list[Mistake] = []
    replaced: dict[str, Expression] = {}
    wanted_cells: dict[str, str] = {}
    for q in net0.quantities:
        expression = q.next if q.is_state else q.formula
        check = sheet.check(q, expression)
        if check is None or not check.wrong.any():
            continue
        k = int(np.argmax(check.wrong))
        explanations = _diagnose(net0, q, expression, sheet, headers)
        if explanations:
            replaced[q.name] = Expression.parse(explanations[0].expression)
        iteration = int(check.rows[k])
        cell = table.cell(q.name, iteration)
        wanted_cells[q.name] = cell
        mistakes.append(Mistake(
            quantity=q.name, header=headers[q.name],
            stage=STAGES[_STAGE_OF.get(q.name, 4)], cell=cell, iteration=iteration,
            sheet_value=float(check.target[k]), correct_value=float(check.values[k]),
            difference=float(check.target[k] - check.values[k]),
            wrong_rows=int(check.wrong.sum()), rows_checked=check.checked,
            equation=_equation(q, expression), formula=None, formula_in_names=None,
            explanations=explanations))
    mistakes.sort(key=lambda m: (STAGES.index(m.stage), net0.index(m.quantity)))
    if mistakes and (formulas is not None or formula_reader is not None):
        found = dict(formulas or {}) if formulas is not None else formula_reader(wanted_cells.values())
        mistakes = [_with_formula(m, found.get(m.cell), table, listed) for m in mistakes]

    true_diff = _first_differences(net0, setup, learning_rate, table)
    reproduced = None
    if mistakes and all(m.explained for m in mistakes):
        try:
            diagnosed = _with_expressions(net0, replaced)
            reproduced = not any(_first_differences(diagnosed, setup, learning_rate, table).values())
        except (AuditError, model.ModelError):
            reproduced = False
    elif not mistakes:
        reproduced = not any(true_diff.values())
        if not reproduced:
            notes.append("every column follows from its own equation, but recomputing the table "
                         "from its first row differs: the learning rate or biases may be read wrong")
    wrong = {m.quantity for m in mistakes}
    columns = []
    for q in net0.names:
        if q not in frame.columns:
            continue
        diff = true_diff.get(q)
        status = "mistake" if q in wrong else "follows" if diff else "right"
        if diff:
            columns.append(ColumnStatus(q, headers[q], column_letter(table.columns[q]), status, *diff))
        else:
            columns.append(ColumnStatus(q, headers[q], column_letter(table.columns[q]), status))
    setup_out: dict[str, float | str] = {k: v for k, v in setup.values().items()
                                         if biases != "none" or k not in ("b1", "b2")}
    setup_out["biases"] = biases
    shown_rate = None if source.startswith("none") else learning_rate
    return SheetAudit(table.sheet, len(frame), setup_out, shown_rate, source, columns,
                      mistakes, _summary(mistakes, headers), reproduced, notes)


def _equation(q: Quantity, expression: Expression) -> str:
    if q.is_state:
        return f"{q.name} = {expression.text}  (from the row above)"
    return f"{q.name} = {expression.text}"


def _diagnose(net: Network, q: Quantity, expression: Expression, sheet: _Sheet,
              headers: Mapping[str, str]) -> list[Explanation]:
    allowed = {m for m in sheet.names() if q.is_state or not _depends_on(net, m, q.name)}
    found: dict[str, Explanation] = {}
    variants = _variants(q, expression, allowed, set(sheet.columns))
    for belongs, used, uses, occurrence, previous, variant in variants:
        if variant.text in found or variant.text == expression.text:
            continue
        check = sheet.check(q, variant)
        # The first row has no row above: whatever a wrong-row formula shows there is no evidence.
        wrong = check.wrong[1:] if check is not None and previous else getattr(check, "wrong", None)
        if check is None or check.checked == 0 or wrong.any():
            continue
        words = _words(headers.get(q.name, q.name), False, q.is_state, belongs, used, uses,
                       occurrence, previous, headers)
        found[variant.text] = Explanation(belongs, used, uses, occurrence, previous, variant.text, words)
    # Every use replaced reads simplest; then the earlier occurrence.
    ranked = sorted(found.values(), key=lambda e: (e.occurrence is not None, e.occurrence or 0))
    return ranked[:MAX_EXPLANATIONS]


def _with_formula(m: Mistake, formula: str | None, table: Table,
                  listed: list[tuple[str, float]]) -> Mistake:
    if not formula:
        return m
    from sheetgen.read.formulas import formula_in_names, plain_formula

    names = {column_letter(c): table.headers.get(q, q) for q, c in table.columns.items()}
    cells = {ref: "learning_rate" for ref, _ in listed[:1]}
    row = int("".join(ch for ch in m.cell if ch.isdigit()))
    return replace(m, formula=plain_formula(formula),
                   formula_in_names=formula_in_names(formula, row, names, cells))


def _summary(mistakes: list[Mistake], headers: Mapping[str, str]) -> list[str]:
    """One sentence per diagnosis; columns with the same substitution share it."""
    groups: dict[tuple, list[Mistake]] = {}
    lines = []
    for m in mistakes:
        if not m.explanations:
            continue
        e = m.explanations[0]
        key = (e.belongs, e.used, e.uses, e.occurrence, e.previous_row, m.stage)
        groups.setdefault(key, []).append(m)
    for key, members in groups.items():
        belongs, used, uses, occurrence, previous, _ = key
        subject = " and ".join(m.header for m in members)
        is_update = STAGES.index(members[0].stage) == 4
        lines.append(_words(subject, len(members) > 1, is_update, belongs, used, uses, occurrence,
                            previous, headers))
    for m in mistakes:
        if not m.explanations:
            lines.append(f"{m.header} is wrong from {m.cell} on, and no single substitution "
                         f"explains its values")
    return lines


# --- workbooks -----------------------------------------------------------------------------------

def audit(path: Path | str) -> Audit:
    """Audit every sheet of a workbook that holds a backpropagation table.
    WorkbookError when the file cannot be read at all."""
    book = Workbook(path)
    path = book.path
    sheets, unreadable = [], {}
    for name in book.sheet_names:
        grid = book.grid(name)
        table = find_table(grid, name)
        if table is None:
            continue
        listed = _labelled_numbers(grid, _LEARNING_RATE_LABELS, table.header_row)
        try:
            sheets.append(audit_table(
                table, learning_rate_cells=listed,
                formula_reader=lambda cells, name=name: book.formulas(name, cells)))
        except AuditError as exc:
            unreadable[name] = str(exc)
    if not sheets and not unreadable:
        raise WorkbookError(f"{path}: no backpropagation table found in any sheet "
                            "(no header row naming its columns, e.g. w1 w2 E_total)")
    return Audit(str(path), sheets, unreadable)


# --- reports -------------------------------------------------------------------------------------

def _g(value: float) -> str:
    return f"{value:.10g}"


def to_text(result: Audit) -> str:
    lines = [f"audit of {result.path}"]
    for s in result.sheets:
        lines.append("")
        rate = "unknown" if s.learning_rate is None else _g(s.learning_rate)
        lines.append(f"sheet {s.sheet!r}: {s.rows} rows, learning rate {rate} "
                     f"(from {s.learning_rate_source}), biases {s.setup['biases']}")
        setup = ", ".join(f"{k}={_g(v)}" for k, v in s.setup.items() if k != "biases")
        lines.append(f"  first row: {setup}")
        for note in s.notes:
            lines.append(f"  note: {note}")
        if s.correct:
            lines.append(f"  RIGHT: every column follows its equation ({len(s.columns)} columns)")
            continue
        lines.append(f"  {len(s.mistakes)} column(s) with a wrong formula:")
        for m in s.mistakes:
            lines.append(f"  - {m.header} ({m.stage}): wrong from {m.cell} (iteration {m.iteration}), "
                         f"{m.wrong_rows} of {m.rows_checked} rows")
            lines.append(f"      sheet {_g(m.sheet_value)}, its correct equation gives "
                         f"{_g(m.correct_value)} (difference {m.difference:.3g})")
            lines.append(f"      correct: {m.equation}")
            if m.formula:
                lines.append(f"      {m.cell} holds {m.formula}  =  {m.formula_in_names}")
            if m.explanations:
                for k, e in enumerate(m.explanations):
                    lead = "diagnosis" if k == 0 else "or"
                    lines.append(f"      {lead}: {e.words}")
            else:
                lines.append("      no single substitution explains it")
        lines.append("  in short:")
        lines.extend(f"    {line}" for line in s.summary)
        follows = sorted((c.first_wrong_iteration, k, c.header) for k, c in enumerate(s.columns)
                         if c.status == "follows")
        if follows:
            lines.append("  off the true maths only through these mistakes (column: from iteration):")
            items = [f"{h}:\u00a0{k}" for k, _, h in follows]  # no break inside an item
            lines.extend(line.replace("\u00a0", " ") for line in textwrap.wrap(
                ", ".join(items), width=96, initial_indent="    ", subsequent_indent="    "))
        if s.reproduced is True:
            lines.append("  with these mistakes reproduced, the model gives every other value of the sheet")
        elif s.reproduced is False:
            lines.append("  with these mistakes reproduced, the model still differs somewhere: "
                         "there may be more than single substitutions")
    for name, why in result.unreadable.items():
        lines.append("")
        lines.append(f"sheet {name!r}: not audited: {why}")
    verdict = {0: "no mistakes found", 1: "mistakes found", 2: "no table could be audited"}
    lines.append("")
    lines.append(f"result: {verdict[result.exit_status]}")
    return "\n".join(lines)


def to_json(result: Audit) -> str:
    data = asdict(result)
    data["exit_status"] = result.exit_status
    for s_out, s in zip(data["sheets"], result.sheets, strict=True):
        s_out["correct"] = s.correct
    return json.dumps(json_ready(data), indent=2, ensure_ascii=False)


def report(result: Audit, fmt: str = "text") -> str:
    if fmt not in REPORT_FORMATS:
        raise ValueError(f"unknown report format {fmt!r}")
    return to_text(result) if fmt == "text" else to_json(result)


__all__ = ["Audit", "AuditError", "ColumnStatus", "Explanation", "Mistake", "SheetAudit", "audit",
           "audit_table", "report", "to_json", "to_text"]
