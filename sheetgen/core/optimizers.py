"""Optimizers and learning-rate schedules: one class each, registered by name.

An optimizer names the state it keeps per parameter and writes, as expressions in the maths' own
names, the next value of each state and of the parameter from the row's gradient ``g`` and rate
``lr``: those expressions become the model's Python, the cells' formulas, the text beside the
table and the report's LaTeX. The classes follow ``torch.optim`` (names, defaults, order of
operations); ``momentum`` and ``adam`` without bias correction keep the course forms.

    sgd       g ← g + λ·w (weight_decay λ)
              v ← μ·v + (1 − d)·g  (step 1: v ← g)          w ← w − lr·(g + μ·v) (nesterov)
                                                             w ← w − lr·v        (μ > 0)
    momentum  v ← β·v + (1 − β)·g                            w ← w − lr·v        (the average form)
    rmsprop   s ← α·s + (1 − α)·g²;  centered: m ← α·m + (1 − α)·g, D = √(s − m²) + ε, else √s + ε
              momentum μ > 0: v ← μ·v + g/D, w ← w − lr·v;  else w ← w − lr·g/D
    adam      m ← β1·m + (1 − β1)·g;  s ← β2·s + (1 − β2)·g²;  amsgrad: ŝmax ← max(smax, s)
              w ← w − lr·m̂/(√ŝ + ε),  m̂ = m/(1 − β1ᵗ), ŝ = s/(1 − β2ᵗ) (unless no bias correction)
    adamw     adam with w ← w·(1 − lr·λ) first (decoupled weight decay)

A schedule is the row's learning rate as a formula of the step t = iteration − 1 (torch's
``last_epoch`` when the step is taken), the base rate (the sheet's learning_rate) and its own
labelled cells, in an ``lr`` column.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sheetgen.errors import ConfigError

PI = repr(math.pi)

# Parameter cells: their labels beside the learning rate.
LABELS = {"beta": "β", "beta1": "β1", "beta2": "β2", "epsilon": "ε", "h": "h (gradient check)",
          "momentum": "momentum μ", "dampening": "dampening", "alpha": "α",
          "weight_decay": "weight decay λ", "step_size": "step_size", "gamma": "γ",
          "T_max": "T_max", "eta_min": "η_min", "start_factor": "start_factor",
          "end_factor": "end_factor", "total_iters": "total_iters", "total_steps": "total_steps",
          "pct_start": "pct_start", "div_factor": "div_factor",
          "final_div_factor": "final_div_factor"}


class Optimizer:
    """One optimizer: `spec` is the config's OptimizerSpec (its hyper-parameter values)."""

    name = ""
    torch = ""                          # the torch.optim class it follows ("" for a course form)
    keys: tuple[str, ...] = ()          # the [optimizer] keys it reads
    registry: dict[str, type[Optimizer]] = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        Optimizer.registry[cls.name] = cls

    def __init__(self, spec) -> None:
        self.spec = spec

    @property
    def weight_decay(self) -> float:
        return self.spec.weight_decay if self.spec.weight_decay is not None else 0.0

    def states(self) -> tuple[str, ...]:
        return ()

    def hyper(self) -> tuple[str, ...]:
        """The cells its formulas read besides the learning rate (ε only when not 0)."""
        used = [k for k in self.keys if k != "epsilon" or self.spec.epsilon != 0]
        return tuple(used) + (("weight_decay",) if self.weight_decay else ())

    def gradient(self, p: str, g: str) -> str:
        """The gradient the update uses: with L2 weight decay, g + λ·w."""
        return f"({g} + weight_decay * {p})" if self.weight_decay else g

    def nexts(self, p: str, g: str, lr: str) -> dict[str, str]:
        """The next value of each state of `p` and of `p` itself, states first."""
        raise NotImplementedError

    def lines(self) -> list[str]:
        """The update equations as text, for the sheet beside the table."""
        raise NotImplementedError

    def describe(self) -> str:
        parts = [f"{LABELS[k]} = {self.value(k):g}" for k in self.keys] + self.flags()
        if self.weight_decay:
            parts.append(f"weight decay λ = {self.weight_decay:g}")
        return f"{self.name} ({', '.join(parts)})" if parts else self.name

    def flags(self) -> list[str]:
        return []

    def value(self, key: str) -> float:
        return float(self.weight_decay if key == "weight_decay" else getattr(self.spec, key))

    def check(self) -> None:
        """ConfigError for a value torch would refuse."""

    def _eps(self) -> str:
        return " + epsilon" if self.spec.epsilon != 0 else ""

    def _decay_line(self) -> list[str]:
        return ["g ← g + λ·w (L2 weight decay)"] if self.weight_decay else []


