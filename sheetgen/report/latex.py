"""LaTeX for the network's expressions: symbols, formulas, and formulas with numbers in place.

Everything here is text over an expression tree (the same `Expression` the model computes and
the cells hold), so an equation in the write-up is the equation the workbook uses.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable, Mapping

from sheetgen.core.expressions import Expression
from sheetgen.core.ops import OPS

# Significant digits: a computed result as the workbook stores it; an operand substituted into
# a worked equation shorter, so that a long line still fits a page.
RESULT_DIGITS = 10
OPERAND_DIGITS = 6

_PRECEDENCE = {ast.Add: 1, ast.Sub: 1, ast.Mult: 2, ast.Div: 2, ast.Pow: 3}
GREEK = {"learning_rate": r"\eta"}


def symbol(name: str) -> str:
    """'h1' -> h_{1}, 'a_h1' -> a_{h1}, 'E_total' -> E_{\\text{total}}, 'learning_rate' -> \\eta."""
    if name in GREEK:
        return GREEK[name]
    base, sep, sub = name.partition("_")
    if not sep:
        match = re.fullmatch(r"([A-Za-z]+?)([0-9]+)", name)
        if not match:
            return name if len(name) == 1 else rf"\mathit{{{name}}}"
        base, sub = match.groups()
    layered = re.fullmatch(r"([A-Za-z]+)([0-9]+)", base)
    if layered and sub.isdigit():  # neuron j of layer l: h2_3 -> h_{2,3}
        base, sub = layered.group(1), f"{layered.group(2)},{sub}"
    if base == "delta":  # a neuron's error signal: delta_o1 -> \delta_{o1}
        base = r"\delta"
    elif len(base) > 1:
        base = rf"\mathit{{{base}}}"
    if sub.isalpha() and len(sub) > 1:
        return rf"{base}_{{\text{{{sub}}}}}"
    return f"{base}_{{{sub.replace('_', ',')}}}"


def partial(top: str, bottom: str) -> str:
    r"""\frac{\partial top}{\partial bottom} over two names."""
    return rf"\frac{{\partial {symbol(top)}}}{{\partial {symbol(bottom)}}}"


def number(value: float, digits: int = RESULT_DIGITS) -> str:
    """A number as LaTeX: at most `digits` significant digits, no trailing zeros,
    powers of ten written out (1.5 \\times 10^{-5}) where plain decimals would be long."""
    text = plain_number(value, digits)
    mantissa, e, exponent = text.partition("e")
    if not e:
        return text
    return rf"{mantissa} \times 10^{{{int(exponent)}}}"


def plain_number(value: float, digits: int = RESULT_DIGITS) -> str:
    """A number as text (tables, sentences): '0.0275', '1.5e-05', '22'."""
    value = float(value)
    if value == 0:
        return "0"
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if 1e-4 <= abs(value) < 1e6:
        # Fixed point with `digits` significant digits, trailing zeros dropped.
        decimals = max(0, digits - 1 - math.floor(math.log10(abs(value))))
        text = f"{value:.{decimals}f}"
        return text.rstrip("0").rstrip(".") if "." in text else text
    mantissa, _, exponent = f"{value:.{digits - 1}e}".partition("e")
    mantissa = mantissa.rstrip("0").rstrip(".") if "." in mantissa else mantissa
    return f"{mantissa}e{int(exponent):+03d}".replace("e+", "e")


def render(expression: Expression | ast.expr, values: Mapping[str, float] | None = None,
           digits: int = OPERAND_DIGITS, name: Callable[[str], str] = symbol) -> str:
    """The expression as LaTeX; with `values`, each name found there is replaced by its
    number (products then read ``0.15 \\times 0.05``, as a worked example does)."""
    tree = expression.tree if isinstance(expression, Expression) else expression
    return _Renderer(values, digits, name).visit(tree)


class _Renderer:
    def __init__(self, values: Mapping[str, float] | None, digits: int, name: Callable[[str], str]):
        self.values = values
        self.digits = digits
        self.name = name
        self.times = r" \times " if values is not None else r" \cdot "

    def visit(self, node: ast.expr) -> str:
        match node:
            case ast.Name(id=name):
                if self.values is not None and name in self.values:
                    return self.constant(self.values[name], self.digits)
                return self.name(name)
            case ast.Constant(value=value):
                return self.constant(value, self.digits)
            case ast.UnaryOp(operand=operand):
                inner = self.visit(operand)
                if isinstance(operand, ast.BinOp) and isinstance(operand.op, ast.Add | ast.Sub):
                    inner = f"({inner})"
                return f"-{inner}"
            case ast.Call(func=ast.Name(id="prev"), args=[ast.Name(id=name)]):
                # The quantity in the row above: the previous iteration's value.
                return rf"{self.name(name)}^{{\text{{prev}}}}"
            case ast.Call(func=ast.Name(id="cur"), args=[ast.Name(id=name)]):
                # A state's new value, from the same step (an optimizer's v, s, m).
                return rf"{{{self.name(name)}^{{+}}}}"   # braced: it may take a power
            case ast.Call(func=ast.Name(id="sqrt"), args=[arg]):  # the argument under the bar
                return rf"\sqrt{{{self.visit(arg)}}}"
            case ast.Call(func=ast.Name(id="sum"), args=args):
                return "(" + " + ".join(self.visit(a) for a in args) + ")"
            case ast.Call(func=ast.Name(id="sumproduct"), args=args):  # x1·y1 + x2·y2 + …
                half = len(args) // 2
                return "(" + " + ".join(rf"{self.visit(x)} \cdot {self.visit(y)}"
                                        for x, y in zip(args[:half], args[half:], strict=True)) + ")"
            case ast.Call(func=ast.Name(id=fn), args=args):
                head = OPS[fn].latex_head if fn in OPS else rf"\operatorname{{{fn}}}"
                return head + "(" + ", ".join(self.argument(a) for a in args) + ")"
            case ast.BinOp(left=left, op=ast.Div(), right=right):
                return rf"\frac{{{self.visit(left)}}}{{{self.visit(right)}}}"
            case ast.BinOp(left=left, op=ast.Pow(), right=right):
                base = self.visit(left)
                if not _atomic(left):
                    base = f"({base})"
                return f"{base}^{{{self.visit(right)}}}"
            case ast.BinOp(left=left, op=op, right=right):
                mine = _PRECEDENCE[type(op)]
                lhs, rhs = self.visit(left), self.visit(right)
                if _looser(left, mine, right_side=False):
                    lhs = f"({lhs})"
                if _looser(right, mine, right_side=True, op=op):
                    rhs = f"({rhs})"
                if isinstance(op, ast.Mult):
                    return f"{lhs}{self.times}{rhs}"
                return f"{lhs} {'+' if isinstance(op, ast.Add) else '-'} {rhs}"
        raise ValueError(f"cannot write {ast.unparse(node)} as LaTeX")

    def argument(self, node: ast.expr) -> str:
        """A function's argument: a lone negative number needs no brackets of its own."""
        text = self.visit(node)
        if isinstance(node, ast.Name | ast.Constant) and text.startswith("(") and text.endswith(")"):
            return text[1:-1]
        return text

    def constant(self, value: float, digits: int) -> str:
        if value == 0.5 and self.values is None:
            return r"\tfrac{1}{2}"
        text = number(value, digits)
        return f"({text})" if value < 0 or "times" in text else text


