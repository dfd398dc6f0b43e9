"""Formula structure: each reference of a formula checked against the quantity it should be.

The values can hide a slip: with t1 = t2 (a variant of the exercise sets both to 0.5) a formula
that reads t1 where t2 belongs gives the right numbers. So the first two rows' formulas are read
back into the maths' names (a reference to a table column on the same row is that quantity, on
the row above its previous value; a labelled cell is its parameter) and compared with the
equation at random values of every quantity: formulas that differ there differ as maths. The
change that turns one into the other is then looked for among the audit's candidates.
"""

from __future__ import annotations

import math
import random
import re
from collections import Counter
from collections.abc import Mapping

import numpy as np

from sheetgen.check.audit.diagnose import Explanation, _pairs_of, candidates, stage
from sheetgen.core.cells import column_letter, parse_cell
from sheetgen.core.expressions import Expression
from sheetgen.read.formulas import plain_formula

POINTS = 3
# Points of either sign, for an equation with a step (relu′ = if_positive(z, 1, 0), max-pool's
# first_max) that agrees at the positive ones: a left-out step differs at about one point in 8.
SIGNED = 24
_STEPS = re.compile(r"\b(?:if_positive|first_max|max|min|abs|relu|leaky_relu)\(")
_ODS = re.compile(r"\[\$?'?([^\].\[']*)'?\.(\$?[A-Z]{1,3}\$?[0-9]+)(?::\.(\$?[A-Z]{1,3}\$?[0-9]+))?\]")
_REF = re.compile(r"(?:(?P<sheet>'[^']+'|[A-Za-z_][A-Za-z0-9_.]*)!)?(?P<a>\$?[A-Z]{1,3}\$?[0-9]+)"
                  r"(?::(?P<b>\$?[A-Z]{1,3}\$?[0-9]+))?(?![A-Za-z0-9_(])")
_FUNCTIONS = ("EXP", "LN", "SQRT", "TANH", "MAX", "MIN", "SUM", "SUMPRODUCT", "INDEX", "MOD", "IF",
              "ABS", "POWER", "AND", "OR", "NOT")


class Unreadable(Exception):
    """A formula reads a cell the audit cannot name: its structure is not checked."""


def _flat(args):
    for a in args:
        if isinstance(a, tuple | list):
            yield from _flat(a)
        else:
            yield a


def _index(data, k):
    return data * 1.37 + k * 0.71   # any function of both: INDEX's structure, not its value


NAMESPACE = {"__builtins__": {}, "EXP": math.exp, "LN": math.log, "SQRT": math.sqrt,
             "TANH": math.tanh, "COS": math.cos, "ABS": abs, "POWER": pow,
             "MAX": lambda *a: max(_flat(a)), "MIN": lambda *a: min(_flat(a)),
             "SUM": lambda *a: sum(_flat(a)),
             "SUMPRODUCT": lambda x, y: sum(p * q for p, q in zip(_flat([x]), _flat([y]), strict=True)),
             "INDEX": _index, "MOD": lambda a, b: a % b, "IF": lambda c, a, b: a if c else b,
             "AND": lambda *a: all(_flat(a)), "OR": lambda *a: any(_flat(a)), "NOT": lambda a: not a}


