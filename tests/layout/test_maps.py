"""The maps sheet of an image network serves every learning rate: a typed rate-sheet number
chooses among all the rate sheets' tables, live, and the chosen sheet's rate shows beside it."""

from __future__ import annotations

import tomllib
from dataclasses import replace

from sheetgen.config import example_text, from_mapping
from sheetgen.core.cells import column_letter
from sheetgen.layout.assemble import build_book
from sheetgen.layout.maps import MAX_CHOICES, RATE_CELL, build_maps


def _book(rates, iterations=4):
    data = tomllib.loads(example_text("conv-edge"))
    data |= {"iterations": iterations, "learning_rates": rates, "plots": False}
    return build_book(from_mapping(data, "edge").training())


def test_every_map_cell_chooses_among_every_rate_sheet():
    book = _book([0.02, 0.05, 0.1])
    rates = book.sheets[:3]
    maps = book.maps
    assert (RATE_CELL[0], RATE_CELL[1], 1) in {(c.row, c.col, c.value) for c in maps.cells}
    for f in maps.formulas:
        for dialect, sep in (("xlsx", ","), ("ods", ";")):
            text = f.formulas[dialect]
            assert all(s.name in text for s in rates), (dialect, text[:80])
            assert "CHOOSE(" + ("$C$2" if dialect == "xlsx" else "[.$C$2]") + sep in text


def test_the_cached_values_are_the_chosen_sheets():
    book = _book([0.02, 0.5], iterations=6)
    training = book.training
    for rate in (1, 2):
        maps = build_maps(training.spec, book.sheets[:2], training.data.batch_size, iteration=5,
                          sample=2, rate=rate)
        row = book.sheets[rate - 1].trace.row(4)
        label = next(f for f in maps.formulas if (f.row, f.col) == (RATE_CELL[0], 4))
        assert label.value == f"learning rate {[0.02, 0.5][rate - 1]}"
        column = next(c for c in book.sheets[0].columns if c.quantity == "k1_r1c1")
        source = f"!${column_letter(column.index)}${book.sheets[0].first_row + 1}:"
        kernel = next(f for f in maps.formulas if source in f.formulas["xlsx"])
        assert kernel.value == row["k1_r1c1"]
    assert book.sheets[0].trace.row(4)["k1_r1c1"] != book.sheets[1].trace.row(4)["k1_r1c1"]


def test_one_rate_sheet_needs_no_selector_and_many_choices_fall_back_to_slot_one():
    book = _book([0.1])
    assert all(c.row != RATE_CELL[0] for c in book.maps.cells)
    assert not any(f.formulas["xlsx"].startswith("CHOOSE($C$2") for f in book.maps.formulas)
    training = book.training
    many = [replace(book.sheets[0], name=f"lr={k}") for k in range(MAX_CHOICES // 2 + 1)]
    maps = build_maps(training.spec, many, training.data.batch_size)
    assert training.data.batch_size > 1 and not any("$C$4" in f.formulas["xlsx"] for f in maps.formulas)
    assert max(len(f.formulas["xlsx"]) for f in maps.formulas) < 8192
