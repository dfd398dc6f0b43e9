"""The functions of the expression language, each defined once.

One `Op` entry gives everything sheetgen knows about a function: its float evaluation (the
model), its numpy evaluation (audit, over whole columns), its cell formula, its derivative rule,
its LaTeX and its symbol in text. `Expression` (parsing, cell formulas, Python, the one symbolic
differentiator), the network's activations, the report and the equation text all read `OPS`, so
a new function or activation is one entry here.

Cell formulas are written in the xlsx dialect, ``{0}``, ``{1}``… standing for the arguments; the
ods dialect is the same text with ``;`` between arguments (every comma of a template separates
arguments). ``{0.atom}`` is the argument bracketed unless it is a name, a number or a call (an
operand of > or *); ``{0.leaf}`` bracketed unless it is a name or a number. A template is one
function call (or its bare argument), so that a call binds like a single operand wherever it
stands in a formula. max, sum and sumproduct have none: the language writes them, as one range
(SUM(A39:F39)) when their cells are side by side.

A derivative rule is expression text, one per argument: ``x`` is the first argument, ``y`` the
function's own value (so that σ' reads y * (1 - y) and a network writes it with the activation's
column, a_o1 * (1 - a_o1)), and later arguments go by the entry's `params` names. Arguments past
the rules are constants (a slope, an α). ``"linear"`` and ``"branch"`` name the differentiator's
own rules for sum/sumproduct (the sum of the arguments' derivatives) and if_positive (the branch
of the derivatives), ``"first_max"`` max's (routed to its first largest argument) and
``"constant"`` a piecewise constant's (0); None: not differentiable.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Op:
    name: str
    arity: int | None                        # number of arguments; None: two or more
    python: Callable[..., float]               # float evaluation (the model)
    array: Callable[..., np.ndarray]          # numpy evaluation, element by element
    cell: str | None                          # xlsx formula template; None: written by the language
    derivative: tuple[str, ...] | str | None = None
    latex: str | None = None                  # the LaTeX head; None: \operatorname{name}
    symbol: str | None = None                 # in equation text (σ); None: the name
    params: tuple[tuple[str, float], ...] = ()  # an activation's constant arguments and defaults
    activation: bool = False                  # allowed in [network] activations
    once: str | None = None                   # the same function with x written once (long x)
    definition: str | None = None             # LaTeX definition, for a report's reader

    @property
    def text_symbol(self) -> str:
        return self.name if self.symbol is None else self.symbol

    @property
    def latex_head(self) -> str:
        if self.latex is not None:
            return self.latex
        escaped = self.name.replace("_", r"\_")
        return rf"\operatorname{{{escaped}}}"

    @property
    def is_identity(self) -> bool:
        """The function is its argument: an activation written as the argument itself."""
        return self.cell == "{0}"

    def formula(self, args: list[FormulaArg], separator: str = ",") -> str:
        """The cell formula (no leading =) of a call with these rendered arguments."""
        return self.cell.replace(",", separator).format(*args)

    def apply(self, x: str, params: dict[str, float] | None = None) -> str:
        """Expression text of this activation of `x` with its constant arguments."""
        if self.is_identity:
            return x
        values = [(params or {}).get(p, default) for p, default in self.params]
        return f"{self.name}({', '.join([x, *map(param_text, values)])})"


def param_text(value: float) -> str:
    """A constant argument as expression text (and so in the cells): 0.01 -> '0.01'."""
    return repr(float(value))


@dataclass(frozen=True)
class FormulaArg:
    """An argument of a cell formula, already rendered, in the forms a template asks for."""

    text: str
    kind: str   # "leaf" (a name or number), "call", "other"

    def __format__(self, spec: str) -> str:
        return self.text

    @property
    def atom(self) -> str:
        return self.text if self.kind in ("leaf", "call") else f"({self.text})"

    @property
    def leaf(self) -> str:
        return self.text if self.kind == "leaf" else f"({self.text})"


# --- float and array evaluations ---------------------------------------------------------------

def sigmoid(x: float) -> float:
    """Logistic function, written so that exp never overflows (the cell formulas do the same)."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def sigmoid_array(x):
    """The logistic function of a numpy array (or a float), element by element, without overflow."""
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def ln(x: float) -> float:
    """Natural log that gives -inf at 0 and nan below, as floats, so that the model's finiteness
    check names the quantity (math.log raises instead)."""
    if x > 0:
        return math.log(x)
    return -math.inf if x == 0 else math.nan