class Reader:
    """Turns one table's formulas into Python over (quantity, row offset) values."""

    def __init__(self, columns: Mapping[str, int], cells: Mapping[str, str],
                 data_letters: Mapping[str, str]):
        self.by_letter = {column_letter(c): q for q, c in columns.items()}
        self.cells = dict(cells)             # 'D15' -> parameter name
        self.data_letters = dict(data_letters)   # 'A' -> 'data_i1'

    def python(self, formula: str, row: int) -> tuple[str, set]:
        """(Python text, the (name, offset) keys it reads); Unreadable when a reference is not
        a table column, a known cell or a data column."""
        text = _ODS.sub(lambda m: f"{m.group(1) + '!' if m.group(1) else ''}{m.group(2)}"
                        + (f":{m.group(3)}" if m.group(3) else ""), formula)
        text = plain_formula(text).lstrip("=")
        keys: set = set()

        def ref(m: re.Match) -> str:
            sheet, a, b = m.group("sheet"), m.group("a").replace("$", ""), m.group("b")
            if sheet:
                letters = re.match(r"[A-Z]+", a).group(0)
                name = self.data_letters.get(letters)
                if name is None:
                    raise Unreadable(m.group(0))
                keys.add((name, None))
                return f"V[{name!r}, None]"
            if b:
                r1, c1 = parse_cell(a)
                r2, c2 = parse_cell(b.replace("$", ""))
                if r1 != r2:
                    raise Unreadable(m.group(0))
                return "(" + ", ".join(self._one(f"{column_letter(c)}{r1 + 1}", row, keys)
                                       for c in range(c1, c2 + 1)) + ",)"
            return self._one(a, row, keys)

        text = _REF.sub(ref, text)
        text = text.replace("^", "**").replace("<>", "!=")
        text = re.sub(r"(?<![<>!=])=(?!=)", "==", text)
        for fn in _FUNCTIONS:
            text = re.sub(rf"\b{fn.lower()}\(", f"{fn}(", text, flags=re.IGNORECASE)
        return text, keys

    def _one(self, cell: str, row: int, keys: set) -> str:
        letters = re.match(r"[A-Z]+", cell).group(0)
        if cell in self.cells:
            keys.add((self.cells[cell], None))
            return f"V[{self.cells[cell]!r}, None]"
        if letters in self.by_letter:
            r = int(cell[len(letters):])
            key = (self.by_letter[letters], r - row)
            keys.add(key)
            return f"V[{key[0]!r}, {key[1]}]"
        raise Unreadable(cell)


class Values(dict):
    """Random values per (name, row offset), made on first use; fixed parameters as given.
    `signed`: either sign, so that a step (relu′ = 1 where its input is positive) takes both
    of its values."""

    def __init__(self, seed: int, fixed: Mapping[str, float], parameters=frozenset(),
                 signed: bool = False):
        super().__init__()
        self.rng = random.Random(seed)
        self.fixed = fixed
        self.parameters = parameters
        self.signed = signed

    def __missing__(self, key):
        name, _ = key
        if name in self.fixed:
            value = self.fixed[name]
        else:
            value = self.rng.uniform(0.15, 0.85)
            if self.signed and self.rng.random() < 0.5:
                value = -value
        self[key] = value
        return value


def _expected(expression: Expression, base: int, shifts: Mapping[str, int], V: Values) -> float:
    """The equation at the random point: each name at its row (base: the update's row above)."""
    values, previous = {}, {}
    for name in sorted(expression.names):   # drawn in one order: the same points every run
        k = shifts.get(name, 0)
        if name in V.fixed or name in V.parameters:   # one cell, whatever the row
            values[name] = previous[name] = values["_next_" + name] = V[name, None]
            continue
        values[name] = V[name, base + k]
        previous[name] = V[name, base + k - 1]
        values["_next_" + name] = V[name, base + 1 + k]
    values["index"] = _index
    return expression.evaluate(values, previous)


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def same(python: str, expression: Expression, base: int, shifts: Mapping[str, int],
         fixed: Mapping[str, float], parameters=frozenset(), signed: bool = False) -> bool | None:
    """Whether the formula and the equation agree at POINTS random points (None: either fails
    to evaluate there, so this cannot tell). `signed`: at SIGNED points of either sign too, each
    where both evaluate (ln of a negative number is no point to compare at)."""
    code = compile(python, "<formula>", "eval")
    for seed in range(POINTS + (SIGNED if signed else 0)):
        V = Values(seed, fixed, parameters, signed=seed >= POINTS)
        try:
            got = eval(code, NAMESPACE, {"V": V})  # noqa: S307 (our own translation, no names)
            want = _expected(expression, base, shifts, V)
        except (ArithmeticError, ValueError, TypeError, KeyError):
            if seed >= POINTS:
                continue
            return None
        if not (isinstance(got, int | float) and math.isfinite(got) and isinstance(want, int | float)
                and math.isfinite(want)):
            if seed >= POINTS:
                continue
            return None
        if not _close(float(got), want):
            return False
    return True


