"""The backward pass, derived: δ columns and gradients from the forward expressions alone.

Reverse-mode differentiation over a graph's formulas: the adjoint ∂E_total/∂x of a quantity x
is the sum, over the quantities u whose formulas use x, of u's adjoint times ∂u/∂x (the
symbolic derivative of u's formula, `Expression.derivative`). The layers name the quantities
whose adjoints become δ columns (``delta_z``); once named, later adjoints refer to the column,
so every gradient is short (∂E/∂w5 = δ_o1 · a_h1). A derivative that a column already holds
reads that column (σ(h1) → a_h1). Nothing here knows any layer kind.

Gradient forms (`GRADIENT_FORMS`): "delta" keeps the δ columns; "expanded" writes each δ into
the gradients that use it, as the reference exercise's chain-rule products do.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping

from sheetgen.core.expressions import RANGE_FROM, Expression, add, mul
from sheetgen.core.losses import total_of

GRADIENT_FORMS = ("expanded", "delta")


def delta_name(x: str) -> str:
    return "delta_" + x


class Backward:
    def __init__(self, formulas: Mapping[str, Expression], deltas: list[str],
                 closed: Mapping[str, Expression] | None = None, loss: str = "E_total",
                 held: frozenset[str] = frozenset()):
        """`formulas`: the forward quantities in order; `deltas`: the quantities that get δ
        columns, nearest the loss first; `closed`: δs given in closed form; `held`: quantities
        held constant (their adjoint 0: a truncated backward pass stops there)."""
        self.formulas = formulas
        self.held = held
        self.loss = loss
        self.users: dict[str, list[str]] = {}
        for name, f in formulas.items():
            for used in f.names:
                self.users.setdefault(used, []).append(name)
        self.known = {f.text: name for name, f in formulas.items() if not isinstance(f.tree, ast.Name)}
        self._adjoint: dict[str, ast.expr] = {loss: ast.Constant(1)}
        self.delta: dict[str, Expression] = {}
        for x in deltas:  # nearest the loss first: each δ refers to the ones already named
            self.delta[x] = closed[x] if closed and x in closed else self._expression(self._sum(x))
            self._adjoint[x] = ast.Name(delta_name(x), ast.Load())

    def _sum(self, x: str) -> ast.expr:
        terms = []
        for user in self.users.get(x, []):
            up = self.adjoint(user)
            if isinstance(up, ast.Constant) and up.value == 0:
                continue
            local = self.formulas[user].derivative(x).replace(self.known)
            terms.append(mul(up, local.tree))
        return total_of(terms)

    def adjoint(self, x: str) -> ast.expr:
        if x in self.held:
            return ast.Constant(0)
        if x not in self._adjoint:
            self._adjoint[x] = self._sum(x)
        return self._adjoint[x]

    def gradient(self, parameter: str) -> Expression:
        return self._expression(self.adjoint(parameter))

    @staticmethod
    def _expression(tree: ast.expr) -> Expression:
        return Expression.parse(ast.unparse(ast.fix_missing_locations(tree)))


def expanded(formula: Expression, deltas: Mapping[str, Expression]) -> Expression:
    """`formula` with every δ column it reads written out (δs that read δs too)."""
    names = {delta_name(x): x for x in deltas}
    while formula.names & set(names):
        formula = formula.substitute({d: deltas[names[d]].text for d in formula.names & set(names)})
    return formula


def side_by_side(formula: Expression, position: Mapping[str, int]) -> Expression:
    """A sum of products a·b with its runs of side-by-side pairs (both factors in consecutive
    columns) as one sumproduct each: SUMPRODUCT of two ranges in a cell. A kernel's gradient,
    Σ over a map of δ times the pixel under the kernel value, becomes one per output row."""
    tree = formula.tree
    if isinstance(tree, ast.Call) and isinstance(tree.func, ast.Name) and tree.func.id == "sum":
        terms = list(tree.args)
    else:
        terms = []
        while isinstance(tree, ast.BinOp) and isinstance(tree.op, ast.Add):
            terms.insert(0, tree.right)
            tree = tree.left
        terms.insert(0, tree)
    pairs = [_pair(t) for t in terms]
    if len(terms) <= RANGE_FROM or any(p is None or p[0] not in position or p[1] not in position
                                       for p in pairs):
        return formula
    out: list[ast.expr] = []
    run: list[tuple[str, str]] = []

    def flush() -> None:
        if len(run) > RANGE_FROM:
            names = [a for a, _ in run] + [b for _, b in run]
            out.append(ast.Call(ast.Name("sumproduct", ast.Load()),
                                [ast.Name(x, ast.Load()) for x in names], []))
        else:
            out.extend(ast.BinOp(ast.Name(a, ast.Load()), ast.Mult(), ast.Name(b, ast.Load()))
                       for a, b in run)
        run.clear()

    for a, b in pairs:
        if run and not (position[a] == position[run[-1][0]] + 1 and position[b] == position[run[-1][1]] + 1):
            flush()
        run.append((a, b))
    flush()
    if len(out) > RANGE_FROM:
        return Backward._expression(ast.Call(ast.Name("sum", ast.Load()), out, []))
    total: ast.expr = ast.Constant(0)
    for term in out:
        total = add(total, term)
    return Backward._expression(total)


def _pair(term: ast.expr) -> tuple[str, str] | None:
    if (isinstance(term, ast.BinOp) and isinstance(term.op, ast.Mult)
            and isinstance(term.left, ast.Name) and isinstance(term.right, ast.Name)):
        return term.left.id, term.right.id
    return None
