"""Why a column is wrong: small changes to its equation, tried until one reproduces the sheet.

The changes a hand-made sheet shows: one variable for another of its kind (a target for an
input, another weight's gradient in an update); a variable read from another row (the row
above, or rows below: a forward reference, which makes a circular chain); a gradient using a
weight already updated in the same row (updates one after another instead of all at once); a
wrong sign; a factor left out (σ′, the input). Each change is an edit of the template's own
expression, checked by the same column check as the equation itself.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np

from sheetgen.check.audit.columns import Columns, cur_names
from sheetgen.core.expressions import Expression
from sheetgen.core.model import Network, Quantity

MAX_EXPLANATIONS = 4
ROW_SHIFTS = (-1, 1, 2, 3, 4, 5, -2)
# Columns longer than this are diagnosed on a window around the first wrong row, and the
# explanation then confirmed on every row.
WINDOW = 400

# Kinds of mistake, in the order an explanation is preferred when several fit.
KINDS = ("substitution", "other gradient", "one after another", "other row",
         "one occurrence", "sign", "missing bias correction", "missing factor")


@dataclass(frozen=True)
class Explanation:
    """One change to a column's equation that reproduces the column."""

    kind: str
    belongs: str            # what belongs there (t1, a_o1 - t1, w5)
    used: str               # what the sheet uses instead (i1, t1 - a_o1, w5 from 3 rows below)
    expression: str         # the equation as the sheet computes it, in the maths' names
    words: str              # the diagnosis for a student, without the cell
    shifts: dict[str, int] = field(default_factory=dict)  # name -> rows away from its own
    occurrence: int | None = None
    uses: int = 1
    rank: float = 0.0

    @property
    def key(self) -> tuple:
        """What two columns share when one sentence can name both."""
        return (self.kind, self.belongs, self.used, self.occurrence, tuple(sorted(self.shifts.items())))


_PER_SAMPLE = re.compile(r"(.+)_s[0-9]+")
# Hyper-parameters one can be written for another: β1 for β2, β for either.
_HYPER = {"beta": "β", "beta1": "β", "beta2": "β"}


def family(net: Network, name: str) -> str:
    """What a name is, for 'one written for another': data (targets and inputs, which never
    change), weights, biases, one layer's neurons (net input and activation alike), errors,
    δ, gradients, gradient checks, an optimizer's state, its β's; one sample's copy of a
    column is of its column's family."""
    if name in net.parameters:
        return "parameter:" + _HYPER.get(name, name)
    q = net.quantity(name)
    if q.gradient:
        return "gradient"
    if name.startswith("fd_"):
        return "check"
    if re.fullmatch(r"[mvs]_[wb][0-9]+", name):
        return "state"
    if q.is_state and q.next is not None and q.next.text == name:
        return "data"
    m = _PER_SAMPLE.fullmatch(name)
    base = m.group(1) if m else name
    if re.fullmatch(r"[ti][0-9]+", base):
        return "data"
    if base.startswith("delta_"):
        return "delta"
    if base.startswith("E"):
        return "E"
    stem = re.sub(r"^(a_|exp_)", "", base)
    stem = re.sub(r"\d+$", "", stem)
    return stem


def stage(net: Network, name: str) -> str:
    q = net.quantity(name)
    if q.is_state:
        return "updates"
    if name.startswith("fd_"):
        return "gradient checks"
    deltas = [n for n in q.formula.names if n.startswith("delta_")]
    if q.gradient or name.startswith("delta_"):
        if name.startswith("delta_"):
            return "output-layer gradients" if name.startswith("delta_o") else "hidden-layer gradients"
        if deltas:
            return "output-layer gradients" if any(d.startswith("delta_o") for d in deltas) \
                else "hidden-layer gradients"
        weights = {n for n in q.formula.names if family(net, n) == "w"}
        return "hidden-layer gradients" if weights else "output-layer gradients"
    return "errors" if family(net, name) == "E" else "forward"


STAGES = ("forward", "errors", "output-layer gradients", "hidden-layer gradients", "gradient checks",
          "updates")


def _ordinal(k: int) -> str:
    return {1: "1st", 2: "2nd", 3: "3rd"}.get(k, f"{k}th")


def _rows(k: int) -> str:
    if k == -1:
        return "the row above"
    if k == 1:
        return "the row below"
    return f"{abs(k)} rows {'above' if k < 0 else 'below'}"


def dependents(net: Network, target: str) -> set[str]:
    """`target` and every quantity computed (same row) from it: one pass, as each computed
    quantity only uses those before it."""
    found = {target}
    for q in net.quantities:
        if not q.is_state and q.formula is not None and q.formula.names & found:
            found.add(q.name)
    return found


