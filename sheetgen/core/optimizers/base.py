"""The `Optimizer` protocol, its renderings and the registry (see the package's docstring)."""


from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import ClassVar

from sheetgen.core.expressions import Expression
from sheetgen.core.schedules import LABELS as SCHEDULE_LABELS
from sheetgen.core.schedules import LATEX as SCHEDULE_LATEX
from sheetgen.core.schedules import SCHEDULES, ScheduleSpec, schedule
from sheetgen.errors import ConfigError

OPTIMIZERS: dict[str, type[Optimizer]] = {}


def register(cls: type[Optimizer]) -> type[Optimizer]:
    OPTIMIZERS[cls.name] = cls
    return cls


@dataclass(frozen=True)
class Hyper:
    key: str            # the [optimizer] key and the name formulas use
    label: str          # the label of its cell and its Unicode symbol
    latex: str


BETA = Hyper("beta", "β", r"\beta")
BETA1 = Hyper("beta1", "β1", r"\beta_{1}")
BETA2 = Hyper("beta2", "β2", r"\beta_{2}")
EPSILON = Hyper("epsilon", "ε", r"\varepsilon")
H = Hyper("h", "h (grad. check)", "h")
MOMENTUM = Hyper("momentum", "momentum μ", r"\mu")
DAMPENING = Hyper("dampening", "dampening", "d")
ALPHA = Hyper("alpha", "α", r"\alpha")
WEIGHT_DECAY = Hyper("weight_decay", "weight decay λ", r"\lambda")
LABELS = {h.key: h.label for h in (BETA, BETA1, BETA2, EPSILON, H, MOMENTUM, DAMPENING, ALPHA,
                                   WEIGHT_DECAY)} | SCHEDULE_LABELS
LATEX = {h.key: h.latex for h in (BETA, BETA1, BETA2, EPSILON, H, MOMENTUM, DAMPENING, ALPHA,
                                  WEIGHT_DECAY)} | SCHEDULE_LATEX


@dataclass(frozen=True)
class OptimizerSpec:
    """The [optimizer] table as given: the rule's name and every setting (each rule reads its
    own)."""

    name: str = "gd"
    beta: float = 0.9
    beta1: float = 0.9
    beta2: float = 0.999
    epsilon: float = 1e-8
    bias_correction: bool = True
    momentum: float = 0.0                # sgd, rmsprop (torch's names and defaults)
    dampening: float = 0.0
    nesterov: bool = False
    alpha: float = 0.99                  # rmsprop
    centered: bool = False
    amsgrad: bool = False
    weight_decay: float | None = None    # None: the optimizer's default (adamw 0.01, else 0)
    initial_state: tuple[tuple[str, float], ...] = ()   # ("m_w1", 0.0), ...
    check_gradients: bool = False
    h: float = 1e-6
    schedule: ScheduleSpec | None = None


# Unicode and LaTeX of the generic names, longest first (beta1 before beta).
_TEXT = (("learning_rate", "lr"), ("beta1", "β1"), ("beta2", "β2"), ("beta", "β"), ("epsilon", "ε"),
         ("m_hat", "m̂"), ("s_hat", "ŝ"), ("momentum", "μ"), ("dampening", "d"), ("alpha", "α"),
         ("weight_decay", "λ"), ("denominator", "D"))
_LATEX = (("learning_rate", r"\mathit{lr}"), ("beta1", r"\beta_{1}"), ("beta2", r"\beta_{2}"),
          ("beta", r"\beta"), ("epsilon", r"\varepsilon"), ("m_hat", r"\hat{m}"), ("s_hat", r"\hat{s}"),
          ("momentum", r"\mu"), ("dampening", "d"), ("alpha", r"\alpha"), ("weight_decay", r"\lambda"),
          ("denominator", "D"))


def _names(text: str, table) -> str:
    for name, shown in table:
        text = re.sub(rf"\b{name}\b", lambda _, s=shown: s, text)
    return text


