"""The audit of one table: every column checked, each wrong one diagnosed in one sentence.

Finally the model recomputes the whole table from its first row, with the true maths (which
columns are off only through an earlier mistake) and with the diagnosed mistakes when they can
be written as equations (whether they explain every value).
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from sheetgen.check.audit.columns import RHO, Columns, infer_fixed_biases, infer_learning_rate
from sheetgen.check.audit.diagnose import STAGES, Explanation, diagnose, stage
from sheetgen.check.audit.expected import Expected, NeedsConfig, infer, is_template
from sheetgen.check.audit.structure import (
    covered_by_rate,
    formula_focus,
    refine,
    structural_mistakes,
)
from sheetgen.check.audit.tables import Found
from sheetgen.check.audit.wide import infer_wide
from sheetgen.core import model
from sheetgen.core.cells import a1, cell_range, column_letter
from sheetgen.core.expressions import Expression
from sheetgen.core.model import Network, Quantity, Setup
from sheetgen.core.network import NetworkSetup
from sheetgen.core.presets import reference_network as network
from sheetgen.core.template import format_rate
from sheetgen.errors import AuditError, ConfigError, ModelError
from sheetgen.read.formulas import formula_in_names, plain_formula
from sheetgen.read.tables import without_remark

# The first sample's row on a data sheet sheetgen writes.
DATA_FIRST_ROW = 3
# Hyper-parameters as the sheets label them.
SYMBOLS = {"beta": "β", "beta1": "β1", "beta2": "β2", "epsilon": "ε"}
# The whole-table recomputation starts from exact first-row numbers, so there only the stored
# values' own rounding counts: twice RHO.
GLOBAL_RTOL = 2 * RHO
# The recomputation covers the first rows only: the column checks have seen every row, and a
# mistake's effect shows in the first iterations; this keeps a 10,000-row audit fast.
RECOMPUTE_ROWS = 2_000
RECOMPUTE_CELLS = 64_000   # fewer rows for a wide table


@dataclass(frozen=True)
class Mistake:
    """A column whose values its own equation does not give from the sheet's other values."""

    quantity: str
    header: str
    column: str                # its letters
    stage: str
    kind: str                  # a diagnosis kind (diagnose.KINDS), constant, learning-rate cell, unexplained
    cell: str                  # the first wrong cell
    iteration: int             # its 1-based table row
    diagnosis: str             # one sentence naming the cell
    sheet_value: float
    correct_value: float       # what the correct equation gives there from the sheet's values
    difference: float          # sheet - correct
    wrong_rows: int
    rows_checked: int
    equation: str              # the correct equation, in the maths' names
    correct_formula: str       # the same, in the sheet's own references, for the first wrong cell
    formula: str | None        # the first wrong cell's formula, when the sheet holds formulas
    formula_in_names: str | None
    explanations: list[Explanation]
    wrong_cells: list[str] = field(default_factory=list)

    @property
    def explained(self) -> bool:
        return self.kind != "unexplained"


@dataclass(frozen=True)
class ColumnStatus:
    quantity: str
    header: str
    column: str
    status: str               # right | mistake | follows (only an earlier mistake's effect)
    first_wrong_iteration: int | None = None   # against the true maths, whole-table recomputation
    sheet_value: float | None = None
    true_value: float | None = None


@dataclass
class SheetAudit:
    sheet: str
    table: str                          # its cells, e.g. A38:AE60
    rows: int
    setup: dict[str, float | str]
    learning_rate: float | None
    learning_rate_source: str
    values_only: bool
    columns: list[ColumnStatus]
    mistakes: list[Mistake]
    summary: list[str]                  # the diagnoses in words, grouped
    reproduced: bool | None             # the model with the diagnosed mistakes gives every value
    unknown_headers: list[tuple[str, str]] = field(default_factory=list)  # (cell, header)
    notes: list[str] = field(default_factory=list)
    values: dict[str, list[float]] = field(default_factory=dict, repr=False)
    header_row: int = 0                 # 1-based, the row naming the columns
    network: str = ""                   # the network checked against, in words
    network_source: str = "headers"     # headers (inferred) or the config file
    decimals: int | None = None         # the values were pasted rounded to this many decimals

    @property
    def correct(self) -> bool:
        return not self.mistakes


def _g(value: float) -> str:
    return f"{value:.10g}"


