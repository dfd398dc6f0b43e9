"""Arithmetic expressions over named quantities, shared by the model and the cell formulas.

An expression is written once, in the maths' own names (``(a_o1 - t1) * a_o1 * (1 - a_o1) * a_h1``),
and becomes both Python source for the float64 model and a spreadsheet formula for a cell.
Only + - * / ** unary minus, numbers, names, ``prev(name)``, ``cur(name)`` and the functions of
the registry (`FUNCTIONS`, from sheetgen.core.ops) are allowed. ``prev(name)`` is that quantity
in the row above (a wrong-row reference); the first row has no row above, so there it is the
quantity itself. ``cur(name)``, only in a state's next
value (which reads the row above), is that quantity in the new row: an optimizer's new state.
``index(data_x, k)`` is the k-th value of a data column (a range on the data sheet).

`derivative` differentiates an expression symbolically (the one differentiator: the network's
backward pass and the report's chain rule both use it, each function by its registry rule), so
that a network's gradients are derived from its forward equations (sheetgen.core.network) and
still read as the chain rule.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from sheetgen.core import ops
from sheetgen.core.ops import OPS, FormulaArg, sigmoid  # noqa: F401  (sigmoid: public API)
from sheetgen.errors import SheetgenError

_BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "^"}
# Spreadsheet precedence: ^ binds tighter than * and /, which bind tighter than + and -.
_PRECEDENCE = {ast.Add: 1, ast.Sub: 1, ast.Mult: 2, ast.Div: 2, ast.Pow: 3}
# Name -> number of arguments (None: two or more), from the one registry (sheetgen.core.ops).
FUNCTIONS = {name: op.arity for name, op in OPS.items()}
_FUNCTIONS = {"prev", "cur", *FUNCTIONS}
# sum, sumproduct and max of more terms than this become one range (SUM(A39:F39)) when the
# cells are side by side: shorter formulas for wide layers.
RANGE_FROM = 4


class ExpressionError(SheetgenError, ValueError):
    """An expression uses syntax outside the small arithmetic language."""


# What compiled expressions see, float by float and over numpy arrays (Expression.evaluate_array).
PYTHON_FUNCTIONS = ops.PYTHON
ARRAY_FUNCTIONS = ops.ARRAY


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

    @cached_property  # asked for in every check of a column: walk the tree once
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

    def to_formula(self, ref: Callable[[str], str], separator: str = ",",
                   span: Callable[[list[str]], str | None] | None = None) -> str:
        """Spreadsheet formula text (without the leading ``=``); ``ref`` maps a name to a cell.
        ``prev(x)`` becomes ``ref(x)`` with its row placeholder ``{r}`` turned into ``{p}``.
        ``span`` maps names to one range when their cells are side by side (else None)."""
        return _render(self.tree, ref, separator, span)

    def evaluate(self, values: Mapping[str, float], previous: Mapping[str, float] | None = None) -> float:
        return eval(self._code,  # noqa: S307
                    {"__builtins__": {}, **PYTHON_FUNCTIONS, "_prev": previous}, dict(values))

    def derivative(self, name: str) -> Expression:
        """d(self)/d(name), simplified; ``prev(x)`` is a constant (the row above)."""
        tree = _derivative(self.tree, name, self._names_memo)
        return Expression(ast.unparse(tree), tree)

    @cached_property
    def _names_memo(self) -> dict:
        # Which names each subtree reads: kept, as one expression is differentiated many times.
        return {}

    def replace(self, subtrees: Mapping[str, str]) -> Expression:
        """Every subexpression whose text is a key replaced by that name: a derivative
        written with the columns that already hold its parts (sigmoid(h1) -> a_h1)."""
        tree = _Replace(subtrees).visit(_copy(self.tree))
        return Expression(ast.unparse(tree), tree)

    def evaluate_array(self, values: Mapping[str, np.ndarray | float],
                       previous: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        """The same Python rendering over whole columns at once: numpy arrays (or floats) in,
        an array out; a value that leaves floating point is inf or NaN, not an exception."""
        with np.errstate(all="ignore"):
            out = eval(self._code,  # noqa: S307
                       {"__builtins__": {}, **ARRAY_FUNCTIONS, "_prev": previous}, dict(values))
        return np.asarray(out, dtype=np.float64)

    @cached_property
    def _code(self):
        return compile(self.to_python(), "<expression>", "eval")


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
        case ast.Call(func=ast.Name(id="prev" | "cur"), args=[ast.Name()], keywords=[]):
            pass
        case ast.Call(func=ast.Name(id=fn), args=args, keywords=[]) if fn in FUNCTIONS and (
                len(args) == FUNCTIONS[fn] or (FUNCTIONS[fn] is None and len(args) >= 2)):
            for arg in args:
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
        if isinstance(node.func, ast.Name) and node.func.id in ("sum", "sumproduct"):
            if len(node.args) <= RANGE_FROM * (2 if node.func.id == "sumproduct" else 1):
                return _expanded(node)
            # Long: one flat call, added left to right as the written-out form would be.
            terms = _terms(node)
            return ast.Call(ast.Name("_sum", ast.Load()), [ast.Tuple(terms, ast.Load())], [])
        if isinstance(node.func, ast.Name) and node.func.id == "cur":
            return ast.Name("_next_" + node.args[0].id, ast.Load())
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


def _terms(node: ast.Call) -> list[ast.expr]:
    """The terms of sum(a, b, c) or, pairwise multiplied, of sumproduct(x1, x2, y1, y2)."""
    args = node.args
    if node.func.id == "sumproduct":
        half = len(args) // 2
        args = [ast.BinOp(x, ast.Mult(), y) for x, y in zip(args[:half], args[half:], strict=True)]
    return args


def _expanded(node: ast.Call) -> ast.expr:
    """sum(a, b, c) as a + b + c; sumproduct(x1, x2, y1, y2) as x1 * y1 + x2 * y2."""
    args = _terms(node)
    total = args[0]
    for arg in args[1:]:
        total = ast.BinOp(total, ast.Add(), arg)
    return total


class _Replace(ast.NodeTransformer):
    def __init__(self, subtrees: Mapping[str, str]):
        self.subtrees = subtrees

    def visit(self, node: ast.AST) -> ast.AST:
        if isinstance(node, ast.expr) and not isinstance(node, ast.Name):
            name = self.subtrees.get(ast.unparse(node))
            if name is not None:
                return ast.Name(id=name, ctx=ast.Load())
        return super().visit(node)


def _number(value: float) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def _render(node: ast.expr, ref: Callable[[str], str], sep: str, span=None) -> str:
    match node:
        case ast.Name(id=name):
            return ref(name)
        case ast.Constant(value=value):
            return _number(value)
        case ast.UnaryOp(operand=operand):
            inner = _render(operand, ref, sep, span)
            if isinstance(operand, ast.BinOp | ast.UnaryOp):
                inner = f"({inner})"
            return f"-{inner}"
        case ast.Call(func=ast.Name(id="prev"), args=[ast.Name(id=name)]):
            return ref(name).replace("{r}", "{p}")
        case ast.Call(func=ast.Name(id="cur"), args=[ast.Name(id=name)]):
            return ref(name).replace("{p}", "{r}")
        case ast.Call(func=ast.Name(id=fn), args=args):
            return _render_call(fn, args, ref, sep, span)
        case ast.BinOp(left=left, op=op, right=right):
            mine = _PRECEDENCE[type(op)]
            lhs = _render(left, ref, sep, span)
            rhs = _render(right, ref, sep, span)
            # In spreadsheets a leading minus binds tighter than ^, so -x^2 needs (-x)^2 care.
            if _needs_parens(left, mine, right_side=False, op=op):
                lhs = f"({lhs})"
            if _needs_parens(right, mine, right_side=True, op=op):
                rhs = f"({rhs})"
            return f"{lhs}{_BINARY[type(op)]}{rhs}"
    raise ExpressionError(f"cannot render {ast.unparse(node)}")


def _render_call(fn: str, args: list[ast.expr], ref, sep: str, span) -> str:
    def part(arg: ast.expr) -> str:
        return _render(arg, ref, sep, span)

    def as_range(names: list[ast.expr]) -> str | None:
        if span is None or len(names) <= RANGE_FROM or not all(isinstance(a, ast.Name) for a in names):
            return None
        return span([a.id for a in names])

    op = OPS[fn]
    if op.cell is not None:
        return op.formula([FormulaArg(part(a), _kind(a)) for a in args], sep)
    match fn:
        case "first_max":  # the k-th is the first largest: above those before it, not below after
            k = int(_const(args[0])) - 1
            xs = [FormulaArg(part(a), _kind(a)).atom for a in args[1:]]
            tests = [f"{xs[k]}>{x}" for x in xs[:k]] + [f"{xs[k]}>={x}" for x in xs[k + 1:]]
            return f"IF(AND({sep.join(tests)}){sep}1{sep}0)"
        case "max" | "sum":
            whole = as_range(args)
            if whole is not None:
                return f"{fn.upper()}({whole})"
            if fn == "max":
                return f"MAX({sep.join(part(a) for a in args)})"
            return _joined(_terms(ast.Call(ast.Name("sum"), args, [])), ref, sep, span)
        case "sumproduct":
            half = len(args) // 2
            xs, ys = as_range(args[:half]), as_range(args[half:])
            if xs is not None and ys is not None:
                return f"SUMPRODUCT({xs}{sep}{ys})"
            return _joined(_terms(ast.Call(ast.Name("sumproduct"), args, [])), ref, sep, span)
    raise ExpressionError(f"cannot render function {fn}")


def rendered_length(node: ast.expr, ref: Callable[[str], str], sep: str = ",", span=None) -> int:
    """len(_render(node, ...)) without writing the text: the same rules, counted, each shared
    subtree once (a gradient check's E(w + h) shares its written-out parts, and its text grows
    with every layer). tests/core/test_expressions.py keeps it equal to the rendering."""
    memo: dict[int, tuple[ast.expr, int]] = {}  # the node kept: an id is unique while it lives

    def marked(text: str, lengths: list[int]) -> int:
        # A template filled with markers \x00k\x01 in place of argument k: its length with
        # each marker counted as its argument's.
        total = len(text)
        for k, length in enumerate(lengths):
            marker = f"\x00{k}\x01"
            total += text.count(marker) * (length - len(marker))
        return total

    def length(node: ast.expr) -> int:
        known = memo.get(id(node))
        if known is None:
            known = memo[id(node)] = (node, measure(node))
        return known[1]

    def measure(node: ast.expr) -> int:
        match node:
            case ast.Name(id=name):
                return len(ref(name))
            case ast.Constant(value=value):
                return len(_number(value))
            case ast.UnaryOp(operand=operand):
                return 1 + length(operand) + 2 * isinstance(operand, ast.BinOp | ast.UnaryOp)
            case ast.Call(func=ast.Name(id="prev" | "cur"), args=[ast.Name()]):
                return len(_render(node, ref, sep, span))
            case ast.Call(func=ast.Name(id=fn), args=args):
                return call(fn, args)
            case ast.BinOp(left=left, op=op, right=right):
                mine = _PRECEDENCE[type(op)]
                return (length(left) + len(_BINARY[type(op)]) + length(right)
                        + 2 * _needs_parens(left, mine, right_side=False, op=op)
                        + 2 * _needs_parens(right, mine, right_side=True, op=op))
        raise ExpressionError(f"cannot render {ast.unparse(node)}")

    def as_range(names: list[ast.expr]) -> str | None:
        if span is None or len(names) <= RANGE_FROM or not all(isinstance(a, ast.Name) for a in names):
            return None
        return span([a.id for a in names])

    def joined(terms: list[ast.expr]) -> int:
        total = 2 + max(0, len(terms) - 1)   # ( ) and the +s
        for k, term in enumerate(terms):
            low = isinstance(term, ast.UnaryOp) or (isinstance(term, ast.BinOp)
                                                     and isinstance(term.op, ast.Add | ast.Sub))
            total += length(term) + 2 * (low and k > 0)
        return total

    def call(fn: str, args: list[ast.expr]) -> int:
        op = OPS[fn]
        if op.cell is not None:
            text = op.formula([FormulaArg(f"\x00{k}\x01", _kind(a)) for k, a in enumerate(args)], sep)
            return marked(text, [length(a) for a in args])
        match fn:
            case "first_max":
                k = int(_const(args[0])) - 1
                xs = [FormulaArg(f"\x00{i}\x01", _kind(a)).atom for i, a in enumerate(args[1:])]
                tests = [f"{xs[k]}>{x}" for x in xs[:k]] + [f"{xs[k]}>={x}" for x in xs[k + 1:]]
                return marked(f"IF(AND({sep.join(tests)}){sep}1{sep}0)", [length(a) for a in args[1:]])
            case "max" | "sum":
                whole = as_range(args)
                if whole is not None:
                    return len(fn) + 2 + len(whole)
                if fn == "max":
                    return 5 + sum(length(a) for a in args) + len(sep) * (len(args) - 1)
                return joined(_terms(ast.Call(ast.Name("sum"), args, [])))
            case "sumproduct":
                half = len(args) // 2
                xs, ys = as_range(args[:half]), as_range(args[half:])
                if xs is not None and ys is not None:
                    return len("SUMPRODUCT()") + len(xs) + len(sep) + len(ys)
                return joined(_terms(ast.Call(ast.Name("sumproduct"), args, [])))
        raise ExpressionError(f"cannot render function {fn}")

    return length(node)


def _kind(arg: ast.expr) -> str:
    """Which brackets an argument needs in a cell template (ops.FormulaArg)."""
    if isinstance(arg, ast.Name | ast.Constant):
        return "leaf"
    return "call" if isinstance(arg, ast.Call) else "other"


def _joined(terms: list[ast.expr], ref, sep: str, span) -> str:
    """(t1+t2+...), rendered term by term: no recursion as deep as the sum is long."""
    parts = []
    for term in terms:
        text = _render(term, ref, sep, span)
        low = isinstance(term, ast.UnaryOp) or (isinstance(term, ast.BinOp)
                                                 and isinstance(term.op, ast.Add | ast.Sub))
        parts.append(f"({text})" if low and parts else text)
    return f"({'+'.join(parts)})"


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


# --- symbolic differentiation -----------------------------------------------------------------
# Each constructor simplifies as it builds (0 and 1 factors, constant products, signs), so that a
# derived gradient reads as a student would write it: (a_o1 - t1) * a_o1 * (1 - a_o1).

def _const(node: ast.expr) -> float | None:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.operand, ast.Constant):
        return -node.operand.value
    return None


def number(value: float) -> ast.expr:
    if value == int(value) and abs(value) < 1e15:
        value = int(value)
    return ast.UnaryOp(ast.USub(), ast.Constant(-value)) if value < 0 else ast.Constant(value)


def neg(a: ast.expr) -> ast.expr:
    c = _const(a)
    if c is not None:
        return number(-c)
    if isinstance(a, ast.UnaryOp) and isinstance(a.op, ast.USub):
        return a.operand
    if isinstance(a, ast.BinOp) and isinstance(a.op, ast.Sub):
        return ast.BinOp(a.right, ast.Sub(), a.left)
    if isinstance(a, ast.BinOp) and isinstance(a.op, ast.Mult):
        if _const(a.left) is not None:
            return mul(number(-_const(a.left)), a.right)
        if isinstance(a.left, ast.BinOp) and isinstance(a.left.op, ast.Sub):
            return mul(neg(a.left), a.right)
        if isinstance(a.right, ast.BinOp) and isinstance(a.right.op, ast.Sub):
            return mul(a.left, neg(a.right))
    return ast.UnaryOp(ast.USub(), a)


def add(a: ast.expr, b: ast.expr) -> ast.expr:
    ca, cb = _const(a), _const(b)
    if ca is not None and cb is not None:
        return number(ca + cb)
    if ca == 0:
        return b
    if cb == 0:
        return a
    if isinstance(b, ast.UnaryOp) and isinstance(b.op, ast.USub):
        return sub(a, b.operand)
    return ast.BinOp(a, ast.Add(), b)


def sub(a: ast.expr, b: ast.expr) -> ast.expr:
    ca, cb = _const(a), _const(b)
    if ca is not None and cb is not None:
        return number(ca - cb)
    if cb == 0:
        return a
    if ca == 0:
        return neg(b)
    if isinstance(b, ast.UnaryOp) and isinstance(b.op, ast.USub):
        return add(a, b.operand)
    return ast.BinOp(a, ast.Sub(), b)


def mul(a: ast.expr, b: ast.expr) -> ast.expr:
    ca, cb = _const(a), _const(b)
    if ca is not None and cb is not None:
        return number(ca * cb)
    if ca == 0 or cb == 0:
        return ast.Constant(0)
    if ca == 1:
        return b
    if cb == 1:
        return a
    if ca == -1:
        return neg(b)
    if cb == -1:
        return neg(a)
    if cb is not None:  # constants first: 2 * x, not x * 2
        return mul(b, a)
    if ca is not None and ca < 0 and isinstance(b, ast.BinOp) and isinstance(b.op, ast.Sub):
        return mul(number(-ca), ast.BinOp(b.right, ast.Sub(), b.left))  # 2 * (a - t)
    if isinstance(b, ast.BinOp) and isinstance(b.op, ast.Div) and _const(b.left) == 1:
        return div(a, b.right)  # t / a, not t * (1 / a)
    if isinstance(b, ast.UnaryOp) and isinstance(b.op, ast.USub):
        return neg(mul(a, b.operand))
    if ca is None and isinstance(a, ast.UnaryOp) and isinstance(a.op, ast.USub):
        return neg(mul(a.operand, b))
    if ca is not None and isinstance(b, ast.BinOp) and isinstance(b.op, ast.Mult) \
            and _const(b.left) is not None:
        return mul(number(ca * _const(b.left)), b.right)
    if ca is None and isinstance(b, ast.BinOp) and isinstance(b.op, ast.Mult) \
            and _const(b.left) is not None:
        return mul(b.left, mul(a, b.right))
    if isinstance(b, ast.BinOp) and isinstance(b.op, ast.Mult):  # left to right: a * b * c
        return mul(mul(a, b.left), b.right)
    return ast.BinOp(a, ast.Mult(), b)


def div(a: ast.expr, b: ast.expr) -> ast.expr:
    ca, cb = _const(a), _const(b)
    if ca == 0:
        return ast.Constant(0)
    if cb == 1:
        return a
    if cb is not None:
        return mul(number(1 / cb), a)
    if ca is not None and ca < 0:
        return neg(div(number(-ca), b))
    return ast.BinOp(a, ast.Div(), b)


def call(fn: str, *args: ast.expr) -> ast.expr:
    return ast.Call(ast.Name(fn, ast.Load()), list(args), [])


def _names_below(node: ast.expr, memo: dict[int, frozenset[str]]) -> frozenset[str]:
    """The names a subtree reads (not through prev), computed once per node of one derivative."""
    # Keyed by id, holding the node too: no id is reused while the memo lives.
    found = memo.get(id(node), (None, None))[1]
    if found is None:
        if isinstance(node, ast.Name):
            found = frozenset((node.id,))
        elif _is_prev(node):
            found = frozenset()
        else:
            found = frozenset().union(*(_names_below(c, memo) for c in ast.iter_child_nodes(node)
                                        if isinstance(c, ast.expr)))
        memo[id(node)] = (node, found)
    return found


def _depends(node: ast.expr, name: str, memo: dict | None = None) -> bool:
    return name in _names_below(node, {} if memo is None else memo)


def _derivative(node: ast.expr, name: str, memo: dict) -> ast.expr:
    if _is_prev(node) or not _depends(node, name, memo):
        return ast.Constant(0)
    match node:
        case ast.Name(id=n):
            return ast.Constant(1 if n == name else 0)
        case ast.UnaryOp(operand=operand):
            return neg(_derivative(operand, name, memo))
        case ast.BinOp(left=u, op=ast.Add(), right=v):
            return add(_derivative(u, name, memo), _derivative(v, name, memo))
        case ast.BinOp(left=u, op=ast.Sub(), right=v):
            return sub(_derivative(u, name, memo), _derivative(v, name, memo))
        case ast.BinOp(left=u, op=ast.Mult(), right=v):
            return add(mul(_derivative(u, name, memo), v), mul(u, _derivative(v, name, memo)))
        case ast.BinOp(left=u, op=ast.Div(), right=v):
            du = div(_derivative(u, name, memo), v)
            if not _depends(v, name):
                return du
            return sub(du, div(mul(u, _derivative(v, name, memo)), ast.BinOp(v, ast.Pow(), ast.Constant(2))))
        case ast.BinOp(left=u, op=ast.Pow(), right=ast.Constant(value=c)):
            power = u if c - 1 == 1 else ast.BinOp(u, ast.Pow(), number(c - 1))
            return mul(mul(number(c), power), _derivative(u, name, memo))
        case ast.Call(func=ast.Name(id=fn), args=args):
            return _call_derivative(node, fn, args, name, memo)
    raise ExpressionError(f"cannot differentiate {ast.unparse(node)}")


def _call_derivative(node: ast.Call, fn: str, args: list[ast.expr], name: str,
                     memo: dict) -> ast.expr:
    if fn == "sum":
        total = ast.Constant(0)
        for arg in args:
            total = add(total, _derivative(arg, name, memo))
        return total
    if fn == "sumproduct":
        half = len(args) // 2
        key = ("partners", id(node))
        if key not in memo:  # a weighted sum of names: each name's partners, found once
            partners: dict[str, list[ast.expr]] | None = {}
            for k, a in enumerate(args):
                if not isinstance(a, ast.Name):
                    partners = None
                    break
                partners.setdefault(a.id, []).append(args[(k + half) % len(args)])
            memo[key] = (node, partners)
        partners = memo[key][1]
        if partners is not None:
            return _sum_of(partners.get(name, []))
        return _derivative(_expanded(node), name, memo)
    if fn == "max":  # routed to the first largest argument (PyTorch's tie rule)
        total = ast.Constant(0)
        for k, arg in enumerate(args, start=1):
            d = _derivative(arg, name, memo)
            if _const(d) != 0:
                total = add(total, mul(call("first_max", ast.Constant(k), *args), d))
        return total
    if fn == "first_max":  # piecewise constant
        return ast.Constant(0)
    if fn == "if_positive":
        x, a, b = args
        da, db = _derivative(a, name, memo), _derivative(b, name, memo)
        return call("if_positive", x, da, db) if _const(da) != _const(db) or _const(da) is None else da
    op = OPS[fn]
    if not isinstance(op.derivative, tuple):  # max, mod, index: not differentiable
        raise ExpressionError(f"cannot differentiate {ast.unparse(node)}")
    total: ast.expr = ast.Constant(0)
    for k, rule in enumerate(op.derivative):  # the chain rule, argument by argument
        du = _derivative(args[k], name, memo)
        if _const(du) == 0:
            continue
        outer = _rule(op, rule, node, args)
        total = add(total, mul(du, outer) if _const(du) is None else mul(outer, du))
    return total


@functools.cache
def _rule_tree(text: str) -> ast.expr:
    return ast.parse(text, mode="eval").body


def _rule(op: ops.Op, rule: str, node: ast.Call, args: list[ast.expr]) -> ast.expr:
    """A registry derivative rule with x, y and the parameters in place, simplified as built."""
    names = {"x": args[0], "y": node, **{p: a for (p, _), a in zip(op.params, args[1:], strict=False)}}

    def build(part: ast.expr) -> ast.expr:
        match part:
            case ast.Name(id=n):
                return names[n]
            case ast.Constant():
                return ast.Constant(part.value)
            case ast.UnaryOp(operand=operand):
                return neg(build(operand))
            case ast.BinOp(left=left, op=ast.Pow(), right=right):
                return ast.BinOp(build(left), ast.Pow(), build(right))
            case ast.BinOp(left=left, op=binop, right=right):
                combine = {ast.Add: add, ast.Sub: sub, ast.Mult: mul, ast.Div: div}[type(binop)]
                return combine(build(left), build(right))
            case ast.Call(func=ast.Name(id=fn), args=inner):
                return call(fn, *map(build, inner))
        raise ExpressionError(f"cannot use the derivative rule {rule!r} of {op.name}")

    return build(_rule_tree(rule))


def _sum_of(terms: list[ast.expr]) -> ast.expr:
    total: ast.expr = ast.Constant(0)
    for term in terms:
        total = add(total, term)
    return total