def _roots(text: str, before: str, after: str) -> str:
    """Every sqrt(…) as before…after, its parentheses matched (sqrt(s - m ** 2) too)."""
    while "sqrt(" in text:
        start = text.index("sqrt(")
        depth, k = 0, start + 4
        for k in range(start + 4, len(text)):
            depth += {"(": 1, ")": -1}.get(text[k], 0)
            if depth == 0:
                break
        text = text[:start] + before + text[start + 5:k] + after + text[k + 1:]
    return text


def to_text(expression: str) -> str:
    """A rule's right side as the sheet's text writes it: w − lr·v, √s, g², β1ᵗ."""
    text = Expression.parse(expression).text
    text = re.sub(r"cur\((\w+)\)", r"\1", text)
    text = _names(re.sub(r"sqrt\((\w+)\)", r"√\1", text), _TEXT)
    text = _roots(text, "√(", ")")
    text = text.replace(" ** iteration", "ᵗ").replace(" ** 2", "²")
    return text.replace(" * ", "·").replace(" - ", " − ")


def to_latex(expression: str) -> str:
    text = Expression.parse(expression).text
    text = re.sub(r"cur\((\w+)\)", r"\1", text)
    text = _names(_roots(text, "\\sqrt{", "}"), _LATEX)
    text = text.replace(" ** iteration", "^{t}").replace(" ** 2", "^{2}")
    return text.replace(" * ", r" \cdot ")


