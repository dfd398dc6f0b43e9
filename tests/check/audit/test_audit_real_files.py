"""The shapes of real hand-made sheets that audit used to get wrong, written with openpyxl and
odfpy (tests/check/audit/handmade.py): δ used for ∂ in the headers, values pasted rounded, a
labelled rate cell the updates do not use, two substitutions in one formula, a slip the
values cannot show (t1 for t2 where t1 = t2), a pasted screenshot over 64 KB, and the δ, ∂, d
and ∇ spellings of gradients and δ's written by hand."""

from __future__ import annotations

import pytest
from corpus import with_screenshot, write_book
from handmade import NET, Block, Wrong, _ods, _xlsx, place, write

from sheetgen.check.audit import audit
from sheetgen.core.model import Setup

DELTA = {f"dE_dw{k}": f"δE_total/δw{k}" for k in range(1, 9)}


def formula(q: str) -> str:
    return NET.quantity(q).formula.text


def save(path, cells):
    (_ods if path.suffix == ".ods" else _xlsx)(path, {"S": cells})


@pytest.mark.parametrize("fmt", ["xlsx", "ods"])
def test_delta_spelled_gradient_headers_are_placed(tmp_path, fmt):
    path = tmp_path / f"delta.{fmt}"
    [placed] = write(path, {"S": [(Block(headers=DELTA), 0, 0)]})["S"]
    [sheet] = audit(path).sheets
    assert sheet.correct
    assert {c.quantity for c in sheet.columns} >= set(DELTA)
    assert not sheet.unknown_headers


def _rounded(block: Block, decimals: int = 6) -> dict:
    cells = place(block, formulas=False).cells
    return {k: round(v, decimals) if isinstance(v, float) else v for k, v in cells.items()}


@pytest.mark.parametrize("fmt", ["xlsx", "ods"])
def test_values_pasted_rounded_are_audited_at_their_own_precision(tmp_path, fmt):
    path = tmp_path / f"rounded.{fmt}"
    save(path, _rounded(Block(rows=8, headers={"dE_dw3": "E∂W3"})))
    [sheet] = audit(path).sheets
    assert sheet.correct, sheet.summary
    assert "values rounded to 6 decimals; consistent with the correct maths" in sheet.notes


@pytest.mark.parametrize("fmt", ["xlsx", "ods"])
def test_a_rounded_sheet_with_a_slip_names_it(tmp_path, fmt):
    path = tmp_path / f"rounded-slip.{fmt}"
    wrong = Wrong(formula("dE_dw3").replace("a_h2", "a_h1"))
    # Inputs of 1: the slip moves E∂W3 by far more than the rounding.
    block = Block(rows=8, setup=Setup(i1=1.0, i2=1.0), headers={"dE_dw3": "E∂W3"},
                  mistakes={"dE_dw3": wrong})
    save(path, _rounded(block))
    [sheet] = audit(path).sheets
    assert [m.quantity for m in sheet.mistakes] == ["dE_dw3"]
    assert "values rounded to 6 decimals; consistent with the correct maths with E∂W3 using a_h1" \
        in sheet.notes


@pytest.mark.parametrize("fmt", ["xlsx", "ods"])
def test_a_labelled_rate_cell_the_updates_do_not_use_is_a_note(tmp_path, fmt):
    """'Lr' = 0.5 labelled, but every update reads the cell labelled 'h' (1)."""
    path = tmp_path / f"rate.{fmt}"
    placed = place(Block(rate=1.0, rate_label="h", rows=6))
    cells = dict(placed.cells)
    cells[(0, 30)] = "Lr"
    cells[(0, 31)] = 0.5
    save(path, cells)
    [sheet] = audit(path).sheets
    assert sheet.correct, sheet.summary
    assert sheet.learning_rate == 1.0
    assert any("AF1 labelled as the learning rate (0.5) is not used: the updates read B1 (1)" in n
               for n in sheet.notes), sheet.notes


