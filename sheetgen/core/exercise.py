"""A class exercise (the config's [class] table): how each student's variant is drawn, which
columns the student fills in, and how a submission is scored."""

from __future__ import annotations

from dataclasses import dataclass

# The names a `blank` list may give besides quantities: groups of columns, by stage.
BLANK_GROUPS = ("forward", "errors", "gradients", "output-layer gradients", "hidden-layer gradients",
                "updates")
MAX_STUDENTS = 10_000      # a class bigger than this is a typo (or a count of 10^9)
MAX_DRAWS = 100_000


@dataclass(frozen=True)
class ExerciseSpec:
    seed: int = 1                                   # with the student's id, fixes the variant
    blank: tuple[str, ...] = ("gradients", "updates")
    self_check: bool = False
    learning_rate: float | None = None              # None: the config's first learning rate
    marks: tuple[tuple[str, float], ...] = ()       # column or group -> marks (default 1 each)
    inputs: tuple[float, float] = (0.1, 1.0)        # the ranges the numbers are drawn from
    targets: tuple[float, float] = (0.05, 0.95)
    weights: tuple[float, float] = (-1.0, 1.0)
    biases: tuple[float, float] = (-1.0, 1.0)
    decimals: int = 2                               # drawn numbers are rounded to this
    slip_rows: int = 3                              # a slip must show within these iterations
    min_change: float = 1e-3                        # ... by at least this, relative
    max_draws: int = 1_000                          # per student, before giving up


__all__ = ["BLANK_GROUPS", "MAX_DRAWS", "MAX_STUDENTS", "ExerciseSpec"]