def _net_inputs(net: Network) -> dict:
    """bias -> [(net input, [(weight, input), ...])] read from the fixed-bias equations."""
    out: dict = {}
    for q in net.quantities:
        if q.formula is None:
            continue
        biases = [n for n in q.formula.names if n in net.parameters and n != "learning_rate"]
        if len(biases) != 1:
            continue
        terms = []
        node = q.formula.tree
        ok = True
        parts = []
        while isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            parts.append(node.right)
            node = node.left
        parts.append(node)
        for part in parts:
            if isinstance(part, ast.Name) and part.id == biases[0]:
                continue
            if isinstance(part, ast.BinOp) and isinstance(part.op, ast.Mult) and \
                    isinstance(part.left, ast.Name) and isinstance(part.right, ast.Name):
                terms.append((part.left.id, part.right.id))
            else:
                ok = False
        if ok and terms:
            out.setdefault(biases[0], []).append((q.name, terms))
    return out


def audit_table(found: Found, formula_reader: Callable | None = None,
                expected: Expected | None = None, data: Mapping[str, tuple] | None = None
                ) -> SheetAudit:
    """Audit one table (see the package's docstring). `formula_reader(cells) -> {cell: formula}`
    supplies the cells' formulas, when the file holds any; `expected`: the network it should
    compute (inferred from the sheet when None); `data`: the workbook's data sheet."""
    wanted, finish = plan(found, expected, data)
    return finish(dict(formula_reader(sorted(wanted))) if formula_reader else {})


def rounding(cols: Mapping[str, np.ndarray]) -> int | None:
    """The decimals a table's values were rounded to (pasted as shown), or None: stored in full.
    Decided by the columns that hold fractions; counts and whole numbers say nothing."""
    found = []
    for values in cols.values():
        v = values[np.isfinite(values)]
        if not len(v) or np.all(v == np.round(v)):
            continue
        for d in range(1, 10):
            scaled = v * 10.0 ** d
            if np.all(np.abs(scaled - np.round(scaled)) <= 1e-6 * np.maximum(1, np.abs(scaled)) * 1e-3):
                found.append(d)
                break
        else:
            found.append(None)
    if not found or found.count(None) > len(found) // 4:
        return None
    decimals = [d for d in found if d is not None]
    return max(decimals) if max(decimals) <= 8 else None