@pytest.mark.parametrize("formulas", [True, False])
@pytest.mark.parametrize("fmt", ["xlsx", "ods"])
def test_two_substitutions_are_named_in_one_line(tmp_path, fmt, formulas):
    path = tmp_path / f"two.{fmt}"
    wrong = Wrong(formula("dE_dw3").replace("w6", "w5").replace("w8", "w7"))
    [placed] = write(path, {"S": [(Block(headers={"dE_dw3": "∂E/∂w3"}, mistakes={"dE_dw3": wrong}),
                                   0, 0)]}, formulas=formulas)["S"]
    [sheet] = audit(path).sheets
    [m] = sheet.mistakes
    assert m.cell == placed.cell("dE_dw3", 1)
    assert "∂E/∂w3 uses w5 and w7 where w6 and w8 belong" in m.diagnosis


@pytest.mark.parametrize("fmt", ["xlsx", "ods"])
def test_a_slip_the_values_cannot_show_is_found_in_the_formula(tmp_path, fmt):
    """t1 = t2 = 0.5 (a variant of the exercise): t1 where t2 belongs gives the right numbers."""
    path = tmp_path / f"hidden.{fmt}"
    setup = Setup(t1=0.5, t2=0.5)
    wrong = Wrong(formula("dE_dw7").replace("t2", "t1"))
    [placed] = write(path, {"S": [(Block(setup=setup, mistakes={"dE_dw7": wrong}), 0, 0)]})["S"]
    [sheet] = audit(path).sheets
    [m] = sheet.mistakes
    assert (m.quantity, m.cell, m.kind) == ("dE_dw7", placed.cell("dE_dw7", 1), "substitution")
    assert "uses t1 where t2 belongs" in m.diagnosis
    assert "the values could not show it (t2 = t1 here)" in m.diagnosis


def test_the_same_slip_in_values_only_is_invisible(tmp_path):
    path = tmp_path / "hidden-values.xlsx"
    wrong = Wrong(formula("dE_dw7").replace("t2", "t1"))
    write(path, {"S": [(Block(setup=Setup(t1=0.5, t2=0.5), mistakes={"dE_dw7": wrong}), 0, 0)]},
          formulas=False)
    assert audit(path).sheets[0].correct


@pytest.mark.parametrize("slip", [None, "sign"])
def test_a_book_holding_a_large_screenshot_is_audited(tmp_path, slip):
    """Any .xlsx holding a picture over 64 KB was refused; the course asks for a screenshot."""
    path = tmp_path / "screenshot.xlsx"
    injected = write_book("xor", "xlsx", path, slip)
    assert with_screenshot(path) > 64 * 1024
    result = audit(path)
    if slip is None:
        assert result.exit_status == 0, [s.summary for s in result.sheets] or result.unreadable
        return
    [sheet] = result.sheets
    [line] = sheet.summary
    first = sheet.mistakes[0]
    assert (first.quantity, first.kind) == (injected.quantity, "sign")
    assert first.cell in line and "\n" not in line


# Gradient and δ headers as students write them: δ, ∂, d or ∇ for the derivative.
HAND_GRADIENTS = {"dE_dw1": "δE_total/δw1", "dE_dw2": "δE/δw2", "dE_dw3": "∂E/∂w3",
                  "dE_dw4": "dE_total/dw4", "dE_dw5": "∇E(w5)", "dE_dw6": "δw6", "dE_dw7": "∇w7",
                  "dE_dw8": "d(Etotal)/d(w8)"}


@pytest.mark.parametrize("fmt", ["xlsx", "ods"])
def test_hand_written_gradient_spellings_are_placed(tmp_path, fmt):
    path = tmp_path / f"spellings.{fmt}"
    write(path, {"S": [(Block(headers=HAND_GRADIENTS), 0, 0)]})
    [sheet] = audit(path).sheets
    assert sheet.correct, sheet.summary
    assert {c.quantity for c in sheet.columns} >= set(HAND_GRADIENTS)
    assert not sheet.unknown_headers
