"""Arithmetic expressions over named quantities, shared by the model and the cell formulas.

An expression is written once, in the maths' own names (``(a_o1 - t1) * a_o1 * (1 - a_o1) * a_h1``),
and becomes both Python source for the float64 model and a spreadsheet formula for a cell.
Only + - * / ** unary minus, numbers, names, ``sigmoid(x)`` and ``prev(name)`` are allowed.
``prev(name)`` is that quantity in the row above (a wrong-row reference); the first row has no
row above, so there it is the quantity itself.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property

from sheetgen.errors import SheetgenError

_BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "^"}
# Spreadsheet precedence: ^ binds tighter than * and /, which bind tighter than + and -.
_PRECEDENCE = {ast.Add: 1, ast.Sub: 1, ast.Mult: 2, ast.Div: 2, ast.Pow: 3}
_FUNCTIONS = {"sigmoid", "prev"}


class ExpressionError(SheetgenError, ValueError):
    """An expression uses syntax outside the small arithmetic language."""


def sigmoid(x: float) -> float:
    """Logistic function, written so that exp never overflows (the cell formulas do the same)."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


@dataclass(frozen=True)
class Expression:
    text: str
    tree: ast.expr

    @classmethod
    def parse(cls, text: str) -> Expression:
        try:
            tree = ast.parse(text, mode="eval").body
        except SyntaxError as exc:
            raise ExpressionError(f"cannot parse expression {text!r}: {exc.msg}") from None
        _check(tree, text)
        return cls(ast.unparse(tree), tree)

    @property
    def names(self) -> frozenset[str]:
        return frozenset(
            node.id
            for node in ast.walk(self.tree)
            if isinstance(node, ast.Name) and node.id not in _FUNCTIONS
        )

    def substitute(self, mapping: Mapping[str, str | float]) -> Expression:
        """Replace names by other names or by numbers; ``x + 0`` terms left over are dropped."""
        tree = _Substitute(mapping).visit(_copy(self.tree))
        tree = ast.fix_missing_locations(tree)
        return Expression(ast.unparse(tree), tree)

    @cached_property  # asked once per run by the model: walk the tree only once
    def uses_previous_row(self) -> bool:
        return any(_is_prev(node) for node in ast.walk(self.tree))

    def without_previous_row(self) -> Expression:
        """The same expression with every ``prev(x)`` read as ``x`` (the first row's form)."""
        tree = _DropPrev().visit(_copy(self.tree))
        return Expression(ast.unparse(tree), tree)

    def to_python(self) -> str:
        """Python source; ``prev(x)`` reads ``_prev["x"]``, the previous row, when there is one."""
        return ast.unparse(_PythonPrev().visit(_copy(self.tree)))

    def to_formula(self, ref: Callable[[str], str], separator: str = ",") -> str:
        """Spreadsheet formula text (without the leading ``=``); ``ref`` maps a name to a cell.
        ``prev(x)`` becomes ``ref(x)`` with its row placeholder ``{r}`` turned into ``{p}``."""
        return _render(self.tree, ref, separator)

    def evaluate(self, values: Mapping[str, float], previous: Mapping[str, float] | None = None) -> float:
        return eval(self.to_python(),  # noqa: S307
                    {"__builtins__": {}, "sigmoid": sigmoid, "_prev": previous}, dict(values))


def _copy(tree: ast.expr) -> ast.expr:
    return ast.parse(ast.unparse(tree), mode="eval").body


def _check(node: ast.AST, text: str) -> None:
    match node:
        case ast.BinOp(op=op, left=left, right=right) if type(op) in _BINARY:
            _check(left, text)
            _check(right, text)
        case ast.UnaryOp(op=ast.USub(), operand=operand):
            _check(operand, text)
        case ast.Name():
            pass
        case ast.Constant(value=value) if type(value) in (int, float):
            pass
        case ast.Call(func=ast.Name(id="prev"), args=[ast.Name()], keywords=[]):
            pass
        case ast.Call(func=ast.Name(id="sigmoid"), args=[arg], keywords=[]):
            _check(arg, text)
        case _:
            raise ExpressionError(f"unsupported syntax in expression {text!r}: {ast.unparse(node)}")