def _atomic(node: ast.expr) -> bool:
    return isinstance(node, ast.Name | ast.Call) or (
        isinstance(node, ast.Constant) and node.value >= 0)


def _looser(child: ast.expr, parent: int, right_side: bool, op: ast.operator | None = None) -> bool:
    if isinstance(child, ast.UnaryOp):
        return parent > 1 or right_side
    if not isinstance(child, ast.BinOp) or isinstance(child.op, ast.Div | ast.Pow):
        return False
    mine = _PRECEDENCE[type(child.op)]
    return mine < parent or (mine == parent and right_side and isinstance(op, ast.Sub))


def visible_width(latex: str) -> int:
    """Roughly how many characters wide `latex` is drawn (a fraction counts its wider part)."""
    def frac(match: re.Match) -> str:
        return max(match.group(1), match.group(2), key=visible_width)

    text = latex
    while (shorter := re.sub(r"\\frac\{((?:[^{}]|\{[^{}]*\})*)\}\{((?:[^{}]|\{[^{}]*\})*)\}",
                             frac, text)) != text:
        text = shorter
    text = re.sub(r"\\text\{([^{}]*)\}", r"\1", text)
    text = re.sub(r"\\[a-zA-Z]+", "x", text)
    return len(re.sub(r"[{}_^ ]", "", text))


def render_lines(expression: Expression, values: Mapping[str, float] | None = None,
                 digits: int = OPERAND_DIGITS, name: Callable[[str], str] = symbol,
                 width: int = 70) -> list[str]:
    """As `render`, broken before a + - or × where a line would grow wider than `width`
    (continuation lines start with their operator)."""
    renderer = _Renderer(values, digits, name)
    return _split(expression.tree, renderer, width)


def _chain(node: ast.expr) -> list[tuple[ast.operator | None, ast.expr]]:
    """a + b - c -> [(None, a), (+, b), (-, c)]: one precedence level, left to right."""
    level = _PRECEDENCE.get(type(node.op)) if isinstance(node, ast.BinOp) else None
    if level not in (1, 2) or isinstance(node.op, ast.Div):
        return [(None, node)]
    items = []
    while isinstance(node, ast.BinOp) and _PRECEDENCE.get(type(node.op)) == level \
            and not isinstance(node.op, ast.Div):
        items.append((node.op, node.right))
        node = node.left
    items.append((None, node))
    return items[::-1]


def _split(node: ast.expr, renderer: _Renderer, width: int) -> list[str]:
    whole = renderer.visit(node)
    items = _chain(node)
    if visible_width(whole) <= width or len(items) == 1:
        return [whole]
    level = _PRECEDENCE[type(items[1][0])]
    pieces = []
    for op, operand in items:
        text = renderer.visit(operand)
        wrap = _looser(operand, level, right_side=op is not None, op=op)
        if visible_width(text) > width and len(_chain(operand)) > 1:
            inner = _split(operand, renderer, width - 1)
            if wrap:
                inner[0], inner[-1] = "(" + inner[0], inner[-1] + ")"
        else:
            inner = [f"({text})" if wrap else text]
        sign = "" if op is None else (
            (r"\times " if renderer.values is not None else r"\cdot ") if isinstance(op, ast.Mult)
            else ("+ " if isinstance(op, ast.Add) else "- "))
        inner[0] = sign + inner[0]
        pieces.append(inner)
    lines: list[str] = []
    for inner in pieces:
        for k, text in enumerate(inner):
            if lines and k == 0 and visible_width(lines[-1] + text) <= width:
                lines[-1] += " " + text
            else:
                # "{}" keeps a line's leading operator binary, spaced as mid-line.
                lines.append("{} " + text if lines and text[0] in "+-\\" else text)
    return lines