class GD(Optimizer):
    name = "gd"
    torch = "SGD"

    def nexts(self, p, g, lr):
        return {p: f"{p} - {lr} * {self.gradient(p, g)}"}

    def lines(self):
        return self._decay_line() + ["w ← w − lr·g"]


class SGD(Optimizer):
    """torch.optim.SGD: its buffer stores the first step's gradient undamped."""

    name = "sgd"
    torch = "SGD"

    @property
    def keys(self):
        if not self.spec.momentum:
            return ()
        return ("momentum",) + (("dampening",) if self.spec.dampening else ())

    def states(self):
        return ("v",) if self.spec.momentum else ()

    def flags(self):
        return ["nesterov"] if self.spec.nesterov else []

    def check(self):
        if self.spec.nesterov and (self.spec.momentum <= 0 or self.spec.dampening != 0):
            raise ConfigError("optimizer.nesterov: needs momentum > 0 and dampening = 0 (as torch)")

    def nexts(self, p, g, lr):
        g = self.gradient(p, g)
        if not self.spec.momentum:
            return {p: f"{p} - {lr} * {g}"}
        v = f"v_{p}"
        out = {}
        if self.spec.dampening:
            out[v] = f"if_positive(iteration - 1, momentum * {v} + (1 - dampening) * {g}, {g})"
        else:
            out[v] = f"momentum * {v} + {g}"
        step = f"({g} + momentum * cur({v}))" if self.spec.nesterov else f"cur({v})"
        out[p] = f"{p} - {lr} * {step}"
        return out

    def lines(self):
        if not self.spec.momentum:
            return self._decay_line() + ["w ← w − lr·g"]
        first = "v ← μ·v + (1 − d)·g  (step 1: v ← g)" if self.spec.dampening else "v ← μ·v + g"
        last = "w ← w − lr·(g + μ·v)  (Nesterov)" if self.spec.nesterov else "w ← w − lr·v"
        return self._decay_line() + [first, last]


class Momentum(Optimizer):
    """The course form: an exponential average of the gradients (fast.ai's sheets)."""

    name = "momentum"
    keys = ("beta",)

    def states(self):
        return ("v",)

    def nexts(self, p, g, lr):
        v = f"v_{p}"
        return {v: f"beta * {v} + (1 - beta) * {self.gradient(p, g)}", p: f"{p} - {lr} * cur({v})"}

    def lines(self):
        return self._decay_line() + ["v ← β·v + (1 − β)·g", "w ← w − lr·v"]


class RMSprop(Optimizer):
    name = "rmsprop"
    torch = "RMSprop"

    @property
    def keys(self):
        return ("alpha", "epsilon") + (("momentum",) if self.spec.momentum else ())

    def states(self):
        return ("s",) + (("m",) if self.spec.centered else ()) + (("v",) if self.spec.momentum else ())

    def flags(self):
        return ["centered"] if self.spec.centered else []

    def nexts(self, p, g, lr):
        g = self.gradient(p, g)
        s, m, v = f"s_{p}", f"m_{p}", f"v_{p}"
        out = {s: f"alpha * {s} + (1 - alpha) * {g} ** 2"}
        if self.spec.centered:
            out[m] = f"alpha * {m} + (1 - alpha) * {g}"
            denominator = f"(sqrt(cur({s}) - cur({m}) ** 2){self._eps()})"
        else:
            denominator = f"(sqrt(cur({s})){self._eps()})"
        if self.spec.momentum:
            out[v] = f"momentum * {v} + {g} / {denominator}"
            out[p] = f"{p} - {lr} * cur({v})"
        else:
            out[p] = f"{p} - {lr} * {g} / {denominator}"
        return out

    def lines(self):
        eps = " + ε" if self.spec.epsilon != 0 else ""
        out = self._decay_line() + ["s ← α·s + (1 − α)·g²"]
        if self.spec.centered:
            out += ["m ← α·m + (1 − α)·g", f"D = √(s − m²){eps}"]
        else:
            out.append(f"D = √s{eps}")
        if self.spec.momentum:
            return out + ["v ← μ·v + g / D", "w ← w − lr·v"]
        return out + ["w ← w − lr·g / D"]