def _references(python: str) -> Counter:
    return Counter(re.findall(r"V\['([^']+)', (-?[0-9]+|None)\]", python))


def focus(python: str, rendered: str) -> frozenset[str]:
    """The names the formula reads more or less often, or from other rows, than the equation
    written in the sheet's references (`rendered`, read as the formula is): any change that
    turns one into the other touches them."""
    read, wanted = _references(python), _references(rendered)
    return frozenset(name for name, _ in (read - wanted) + (wanted - read))


def _rendered(ctx, reader, q, expression, row: int) -> str | None:
    """The equation written as the sheet's formula for `row` would be, read back as Python."""
    try:
        return reader.python(ctx.correct_formula(q, expression, row), row)[0]
    except (Unreadable, ValueError, SyntaxError, KeyError):
        return None


def structural_mistakes(ctx, columns, formulas: Mapping[str, str], already: set[str],
                        notes: list[str], Mistake) -> list:
    """Columns whose formula refers to other quantities than its equation, where the values
    agree (a column the values show wrong is diagnosed by them). `Mistake`: the record made."""

    table = ctx.found.table
    cells = {cell: q for q, (cell, _) in ctx.found.labelled.items()}
    for cell, _ in ctx.found.learning_rate_cells:
        cells.setdefault(cell, "learning_rate")
    if ctx.rate_cell:
        cells[ctx.rate_cell] = "learning_rate"
    reader = Reader(table.columns, cells, ctx.data_letters)
    fixed = {k: float(v) for k, v in ctx.parameters.items() if isinstance(v, int | float)}
    params = frozenset(ctx.net.parameters) | frozenset(ctx.parameters)
    virtual = {n for n in columns.columns if n not in table.columns}
    out = []
    for q in ctx.net.quantities:
        if q.name not in table.columns or q.name in already or q.name == "iteration":
            continue
        base = -1 if q.is_state else 0

        def differs(iteration: int, q=q, base=base):
            """(equation, its Python reading) when the row's formula is other maths, else None."""
            formula = formulas.get(table.cell(q.name, iteration))
            if not formula:
                return None
            expression = q.next if q.is_state else q.formula
            if iteration == 1:
                expression = expression.without_previous_row()
            expression = _inline(ctx.net, expression, virtual)
            try:
                python, _ = reader.python(formula, table.first_row + iteration)
                agree = same(python, expression, base, {}, fixed, params)
                signed = agree is True and bool(_STEPS.search(expression.text)) and \
                    same(python, expression, base, {}, fixed, params, signed=True) is False
            except (Unreadable, ValueError, SyntaxError):
                return None
            return None if agree is not False and not signed else (expression, python, formula,
                                                                    signed)

        # Row 2 shows every reference (row 1 of an update is a number); row 1 is read when row 2
        # differs, or when the equation reads the row above (row 1 then has its own form).
        if q.is_state or len(table) == 1:
            rows = (2,) if q.is_state else (1,)
        else:
            rows = (1, 2) if q.formula.uses_previous_row else (2,)
        for iteration in rows:
            found = differs(iteration)
            if found is None:
                continue
            if iteration == 2 and not q.is_state and 1 not in rows and (first := differs(1)):
                iteration, found = 1, first
            expression, python, formula, signed = found
            cell = table.cell(q.name, iteration)
            explanation = _explain(ctx, q, expression, columns, python, base, fixed, params, signed,
                                   _rendered(ctx, reader, q, expression, table.first_row + iteration))
            if signed and explanation is None:
                # Other maths only where a step's input is negative: a slip when a change found
                # among the candidates makes it; else an equal form (a > 0 for z > 0 in relu′).
                break
            out.append(_structural(ctx, q, expression, cell, iteration, formula, explanation, columns,
                                   Mistake, stage))
            break
    return out


