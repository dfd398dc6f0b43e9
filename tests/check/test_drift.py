"""verify's rule separating amplified last-bit drift from a wrong formula (sheetgen/check/drift.py).

The Gnumeric tests use the deep example, whose lr=1 sheet drifts past 1e-12 in Gnumeric."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sheetgen.check import verify
from sheetgen.check.drift import (
    CANCELLATION_RTOL,
    DRIFT_RTOL,
    condition_number,
    is_amplified_drift,
    is_cancellation,
    is_carried_cancellation,
    references,
    sensitivities,
)
from sheetgen.config import from_file
from sheetgen.generation import generate
from tests.check.test_verify import edit_cell

EXAMPLES = Path(__file__).resolve().parents[2] / "sheetgen" / "examples"


def test_references_read_both_dialects_ranges_and_other_sheets():
    assert references("='lr=0.1'!$W$66", "summary") == [("lr=0.1", 65, 22)]
    assert references('=IF(MATCH(MIN(D$5:D$6),D$5:D$6,0)=1,"best D9","")', "summary") == [
        ("summary", 4, 3), ("summary", 5, 3)] * 2          # a reference inside a text is none
    assert references("=INDEX(data!$A$3:$A$4,2)+EXP(-B17)*LOG10(C2)", "s") == [
        ("data", 2, 0), ("data", 3, 0), ("s", 16, 1), ("s", 1, 2)]
    assert references("of:=[$'lr=0.1'.$W$66]+[.A17]*LOG10([.B$3])", "s") == [
        ("lr=0.1", 65, 22), ("s", 16, 0), ("s", 2, 1)]
    assert references("of:=AVERAGE([$'it''s'.$W$3:.$W$4])", "s") == [("it's", 2, 22), ("it's", 3, 22)]


def test_drift_is_bounded_by_what_the_inputs_carry_in():
    inputs = [("s", 1, 1), ("s", 1, 2)]
    carried = {("s", 1, 2): 1e-11}
    assert is_amplified_drift(1.6e-11, inputs, lambda c: carried.get(c, 0.0), 2.0)
    assert is_amplified_drift(5e-10, inputs, lambda c: carried.get(c, 0.0), 10.0)   # magnified
    assert not is_amplified_drift(1e-11, inputs, lambda c: 0.0, 2.0)       # a wrong formula
    assert not is_amplified_drift(1e-11, [], lambda c: 1.0, 2.0)           # reads nothing
    # A cached value changed by 1e-9 where the inputs differ by an ulp (Gnumeric's long double).
    assert not is_amplified_drift(1e-9, inputs, lambda c: 2.2e-16, 1.0)
    assert not is_amplified_drift(DRIFT_RTOL * 2, inputs, lambda c: 1.0, None)


def test_condition_number_measures_cancellation():
    # t1 - a_o1 with both near 1.82, squared: Gnumeric's long double differs by 1.4e-12 here.
    values = {("s", 16, 3): -1.82, ("s", 16, 6): -1.8197766453211623, ("s", 16, 0): 0.15,
              ("s", 16, 1): 0.05, ("s", 2, 7): 1e-6, ("s", 16, 8): 0.5}
    cancelling = condition_number("of:=([.D17]-[.G17])^2", "s", values.get)
    assert 3e4 < cancelling < 4e4                        # 2 * 1.82 / 2.2e-4
    assert condition_number("=A17*B17", "s", values.get) == pytest.approx(2, rel=1e-6)
    # A finite difference over h: (E(w + h) - E(w)) / h magnifies by about E / (E(w+h) - E(w)).
    e_h = 0.5 + 1e-6 * 0.38
    values[("s", 16, 9)] = e_h
    assert condition_number("=(J17-I17)/$H$3", "s", values.get) > 1e6
    # A long sum of products that cancels (an image network's): SUMPRODUCT over ranges.
    values |= {("s", 16, 10): 1.0, ("s", 16, 11): -0.999999, ("s", 16, 12): 3.0, ("s", 16, 13): 3.0}
    assert condition_number("of:=SUMPRODUCT([.K17:.L17];[.M17:.N17])", "s", values.get) > 1e5
    # Not measured: lookups, texts, a cell without a number.
    assert condition_number("=INDEX(data!$A$3:$A$4,2)", "s", values.get) is None
    assert condition_number('=IF(A17>0,"best","")', "s", values.get) is None
    assert condition_number("=A17*Z99", "s", values.get) is None
    assert is_cancellation(1.4e-12, cancelling, 1e-12)
    assert not is_cancellation(1e-11, 2.0, 1e-12)         # a 1e-11 mistake in a plain product
    assert not is_cancellation(2 * DRIFT_RTOL, 1e12, 1e-12)
    assert not is_cancellation(1e-13, None, 1e-12)


# Row 60 of softmax-per-layer's lr=0.1 sheet: δ_o1..3 (AP..AR) and E∂b2 = AP60+AQ60+AR60, which is
# exactly 0 in the maths. Our float64 sum of the stored δ is 9.02e-17; LibreOffice's is 0 (its
# addition rounds to 0 where the operands agree to 2^-48); Gnumeric's δ differ from ours in their
# last bits (long double), so its sum is 1e-20 or so.
DELTAS = {("s", 59, 41): -0.11275528271449253, ("s", 59, 42): 0.057517799520701275,
          ("s", 59, 43): 0.05523748319379135}
SUM = "=AP60+AQ60+AR60"
STORED_SUM = 9.020562075079397e-17


def test_sensitivities_are_each_inputs_slope():
    base, inputs = sensitivities(SUM, "s", DELTAS.get)
    assert base == STORED_SUM
    assert [cell for cell, _, _ in inputs] == list(DELTAS)
    assert [slope for _, _, slope in inputs] == [pytest.approx(1, rel=1e-8)] * 3
    _, [(_, _, da), (_, _, db)] = sensitivities("of:=[.AP60]*[.AQ60]", "s", DELTAS.get)
    assert (da, db) == (pytest.approx(0.057517799520701275, rel=1e-6), pytest.approx(0.1127552827, rel=1e-6))
    assert sensitivities("=AP60*Z99", "s", DELTAS.get) is None


def test_a_sum_that_cancels_carries_its_terms_differences_and_no_more():
    def engine(shift: dict | None = None):
        return lambda cell: DELTAS[cell] + (shift or {}).get(cell, 0.0)

    # LibreOffice: the same terms, the sum rounded to 0 ("relative 1", 4 ulps of 0.11 is 5.6e-17).
    assert is_carried_cancellation(STORED_SUM, SUM, "s", DELTAS.get, engine())
    # Gnumeric: each term a few ulps off, the sum 1e-20 where ours is 9e-17.
    gnumeric = engine({("s", 59, 41): 1.4e-17, ("s", 59, 42): -6.9e-18})
    assert is_carried_cancellation(STORED_SUM - 1e-20, SUM, "s", DELTAS.get, gnumeric)
    # A wrong formula or value still fails: 1e-12 off, where the terms carry 2e-17 and the sum's
    # own rounding is 2^-44 of Σ |δ| = 1.3e-14.
    assert not is_carried_cancellation(1e-12, SUM, "s", DELTAS.get, gnumeric)
    assert not is_carried_cancellation(CANCELLATION_RTOL * 0.2255 * 1.01, SUM, "s", DELTAS.get, engine())
    # Drift carried in is bounded by what the terms' differences account for, never beyond
    # DRIFT_RTOL of the terms.
    off = engine({("s", 59, 41): 1e-9})
    assert is_carried_cancellation(5e-9, SUM, "s", DELTAS.get, off)
    assert not is_carried_cancellation(1e-7, SUM, "s", DELTAS.get, off)
    far = engine({("s", 59, 41): 0.1})
    assert not is_carried_cancellation(0.5 * DRIFT_RTOL, SUM, "s", DELTAS.get, far)
    # An input that is an error or no number in the engine, or a formula that cannot be measured.
    assert not is_carried_cancellation(STORED_SUM, SUM, "s", DELTAS.get, lambda cell: None)
    assert not is_carried_cancellation(STORED_SUM, "=INDEX(AP60:AR60,1)", "s", DELTAS.get, engine())


@pytest.fixture(scope="module")
def deep_books(tmp_path_factory) -> dict[str, Path]:
    if shutil.which("ssconvert") is None:
        pytest.skip("Gnumeric is not installed (Debian/Ubuntu: apt-get install gnumeric)")
    from dataclasses import replace

    config = from_file(EXAMPLES / "deep.toml")
    out = tmp_path_factory.mktemp("deep")
    paths = generate(replace(config, output_dir=out, plots=False, learning_rates=(1.0,)).training())
    return {p.suffix[1:]: p for p in paths}


def first_table_row(config) -> tuple[int, str]:
    """The deep sheet's first table row (1-based) and the letter of its h1_1 column, whose first
    row reads typed values only (w1, i1, w2, i2)."""
    from sheetgen.core.cells import column_letter
    from sheetgen.layout.book import build_sheet

    sheet = build_sheet(config.training(), 1.0)
    return sheet.first_row + 1, column_letter(next(c.index for c in sheet.columns
                                                   if c.quantity == "h1_1"))


@pytest.mark.gnumeric
@pytest.mark.parametrize("fmt", ["xlsx", "ods"])
def test_gnumeric_drift_passes_where_inputs_already_differ(deep_books, fmt):
    report = verify.verify_file(deep_books[fmt], engine="gnumeric")
    sheet = next(s for s in report.sheets if s.name == "lr=1")
    assert report.ok and sheet.drifted > 0, verify.format_report(report)  # measured: 1.6e-11
    assert 1e-12 < report.largest[0] < DRIFT_RTOL


@pytest.mark.gnumeric
def test_gnumeric_a_wrong_formula_still_fails(deep_books, tmp_path):
    report = verify.verify_file(deep_books["xlsx"], engine="gnumeric")
    where = next(s for s in report.sheets if s.name == "lr=1").largest_at   # a drifting cell
    # Its formula scaled by 1 + 1e-5, its cached value kept: beyond drift, so it fails.
    wrong = tmp_path / "later.xlsx"
    edit_cell(deep_books["xlsx"], wrong, "lr=1", rf'(<c r="{where}"[^>]*><f>)([^<]*)(</f>)', "",
              lambda m: m.group(1) + "(" + m.group(2) + ")*1.00001" + m.group(3))
    bad = verify.verify_file(wrong, engine="gnumeric")
    listed = [d.cell for s in bad.sheets for d in s.differences]
    assert not bad.ok and listed[0] == where, listed     # and the cells it feeds in that row

    # A cell whose inputs are all typed values: no drift excuses even a 1e-11 mistake there.
    row, col = first_table_row(from_file(EXAMPLES / "deep.toml"))
    first = tmp_path / "first.xlsx"
    edit_cell(deep_books["xlsx"], first, "lr=1", rf'(<c r="{col}{row}"[^>]*><f>)([^<]*)(</f>)', "",
              lambda m: m.group(1) + "(" + m.group(2) + ")*(1+1E-11)" + m.group(3))
    report = verify.verify_file(first, engine="gnumeric")
    assert not report.ok and [d.cell for s in report.sheets for d in s.differences] == [f"{col}{row}"]