def plan(found: Found, expected: Expected | None = None, data: Mapping[str, tuple] | None = None
         ) -> tuple[set[str], Callable[[Mapping[str, str]], SheetAudit]]:
    """The checks of one table, and the cells whose formulas the rest needs: (cells, finish),
    where finish({cell: formula}) gives the audit. Reading the formulas of every table of a
    file at once reads the file once."""
    table = found.table
    frame = table.frame
    if len(frame) == 0:
        raise AuditError("the table has no rows")
    cols = {q: frame[q].to_numpy(dtype=np.float64) for q in frame.columns}
    decimals = rounding(cols)
    quantum_size = 0.5 * 10.0 ** -decimals if decimals is not None else 0.0
    notes: list[str] = []
    labelled_all = {q: v for q, (_, v) in found.labelled.items()}
    if expected is None and not is_template(cols):
        try:
            expected = infer_wide(cols, labelled_all, data, quantum_size) or \
                infer(cols, labelled_all, data, quantum_size)
        except NeedsConfig as exc:
            raise AuditError(f"the table at {found.span}: {exc}") from None
        except ConfigError as exc:
            raise AuditError(f"the table at {found.span}: its headers describe no network sheetgen "
                             f"knows ({exc})") from None
    general = expected is not None and expected.net is not None
    if general:
        net = expected.net
        biases = expected.biases
    else:
        biases = expected.biases if expected is not None else \
            "trained" if {"b1", "b2"} <= set(cols) else "none"
        net = network("trained" if biases == "trained" else biases)
    labelled = {q: v for q, v in labelled_all.items() if q in net.names and q not in cols}
    required = [q for q in net.names if q != "iteration" and q not in labelled]
    derived = {}
    if general:  # a column the sheet leaves out (δ, the sample's number) is computed, not checked
        derived = _derive_missing(net, cols, {**expected.parameters, **labelled})
        required = [q for q in required if q not in derived and not q.startswith("fd_")]
    missing = [q for q in required if q not in cols]
    if missing:
        unknown = ", ".join(f"{h!r} ({c})" for c, h in found.unknown)
        hint = f"; headers not placed: {unknown} (name them with --map \"HEADER=quantity\")" \
            if unknown else ""
        raise AuditError(f"the table at {found.span} lacks the column(s) {', '.join(missing)}{hint}")
    empty = [q for q in required if q in cols and not np.isfinite(cols[q]).any()]
    if empty:
        raise AuditError(f"the column(s) {', '.join(empty)} hold no numbers (formulas saved without "
                         "their values? open and save the file in a spreadsheet program)")
    state = [q.name for q in net.quantities if q.is_state and q.name in cols and q.name != "iteration"]
    if not all(np.isfinite(cols[q][0]) for q in state):
        raise AuditError("the first row does not hold the inputs, targets and initial weights")

    parameters: dict[str, object] = dict(labelled)
    if general:
        parameters = {**expected.parameters, **{q: v for q, v in labelled_all.items()
                                                 if q in net.parameters and q != "learning_rate"
                                                 and q not in expected.parameters}}
        if expected.source != "headers":
            for q, v in labelled_all.items():
                if q in expected.parameters and isinstance(v, float) and \
                        not math.isclose(v, float(expected.parameters[q]), rel_tol=1e-9):
                    notes.append(f"the cell labelled {q} holds {v:g}; the exercise sets {q} = "
                                 f"{expected.parameters[q]:g}, which the audit uses")
    elif biases == "none" and (expected is None):
        fixed = infer_fixed_biases(cols, _net_inputs(network("fixed")))
        if any(fixed.values()):
            biases = "fixed"
            net = network(biases)
            parameters |= fixed
    elif biases == "fixed":
        parameters |= infer_fixed_biases(cols, _net_inputs(net))
    updates = [q.name for q in net.quantities if q.is_state and q.next is not None
               and "learning_rate" in q.next.names and q.name in cols]
    quantum = {q: quantum_size for q in cols} if decimals is not None else {}
    all_cols = {**cols, **derived}
    learning_rate = infer_learning_rate(Columns(all_cols, parameters, quantum), net, updates)
    if learning_rate is None and "lr" in all_cols and "lr" in net.names:
        # A schedule: the updates read each row's lr, which the base rate gives.
        learning_rate = infer_learning_rate(Columns(all_cols, parameters, quantum), net, ["lr"])
    listed = found.learning_rate_cells
    if listed and learning_rate is not None and \
            not math.isclose(listed[0][1], learning_rate, rel_tol=1e-9):
        trial = Columns(all_cols, {**parameters, "learning_rate": listed[0][1]}, quantum)
        for name in updates:
            q = net.quantity(name)
            check = trial.check(q, q.next)
            if check is not None and check.checked and not check.wrong.any():
                learning_rate = listed[0][1]   # a slip in another update moved the median
                break
    source = "weight updates"
    rate_mistake = None
    if learning_rate is None:
        if listed:
            learning_rate, source = listed[0][1], f"cell {listed[0][0]}"
        else:
            learning_rate, source = 0.0, "none (a single row: no update to check)"
    elif listed:
        same = [ref for ref, v in listed if math.isclose(v, learning_rate, rel_tol=1e-9)]
        if same and same[0] == listed[0][0]:
            source = f"weight updates, agreeing with cell {listed[0][0]}"
        elif same:
            notes.append(f"the learning-rate cell {listed[0][0]} holds {listed[0][1]:g}, but the "
                         f"table's updates use {learning_rate:g} (listed in {same[0]})")
        else:
            rate_mistake = (listed[0][0], listed[0][1])
    parameters["learning_rate"] = learning_rate
    # The cell the update formulas should read: the labelled one, when it holds the rate used.
    rate_cell = listed[0][0] if listed and math.isclose(listed[0][1], learning_rate, rel_tol=1e-9) \
        else None

    columns = Columns(all_cols, parameters, quantum)
    # Sentences name a column by its header, without a remark ("t1 (target for o1)" -> "t1").
    headers = {q: without_remark(table.headers.get(q, q)) for q in net.names}
    headers |= {p: SYMBOLS.get(p, p) for p in net.parameters}
    context = _Context(found, net, headers, rate_cell, parameters,
                       getattr(data, "letters", {}) if general else {})
    pending = []
    for q in net.quantities:
        if q.name not in cols:
            continue
        expression = q.next if q.is_state else q.formula
        check = columns.check(q, expression)
        if check is None or not check.wrong.any():
            continue
        pending.append((q, expression, check))

    # Which cells' formulas to read: the first two rows (is there any formula? do the updates
    # read the learning-rate cell? does each formula refer to what it should?), the wrong cells.
    wanted = {table.cell(q, 1) for q in table.columns}
    if len(frame) > 1:
        wanted |= {table.cell(q, 2) for q in table.columns}
    wanted |= {table.cell(q.name, int(np.argmax(c.wrong)) + 1) for q, _, c in pending}

    def finish(formulas: Mapping[str, str]) -> SheetAudit:
        formulas = {c: f for c, f in formulas.items() if c in wanted}
        values_only = not formulas

        mistakes: list[Mistake] = []
        for q, expression, check in pending:
            mistakes.append(_mistake(context, columns, q, expression, check, formulas, values_only))
        if updates and (rate_mistake or (not values_only and listed and len(frame) > 1)):
            m = _rate_mistake(context, columns, updates, rate_mistake, listed, formulas, notes)
            if m is not None:
                mistakes.append(m)
        if not values_only:
            mistakes = refine(context, columns, formulas, mistakes)
            mistakes += structural_mistakes(context, columns, formulas,
                                            {m.quantity for m in mistakes}, notes, Mistake)
            mistakes = covered_by_rate(context, columns, formulas, mistakes)
        mistakes.sort(key=lambda m: (STAGES.index(m.stage), net.index(m.quantity)))

        setup = _setup(net, cols, labelled, biases, parameters) if not general else \
            _general_setup(net, cols, parameters)
        rows = len(frame) if decimals is None else min(len(frame), 3)
        true_diff = _first_differences(net, setup, learning_rate, cols, rows, quantum_size)
        reproduced = None
        equations = ("constant", "learning-rate cell", "unexplained")
        if mistakes and all(m.kind not in equations for m in mistakes):
            try:
                replaced = {m.quantity: _as_expression(m.explanations[0]) for m in mistakes}
                if all(e is not None for e in replaced.values()):
                    diagnosed = _with_expressions(net, replaced)
                    reproduced = not any(_first_differences(diagnosed, setup, learning_rate, cols,
                                                            rows, quantum_size).values())
            except (AuditError, ModelError, ValueError):
                reproduced = None
        elif not mistakes:
            reproduced = not any(true_diff.values()) if true_diff else None
            if reproduced is False:
                notes.append("every column follows from its own equation, but recomputing the table "
                             "from its first row differs: the learning rate or biases may be read wrong")
        if decimals is not None:
            notes.append(_rounded_note(decimals, mistakes))
        wrong = {m.quantity for m in mistakes if m.kind != "learning-rate cell"}
        statuses = []
        for q in net.names:
            if q not in table.columns:
                continue
            diff = true_diff.get(q)
            status = "mistake" if q in wrong else "follows" if diff else "right"
            letter = column_letter(table.columns[q])
            statuses.append(ColumnStatus(q, headers[q], letter, status, *(diff or ())))
        if general:
            setup_out: dict[str, float | str] = {
                k: v for k, v in setup.values().items() if isinstance(v, float) and k in cols
                and k != "iteration"}
        else:
            setup_out = {k: v for k, v in setup.values().items()
                         if biases != "none" or k not in ("b1", "b2")}
        setup_out["biases"] = biases
        for q, (cell, value) in found.labelled.items():
            if q in labelled:
                notes.append(f"{q} is read from the labelled cell {cell} ({value:g})")
        shown_rate = None if source.startswith("none") else learning_rate
        audit = SheetAudit(table.sheet, found.span, len(frame), setup_out, shown_rate, source,
                           values_only, statuses, mistakes, summary(mistakes), reproduced,
                           list(found.unknown), notes, {q: cols[q].tolist() for q in table.columns},
                           table.header_row + 1)
        audit.network = expected.description if general else \
            f"the 2-2-2 exercise (biases {biases})"
        audit.network_source = expected.source if expected is not None else "headers"
        audit.decimals = decimals
        return audit

    return wanted, finish