@dataclass(frozen=True)
class Optimizer:
    name: ClassVar[str]
    hypers: ClassVar[tuple[Hyper, ...]] = ()
    states: ClassVar[tuple[str, ...]] = ()

    spec: OptimizerSpec = field(default_factory=OptimizerSpec)

    # --- what a rule declares ----------------------------------------------------------------

    def rules(self) -> list[tuple[str, str]]:
        raise NotImplementedError

    def definitions(self) -> list[tuple[str, str]]:
        return []

    def definitions_note(self) -> str:
        return ""

    # --- derived -------------------------------------------------------------------------------

    @property
    def eps(self) -> str:
        """The ε term of a denominator; with ε = 0 it is left out of the formulas."""
        return " + epsilon" if self.spec.epsilon != 0 else ""

    decoupled: ClassVar[bool] = False   # weight decay on w itself (adamw), not added to g

    @property
    def weight_decay(self) -> float:
        return self.spec.weight_decay or 0.0

    @property
    def schedule(self):
        return schedule(self.spec.schedule)

    @property
    def hyper(self) -> tuple[str, ...]:
        """The parameter cells this optimizer's formulas read, besides the learning rate: its
        own, the weight decay λ, the schedule's and h."""
        used = tuple(h.key for h in self.hypers if h.key != "epsilon" or self.spec.epsilon != 0)
        used += ("weight_decay",) if self.weight_decay else ()
        used += self.schedule.keys if self.schedule is not None else ()
        return used + (("h",) if self.spec.check_gradients else ())

    def value(self, key: str) -> float:
        if key == "weight_decay":
            return float(self.weight_decay)
        if self.schedule is not None and key in self.schedule.keys:
            return self.schedule.value(key)
        return float(getattr(self.spec, key))

    def update(self, p: str, g: str, rate: str = "learning_rate") -> dict[str, Expression]:
        """The next values of parameter `p`'s states and of `p` itself, given its gradient `g`
        (with L2 weight decay, g + λ·w) and the rate's name `rate` (a schedule's lr column), with
        the definitions written in."""
        if self.weight_decay and not self.decoupled:
            g = f"({g} + weight_decay * {p})"
        names = {"w": p, "g": g, "learning_rate": rate} | {s: f"{s}_{p}" for s in self.states}
        defined = {name: f"({Expression.parse(text).substitute(names).text})"
                   for name, text in self.definitions()}
        out = {}
        for target, rule in self.rules():
            expression = Expression.parse(rule).substitute(names)
            if defined:
                expression = expression.substitute(defined)
            out[names[target]] = expression
        return out

    def text_lines(self) -> list[str]:
        lines = [self.schedule.line()] if self.schedule is not None else []
        if self.weight_decay and not self.decoupled:
            lines.append("g ← g + λ·w (L2 weight decay)")
        lines += [f"{target} ← {to_text(rule)}" for target, rule in self.rules()]
        if self.definitions():
            defs = ", ".join(f"{to_text(n)} = {to_text(t)}" for n, t in self.definitions())
            lines.append(defs + self.definitions_note())
        return lines

    def latex_lines(self) -> list[str]:
        lines = [r"\text{" + self.schedule.line().replace("_", r"\_") + "}"] if self.schedule else []
        if self.weight_decay and not self.decoupled:
            lines.append(r"g \leftarrow g + \lambda \cdot w")
        lines += [rf"{target} \leftarrow {to_latex(rule)}" for target, rule in self.rules()]
        if self.definitions():
            lines.append(r", \quad ".join(f"{to_latex(n)} = {to_latex(t)}" for n, t in self.definitions()))
        return lines

    def describe(self) -> str:
        """'momentum (β = 0.9)' for the settings block."""
        parts = [f"{h.label} = {self.value(h.key):g}" for h in self.hypers] + self.describe_more()
        if self.weight_decay:
            parts.append(f"weight decay λ = {self.weight_decay:g}")
        text = f"{self.name} ({', '.join(parts)})" if parts else self.name
        return text + (f", schedule {self.schedule.describe()}" if self.schedule is not None else "")

    def describe_more(self) -> list[str]:
        return []

    def check(self, parameters: tuple[str, ...]) -> None:
        """ConfigError naming the [optimizer] key of the first unusable setting."""
        opt = self.spec
        for key in ("beta", "beta1", "beta2", "alpha"):
            value = getattr(opt, key)
            if not 0 <= value < 1:
                raise ConfigError(f"optimizer.{key}: must be in [0, 1), got {value:g}")
        for key in ("epsilon", "momentum", "dampening", "weight_decay"):
            value = getattr(opt, key)
            if value is not None and value < 0:
                raise ConfigError(f"optimizer.{key}: must be 0 or more, got {value:g}")
        if opt.schedule is not None:
            if opt.schedule.name not in SCHEDULES:
                raise ConfigError(f"schedule.name: unknown schedule {opt.schedule.name!r}; choose "
                                  f"from {', '.join(SCHEDULES)}")
            if self.schedule is not None:
                self.schedule.check()
        if not opt.h > 0:
            raise ConfigError(f"optimizer.h: must be more than 0, got {opt.h:g}")
        for name, value in opt.initial_state:
            state, parameter = name.split("_", 1)
            if state not in self.states:
                have = ", ".join(self.states) or "none"
                raise ConfigError(f"optimizer.initial_state.{state}: {self.name} keeps no state "
                                  f"{state!r} (its state: {have})")
            if parameter not in parameters:
                raise ConfigError(f"optimizer.initial_state.{state}.{parameter}: no trained parameter "
                                  f"{parameter!r} (they are {', '.join(parameters)})")
            if state == "s" and value < 0:  # its square root is taken
                raise ConfigError(f"optimizer.initial_state.s.{parameter}: must be 0 or more (s is a mean "
                                  f"of squared gradients), got {value:g}")

    def initial_values(self, parameters: tuple[str, ...]) -> dict[str, float]:
        """Each state's start (0 unless given) and each hyper-parameter cell's value."""
        initial = dict(self.spec.initial_state)
        values = {f"{s}_{p}": float(initial.get(f"{s}_{p}", 0.0)) for s in self.states for p in parameters}
        return values | {key: self.value(key) for key in self.hyper}


def optimizer(spec: OptimizerSpec) -> Optimizer:
    if spec.name not in OPTIMIZERS:
        raise ConfigError(f"optimizer.name: unknown optimizer {spec.name!r}; choose from "
                          f"{', '.join(OPTIMIZERS)}")
    return OPTIMIZERS[spec.name](spec)