class Adam(Optimizer):
    name = "adam"
    torch = "Adam"
    keys = ("beta1", "beta2", "epsilon")
    decoupled = False

    def states(self):
        return ("m", "s") + (("smax",) if self.spec.amsgrad else ())

    def flags(self):
        return (["amsgrad"] if self.spec.amsgrad else []) + (
            [] if self.spec.bias_correction else ["no bias correction"])

    def nexts(self, p, g, lr):
        m, s, smax = f"m_{p}", f"s_{p}", f"smax_{p}"
        g = g if self.decoupled else self.gradient(p, g)
        out = {m: f"beta1 * {m} + (1 - beta1) * {g}", s: f"beta2 * {s} + (1 - beta2) * {g} ** 2"}
        second = s
        if self.spec.amsgrad:
            out[smax] = f"max({smax}, cur({s}))"
            second = smax
        if self.spec.bias_correction:
            m_hat = f"cur({m}) / (1 - beta1 ** iteration)"
            s_hat = f"cur({second}) / (1 - beta2 ** iteration)"
        else:
            m_hat, s_hat = f"cur({m})", f"cur({second})"
        start = f"{p} * (1 - {lr} * weight_decay)" if self.decoupled and self.weight_decay else p
        out[p] = f"{start} - {lr} * ({m_hat}) / (sqrt({s_hat}){self._eps()})"
        return out

    def lines(self):
        eps = " + ε" if self.spec.epsilon != 0 else ""
        out = [] if self.decoupled else self._decay_line()
        out += ["m ← β1·m + (1 − β1)·g", "s ← β2·s + (1 − β2)·g²"]
        s = "s"
        if self.spec.amsgrad:
            out.append("smax ← max(smax, s)")
            s = "smax"
        decay = "w·(1 − lr·λ)" if self.decoupled and self.weight_decay else "w"
        out.append(f"w ← {decay} − lr·m̂ / (√ŝ{eps})")
        out.append(f"m̂ = m / (1 − β1ᵗ), ŝ = {s} / (1 − β2ᵗ), t the step" if self.spec.bias_correction
                   else f"m̂ = m, ŝ = {s} (no bias correction)")
        return out


class AdamW(Adam):
    name = "adamw"
    torch = "AdamW"
    decoupled = True

    @property
    def weight_decay(self) -> float:
        return self.spec.weight_decay if self.spec.weight_decay is not None else 0.01


OPTIMIZERS = tuple(Optimizer.registry)


def optimizer(spec) -> Optimizer:
    return Optimizer.registry[spec.name](spec)


# --- learning-rate schedules ---------------------------------------------------------------------

@dataclass(frozen=True)
class ScheduleSpec:
    """The ``[schedule]`` table: torch.optim.lr_scheduler's arguments, by its names."""

    name: str = "constant"
    step_size: int = 1
    gamma: float = 0.1
    T_max: int = 10
    eta_min: float = 0.0
    start_factor: float = 1 / 3
    end_factor: float = 1.0
    total_iters: int = 5
    total_steps: int | None = None       # one_cycle needs it (as torch)
    pct_start: float = 0.3
    div_factor: float = 25.0
    final_div_factor: float = 1e4


class Schedule:
    name = ""
    torch = ""
    keys: tuple[str, ...] = ()
    registry: dict[str, type[Schedule]] = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        Schedule.registry[cls.name] = cls

    def __init__(self, spec: ScheduleSpec) -> None:
        self.spec = spec

    def value(self, key: str) -> float:
        return float(getattr(self.spec, key))

    def formula(self) -> str:
        """The row's rate from `iteration` (t = iteration − 1) and `learning_rate`."""
        raise NotImplementedError

    def line(self) -> str:
        raise NotImplementedError

    def describe(self) -> str:
        return f"{self.name} ({', '.join(f'{LABELS[k]} = {self.value(k):g}' for k in self.keys)})"

    def check(self) -> None:
        """ConfigError for a value torch would refuse."""


class StepLR(Schedule):
    name = "step"
    torch = "StepLR"
    keys = ("step_size", "gamma")

    def formula(self):
        t = "(iteration - 1)"
        return f"learning_rate * gamma ** (({t} - mod({t}, step_size)) / step_size)"

    def line(self):
        return "lr = learning_rate · γ^⌊t / step_size⌋, t = iteration − 1"

    def check(self):
        if self.spec.step_size < 1:
            raise ConfigError(f"schedule.step_size: must be at least 1, got {self.spec.step_size}")


