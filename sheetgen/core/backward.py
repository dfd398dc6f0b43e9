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

from sheetgen.core.expressions import Expression, mul
from sheetgen.core.losses import total_of

GRADIENT_FORMS = ("expanded", "delta")


def delta_name(x: str) -> str:
    return "delta_" + x


class Backward:
    def __init__(self, formulas: Mapping[str, Expression], deltas: list[str],
                 closed: Mapping[str, Expression] | None = None, loss: str = "E_total"):
        """`formulas`: the forward quantities in order; `deltas`: the quantities that get δ
        columns, nearest the loss first; `closed`: δs given in closed form."""
        self.formulas = formulas
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