def _is_prev(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "prev"


class _DropPrev(ast.NodeTransformer):
    def visit_Call(self, node: ast.Call) -> ast.expr:
        self.generic_visit(node)
        return node.args[0] if _is_prev(node) else node


class _PythonPrev(ast.NodeTransformer):
    def visit_Call(self, node: ast.Call) -> ast.expr:
        self.generic_visit(node)
        if not _is_prev(node):
            return node
        name = node.args[0].id
        return ast.parse(f'({name} if _prev is None else _prev["{name}"])', mode="eval").body


def _is_zero(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value == 0


class _Substitute(ast.NodeTransformer):
    def __init__(self, mapping: Mapping[str, str | float]):
        self.mapping = mapping

    def visit_Name(self, node: ast.Name) -> ast.expr:
        if node.id not in self.mapping:
            return node
        new = self.mapping[node.id]
        if isinstance(new, str) and new.isidentifier():
            return ast.Name(id=new, ctx=ast.Load())
        if isinstance(new, str):  # e.g. "prev(w2)": a wrong-row reference
            return Expression.parse(new).tree
        return ast.Constant(value=new)

    def visit_BinOp(self, node: ast.BinOp) -> ast.expr:
        self.generic_visit(node)
        # An absent bias is substituted by 0: keep the formula as the plain exercise writes it.
        if isinstance(node.op, ast.Add | ast.Sub) and _is_zero(node.right):
            return node.left
        if isinstance(node.op, ast.Add) and _is_zero(node.left):
            return node.right
        return node


def _number(value: float) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def _render(node: ast.expr, ref: Callable[[str], str], sep: str) -> str:
    match node:
        case ast.Name(id=name):
            return ref(name)
        case ast.Constant(value=value):
            return _number(value)
        case ast.UnaryOp(operand=operand):
            inner = _render(operand, ref, sep)
            if isinstance(operand, ast.BinOp | ast.UnaryOp):
                inner = f"({inner})"
            return f"-{inner}"
        case ast.Call(func=ast.Name(id="prev"), args=[ast.Name(id=name)]):
            return ref(name).replace("{r}", "{p}")
        case ast.Call(args=[arg]):
            # sigmoid(x) without overflow: EXP only ever sees a non-positive argument.
            x = _render(arg, ref, sep)
            if not isinstance(arg, ast.Name | ast.Constant):
                x = f"({x})"
            return f"IF({x}>=0{sep}1/(1+EXP(-{x})){sep}EXP({x})/(1+EXP({x})))"
        case ast.BinOp(left=left, op=op, right=right):
            mine = _PRECEDENCE[type(op)]
            lhs = _render(left, ref, sep)
            rhs = _render(right, ref, sep)
            # In spreadsheets a leading minus binds tighter than ^, so -x^2 needs (-x)^2 care.
            if _needs_parens(left, mine, right_side=False, op=op):
                lhs = f"({lhs})"
            if _needs_parens(right, mine, right_side=True, op=op):
                rhs = f"({rhs})"
            return f"{lhs}{_BINARY[type(op)]}{rhs}"
    raise ExpressionError(f"cannot render {ast.unparse(node)}")


def _needs_parens(child: ast.expr, parent: int, right_side: bool, op: ast.operator) -> bool:
    if isinstance(child, ast.UnaryOp):
        return True
    if not isinstance(child, ast.BinOp):
        return False
    mine = _PRECEDENCE[type(child.op)]
    if mine < parent:
        return True
    if mine == parent and (right_side or isinstance(op, ast.Pow)):
        # a-(b-c), a/(b*c) and (a^b)^c keep their grouping.
        return True
    return False