def relu(x: float) -> float:
    return x if x > 0 else 0.0


def leaky_relu(x: float, slope: float) -> float:
    return x if x > 0 else slope * x


def softplus(x: float) -> float:
    """ln(1 + e^x) as the cell computes it: e only ever raised to a non-positive power."""
    if x > 0:
        return x + math.log(1.0 + math.exp(-x))
    return math.log(1.0 + math.exp(x))


def softplus_array(x):
    x = np.asarray(x, dtype=np.float64)
    tail = np.log(1.0 + np.exp(-np.abs(x)))
    return np.where(x > 0, x + tail, tail)


def elu(x: float, alpha: float) -> float:
    return x if x > 0 else alpha * (math.exp(x) - 1.0)


def elu_array(x, alpha):
    x = np.asarray(x, dtype=np.float64)
    return np.where(x > 0, x, alpha * (np.exp(np.minimum(x, 0.0)) - 1.0))


def if_positive(x: float, a: float, b: float) -> float:
    return a if x > 0 else b


def index(values: tuple[float, ...], k: int) -> float:
    """The k-th (1-based) of a data column's values, as INDEX(range, k)."""
    return values[int(k) - 1]


def index_array(values, k):
    """index over whole columns: `values` a tuple of columns (or of numbers), `k` one array."""
    columns = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in values),
                                  np.asarray(k, dtype=np.float64))
    stack, ks = np.stack(columns[:-1]), columns[-1]
    valid = (ks >= 1) & (ks <= len(values)) & (ks == np.floor(ks))
    picked = np.take_along_axis(stack, np.where(valid, ks - 1, 0).astype(np.intp)[None], 0)[0]
    return np.where(valid, picked, np.nan)


def mod(a: float, b: float) -> float:
    return a % b


def _max_array(*args):
    return functools.reduce(np.maximum, args)


def first_max(k: int, *xs: float) -> float:
    """1 if xs[k - 1] is the first largest of xs, else 0: where max routes its derivative
    (PyTorch's max-pool rule: the first maximum in the window's row-major order)."""
    k = int(k) - 1
    x = xs[k]
    return 1.0 if all(x > y for y in xs[:k]) and all(x >= y for y in xs[k + 1:]) else 0.0


def _first_max_array(k, *xs):
    k = int(k) - 1
    x = np.asarray(xs[k], dtype=np.float64)
    ok = np.ones_like(x, dtype=bool)
    for j, y in enumerate(xs):
        if j != k:
            ok &= (x > y) if j < k else (x >= y)
    return np.where(ok, 1.0, 0.0)


def _where_positive(x, a, b):
    return np.where(np.asarray(x) > 0, a, b)


# --- the registry ------------------------------------------------------------------------------