# --- edits of an expression's tree ------------------------------------------------------------

def _fresh(expression: Expression) -> ast.Expression:
    return ast.parse(expression.text, mode="eval")


def _with_node(expression: Expression, index: int, make) -> Expression:
    """The expression with its `index`-th node (ast.walk order) replaced by make(node)."""
    root = _fresh(expression)
    nodes = list(ast.walk(root))
    target = nodes[index]
    for parent in nodes:
        for name, value in ast.iter_fields(parent):
            if value is target:
                setattr(parent, name, make(target))
                return Expression.parse(ast.unparse(root.body))
            if isinstance(value, list) and any(v is target for v in value):
                setattr(parent, name, [make(v) if v is target else v for v in value])
                return Expression.parse(ast.unparse(root.body))
    raise ValueError("node not found")


def _name_positions(expression: Expression) -> dict[str, list[int]]:
    """name -> its occurrences as indices into ast.walk, in reading order (left to right)."""
    nodes = list(ast.walk(_fresh(expression)))
    inside_call = {id(n.func) for n in nodes if isinstance(n, ast.Call)}
    found = [(n.col_offset, k, n.id) for k, n in enumerate(nodes)
             if isinstance(n, ast.Name) and id(n) not in inside_call]
    out: dict[str, list[int]] = {}
    for _, k, name in sorted(found):
        out.setdefault(name, []).append(k)
    return out


def _factors(node: ast.expr) -> list[ast.expr]:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        return _factors(node.left) + _factors(node.right)
    return [node]


def _product(factors: list[ast.expr]) -> ast.expr:
    return ast.parse(" * ".join(f"({ast.unparse(f)})" for f in factors), mode="eval").body


def _is_derivative_pair(x: ast.expr, y: ast.expr) -> bool:
    """x and (1 - x): σ′ written out."""
    return (isinstance(y, ast.BinOp) and isinstance(y.op, ast.Sub)
            and isinstance(y.left, ast.Constant) and y.left.value == 1
            and ast.unparse(y.right) == ast.unparse(x))


# --- candidates ---------------------------------------------------------------------------------

class _Words:
    def __init__(self, subject: str, headers: Mapping[str, str]):
        self.subject = subject
        self.headers = headers

    def name(self, name: str) -> str:
        return self.headers.get(name, name)

    def show(self, text: str) -> str:
        text = text.replace("**", "^").replace(" - ", " − ")
        return re.sub(r"[A-Za-z_][A-Za-z_0-9]*", lambda m: self.headers.get(m.group(0), m.group(0)),
                      text)


# An equation naming more than this many quantities (a kernel's gradient sums over every pixel
# and sample) tries, for each name, only its WIDE_SIBLINGS nearest columns of the same kind:
# the slips a hand makes, without trying thousands of variants.
WIDE_EXPRESSION = 32
WIDE_SIBLINGS = 6
# Two substitutions are tried among at most this many single ones.
MAX_SINGLES = 80


