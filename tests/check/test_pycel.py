"""A second, independent formula engine: pycel evaluates the .xlsx formulas in Python.

It needs no LibreOffice, so the written formulas are checked on every test run: evaluated from
the formulas alone they must give the model's float64 values, also after a parameter changes.
"""

from __future__ import annotations

import pytest
from pycel import ExcelCompiler

from sheetgen.config import DEFAULT_ITERATIONS, DEFAULT_LEARNING_RATES
from sheetgen.core.cells import column_letter
from sheetgen.core.model import Setup, run
from sheetgen.core.presets import reference_network as network
from sheetgen.core.template import sheet_name

FIRST_ROW = 17
N_COLUMNS = len(network().names)


def table(excel: ExcelCompiler, rate: float, iterations: int = DEFAULT_ITERATIONS) -> list[tuple]:
    last = column_letter(N_COLUMNS - 1)
    rows = excel.evaluate(f"'{sheet_name(rate)}'!A{FIRST_ROW}:{last}{FIRST_ROW + iterations - 1}")
    return [tuple(row) for row in rows]


def expected(setup: Setup, rate: float) -> list[tuple]:
    return [tuple(row.values()) for row in run(network(), setup, rate, DEFAULT_ITERATIONS)]


@pytest.fixture
def excel(default_books) -> ExcelCompiler:
    return ExcelCompiler(filename=str(default_books["xlsx"]))


def test_pycel_evaluates_every_sheet_to_the_model_exactly(excel):
    for rate in DEFAULT_LEARNING_RATES:
        assert table(excel, rate) == expected(Setup(), rate), sheet_name(rate)


def test_pycel_follows_a_changed_learning_rate_and_weight(excel):
    before = table(excel, 0.8), table(excel, 2.0)  # pycel compiles what it evaluates
    excel.set_value(f"'{sheet_name(0.8)}'!G13", 0.3)
    excel.set_value(f"'{sheet_name(2.0)}'!F{FIRST_ROW}", 0.25)  # w2
    after = table(excel, 0.8), table(excel, 2.0)
    assert after[0] == expected(Setup(), 0.3) != before[0]
    assert after[1] == expected(Setup(w2=0.25), 2.0) != before[1]