def _derive_missing(net: Network, cols, parameters) -> dict[str, np.ndarray]:
    """Values of the computed columns a sheet leaves out, from their equations, in order."""
    out: dict[str, np.ndarray] = {}
    known = {**cols}
    for q in net.quantities:
        if q.is_state or q.name in cols:
            continue
        if not q.formula.names <= set(known) | set(parameters) | {"learning_rate"}:
            continue
        if "learning_rate" in q.formula.names:
            continue
        values = Columns(known, parameters).evaluate(q.formula, 0)
        known[q.name] = out[q.name] = np.array(values)
    return out


def _rounded_note(decimals: int, mistakes: list[Mistake]) -> str:
    head = f"values rounded to {decimals} decimals; consistent with the correct maths"
    changes = [m.explanations[0] for m in mistakes if m.explanations and m.kind != "constant"]
    if not mistakes:
        return head
    if changes and len(changes) == len(mistakes):
        parts = []
        for m in mistakes:
            e = m.explanations[0]
            if e.kind in ("substitution", "other gradient", "one occurrence"):
                parts.append(f"{m.header} using {e.used}")
            else:
                parts.append(e.words)
        return f"{head} with {' and '.join(parts)}"
    return f"values rounded to {decimals} decimals; checked at that precision"


@dataclass
class _Context:
    found: Found
    net: Network
    headers: dict[str, str]
    rate_cell: str | None
    parameters: dict[str, float]
    data_letters: dict[str, str] = field(default_factory=dict)   # data sheet column -> data_i1

    def correct_formula(self, q: Quantity, expression: Expression, row: int) -> str:
        """The equation in the sheet's own references, for the cell in 1-based sheet row `row`."""
        table = self.found.table
        # Row templates as the writers take them ({r} this row, {p} the row above): an update
        # reads the row above, its optimizer's new state (cur) this row.
        here = "{p}" if q.is_state else "{r}"

        def ref(name: str) -> str:
            if name in table.columns:
                return re.sub(r"[0-9]+$", here, a1(table.columns[name], row))
            if name in self.found.labelled:
                cell = self.found.labelled[name][0]
                return re.sub(r"([A-Z]+)([0-9]+)", r"$\1$\2", cell)
            if name == "learning_rate" and self.rate_cell:
                return re.sub(r"([A-Z]+)([0-9]+)", r"$\1$\2", self.rate_cell)
            if name in self.parameters and isinstance(self.parameters[name], tuple):
                letter = {v: k for k, v in self.data_letters.items()}.get(name, "A")
                last = DATA_FIRST_ROW + len(self.parameters[name]) - 1
                return f"data!${letter}${DATA_FIRST_ROW}:${letter}${last}"
            if name in self.parameters:
                return format_rate(self.parameters[name])
            return name
        text = expression.to_formula(ref)
        return "=" + text.replace("{r}", str(row)).replace("{p}", str(row - 1))