class ExponentialLR(Schedule):
    name = "exponential"
    torch = "ExponentialLR"
    keys = ("gamma",)

    def formula(self):
        return "learning_rate * gamma ** (iteration - 1)"

    def line(self):
        return "lr = learning_rate · γ^t, t = iteration − 1"


class CosineLR(Schedule):
    name = "cosine"
    torch = "CosineAnnealingLR"
    keys = ("T_max", "eta_min")

    def formula(self):
        return f"eta_min + (learning_rate - eta_min) * (1 + cos({PI} * (iteration - 1) / T_max)) / 2"

    def line(self):
        return "lr = η_min + (learning_rate − η_min)·(1 + cos(π·t / T_max)) / 2, t = iteration − 1"

    def check(self):
        if self.spec.T_max < 1:
            raise ConfigError(f"schedule.T_max: must be at least 1, got {self.spec.T_max}")


class LinearWarmup(Schedule):
    name = "linear_warmup"
    torch = "LinearLR"
    keys = ("start_factor", "end_factor", "total_iters")

    def formula(self):
        t = "if_positive(iteration - 1 - total_iters, total_iters, iteration - 1)"   # min(t, T)
        return f"learning_rate * (start_factor + (end_factor - start_factor) * {t} / total_iters)"

    def line(self):
        return ("lr = learning_rate·(start_factor + (end_factor − start_factor)·min(t, total_iters)"
                " / total_iters), t = iteration − 1")

    def check(self):
        s = self.spec
        if not 0 < s.start_factor <= 1:
            raise ConfigError(f"schedule.start_factor: must be in (0, 1], got {s.start_factor:g}")
        if not 0 <= s.end_factor <= 1:
            raise ConfigError(f"schedule.end_factor: must be in [0, 1], got {s.end_factor:g}")
        if s.total_iters < 1:
            raise ConfigError(f"schedule.total_iters: must be at least 1, got {s.total_iters}")


class OneCycle(Schedule):
    """torch's OneCycleLR (two phases, cosine annealing) for the rate only: its
    cycle_momentum=False. The sheet's learning_rate is torch's max_lr."""

    name = "one_cycle"
    torch = "OneCycleLR"
    keys = ("total_steps", "pct_start", "div_factor", "final_div_factor")

    def formula(self):
        t = "(iteration - 1)"
        start = "learning_rate / div_factor"
        low = f"{start} / final_div_factor"
        end_up = "(pct_start * total_steps - 1)"
        up = f"learning_rate + ({start} - learning_rate) / 2 * (cos({PI} * {t} / {end_up}) + 1)"
        down_pct = f"({t} - {end_up}) / (total_steps - 1 - {end_up})"
        down = f"{low} + (learning_rate - {low}) / 2 * (cos({PI} * {down_pct}) + 1)"
        return f"if_positive({t} - {end_up}, {down}, {up})"

    def line(self):
        return ("lr: cosine from learning_rate / div_factor up to learning_rate over the first "
                "pct_start·total_steps − 1 steps, then down to that / final_div_factor at "
                "total_steps − 1")

    def check(self):
        s = self.spec
        if not 0 < s.pct_start < 1:
            raise ConfigError(f"schedule.pct_start: must be in (0, 1), got {s.pct_start:g}")
        if s.total_steps is None or s.total_steps < 2:
            raise ConfigError("schedule.total_steps: one_cycle needs total_steps, at least 2 and at "
                              "least the iterations (torch refuses a step past it)")
        steps = s.total_steps
        up = s.pct_start * steps - 1
        if not 0 < up < steps - 1:
            raise ConfigError("schedule.pct_start: pct_start · total_steps − 1 must fall between 0 "
                              f"and total_steps − 1, got {up:g}")
        if s.div_factor <= 0 or s.final_div_factor <= 0:
            raise ConfigError("schedule.div_factor: div_factor and final_div_factor must be more than 0")


SCHEDULES = ("constant", *Schedule.registry)


def schedule(spec: ScheduleSpec | None) -> Schedule | None:
    if spec is None or spec.name == "constant":
        return None
    return Schedule.registry[spec.name](spec)
