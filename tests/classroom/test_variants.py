"""Variants: reproducible from the seed and the id, and kept only when every catalogued slip
moves a graded cell by 1e-3 relative within the first iterations (checked here by running
each slipped network in full, not by the generator's shortcut)."""

from __future__ import annotations

import numpy as np
import pytest

from sheetgen.check.audit.slips import CATALOGUE
from sheetgen.classroom.variants import (
    STEP_BOUNDED,
    STEP_CHANGE,
    STRICT_DRAWS,
    SlipCheck,
    blank_columns,
    draw,
    make_variant,
    slips_of,
    variant_seed,
)
from sheetgen.config import from_mapping
from sheetgen.core import model
from sheetgen.core.exercise import ExerciseSpec
from sheetgen.errors import ConfigError, ModelError

SPEC = ExerciseSpec(seed=5)


@pytest.fixture(scope="module")
def reference():
    return from_mapping({"learning_rates": [0.5], "iterations": 6}).training()


def moved(training, slip, values, blanks, rows=3, rate=0.5, change=1e-3) -> bool:
    """Whether the slip moves a graded cell by `change` relative: both networks run in full."""
    setup = training.starting_from(training.setup.values() | values).setup
    key = model.trace(training.network, setup, rate, rows)
    try:
        wrong = model.trace(slip.net, setup, rate, rows)
    except ModelError:
        return True
    for q in blanks:
        first = 1 if training.network.quantity(q).is_state else 0
        k = key.names.index(q)
        a, b = wrong.values[first:, k], key.values[first:, k]
        if (np.abs(a - b) >= change * np.abs(b)).any():
            return True
    return False


def test_the_catalogue_covers_every_class(reference):
    blanks = blank_columns(reference, ["gradients", "updates"])
    kinds = {s.kind for s in slips_of(reference, blanks)}
    assert kinds == set(CATALOGUE)
    # Substitutions stay within a layer: w1's update never reads w5's gradient.
    assert not any(s.quantity == "w1" and "dE_dw5" in s.now for s in slips_of(reference, blanks))


def test_blank_groups_and_names(reference):
    assert blank_columns(reference, ["updates"]) == tuple(f"w{k}" for k in range(1, 9))
    assert blank_columns(reference, ["output-layer gradients"]) == ("dE_dw5", "dE_dw6", "dE_dw7", "dE_dw8")
    assert blank_columns(reference, ["a_o2", "dE_dw1"]) == ("a_o2", "dE_dw1")
    with pytest.raises(ConfigError, match="did you mean 'a_o2'"):
        blank_columns(reference, ["a_o3"])


@pytest.mark.slow
def test_a_variant_is_reproducible_and_shows_every_slip(reference):
    blanks = blank_columns(reference, SPEC.blank)
    check = SlipCheck(reference, blanks, SPEC, 0.5)
    first = make_variant(reference, SPEC, "ana", check)
    again = make_variant(reference, SPEC, "ana", SlipCheck(reference, blanks, SPEC, 0.5))
    other = make_variant(reference, SPEC, "bo", check)
    assert first == again and first.values != other.values
    assert first.seed == variant_seed(5, "ana") != variant_seed(6, "ana")
    assert all(moved(reference, s, first.values, blanks) for s in slips_of(reference, blanks))
    for variant in (first, other):
        for name, value in variant.values.items():
            low, high = (SPEC.inputs if name.startswith("i") else SPEC.targets if name.startswith("t")
                         else SPEC.weights)
            assert low <= value <= high and round(value, 2) == value


@pytest.mark.slow
def test_refused_draws_hide_a_slip(reference):
    """The generator's shortcut agrees with the full runs on draws it refuses and keeps."""
    blanks = blank_columns(reference, SPEC.blank)
    check = SlipCheck(reference, blanks, SPEC, 0.5)
    rng = np.random.default_rng(3)
    slips = slips_of(reference, blanks)
    for _ in range(6):
        values = draw(reference, SPEC, rng)
        ok, _ = check.visible(values)
        assert ok == all(moved(reference, s, values, blanks) for s in slips)


def test_equal_targets_hide_t1_for_t2(reference):
    """ERA's t1 = t2 = 0.5: writing t2 for t1 changes nothing, so such numbers are refused."""
    blanks = blank_columns(reference, SPEC.blank)
    check = SlipCheck(reference, blanks, SPEC, 0.5)
    values = dict(reference.setup.values(), t1=0.5, t2=0.5)
    ok, why = check.visible(values)
    assert not ok
    swap = next(s for s in slips_of(reference, blanks) if s.kind == "substitution"
                and "t1" in s.was and "t2" in s.now and "t1" not in s.now)
    assert not moved(reference, swap, values, blanks)


def test_ranges_that_cannot_show_a_slip_end_in_one_line(reference):
    narrow = ExerciseSpec(targets=(0.5, 0.5 + 1e-9), decimals=2, max_draws=5)
    blanks = blank_columns(reference, narrow.blank)
    with pytest.raises(ModelError, match="no draw in 5 made every slip show"):
        make_variant(reference, narrow, "ana", SlipCheck(reference, blanks, narrow, 0.5))


def test_a_dense_network_config_gets_variants():
    deep = from_mapping({"learning_rates": [0.5], "iterations": 4,
                         "network": {"layers": [2, 3, 2], "activations": ["tanh", "sigmoid"]}}).training()
    spec = ExerciseSpec(seed=1, blank=("output-layer gradients",))
    blanks = blank_columns(deep, spec.blank)
    variant = make_variant(deep, spec, "x", SlipCheck(deep, blanks, spec, 0.5))
    assert all(moved(deep, s, variant.values, blanks) for s in slips_of(deep, blanks))


@pytest.mark.slow
def test_at_a_small_rate_step_bounded_slips_show_in_the_seventh_digit():
    """At 0.1 a gradient reading a_h2 from the row above moves it by one step's change only, under
    1e-3 for any draw: after STRICT_DRAWS draws those slips need STEP_CHANGE, the others still 1e-3."""
    slow = from_mapping({"learning_rates": [0.1], "iterations": 6}).training()
    spec = ExerciseSpec(seed=1, blank=("gradients",))
    blanks = blank_columns(slow, spec.blank)
    variant = make_variant(slow, spec, "s002", SlipCheck(slow, blanks, spec, 0.1))
    assert variant.draws > STRICT_DRAWS and variant.step_change == STEP_CHANGE
    slips = slips_of(slow, blanks)
    bounded = [s for s in slips if s.kind in STEP_BOUNDED]
    assert bounded and all(moved(slow, s, variant.values, blanks, rate=0.1, change=STEP_CHANGE)
                           for s in bounded)
    assert not all(moved(slow, s, variant.values, blanks, rate=0.1) for s in bounded)
    assert all(moved(slow, s, variant.values, blanks, rate=0.1) for s in slips
               if s.kind not in STEP_BOUNDED)


def test_where_every_slip_can_show_by_1e_3_the_strict_rule_stays(reference):
    spec = ExerciseSpec(seed=1, blank=("gradients",))
    blanks = blank_columns(reference, spec.blank)
    variant = make_variant(reference, spec, "s002", SlipCheck(reference, blanks, spec, 0.5))
    assert variant.draws <= STRICT_DRAWS and variant.step_change == 0.0