def _reading(ctx, columns):
    """What reading a sheet's formulas as equations needs: the reader (labelled cells and the
    learning-rate cell by name), the fixed parameter values, the parameter names, and the
    quantities the sheet leaves out (its formulas hold them inline)."""
    cells = {cell: q for q, (cell, _) in ctx.found.labelled.items()}
    if ctx.rate_cell:
        cells[ctx.rate_cell] = "learning_rate"
    reader = Reader(ctx.found.table.columns, cells, ctx.data_letters)
    fixed = {k: float(v) for k, v in ctx.parameters.items() if isinstance(v, int | float)}
    params = frozenset(ctx.net.parameters) | frozenset(ctx.parameters)
    virtual = {n for n in columns.columns if n not in ctx.found.table.columns}
    return reader, fixed, params, virtual


def formula_focus(ctx, columns, q, expression: Expression, formula: str | None,
                  row: int) -> frozenset[str] | None:
    """`focus` of a wrong cell's formula against its equation (None: no formula, or one the
    audit cannot read): the values' diagnosis then tries only the changes that touch it."""
    if not formula:
        return None
    reader, _, _, virtual = _reading(ctx, columns)
    try:
        python = reader.python(formula, row)[0]
    except (Unreadable, ValueError, SyntaxError):
        return None
    rendered = _rendered(ctx, reader, q, _inline(ctx.net, expression, virtual), row)
    return None if rendered is None else focus(python, rendered)


def refine(ctx, columns, formulas: Mapping[str, str], mistakes: list) -> list:
    """A mistake the values explain by one change, whose formula shows more (a second
    substitution whose names hold equal values): the formula's own reading replaces it."""
    from dataclasses import replace as with_

    table = ctx.found.table
    reader, fixed, params, virtual = _reading(ctx, columns)
    out = []
    for m in mistakes:
        formula = formulas.get(m.cell)
        if not m.explanations or m.kind not in ("substitution", "other gradient") or not formula:
            out.append(m)
            continue
        q = ctx.net.quantity(m.quantity)
        base = -1 if q.is_state else 0
        expression = q.next if q.is_state else q.formula
        if m.iteration == 1:
            expression = expression.without_previous_row()
        expression = _inline(ctx.net, expression, virtual)
        try:
            python, _ = reader.python(formula, table.first_row + m.iteration)
            told = Expression.parse(m.explanations[0].expression)
            agree = same(python, told, base, m.explanations[0].shifts, fixed, params)
        except (Unreadable, ValueError, SyntaxError):
            agree = None
        if agree is not False:
            out.append(m)
            continue
        better = _explain(ctx, q, expression, columns, python, base, fixed, params, False,
                          _rendered(ctx, reader, q, expression, table.first_row + m.iteration))
        if better is None:
            out.append(m)
            continue
        words = m.diagnosis.split(", ", 1)[0] + ", " + better.words \
            if m.diagnosis.startswith(("From ", "In ")) else better.words
        out.append(with_(m, kind=better.kind, diagnosis=words, explanations=[better]))
    return out


def covered_by_rate(ctx, columns, formulas: Mapping[str, str], mistakes: list) -> list:
    """Once the updates are found holding the rate as a number, an update whose formula is its
    equation at one of the numbers it holds says nothing more: the rate's one line covers it (its
    values may also fit another gradient by chance, e.g. inputs 0.05 and 0.1 with the rate doubled)."""
    if not any(m.kind == "learning-rate cell" for m in mistakes):
        return mistakes
    table = ctx.found.table
    reader, fixed, params, virtual = _reading(ctx, columns)
    out = []
    for m in mistakes:
        q = ctx.net.quantity(m.quantity)
        formula = formulas.get(m.cell)
        if m.kind != "learning-rate cell" and q.is_state and formula and m.iteration > 1:
            try:
                python, _ = reader.python(formula, table.first_row + m.iteration)
                equation = _inline(ctx.net, q.next, virtual)
                numbers = {float(n) for n in _NUMBER.findall(plain_formula(formula))}
                if any(same(python, equation, -1, {}, fixed | {"learning_rate": n}, params)
                       for n in numbers):
                    continue
            except (Unreadable, ValueError, SyntaxError):
                pass
        out.append(m)
    return out


