"""The chain rule read off the network's own expressions.

Which quantity feeds which comes from the names each formula uses; each local derivative
(dE1/da_o1, da_o1/do1, do1/dw5, ...) is the symbolic derivative of one formula, simplified the
way a worked example writes it (a_o1 - t1, not 0.5 * 2 * (t1 - a_o1) * -1). Nothing here knows
the 2-2-2 network: any layer sizes and any formulas in the small expression language work.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import cached_property

from sheetgen.core.expressions import Expression
from sheetgen.core.model import Network, Quantity


@dataclass(frozen=True)
class Term:
    """One product of the chain rule: dLoss/d`lead` (None when the chain reaches the loss)
    times the local derivatives d`top`/d`bottom`, listed from the loss side down."""

    lead: str | None
    factors: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Trained:
    """A quantity updated by gradient descent: its name and its gradient column."""

    name: str
    gradient: str
    depth: int          # longest path to the loss: the last layer's weights are nearest


class Chain:
    def __init__(self, network: Network, loss: str):
        self.network = network
        self.loss = loss
        self.forward = [q for q in network.quantities if q.formula is not None and not q.gradient]

    @cached_property
    def trained(self) -> list[Trained]:
        """Each state quantity whose update uses a gradient column, in network order."""
        gradients = {q.name for q in self.network.quantities if q.gradient}
        found = []
        for q in self.network.quantities:
            if q.is_state and q.next is not None:
                used = sorted(q.next.names & gradients)
                if len(used) == 1:
                    found.append(Trained(q.name, used[0], self.depth(q.name)))
        return found

    def consumers(self, name: str) -> list[Quantity]:
        return [q for q in self.forward if name in q.formula.names]

    def depth(self, name: str) -> int:
        if name == self.loss:
            return 0
        return max((1 + self.depth(c.name) for c in self.consumers(name)), default=0)

    def local(self, top: str, bottom: str) -> Expression:
        """d top / d bottom, from top's formula alone (other names held fixed)."""
        formula = self.network.quantity(top).formula
        tree = simplify(differentiate(formula.tree, bottom, top))
        return Expression(ast.unparse(tree), tree)

    def is_one(self, top: str, bottom: str) -> bool:
        tree = self.local(top, bottom).tree
        return isinstance(tree, ast.Constant) and tree.value == 1

    def walk(self, name: str) -> Term:
        """Up from `name` while each quantity feeds exactly one other; stops at the loss or at
        a quantity that feeds several (whose derivative then gets a line of its own)."""
        factors = []
        node = name
        while node != self.loss:
            consumers = self.consumers(node)
            if len(consumers) != 1:
                break
            if not self.is_one(consumers[0].name, node):
                factors.append((consumers[0].name, node))
            node = consumers[0].name
        return Term(None if node == self.loss else node, tuple(reversed(factors)))

    def expand(self, name: str) -> list[Term]:
        """dLoss/d`name` as a sum of chain-rule products."""
        consumers = self.consumers(name)
        if len(consumers) == 1 or name == self.loss:
            return [self.walk(name)]
        terms = []
        for c in consumers:
            if self._reaches_loss(c.name):
                up = self.walk(c.name)
                factors = up.factors if self.is_one(c.name, name) else up.factors + ((c.name, name),)
                terms.append(Term(up.lead, factors))
        return terms

    def _reaches_loss(self, name: str) -> bool:
        return name == self.loss or any(self._reaches_loss(c.name) for c in self.consumers(name))

    def leads(self, name: str) -> list[str]:
        """The quantities whose dLoss/d(.) the expansion of `name` refers to, nearest the loss
        last, each once (they are written out after the line that needs them)."""
        found: list[str] = []
        for term in self.expand(name):
            if term.lead is not None and term.lead != name:
                for deeper in [term.lead, *self.leads(term.lead)]:
                    if deeper not in found:
                        found.append(deeper)
        return found


# --- symbolic derivative --------------------------------------------------------------------

def _const(value: float) -> ast.Constant:
    return ast.Constant(value=value)


def _bin(left: ast.expr, op: ast.operator, right: ast.expr) -> ast.BinOp:
    return ast.BinOp(left=left, op=op, right=right)


