"""Learning-rate schedules: one class each, registered by name (`SCHEDULES`).

A schedule is the row's learning rate as a formula of the step t = iteration − 1 (torch's
``last_epoch`` when the step is taken), the base rate (the sheet's learning_rate) and its own
labelled cells, in an ``lr`` column; the optimizer's rules then read ``lr`` for the rate. The
classes follow ``torch.optim.lr_scheduler`` (StepLR, ExponentialLR, CosineAnnealingLR, LinearLR,
OneCycleLR with cycle_momentum=False), in their closed forms.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sheetgen.errors import ConfigError

PI = repr(math.pi)
# Parameter cells: their labels beside the learning rate.
LABELS = {"step_size": "step_size", "gamma": "γ", "T_max": "T_max", "eta_min": "η_min",
          "start_factor": "start_factor", "end_factor": "end_factor", "total_iters": "total_iters",
          "total_steps": "total_steps", "pct_start": "pct_start", "div_factor": "div_factor",
          "final_div_factor": "final_div_factor"}
LATEX = {"gamma": r"\gamma", "eta_min": r"\eta_{\min}"}


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
