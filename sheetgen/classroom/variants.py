"""Each student's variant: numbers drawn within the exercise's ranges, kept only when every
catalogued slip shows in the student's columns.

The variant is the exercise's `Training` started from other values (`Training.starting_from`):
the same graph, so no maths is written per network here. Its seed comes from the exercise's
seed and the student's id, so the same roster gives the same variants on any machine.

A slip "shows" when it moves at least one graded cell (a blank column's cell) by `min_change`
relative within the first `slip_rows` iterations. A name read from the row above, or a weight
read already updated, differs from the right one by one training step only, which at small
learning rates stays under `min_change` for any numbers: when STRICT_DRAWS draws cannot show
those two kinds by `min_change`, later draws need them to show by STEP_CHANGE (the 7th of the 10
significant digits a sheet shows, a thousand times the self-check's tolerance), and the variant
says so. Until its first differing row, a sheet with
the slip equals the key; so where the slipped equation, evaluated on the key's own row values,
first differs from the key by that much, the slipped sheet differs there by exactly that. When
its first difference is smaller, the slipped sheet is run in full to see whether it grows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from sheetgen.check.audit.diagnose import stage
from sheetgen.check.audit.slips import Slip, catalogue
from sheetgen.core import model
from sheetgen.core.exercise import BLANK_GROUPS, ExerciseSpec
from sheetgen.core.training import Training
from sheetgen.errors import ConfigError, ModelError

# Relative differences below this are the rounding of two evaluation orders, not a slip.
SAME = 1e-12
# The slips that one training step bounds, what they must change after STRICT_DRAWS draws.
STEP_BOUNDED = ("other row", "sequential update")
STEP_CHANGE = 1e-6
STRICT_DRAWS = 200


@dataclass(frozen=True)
class Variant:
    student: str
    seed: int
    draws: int                       # numbers drawn until every slip showed
    values: dict[str, float]         # the drawn start values (inputs, targets, weights, biases)
    step_change: float = 0.0         # what step-bounded slips change at least (0: min_change)


def check_supported(training: Training) -> None:
    """ConfigError for an exercise `sheetgen class` cannot vary: only dense networks on one
    sample (the reference 2-2-2 and any dense [network])."""
    spec = training.spec
    if spec.images or spec.unrolled:
        kind = "convolutional" if spec.images else "recurrent"
        raise ConfigError(f"class: {kind} networks are not supported (dense networks on one "
                          "sample only: the reference 2-2-2 or a dense [network] table)")
    if training.data is not None:
        raise ConfigError("class: exercises on a data set ([data] or [optimizer]) are not supported; "
                          "a variant draws the one sample's inputs and targets (leave [data] out)")
    if training.reference_errata:
        raise ConfigError("class: reference_errata makes the key wrong on purpose; leave it out")


def blank_columns(training: Training, names: Sequence[str]) -> tuple[str, ...]:
    """The quantities a `blank` list names (groups: forward, errors, gradients, output-layer
    gradients, hidden-layer gradients, updates), in table order; ConfigError for a name that is
    neither a group nor a column the student can write."""
    net = training.network
    writable = [q.name for q in net.quantities if q.name != "iteration" and
                not (q.is_state and (q.next is None or q.next.text.strip() == q.name))]
    chosen: set[str] = set()
    for name in names:
        if name in BLANK_GROUPS:
            found = {q for q in writable if _group(training, q) == name or
                     (name == "gradients" and _group(training, q).endswith("gradients"))}
            if not found:
                raise ConfigError(f"class.blank: the network has no {name} columns")
            chosen |= found
        elif name in writable:
            chosen.add(name)
        elif name in net.names:
            raise ConfigError(f"class.blank: {name} is given (an input, target or count), not "
                              "computed: blank a computed column or a group")
        else:
            import difflib

            close = difflib.get_close_matches(name, list(BLANK_GROUPS) + writable, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"class.blank: {name!r} is neither a column of the network nor one "
                              f"of {', '.join(BLANK_GROUPS)}{hint}")
    return tuple(q for q in net.names if q in chosen)


def _group(training: Training, name: str) -> str:
    return stage(training.network, name)


def layers_of(training: Training) -> dict[str, int]:
    """Weights, biases and their gradients -> their layer (substitutions stay within one)."""
    spec = training.spec
    out: dict[str, int] = {}
    for layer in range(1, len(spec.layers)):
        for name in [w for row in spec.weights(layer) for w in row] + list(spec.biases_of(layer)):
            out[name] = out["dE_d" + name] = layer
    return out


def slips_of(training: Training, blanks: Sequence[str]) -> list[Slip]:
    """The catalogue a variant must make visible: every slip of every blank column."""
    return catalogue(training.network, blanks, layers_of(training))


def variant_seed(exercise_seed: int, student: str) -> int:
    digest = hashlib.sha256(f"{exercise_seed}\0{student}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def _ranges(training: Training, spec: ExerciseSpec) -> dict[str, tuple[float, float]]:
    s = training.spec
    out = {}
    for names, bounds in ((s.inputs, spec.inputs), (s.targets, spec.targets),
                          (s.weight_names, spec.weights), (s.bias_names, spec.biases)):
        for name in names:
            out[name] = bounds
    return out


def check_ranges(training: Training, spec: ExerciseSpec) -> None:
    if training.spec.loss in ("cross_entropy", "binary_cross_entropy") and \
            not 0 <= spec.targets[0] < spec.targets[1] <= 1:
        raise ConfigError(f"class.targets: {training.spec.loss} needs targets in [0, 1], got "
                          f"[{spec.targets[0]:g}, {spec.targets[1]:g}]")


def draw(training: Training, spec: ExerciseSpec, rng: np.random.Generator) -> dict[str, float]:
    """One draw of the start values within the ranges, rounded to `spec.decimals`."""
    values = {}
    for name, (low, high) in _ranges(training, spec).items():
        values[name] = round(float(rng.uniform(low, high)), spec.decimals)
    s = training.spec
    if s.loss == "cross_entropy" and s.activations[-1] == "softmax":  # targets summing to 1
        total = sum(values[t] for t in s.targets) or 1.0
        for t in s.targets[:-1]:
            values[t] = round(values[t] / total, spec.decimals)
        values[s.targets[-1]] = round(1 - sum(values[t] for t in s.targets[:-1]), 12)
    return values


class SlipCheck:
    """Whether a variant's numbers make every slip of a catalogue show."""

    def __init__(self, training: Training, blanks: Sequence[str], spec: ExerciseSpec,
                 learning_rate: float):
        self.training = training
        self.net = training.network
        self.blanks = tuple(blanks)
        self.slips = slips_of(training, blanks)
        self.rows = spec.slip_rows
        self.min_change = spec.min_change
        self.rate = learning_rate
        self.first = {q: 1 if self.net.quantity(q).is_state else 0 for q in blanks}
        # Per slip: the column, its slipped equation, and whether it is an update.
        self._equations = {}
        for slip in self.slips:
            q = slip.net.quantity(slip.quantity)
            self._equations[id(slip)] = (q.next if q.is_state else q.formula, q.is_state)

    def visible(self, values: Mapping[str, float], step_change: float | None = None) -> tuple[bool, str]:
        """(True, "") or (False, the first slip that does not show, in words). `step_change`:
        what the STEP_BOUNDED slips must change, when not `min_change`."""
        setup = self.training.starting_from(dict(values)).setup
        try:
            key = model.trace(self.net, setup, self.rate, self.rows)
        except ModelError as exc:
            return False, f"the numbers leave floating point ({exc})"
        cols = dict(zip(key.names, key.values.T, strict=True))
        params = model.parameter_values(self.net, setup, self.rate)
        # Each row's own values and the row above's, for a formula (base 0) and an update (-1).
        gap = np.full((2, len(key.names)), np.nan)
        up1 = np.vstack([gap[:1], key.values[:-1]])
        up2 = np.vstack([gap, key.values[:-2]])[:len(key.values)]
        columns = {0: (cols | params, dict(zip(key.names, up1.T, strict=True)) | params),
                   -1: (dict(zip(key.names, up1.T, strict=True)) | params,
                        dict(zip(key.names, up2.T, strict=True)) | params)}
        for k, slip in enumerate(self.slips):
            needed = step_change if step_change and slip.kind in STEP_BOUNDED else self.min_change
            if not self._shows(slip, columns, cols, setup, needed):
                # Tried first next time: a draw is mostly refused by the slip that refused the last
                # (the order changes the time taken, never which draw is kept).
                self.slips.insert(0, self.slips.pop(k))
                return False, slip.words
        return True, ""

    def _shows(self, slip: Slip, columns, cols, setup, needed: float) -> bool:
        expression, is_update = self._equations[id(slip)]
        here, above = columns[-1 if is_update else 0]
        values = expression.evaluate_array(here, above)
        true = cols[slip.quantity]
        with np.errstate(all="ignore"):
            change = np.abs(values - true) / np.maximum(np.abs(true), 1e-300)
        differs = np.isfinite(change) & (change > SAME)
        differs[:self.first[slip.quantity]] = False
        if not differs.any():
            return False
        if change[int(np.argmax(differs))] >= needed:
            return True
        # A small first difference: does it grow within the rows?
        try:
            slipped = model.trace(slip.net, setup, self.rate, self.rows)
        except ModelError:
            return True  # the slip blows up: it shows
        for name in self.blanks:
            k = slipped.names.index(name)
            a, b = slipped.values[self.first[name]:, k], cols[name][self.first[name]:]
            with np.errstate(all="ignore"):
                if (np.abs(a - b) >= needed * np.abs(b)).any():
                    return True
        return False


def make_variant(training: Training, spec: ExerciseSpec, student: str, check: SlipCheck) -> Variant:
    """The student's variant: draws from the student's seed until every slip shows; ModelError
    after `spec.max_draws` draws (the ranges cannot make some slip show)."""
    seed = variant_seed(spec.seed, student)
    rng = np.random.default_rng(seed)
    why = ""
    for k in range(1, spec.max_draws + 1):
        values = draw(training, spec, rng)
        step_change = STEP_CHANGE if k > STRICT_DRAWS and spec.min_change > STEP_CHANGE else None
        ok, why = check.visible(values, step_change)
        if ok:
            return Variant(student, seed, k, values, step_change or 0.0)
    raise ModelError(f"student {student!r}: no draw in {spec.max_draws:,} made every slip show "
                     f"(the last one hid: {why}); widen the [class] ranges or blank fewer columns")


__all__ = ["SlipCheck", "Variant", "blank_columns", "check_ranges", "check_supported", "draw",
           "layers_of", "make_variant", "slips_of", "variant_seed"]