def candidates(net: Network, q: Quantity, expression: Expression, columns: Columns,
               headers: Mapping[str, str], read: frozenset[str] | None = None,
               focus: frozenset[str] | None = None) -> Iterator[tuple[Expression, Explanation]]:
    """Every single change this module knows, as (changed expression, its explanation).
    `read`: the names a formula is known to read (a name written for another must be one);
    `focus`: the names a formula reads more or less often (or from other rows) than the
    expression: a change that could turn one into the other touches them (empty: no name count
    differs, so a sign or a number changed)."""
    words = _Words(headers.get(q.name, q.name), headers)
    subject = words.subject
    names = columns.names()
    below = set() if q.is_state else dependents(net, q.name)
    allowed = {m for m in names if m not in below}
    positions = _name_positions(expression)
    position = {n: k for k, n in enumerate(net.names)}
    is_update = q.is_state
    for name, where in positions.items():
        if name not in net.names and name not in net.parameters:
            continue
        if focus and name not in focus and not _updated_in(net, name, focus):
            continue
        mine = family(net, name)
        others = [m for m in (*net.names, *sorted(net.parameters))
                  if m != name and m in allowed and family(net, m) == mine]
        uses = len(where)
        wide = len(positions) > WIDE_EXPRESSION
        if focus:  # the formula's own changes: few, however wide the equation
            others = [m for m in others if m in focus] if name in focus else []
        elif wide:  # a kernel's gradient over every pixel: the neighbours, each name once
            at = position.get(name, 0)
            others = sorted(others, key=lambda m: abs(position.get(m, 0) - at))[:WIDE_SIBLINGS]
        if read is not None:
            others = [m for m in others if m in read]
        for used in others:
            choices: list[int | None] = [None] + (list(range(1, uses + 1)) if uses > 1 and not wide
                                                  else [])
            for occurrence in choices:
                if occurrence is None:
                    variant = expression.substitute({name: used})
                else:
                    variant = _with_node(expression, where[occurrence - 1],
                                         lambda _n, u=used: ast.Name(id=u, ctx=ast.Load()))
                kind = "other gradient" if is_update and mine == "gradient" else \
                    "substitution" if occurrence is None else "one occurrence"
                if kind == "other gradient":
                    text = f"{subject} is updated with {words.name(used)} where {words.name(name)} belongs"
                elif is_update:
                    text = f"the update of {subject} uses {words.name(used)} where {words.name(name)} belongs"
                else:
                    text = f"{subject} uses {words.name(used)} where {words.name(name)} belongs"
                if occurrence is not None:
                    text += f" (in the {_ordinal(occurrence)} of its {uses} uses of {words.name(name)})"
                elif uses == 2:
                    text += " (both times)"
                elif uses > 2:
                    text += f" (all {uses} times)"
                yield variant, Explanation(kind, name, used, variant.text, text, {}, occurrence, uses,
                                           KINDS.index(kind))
        # The same name read from another row.
        if name in columns.columns and mine != "data" and (not focus or name in focus):
            new_state = name in cur_names(expression) and name not in expression.text.replace(
                f"cur({name})", "")
            base = -1 if is_update and not new_state else 0
            own = "this row's new" if new_state else "the row above's" if is_update else "its own row's"
            for k in ROW_SHIFTS:
                away = base + k
                where_from = "its own row" if away == 0 else _rows(away)
                text = f"{subject} takes {words.name(name)} from {where_from} where {own} " \
                       f"{words.name(name)} belongs"
                if away >= 0:
                    text += ": a forward reference, which makes a circular chain of rows"
                rank = KINDS.index("other row") + (0 if k == -1 else 0.1 * abs(k))
                yield expression, Explanation("other row", name, f"{name} from {where_from}",
                                              expression.text, text, {name: k}, None, uses, rank)
        # A weight already updated in this row: updates one after another.
        if not is_update and mine == "w" and net.quantity(name).next is not None \
                and "cur(" not in net.quantity(name).next.text:
            updated = net.quantity(name).next
            variant = expression.substitute({name: f"({updated.text})"})
            text = (f"{subject} uses {words.name(name)} already updated ({words.show(updated.text)}) "
                    f"where this row's {words.name(name)} belongs: the weights are updated one after "
                    f"another instead of all at once from the row above")
            yield variant, Explanation("one after another", name, f"updated {name}", variant.text,
                                       text, {}, None, uses, KINDS.index("one after another"))
    # Every weight of the equation already updated in this row.
    weights = [n for n in positions if n in net.names and family(net, n) == "w"
               and net.quantity(n).next is not None and "cur(" not in net.quantity(n).next.text]
    if not is_update and len(weights) > 1:
        variant = expression.substitute({n: f"({net.quantity(n).next.text})" for n in weights})
        shown = " and ".join(words.name(n) for n in weights)
        text = (f"{subject} uses {shown} already updated (w − η·∂E/∂w) where this row's {shown} "
                f"belong: the weights are updated one after another instead of all at once from "
                f"the row above")
        yield variant, Explanation("one after another", " ".join(weights), "updated", variant.text,
                                   text, {}, None, 1, KINDS.index("one after another") - 0.5)
    if not focus:   # a sign reads every name as often as before
        yield from _sign_candidates(expression, words, is_update)
    yield from _factor_candidates(expression, words, focus)
    yield from _divisor_candidates(expression, words, focus)


def _updated_in(net: Network, name: str, focus: frozenset[str]) -> bool:
    """Whether `name` written already updated (w − η·∂E/∂w) brings in a name of `focus`."""
    if name not in net.names or net.quantity(name).next is None:
        return False
    return bool(net.quantity(name).next.names & focus)


def _touches(node: ast.expr, focus: frozenset[str] | None) -> bool:
    """Whether leaving `node` out could explain the focus (no focus: anything could)."""
    return not focus or any(isinstance(n, ast.Name) and n.id in focus for n in ast.walk(node))