_NUMBER = re.compile(r"(?<![A-Za-z0-9_$.])\d+(?:\.\d*)?(?:[Ee][-+]?\d+)?(?![0-9(])")


def _inline(net, expression: Expression, virtual: set[str]) -> Expression:
    """Columns the sheet leaves out written into the equation (the sheet's formula holds them)."""
    for _ in range(8):
        used = expression.names & virtual
        if not used:
            return expression
        expression = expression.substitute({n: f"({net.quantity(n).formula.text})" for n in used})
    return expression


def _explain(ctx, q, expression, columns, python, base, fixed, params,
             signed: bool = False, rendered: str | None = None) -> Explanation | None:
    found = []
    # A name written for another is one the formula reads: only those are tried, and only the
    # changes that touch a name the formula reads more or less often than the equation.
    read = frozenset(re.findall(r"V\['([^']+)'", python))
    touched = focus(python, rendered) if rendered is not None else None
    for variant, e in candidates(ctx.net, q, expression, columns, ctx.headers, read, touched):
        if variant.text == expression.text and not e.shifts:
            continue
        if same(python, variant, base, e.shifts, fixed, params, signed):
            found.append(e)
    if not found:
        for variant, e in _pairs_of(ctx.net, q, expression, columns, ctx.headers, read, touched):
            if same(python, variant, base, {}, fixed, params, signed):
                found.append(e)
                break
    return min(found, key=lambda e: (e.rank, e.occurrence or 0)) if found else None


def _why_hidden(columns, explanation: Explanation | None) -> str:
    """Why the values agree: the names swapped hold the same numbers here."""
    if explanation is None or explanation.kind not in ("substitution", "one occurrence",
                                                      "other gradient"):
        return "the values could not show it"
    pairs = list(zip(explanation.belongs.split(), explanation.used.split(), strict=False))
    equal = []
    for a, b in pairs:
        x, y = columns.columns.get(a), columns.columns.get(b)
        if x is None and a in columns.parameters:
            x = columns.parameters[a]
        if y is None and b in columns.parameters:
            y = columns.parameters[b]
        if x is not None and y is not None and np.allclose(x, y, rtol=1e-12, atol=0, equal_nan=True):
            equal.append(f"{a} = {b}")
    if equal:
        return f"the values could not show it ({', '.join(equal)} here)"
    return "the values could not show it"


def _structural(ctx, q, expression, cell, iteration, formula, explanation, columns, Mistake, stage):
    table = ctx.found.table
    header = ctx.headers[q.name]
    row = table.first_row + iteration
    correct = ctx.correct_formula(q, expression, row)
    hidden = _why_hidden(columns, explanation)
    if explanation is not None:
        kind = explanation.kind
        sentence = f"From {cell} on, {explanation.words}; {hidden}"
    else:
        kind = "unexplained"
        sentence = (f"{header}: {cell} computes {plain_formula(formula)} but should compute "
                    f"{correct}; {hidden}")
    value = float(table.frame[q.name].iloc[iteration - 1])
    rows = len(table) - (1 if q.is_state else 0)
    return Mistake(q.name, header, column_letter(table.columns[q.name]), stage(ctx.net, q.name), kind,
                   cell, iteration, sentence, value, value, 0.0, rows, rows,
                   f"{q.name} = {expression.text}", correct, plain_formula(formula), None,
                   [explanation] if explanation else [], [cell])


__all__ = ["Reader", "Unreadable", "covered_by_rate", "focus", "formula_focus", "same",
           "structural_mistakes"]