_ENTRIES = (
    Op("sigmoid", 1, sigmoid, sigmoid_array,
       # EXP only ever sees a non-positive argument: no overflow at any x.
       "IF({0.leaf}>=0,1/(1+EXP(-{0.leaf})),EXP({0.leaf})/(1+EXP({0.leaf})))",
       derivative=("y * (1 - y)",), latex=r"\sigma", symbol="σ", activation=True,
       once="0.5 + 0.5 * tanh(0.5 * (x))", definition=r"\sigma(x) = \frac{1}{1 + e^{-x}}"),
    Op("tanh", 1, math.tanh, np.tanh, "TANH({0})", derivative=("1 - y ** 2",), latex=r"\tanh",
       activation=True),
    Op("relu", 1, relu, lambda x: np.maximum(x, 0.0), "MAX(0,{0})",
       derivative=("if_positive(x, 1, 0)",), activation=True),
    Op("leaky_relu", 2, leaky_relu,
       lambda x, slope: np.where(np.asarray(x) > 0, x, slope * np.asarray(x)),
       "IF({0.atom}>0,{0.atom},{1.atom}*{0.atom})", derivative=("if_positive(x, 1, slope)",),
       params=(("slope", 0.01),), activation=True),
    Op("identity", 1, lambda x: x, lambda x: np.asarray(x, dtype=np.float64), "{0}",
       derivative=("1",), activation=True),
    Op("softplus", 1, softplus, softplus_array,
       # ln(1 + e^x), with e only ever raised to a non-positive power.
       "IF({0.atom}>0,{0}+LN(1+EXP(-{0.atom})),LN(1+EXP({0})))",
       derivative=("sigmoid(x)",), activation=True,
       definition=r"\operatorname{softplus}(x) = \ln(1 + e^{x})"),
    Op("elu", 2, elu, elu_array, "IF({0.atom}>0,{0},{1.atom}*(EXP({0})-1))",
       derivative=("if_positive(x, 1, y + alpha)",), params=(("alpha", 1.0),), activation=True,
       definition=r"\operatorname{elu}(x) = x \text{ if } x > 0 \text{, else } \alpha (e^{x} - 1)"),
    Op("exp", 1, math.exp, np.exp, "EXP({0})", derivative=("y",), latex=r"\exp"),
    Op("ln", 1, ln, np.log, "LN({0})", derivative=("1 / x",), latex=r"\ln"),
    Op("sqrt", 1, math.sqrt, np.sqrt, "SQRT({0})", derivative=("1 / (2 * y)",)),
    # A schedule's rate (cosine, one-cycle): a function of the step, never differentiated.
    Op("cos", 1, math.cos, np.cos, "COS({0})", latex=r"\cos"),
    Op("if_positive", 3, if_positive, _where_positive, "IF({0.atom}>0,{1},{2})",
       derivative="branch"),
    # max routes its derivative to its first largest argument (first_max), as PyTorch's max-pool.
    Op("max", None, max, _max_array, None, derivative="first_max", latex=r"\max"),
    Op("first_max", None, first_max, _first_max_array, None, derivative="constant",
       definition=r"\operatorname{first\_max}(k, x_1, \ldots, x_n) = 1 \text{ if } x_k "
                  r"\text{ is the first largest of } x_1, \ldots, x_n \text{, else } 0"),
    Op("sum", None, sum, lambda *a: sum(a), None, derivative="linear", symbol="Σ"),
    Op("sumproduct", None, None, None, None, derivative="linear", symbol="Σ"),
    Op("mod", 2, mod, np.mod, "MOD({0},{1})"),
    # The first argument is a data column: its reference is a range, its value a tuple.
    Op("index", 2, index, index_array, "INDEX({0},{1})"),
)
OPS: dict[str, Op] = {op.name: op for op in _ENTRIES}

# sum and sumproduct are written out as + and * in Python (or `_sum` of one flat tuple, when
# long); max, sum and sumproduct of side-by-side cells become one range in a cell.
PYTHON = {"_sum": sum, **{op.name: op.python for op in _ENTRIES if op.python is not None
                          and op.name != "sum"}}
ARRAY = {"_sum": sum, **{op.name: op.array for op in _ENTRIES if op.array is not None
                         and op.name != "sum"}}
# An activation is a function of one pre-activation (and constants); softmax, a function of a
# whole layer, is the network's own.
ACTIVATIONS = tuple(op.name for op in _ENTRIES if op.activation)


def activation_params() -> dict[str, tuple[str, str, float]]:
    """Config key -> (activation, parameter, default): leaky_relu_slope, elu_alpha."""
    return {f"{op.name}_{p}": (op.name, p, default)
            for op in _ENTRIES if op.activation for p, default in op.params}