def _divisor_candidates(expression: Expression, words: _Words, focus=None):
    """x / d written as x: a division left out (Adam's bias correction 1 − β1ᵗ, say)."""
    nodes = list(ast.walk(_fresh(expression)))
    for k, node in enumerate(nodes):
        if not (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div)) or \
                not _touches(node.right, focus):
            continue
        divisor = ast.unparse(node.right)
        if isinstance(node.right, ast.Constant):
            continue
        variant = _with_node(expression, k, lambda n: n.left)
        correction = re.search(r"beta([12]?) \*\* iteration", divisor)
        if correction:
            b = "β" + correction.group(1)
            text = (f"{words.subject} leaves out the bias correction: divides by 1 where "
                    f"(1 − {b}ᵗ) belongs")
            kind = "missing bias correction"
        else:
            text = f"{words.subject} leaves out the division by {words.show(divisor)}"
            kind = "missing factor"
        yield variant, Explanation(kind, divisor, "", variant.text, text, {}, None, 1,
                                   KINDS.index(kind))


def _sign_candidates(expression: Expression, words: _Words, is_update: bool):
    subject = words.subject
    nodes = list(ast.walk(_fresh(expression)))
    rank = KINDS.index("sign")
    for k, node in enumerate(nodes):
        if not isinstance(node, ast.BinOp) or not isinstance(node.op, ast.Sub | ast.Add):
            continue
        right = ast.unparse(node.right)
        if isinstance(node.op, ast.Sub) and is_update and k == 1:
            variant = _with_node(expression, k, lambda n: ast.BinOp(n.left, ast.Add(), n.right))
            text = f"{subject} is updated with the wrong sign: + where − belongs (a step up the gradient)"
            yield variant, Explanation("sign", "−", "+", variant.text, text, {}, None, 1, rank)
            continue
        if isinstance(node.op, ast.Sub):
            variant = _with_node(expression, k, lambda n: ast.BinOp(n.right, ast.Sub(), n.left))
            left = ast.unparse(node.left)
            text = (f"{subject} has the wrong sign: it uses {words.show(f'{right} - {left}')} "
                    f"where {words.show(f'{left} - {right}')} belongs")
            # (t1 − a_o1) for (a_o1 − t1) is the usual slip; (a_o1 − 1) for (1 − a_o1) gives the
            # same values, so a difference with a number in it comes second.
            numeric = isinstance(node.left, ast.Constant) or isinstance(node.right, ast.Constant)
            yield variant, Explanation("sign", f"{left} - {right}", f"{right} - {left}",
                                       variant.text, text, {}, None, 1, rank + 0.1 * numeric)
    variant = Expression.parse(f"-({expression.text})")
    text = f"{subject} has the wrong sign"
    yield variant, Explanation("sign", expression.text, variant.text, variant.text, text, {}, None, 1,
                               rank + 0.5)


def _factor_candidates(expression: Expression, words: _Words, focus=None):
    subject = words.subject
    nodes = list(ast.walk(_fresh(expression)))
    tops = {id(n.left) for n in nodes if isinstance(n, ast.BinOp) and isinstance(n.op, ast.Mult)}
    tops |= {id(n.right) for n in nodes if isinstance(n, ast.BinOp) and isinstance(n.op, ast.Mult)}
    rank = KINDS.index("missing factor")
    for k, node in enumerate(nodes):
        if not (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult)) or id(node) in tops:
            continue
        factors = _factors(node)
        drops: list[tuple[list[int], str]] = []
        for j in range(len(factors) - 1):
            if _is_derivative_pair(factors[j], factors[j + 1]):
                x = ast.unparse(factors[j])
                drops.append(([j, j + 1], f"σ′ = {words.show(x)}·(1 − {words.show(x)})"))
        drops += [([j], _factor_words(f, words)) for j, f in enumerate(factors)]
        for dropped, shown in drops:
            if not any(_touches(factors[j], focus) for j in dropped):
                continue
            kept = [f for j, f in enumerate(factors) if j not in dropped]
            if not kept:
                continue
            variant = _with_node(expression, k, lambda _n, kept=kept: _product(kept))
            text = f"{subject} leaves out the factor {shown}"
            yield variant, Explanation("missing factor", shown, "", variant.text, text, {}, None, 1, rank)


def _factor_words(factor: ast.expr, words: _Words) -> str:
    """A factor as the report names it: relu′ for the step if_positive(z, 1, 0)."""
    if isinstance(factor, ast.Call) and getattr(factor.func, "id", "") == "if_positive" and \
            len(factor.args) == 3 and [ast.unparse(a) for a in factor.args[1:]] == ["1", "0"]:
        z = words.show(ast.unparse(factor.args[0]))
        return f"relu′({z}) = (1 if {z} > 0, else 0)"
    return words.show(ast.unparse(factor))


