"""Regression on cell values: every table cell of every sheet, read back from the generated
.xlsx and .ods, equals the golden snapshot in tests/golden/ exactly (`make golden` rewrites it).
The comparison is the one `sheetgen compare` makes, with zero tolerance."""

from __future__ import annotations

import csv
import importlib.util
import math
from pathlib import Path

import pytest

from sheetgen.check.compare import compare_table_sets
from sheetgen.config import Config
from sheetgen.generation import generate
from sheetgen.read.tables import Table, find_table, read_tables

GOLDEN = Path(__file__).resolve().parent / "golden"
SHEETS = ["lr=0.1", "lr=0.2", "lr=0.5", "lr=0.8", "lr=1", "lr=2"]


def _make_golden():
    spec = importlib.util.spec_from_file_location("make_golden", GOLDEN.parent / "make_golden.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def golden_tables(case: str, root: Path = GOLDEN) -> dict[str, Table]:
    tables = {}
    for path in sorted((root / case).glob("*.csv")):
        with open(path, newline="", encoding="utf-8") as f:
            grid = list(csv.reader(f))
        tables[path.stem] = find_table(grid, path.stem)
    return tables


@pytest.fixture(scope="module")
def books(tmp_path_factory, default_books) -> dict[str, dict[str, Path]]:
    out = tmp_path_factory.mktemp("golden-errata")
    training = Config(output_dir=out, reference_errata=True, plots=False).training()
    errata = {p.suffix[1:]: p for p in generate(training)}
    return {"default": default_books, "errata": errata}


def test_golden_files_are_exactly_what_make_golden_writes(tmp_path):
    """Catches a hand edit, and a model change made without `make golden`."""
    _make_golden().write_golden(tmp_path)
    for case in ("default", "errata"):
        fresh = sorted(p.name for p in (tmp_path / case).iterdir())
        assert fresh == sorted(p.name for p in (GOLDEN / case).iterdir()) == [f"{s}.csv" for s in
                                                                               sorted(SHEETS)]
        for name in fresh:
            assert (tmp_path / case / name).read_text("utf-8") == \
                (GOLDEN / case / name).read_text("utf-8"), f"{case}/{name}: run `make golden`"


@pytest.mark.parametrize("case", ["default", "errata"])
@pytest.mark.parametrize("fmt", ["xlsx", "ods"])
def test_workbook_equals_the_golden_snapshot(books, case, fmt):
    golden = golden_tables(case)
    comparison = compare_table_sets(golden, read_tables(books[case][fmt]), rtol=0, atol=0)
    assert [s.sheet_a for s in comparison.sheets] == sorted(SHEETS)
    assert not comparison.sheets_only_a and not comparison.sheets_only_b
    for sheet in comparison.sheets:
        assert sheet.equal, (sheet.sheet_a, sheet.verdict, [c.quantity for c in sheet.differences])
        assert sheet.cells == 22 * 32 and not sheet.one_sided


def test_the_two_snapshots_differ_where_the_errata_are():
    comparison = compare_table_sets(golden_tables("default"), golden_tables("errata"), rtol=0, atol=0)
    for sheet in comparison.sheets:
        assert {c.quantity for c in sheet.differences if c.first_iteration == 1} == \
            {"dE_dw3", "dE_dw4", "dE_dw5", "dE_dw6"}


def test_a_one_ulp_change_is_caught(tmp_path, books):
    source = GOLDEN / "default" / "lr=0.8.csv"
    rows = list(csv.reader(source.open(encoding="utf-8")))
    column = rows[0].index("E_total")
    rows[7][column] = format(math.nextafter(float(rows[7][column]), 1.0), ".17g")  # iteration 7
    (tmp_path / "default").mkdir()
    with open(tmp_path / "default" / "lr=0.8.csv", "w", newline="", encoding="utf-8") as out:
        csv.writer(out, lineterminator="\n").writerows(rows)
    golden = golden_tables("default", tmp_path)
    comparison = compare_table_sets(golden, read_tables(books["default"]["ods"]),
                                    [("lr=0.8", "lr=0.8")], rtol=0, atol=0)
    (sheet,) = comparison.sheets
    assert [(c.quantity, c.differing, c.first_iteration) for c in sheet.differences] == [("E_total", 1, 7)]