def differentiate(node: ast.expr, name: str, own: str | None = None) -> ast.expr:
    """d node / d name. `own`: the quantity this formula defines, so that the derivative of
    sigmoid(x) reads own * (1 - own), as the exercise writes it."""
    match node:
        case ast.Name(id=n):
            return _const(1 if n == name else 0)
        case ast.Constant():
            return _const(0)
        case ast.UnaryOp(operand=operand):
            return ast.UnaryOp(op=ast.USub(), operand=differentiate(operand, name, own))
        case ast.Call(func=ast.Name(id="prev")):
            return _const(0)  # the row above is a constant here
        case ast.Call(func=ast.Name(id="sigmoid"), args=[arg]):
            value = ast.Name(id=own) if own else node
            slope = _bin(value, ast.Mult(), _bin(_const(1), ast.Sub(), value))
            return _bin(slope, ast.Mult(), differentiate(arg, name))
        case ast.BinOp(left=left, op=ast.Add() | ast.Sub() as op, right=right):
            return _bin(differentiate(left, name), op, differentiate(right, name))
        case ast.BinOp(left=left, op=ast.Mult(), right=right):
            return _bin(_bin(differentiate(left, name), ast.Mult(), right), ast.Add(),
                        _bin(left, ast.Mult(), differentiate(right, name)))
        case ast.BinOp(left=left, op=ast.Div(), right=right):
            top = _bin(_bin(differentiate(left, name), ast.Mult(), right), ast.Sub(),
                       _bin(left, ast.Mult(), differentiate(right, name)))
            return _bin(top, ast.Div(), _bin(right, ast.Pow(), _const(2)))
        case ast.BinOp(left=left, op=ast.Pow(), right=ast.Constant(value=k)):
            return _bin(_bin(_const(k), ast.Mult(), _bin(left, ast.Pow(), _const(k - 1))),
                        ast.Mult(), differentiate(left, name))
    raise ValueError(f"cannot differentiate {ast.unparse(node)}")


def _is(node: ast.expr, value: float) -> bool:
    return isinstance(node, ast.Constant) and node.value == value


def _factors(node: ast.expr) -> list[ast.expr]:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        return _factors(node.left) + _factors(node.right)
    if isinstance(node, ast.UnaryOp):
        return [_const(-1), *_factors(node.operand)]
    return [node]


def simplify(node: ast.expr) -> ast.expr:
    """Fold constants, drop 0 and 1 terms, gather a product's numbers in front and turn
    -(a - b) into (b - a)."""
    match node:
        case ast.UnaryOp(operand=operand):
            return simplify(_bin(_const(-1), ast.Mult(), simplify(operand)))
        case ast.BinOp(left=left, op=ast.Add() | ast.Sub() as op, right=right):
            left, right = simplify(left), simplify(right)
            if _is(right, 0):
                return left
            add = isinstance(op, ast.Add)
            if _is(left, 0):
                return right if add else simplify(ast.UnaryOp(op=ast.USub(), operand=right))
            if isinstance(left, ast.Constant) and isinstance(right, ast.Constant):
                return _const(left.value + right.value if add else left.value - right.value)
            return _bin(left, op, right)
        case ast.BinOp(left=left, op=ast.Mult(), right=right):
            factors = _factors(simplify(left)) + _factors(simplify(right))
            coefficient = 1.0
            rest = []
            for f in factors:
                if isinstance(f, ast.Constant):
                    coefficient *= f.value
                else:
                    rest.append(f)
            if coefficient == 0:
                return _const(0)
            if coefficient < 0:
                flip = next((i for i, f in enumerate(rest)
                             if isinstance(f, ast.BinOp) and isinstance(f.op, ast.Sub)), None)
                if flip is not None:
                    rest[flip] = _bin(rest[flip].right, ast.Sub(), rest[flip].left)
                    coefficient = -coefficient
            if coefficient == int(coefficient):
                coefficient = int(coefficient)
            if not rest:
                return _const(coefficient)
            product = rest[0]
            for f in rest[1:]:
                product = _bin(product, ast.Mult(), f)
            if coefficient == 1:
                return product
            if coefficient == -1:
                return ast.UnaryOp(op=ast.USub(), operand=product)
            return _bin(_const(coefficient), ast.Mult(), product)
        case ast.BinOp(left=left, op=ast.Div(), right=right):
            left, right = simplify(left), simplify(right)
            if _is(left, 0):
                return _const(0)
            if _is(right, 1):
                return left
            return _bin(left, ast.Div(), right)
        case ast.BinOp(left=left, op=ast.Pow(), right=right):
            left, right = simplify(left), simplify(right)
            if _is(right, 1):
                return left
            if _is(right, 0):
                return _const(1)
            return _bin(left, ast.Pow(), right)
    return node