def diagnose(net: Network, q: Quantity, expression: Expression, columns: Columns,
             headers: Mapping[str, str], wrong: np.ndarray,
             focus: frozenset[str] | None = None) -> list[Explanation]:
    """The changes that reproduce every checkable row of the column, best first. `focus`: the
    names the cell's formula reads more or less often than its equation (`candidates`)."""
    full = columns
    start = 0
    if columns.n > WINDOW:
        first = int(np.argmax(wrong))
        start = max(0, first - 8)
        stop = min(columns.n, start + WINDOW)
        columns = Columns({n: v[start:stop] for n, v in full.columns.items()}, full.parameters)
        wrong = wrong[start:stop]
    found: dict[tuple, Explanation] = {}
    for variant, explanation in candidates(net, q, expression, columns, headers, focus=focus):
        if explanation.key in found or (variant.text == expression.text and not explanation.shifts):
            continue
        if not _reproduces(columns, q, variant, explanation.shifts, wrong):
            continue
        found[explanation.key] = explanation
    if not found:
        for _variant, explanation in _pairs(net, q, expression, columns, headers, wrong, focus):
            found[explanation.key] = explanation
            if len(found) >= MAX_EXPLANATIONS:
                break
    ranked = sorted(found.values(), key=lambda e: (e.rank, e.occurrence or 0))
    if full is not columns:  # confirm on every row
        ranked = [e for e in ranked if _reproduces(full, q, Expression.parse(e.expression), e.shifts,
                                                   None)]
    return ranked[:MAX_EXPLANATIONS]


# Two substitutions are tried on a few rows first: the pairs are many, the rows need not be.
PAIR_ROWS = 6


def _pairs_of(net: Network, q: Quantity, expression: Expression, columns: Columns,
              headers: Mapping[str, str], read: frozenset[str] | None = None,
              focus: frozenset[str] | None = None):
    """Every two names each written for another of its kind, as (variant, explanation)."""
    singles = [(e.belongs, e.used) for _, e in candidates(net, q, expression, columns, headers,
                                                          read, focus)
               if e.kind in ("substitution", "other gradient") and e.occurrence is None]
    singles = singles[:MAX_SINGLES]
    words = _Words(headers.get(q.name, q.name), headers)
    for i, (a, ua) in enumerate(singles):
        for b, ub in singles[i + 1:]:
            # One name written for two others is tried where the formula shows it (`focus`).
            if b == a or (ub == ua and not focus):
                continue
            variant = expression.substitute({a: ua, b: ub})
            (n1, u1), (n2, u2) = sorted(((a, ua), (b, ub)), key=lambda p: expression.text.index(p[0]))
            used = words.name(u1) if u1 == u2 else f"{words.name(u1)} and {words.name(u2)}"
            text = (f"{words.subject} uses {used} where {words.name(n1)} and {words.name(n2)} "
                    "belong")
            yield variant, Explanation("substitution", f"{n1} {n2}", f"{u1} {u2}", variant.text,
                                       text, {}, None, 2, KINDS.index("substitution") + 0.5)


def _pairs(net: Network, q: Quantity, expression: Expression, columns: Columns,
           headers: Mapping[str, str], wrong: np.ndarray, focus: frozenset[str] | None = None):
    """Two names each written for another of its kind: 'uses w5 and w7 where w6 and w8 belong'."""
    first = int(np.argmax(wrong))
    rows = slice(max(0, first - 1), first + PAIR_ROWS)
    small = Columns({n: v[rows] for n, v in columns.columns.items()}, columns.parameters,
                    columns.quantum)
    small_wrong = wrong[rows]
    for variant, explanation in _pairs_of(net, q, expression, columns, headers, focus=focus):
        if _reproduces(small, q, variant, {}, small_wrong) and \
                _reproduces(columns, q, variant, {}, wrong):
            yield variant, explanation


def _reproduces(columns: Columns, q: Quantity, variant: Expression, shifts: Mapping[str, int],
                wrong: np.ndarray | None) -> bool:
    check = columns.check(q, variant, shifts, loose_first=True)
    if check is None or check.checked == 0 or check.wrong.any():
        return False
    # It must account for the wrong rows, not only for rows it cannot check.
    return wrong is None or bool((wrong & np.isfinite(check.values)).any())


__all__ = ["Explanation", "KINDS", "STAGES", "candidates", "dependents", "diagnose", "family", "stage"]
