"""Losses: one class each, registered by name (`LOSSES`).

A loss writes one error term per output (E1 = ½·(t1 − a_o1)², header e1) and combines them into
E_total; the backward pass differentiates those expressions like any other. A loss may give a
closed form for the output δ with an output activation whose general form would divide by an
activation that can reach 0 (`closed_delta`), and refuses output activations it cannot take
(`check`). Adding a loss is one class here with `@register`.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import ClassVar

from sheetgen.core.expressions import RANGE_FROM, Expression, add
from sheetgen.errors import ConfigError

LOSSES: dict[str, type[Loss]] = {}


def register(cls: type[Loss]) -> type[Loss]:
    LOSSES[cls.name] = cls
    return cls


def total_of(terms: list[ast.expr]) -> ast.expr:
    """A flat sum: a + b + c, or one sum(...) of more than RANGE_FROM terms (a range when the
    cells are side by side)."""
    terms = [t for t in terms if not (isinstance(t, ast.Constant) and t.value == 0)]
    if len(terms) > RANGE_FROM:
        return ast.Call(ast.Name("sum", ast.Load()), terms, [])
    out: ast.expr = ast.Constant(0)
    for term in terms:
        out = add(out, term)
    return out


class Loss:
    """E_k per output k from its target t and activation a; E_total their sum."""

    name: ClassVar[str]

    def term(self, t: str, a: str) -> str:
        raise NotImplementedError

    def total(self, errors: list[str]) -> Expression:
        tree = ast.fix_missing_locations(total_of([ast.Name(e, ast.Load()) for e in errors]))
        return Expression.parse(ast.unparse(tree))

    def total_text(self, shown: str, n: int) -> str:
        """E_total's right-hand side as the equations beside the table write it."""
        return shown

    def check(self, activation: str) -> None:
        """ConfigError if this loss cannot follow the output layer's `activation`."""

    def logit_term(self, t: str, z: str, outputs: tuple[str, ...], activation: str) -> str | None:
        """E_k from the output's logit z (the layer's pre-activations `outputs`), as torch computes
        it, where the activation's form would take ln of 0; None: `term` from the activation."""
        return None

    def closed_delta(self, activation: str) -> Callable[[str, str], str] | None:
        """δ of an output (from t, a) in closed form, or None to derive it."""
        return None


@register
class HalfSSE(Loss):
    name = "half_sse"

    def term(self, t: str, a: str) -> str:
        return f"0.5 * ({t} - {a}) ** 2"


@register
class SSE(Loss):
    name = "sse"

    def term(self, t: str, a: str) -> str:
        return f"({t} - {a}) ** 2"


@register
class MSE(Loss):
    name = "mse"

    def term(self, t: str, a: str) -> str:
        return f"({t} - {a}) ** 2"

    def total(self, errors: list[str]) -> Expression:
        if len(errors) == 1:
            return super().total(errors)
        tree = ast.BinOp(total_of([ast.Name(e, ast.Load()) for e in errors]), ast.Div(),
                         ast.Constant(len(errors)))
        return Expression.parse(ast.unparse(ast.fix_missing_locations(tree)))

    def total_text(self, shown: str, n: int) -> str:
        return f"({shown}) / {n}" if n > 1 else shown


@register
class CrossEntropy(Loss):
    name = "cross_entropy"

    def term(self, t: str, a: str) -> str:
        return f"-{t} * ln({a})"

    def check(self, activation: str) -> None:
        if activation not in ("softmax", "sigmoid"):
            raise ConfigError("network.loss: cross_entropy needs softmax or sigmoid outputs, "
                              f"not {activation}")

    def logit_term(self, t, z, outputs, activation):
        # log_softmax: ln a = z − max − ln Σ exp(z_j − max) (the exp_ columns); −t·ln σ(z) = t·softplus(−z).
        if activation == "softmax":
            total = ast.unparse(total_of([ast.Name(f"exp_{o}", ast.Load()) for o in outputs]))
            return f"-{t} * ({z} - max({', '.join(outputs)}) - ln({total}))"
        if activation == "sigmoid":
            return f"{t} * ({_softplus_neg(z)})"
        return None

    def closed_delta(self, activation: str):
        if activation == "softmax":
            return lambda t, a: f"{a} - {t}"  # targets sum to 1 (checked with the config)
        if activation == "sigmoid":
            return lambda t, a: f"{t} * ({a} - 1)"
        return None


@register
class BinaryCrossEntropy(Loss):
    name = "binary_cross_entropy"

    def term(self, t: str, a: str) -> str:
        return f"-({t} * ln({a}) + (1 - {t}) * ln(1 - {a}))"

    def check(self, activation: str) -> None:
        if activation != "sigmoid":
            raise ConfigError(f"network.loss: binary_cross_entropy needs sigmoid outputs, not {activation}")

    def logit_term(self, t, z, outputs, activation):
        # torch's binary_cross_entropy_with_logits: (1 − t)·z + m + ln(e^−m + e^(−z−m)), m = max(−z, 0).
        return f"(1 - {t}) * {z} + {_softplus_neg(z)}" if activation == "sigmoid" else None

    def closed_delta(self, activation: str):
        return (lambda t, a: f"{a} - {t}") if activation == "sigmoid" else None


def _softplus_neg(z: str) -> str:
    """ln(1 + e^−z) = −ln σ(z), with e only raised to a non-positive power."""
    m = f"max(-{z}, 0)"
    return f"{m} + ln(exp(-{m}) + exp(-{z} - {m}))"


def loss(name: str) -> Loss:
    if name not in LOSSES:
        raise ConfigError(f"network.loss: unknown loss {name!r}; choose from {', '.join(LOSSES)}")
    return LOSSES[name]()