def _mistake(ctx: _Context, columns: Columns, q: Quantity, expression: Expression, check,
             formulas: Mapping[str, str], values_only: bool) -> Mistake:
    table = ctx.found.table
    wrong = check.wrong
    k = int(np.argmax(wrong))
    iteration = k + 1
    cell = table.cell(q.name, iteration)
    header = ctx.headers[q.name]
    row = table.first_row + iteration
    correct_formula = ctx.correct_formula(q, expression, row)
    formula = formulas.get(cell)
    first_formula = formulas.get(table.cell(q.name, 1))
    wrong_cells = [table.cell(q.name, int(r) + 1) for r in np.flatnonzero(wrong)]
    target = check.target
    explanations: list[Explanation] = []
    kind = "unexplained"
    pasted = None
    if (not values_only and formula is None and (first_formula is not None or q.is_state)):
        pasted = cell
    elif values_only:
        same = np.flatnonzero(target == target[k])
        same = same[same != k]
        if len(same) and not np.isclose(target[k], check.values[k], rtol=1e-12, atol=0):
            pasted = table.cell(q.name, int(same[0]) + 1)
    if pasted is not None:
        kind = "constant"
        run = 1
        while k + run < len(target) and target[k + run] == target[k]:
            run += 1
        span = cell_range("xlsx", cell, table.cell(q.name, iteration + run - 1) if run > 1 else None)
        words = (f"{span} {'hold' if run > 1 else 'holds'} the number {_g(target[k])} pasted where "
                 f"a formula belongs ({correct_formula})")
        if pasted != cell:
            words += f"; it is the value of {pasted}"
        sentence = f"{header}: {words}"
    else:
        explanations = diagnose(ctx.net, q, expression, columns, ctx.headers, wrong,
                                formula_focus(ctx, columns, q, expression, formula, row))
        if explanations:
            kind = explanations[0].kind
            sentence = _sentence(cell, check, explanations[0].words, wrong)
        elif formula:
            sentence = (f"{header}: {cell} computes {plain_formula(formula)} but should compute "
                        f"{correct_formula}")
        else:
            sentence = (f"{header}: {cell} holds {_g(target[k])} but should compute "
                        f"{correct_formula}, which gives {_g(check.values[k])}")
    names = {column_letter(c): table.headers.get(n, n) for n, c in table.columns.items()}
    shown = plain_formula(formula) if formula else None
    in_names = formula_in_names(formula, row, names, {ctx.rate_cell: "learning_rate"}
                                if ctx.rate_cell else {}) if formula else None
    equation = f"{q.name} = {expression.text}" + ("  (from the row above)" if q.is_state else "")
    return Mistake(q.name, header, column_letter(table.columns[q.name]), stage(ctx.net, q.name), kind,
                   cell, iteration, sentence, float(target[k]), float(check.values[k]),
                   float(target[k] - check.values[k]), int(wrong.sum()), check.checked, equation,
                   correct_formula, shown, in_names, explanations, wrong_cells)


def _sentence(cell: str, check, words: str, wrong: np.ndarray) -> str:
    return f"From {cell} on, {words}" if wrong.sum() > 1 else f"In {cell}, {words}"


_CELL = re.compile(r"(?<![A-Z0-9!.])\$?([A-Z]{1,3})\$?([0-9]+)(?![0-9(])")


def _outside_cells(ctx: _Context, text: str) -> set[str]:
    """The cells a formula reads outside the table's columns (a parameter's cell)."""
    table = ctx.found.table
    letters = {column_letter(c) for c in table.columns.values()}
    rows = range(table.first_row + 1, table.first_row + len(table) + 1)
    return {f"{a}{b}" for a, b in _CELL.findall(plain_formula(text))
            if a not in letters or int(b) not in rows}


def _rate_mistake(ctx: _Context, columns: Columns, updates: list[str], rate_mistake, listed,
                  formulas: Mapping[str, str], notes: list[str]) -> Mistake | None:
    """A learning-rate cell the updates do not use: formulas holding the rate as a number are a
    mistake; formulas reading another cell, or rows using another value, leave a note."""
    table = ctx.found.table
    first = updates[0]
    cell = table.cell(first, 2)
    label_cell, label_value = listed[0]
    used = columns.parameters["learning_rate"]
    rows = [table.cell(q, 2) for q in updates]
    texts = [formulas.get(c) for c in rows]
    if all(texts):
        shared = set.intersection(*(_outside_cells(ctx, t) for t in texts))
        if label_cell in shared:
            return None
        others = sorted(shared - {label_cell})
        if len(others) == 1 and others[0] != label_cell:
            # The updates read another cell: that one is the rate they use.
            ctx.rate_cell = others[0]
            notes.append(f"the cell {label_cell} labelled as the learning rate ({label_value:g}) is "
                         f"not used: the updates read {others[0]} ({used:g})")
            return None
    if rate_mistake:
        what = f"use {used:g}, not the learning-rate cell {label_cell} ({label_value:g})"
    else:
        texts = [formulas.get(c) for c in rows]
        plain = [plain_formula(t).replace("$", "") for t in texts if t]
        if not plain or any(re.search(rf"(?<![A-Z0-9]){label_cell}(?![0-9])", t) for t in plain):
            return None
        what = (f"do not refer to the learning-rate cell {label_cell}: they hold the rate as a "
                f"number, so changing {label_cell} changes nothing")
    headers = " … ".join([ctx.headers[updates[0]], ctx.headers[updates[-1]]]) if len(updates) > 1 \
        else ctx.headers[updates[0]]
    q = ctx.net.quantity(first)
    correct = ctx.correct_formula(q, q.next, table.first_row + 2)
    sentence = f"From {cell} on, the updates of {headers} {what}"
    return Mistake(first, ctx.headers[first], column_letter(table.columns[first]), "updates",
                   "learning-rate cell", cell, 2, sentence, used, label_value, used - label_value,
                   len(table) - 1, len(table) - 1, f"{first} = {q.next.text}  (from the row above)",
                   correct, plain_formula(formulas[cell]) if formulas.get(cell) else None, None, [],
                   rows)


def summary(mistakes: list[Mistake]) -> list[str]:
    """One sentence per diagnosis; columns with the same change share it."""
    groups: dict[tuple, list[Mistake]] = {}
    lines: list[str] = []
    order: list = []
    for m in mistakes:
        if m.explanations and m.kind != "constant":
            key = (m.explanations[0].key, m.stage)
            if key not in groups:
                order.append(key)
            groups.setdefault(key, []).append(m)
        else:
            order.append(m)
    for item in order:
        if isinstance(item, Mistake):
            lines.append(item.diagnosis)
            continue
        members = groups[item]
        if len(members) == 1:
            lines.append(members[0].diagnosis)
            continue
        first = members[0]
        words = first.explanations[0].words
        subject = " and ".join(m.header for m in members)
        rest = words[len(first.header):] if words.startswith(first.header) else " " + words
        rest = re.sub(r"^ (uses|takes|is|has|leaves)\b",
                      lambda v: " " + {"uses": "use", "takes": "take", "is": "are", "has": "have",
                                       "leaves": "leave"}[v.group(1)], rest)
        cells = " and ".join(m.cell for m in members)
        lines.append(f"From {cells} on, {subject}{rest}")
    return lines


def _general_setup(net: Network, cols, parameters) -> NetworkSetup:
    """A general network's start values: its state from the first row, and the parameters."""
    values: dict[str, object] = {}
    for q in net.quantities:
        if q.is_state and q.name in cols and np.isfinite(cols[q.name][0]):
            values[q.name] = float(cols[q.name][0])
    values |= {k: v for k, v in parameters.items() if k != "learning_rate"}
    return NetworkSetup(tuple(values.items()))


def _setup(net: Network, cols, labelled, biases: str, parameters) -> Setup:
    """The start values: each of the setup's fields from the first row, a labelled cell, or
    (a fixed bias) the parameters inferred from the sheet."""
    values = {}
    for name in Setup().values():
        if name in cols and np.isfinite(cols[name][0]):
            values[name] = float(cols[name][0])
        elif name in labelled:
            values[name] = float(labelled[name])
        elif name in parameters:
            values[name] = float(parameters[name])
    return Setup(**values, biases=biases)


def _as_expression(e: Explanation) -> Expression | None:
    """An explanation as an equation the model can run, when it can be written as one."""
    if not e.shifts:
        return Expression.parse(e.expression)
    if list(e.shifts.values()) == [-1]:
        [name] = e.shifts
        text = e.expression
        if f"cur({name})" in text:   # the new state read one row up: the row above's state
            bare = text.replace(f"cur({name})", "")
            if re.search(rf"\b{name}\b", bare):
                return None
            return Expression.parse(text.replace(f"cur({name})", name))
        return Expression.parse(text).substitute({name: f"prev({name})"})
    return None


def _with_expressions(net: Network, replaced: Mapping[str, Expression]) -> Network:
    """`net` with some equations replaced, computed quantities reordered so that each comes
    after what it uses (a mistake may refer to a later column of the same row)."""
    quantities = []
    for q in net.quantities:
        if q.name in replaced:
            e = replaced[q.name]
            q = Quantity(q.name, None, e, q.gradient) if q.is_state else \
                Quantity(q.name, e, q.next, q.gradient)
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


def _first_differences(net: Network, setup, learning_rate: float, cols, n: int,
                       quantum: float = 0.0) -> dict[str, tuple[int, float, float] | None]:
    """Per column: (iteration, sheet value, model value) of the first difference, or None.
    {} when the model cannot run from what the sheet gives (a data sheet it lacks, say)."""
    try:
        n = min(n, RECOMPUTE_ROWS, max(100, RECOMPUTE_CELLS // max(1, len(net.names))))
        computed = model.trace(net, setup, learning_rate, n).values
    except (ModelError, KeyError, TypeError, IndexError, ValueError, ZeroDivisionError):
        return {}
    out = {}
    for k, q in enumerate(net.names):
        if q not in cols or q == "iteration":  # a table may count from 0: not maths
            continue
        sheet = cols[q][:n]
        floor = 1e-12 * float(np.nanmax(np.abs(sheet))) if np.isfinite(sheet).any() else 0.0
        floor += 50 * quantum   # rounded values: a recomputation drifts by a few units
        bad = ~(np.abs(sheet - computed[:, k]) <= GLOBAL_RTOL * np.abs(sheet) + floor + 1e-300)
        j = int(np.argmax(bad)) if bad.any() else -1
        out[q] = None if j < 0 else (j + 1, float(sheet[j]), float(computed[j, k]))
    return out


__all__ = ["ColumnStatus", "Mistake", "SheetAudit", "audit_table", "summary"]
