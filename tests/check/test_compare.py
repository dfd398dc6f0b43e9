"""`sheetgen compare` and the table reader: header spellings, table finding, tolerances, reports,
exit codes, and the two results a user checks against the reference workbook."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from io import StringIO
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from sheetgen.check.compare import (
    DEFAULT_ATOL,
    DEFAULT_RTOL,
    compare_table_sets,
    compare_tables,
    compare_workbooks,
)
from sheetgen.cli import main
from sheetgen.config import Config
from sheetgen.core import model
from sheetgen.core.model import Setup
from sheetgen.core.presets import reference_network as network
from sheetgen.core.template import column_specs
from sheetgen.errors import WorkbookError
from sheetgen.generation import generate
from sheetgen.read.tables import (
    QUANTITIES,
    canonical_name,
    find_table,
    read_frame,
    read_table,
    read_tables,
)
from sheetgen.read.workbook import Workbook

GRADIENTS = {f"dE_dw{k}" for k in range(1, 9)}
WRONG_IN_THE_REFERENCE = {"dE_dw3", "dE_dw4", "dE_dw5", "dE_dw6"}
CONSTANT = {"t1", "t2", "i1", "i2"}


@pytest.fixture(scope="module")
def errata_books(tmp_path_factory) -> dict[str, object]:
    out = tmp_path_factory.mktemp("errata")
    training = Config(output_dir=out, reference_errata=True, plots=False).training()
    return {p.suffix[1:]: p for p in generate(training)}


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    status = main([str(a) for a in args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def write_xlsx(path, sheets: dict[str, list[list]]) -> None:
    """Plain values (no formulas), as a hand-made or pasted sheet holds them."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, grid in sheets.items():
        ws = wb.create_sheet(name)
        for r, row in enumerate(grid, start=1):
            for c, value in enumerate(row, start=1):
                if value is not None:
                    ws.cell(r, c, value)
    wb.save(path)


def model_rows(rate: float, iterations: int = 22, errata: bool = False) -> list[dict[str, float]]:
    return model.run(network("none", errata), Setup(), rate, iterations)


# --- header spellings -----------------------------------------------------------------------

@pytest.mark.parametrize(("header", "quantity"), [
    ("E∂W1", "dE_dw1"), ("dE/dw1", "dE_dw1"), ("∂E_total/∂w1", "dE_dw1"), ("dE_dw8", "dE_dw8"),
    ("∂E/∂W5", "dE_dw5"), ("dEtotal/dW3", "dE_dw3"), ("dW2", "dE_dw2"), ("grad_w7", "dE_dw7"),
    ("E∂b1", "dE_db1"), ("dE/db2", "dE_db2"),
    ("e1", "E1"), ("E1", "E1"), ("E₂", "E2"), ("E_total", "E_total"), ("E_Total", "E_total"),
    ("Etotal", "E_total"), ("E total", "E_total"), ("loss", "E_total"),
    ("w1", "w1"), ("W8", "w8"), (" t2 ", "t2"), ("I1", "i1"), ("O1", "o1"),
    ("a_h1", "a_h1"), ("out_h2", "a_h2"), ("σ(o1)", "a_o1"), ("net_o2", "o2"), ("a_01", "a_o1"),
    ("iteration", "iteration"), ("Iter", "iteration"), ("b2", "b2"),
    # Columns of other networks, as sheetgen writes them.
    ("w9", "w9"), ("h3", "h3"), ("h2_1", "h2_1"), ("a_h2_1", "a_h2_1"), ("δ_o1", "delta_o1"),
    ("exp_o3", "exp_o3"), ("e3", "E3"), ("E∂W21", "dE_dw21"), ("E∂b4", "dE_db4"),
    # Their gradients as written by hand: δ, ∂, d or ∇ for the derivative.
    ("dE/dw9", "dE_dw9"), ("δw9", "dE_dw9"), ("∇E(w9)", "dE_dw9"),
])
def test_common_spellings_name_their_quantity(header, quantity):
    assert canonical_name(header) == quantity


@pytest.mark.parametrize("header", ["Learning_rate", "", "  ", "Δw9", "w", "AF", "notes",
                                    "h", None, 0.5, "E∂W", "∂E_total/∂W5 = ∂E1/∂W5"])
def test_other_texts_name_nothing(header):
    assert canonical_name(header) is None


def test_every_template_header_reads_as_its_quantity():
    for biases in ("none", "trained"):
        for spec in column_specs(biases):
            assert canonical_name(spec["header"]) == spec["quantity"]
            assert canonical_name(spec["quantity"]) == spec["quantity"]
    assert len(set(QUANTITIES)) == len(QUANTITIES) == 36


# --- finding a table ------------------------------------------------------------------------

def test_table_is_found_by_its_header_anywhere():
    grid = [
        ["title", None, None, None],
        [None, "w1", "note", None, 1.5],           # one name: a stray label, not the header
        [],
        [None, None, "dE/dw1", "W1", "e1", "whatever", "w1"],
        [None, None, 0.5, 0.1, "0.25", "x"],
        [None, None, 0.6, "#DIV/0!", True],         # ragged row, text and boolean cells
        [None, None, None, "", None, 7.0],          # blank in every table column: the end
        [None, None, 9.0, 9.0, 9.0],                # below the end: not part of the table
    ]
    table = find_table(grid, "S")
    assert (table.header_row, table.first_row) == (3, 4)
    assert table.columns == {"dE_dw1": 2, "w1": 3, "E1": 4}
    assert table.headers == {"dE_dw1": "dE/dw1", "w1": "W1", "E1": "e1"}
    assert table.ignored == {5: "whatever", 6: "w1"}  # unknown, and the second w1
    assert len(table) == 2
    frame = table.frame
    assert frame["dE_dw1"].tolist() == [0.5, 0.6]
    assert frame["w1"].iloc[0] == 0.1 and math.isnan(frame["w1"].iloc[1])
    assert frame["E1"].iloc[0] == 0.25 and math.isnan(frame["E1"].iloc[1])
    assert table.cell("E1", 2) == "E6"


def test_no_table_without_enough_header_names():
    assert find_table([["w1", "w2", "text"], [0.1, 0.2]]) is None
    assert find_table([]) is None
    assert find_table([["w1", "w2", "E_total"]]).frame.shape == (0, 3)


def test_reader_returns_the_exact_float64_values_from_both_formats(default_books):
    rows = model_rows(0.8)
    for fmt in ("xlsx", "ods"):
        frame = read_frame(default_books[fmt], "lr=0.8")
        assert list(frame.columns) == list(network().names)
        assert frame.dtypes.eq("float64").all()
        for k, row in enumerate(rows):
            for quantity, value in row.items():
                # == on floats on purpose: calamine must not round what the writers stored.
                assert frame[quantity].iloc[k] == value, (fmt, k, quantity)


def test_reader_handles_the_reference_pasted_values(reference_ods):
    table = read_table(reference_ods, "Sheet1")
    assert (table.header_row, table.first_row, len(table)) == (37, 38, 22)  # the reference's rows
    assert list(table.frame.columns) == list(network().names)[:31]
    assert table.frame["E_total"].iloc[0] == 0.2425198573
    assert table.frame.notna().all().all()


# --- comparing ------------------------------------------------------------------------------

def test_xlsx_and_ods_from_the_same_settings_are_equal(default_books, capsys):
    status, out, err = run_cli(capsys, "compare", default_books["xlsx"], default_books["ods"])
    assert status == 0, out + err
    assert out.count("verdict: equal: all 704 table cells agree") == 6
    assert out.rstrip().endswith("result: equal (6 sheet(s) compared)")


def test_errata_book_equals_the_reference(errata_books, reference_ods, capsys):
    comparison = compare_workbooks(errata_books["ods"], reference_ods, [("lr=0.8", "Sheet1")])
    (sheet,) = comparison.sheets
    assert comparison.equal and sheet.equal
    assert sheet.cells == 682 and sheet.differing_cells == 0
    assert max(c.max_rel_diff for c in sheet.columns) < 1e-9
    assert [(o.quantity, o.side, o.column, o.optional) for o in sheet.one_sided] == \
        [("iteration", "a", "AF", True)]

    status, out, _ = run_cli(capsys, "compare", errata_books["ods"], reference_ods,
                             "--sheet", "lr=0.8:Sheet1")
    assert status == 0
    assert "equal: all 682 table cells agree" in out
    assert "only in A: iteration (column AF)" in out


def test_correct_book_differs_from_the_reference_where_the_errata_are(default_books, reference_ods,
                                                                      capsys):
    comparison = compare_workbooks(default_books["ods"], reference_ods, [("lr=0.8", "Sheet1")])
    (sheet,) = comparison.sheets
    assert not comparison.equal
    first = {c.quantity: c.first_iteration for c in sheet.columns}
    assert {q for q, it in first.items() if it == 1} == WRONG_IN_THE_REFERENCE
    # Every quantity downstream of the weight updates differs, from the second iteration on.
    downstream = set(network().names[:31]) - CONSTANT - WRONG_IN_THE_REFERENCE
    assert all(first[q] is not None and first[q] >= 2 for q in downstream), first
    assert all(first[q] is None for q in CONSTANT)
    assert {"w3", "w4", "w5", "w6"} <= {q for q, it in first.items() if it == 2}

    status, out, _ = run_cli(capsys, "compare", default_books["ods"], reference_ods,
                             "--sheet", "lr=0.8:Sheet1")
    assert status == 1
    lines = {line.split()[0]: line.split() for line in out.splitlines() if line.startswith("  E∂W")}
    assert {h for h, parts in lines.items() if parts[-1] == "1"} == {"E∂W3", "E∂W4", "E∂W5", "E∂W6"}
    assert "verdict: DIFFERENT: 27 of 31 columns differ" in out


def test_sheets_of_the_reference_mirror_ours(reference_ods, default_books):
    """The reference's table header texts stand in our lr=0.8 sheet's header row, column for
    column, and its learning-rate label above our learning-rate cell, in both formats (our
    rows above the table are laid out to fit a laptop screen, so the rows differ)."""
    from sheetgen.core.cells import parse_cell
    from sheetgen.core.template import template

    reference = Workbook(reference_ods).grid("Sheet1")
    headers = {c: v for c, v in enumerate(reference[37]) if isinstance(v, str) and v}
    assert len(headers) == 31 and reference[27][9] == "Learning_rate"
    header_row = template()["table"]["header_row"] - 1
    label_row, label_col = parse_cell(template()["parameters"]["learning_rate"]["label_cell"])
    rate_row, rate_col = parse_cell(template()["parameters"]["learning_rate"]["cell"])
    for fmt in ("xlsx", "ods"):
        ours = Workbook(default_books[fmt]).grid("lr=0.8")
        assert {c: ours[header_row][c] for c in headers} == headers, fmt
        assert ours[label_row][label_col] == reference[27][9]
        assert ours[rate_row][rate_col] == 0.8  # our learning rate sits under the label


def test_a_hand_made_sheet_elsewhere_with_other_spellings(tmp_path, default_books, capsys):
    """Columns in another order, other header spellings, table at another position."""
    rows = model_rows(0.8)
    spelled = {"dE_dw1": "dE/dw1", "dE_dw2": "∂E_total/∂w2", "E_total": "Etotal", "E1": "E1",
               "w1": "W1", "a_h1": "out_h1"}
    quantities = list(reversed(network().names))[1:]  # without the iteration column
    grid = [["a note"], [], [None, None] + [spelled.get(q, q) for q in quantities]]
    grid += [[None, None] + [row[q] for q in quantities] for row in rows]
    write_xlsx(tmp_path / "hand.xlsx", {"Sheet1": grid})

    comparison = compare_workbooks(default_books["xlsx"], tmp_path / "hand.xlsx", [("lr=0.8", "Sheet1")])
    assert comparison.equal, comparison.sheets[0].verdict
    assert comparison.sheets[0].cells == 22 * 31

    grid[2 + 5][2 + quantities.index("dE_dw2")] *= 1 + 1e-6  # iteration 5
    write_xlsx(tmp_path / "hand.xlsx", {"Sheet1": grid})
    status, out, _ = run_cli(capsys, "compare", default_books["xlsx"], tmp_path / "hand.xlsx",
                             "--sheet", "lr=0.8:Sheet1", "--format", "json")
    assert status == 1
    (sheet,) = json.loads(out)["sheets"]
    bad = [c for c in sheet["columns"] if c["differing"]]
    assert [(c["quantity"], c["header_b"], c["differing"], c["first_iteration"]) for c in bad] == \
        [("dE_dw2", "∂E_total/∂w2", 1, 5)]
    assert bad[0]["max_rel_diff"] == pytest.approx(1e-6, rel=1e-3)


def test_tolerances(tmp_path, default_books):
    rows = model_rows(0.5)
    names = list(network().names)
    grid = [names] + [[row[q] for q in names] for row in rows]
    grid[3][names.index("E_total")] *= 1 + 3e-10  # as a value stored to 10 digits can be off
    write_xlsx(tmp_path / "near.xlsx", {"lr=0.5": grid})
    pairs = [("lr=0.5", "lr=0.5")]
    assert (DEFAULT_RTOL, DEFAULT_ATOL) == (1e-9, 1e-15)
    assert compare_workbooks(default_books["ods"], tmp_path / "near.xlsx", pairs).equal
    strict = compare_workbooks(default_books["ods"], tmp_path / "near.xlsx", pairs, rtol=1e-10)
    assert [(c.quantity, c.first_iteration) for c in strict.sheets[0].differences] == [("E_total", 3)]
    loose = compare_workbooks(default_books["ods"], tmp_path / "near.xlsx", pairs, rtol=0, atol=1e-9)
    assert loose.equal


def test_row_counts_and_one_sided_columns(tmp_path, default_books, capsys):
    short = generate(Config(output_dir=tmp_path, iterations=10, formats=("xlsx",), plots=False).training())[0]
    comparison = compare_workbooks(default_books["xlsx"], short)
    assert not comparison.equal
    for sheet in comparison.sheets:
        assert (sheet.rows_a, sheet.rows_b) == (22, 10)
        assert not sheet.differences and sheet.cells == 10 * 32  # the first 10 rows agree
        assert sheet.verdict == "DIFFERENT: 22 rows against 10"

    names = [q for q in network().names if q != "dE_dw8"]
    rows = model_rows(1.0)
    write_xlsx(tmp_path / "less.xlsx", {"lr=1": [names] + [[r[q] for q in names] for r in rows]})
    status, out, _ = run_cli(capsys, "compare", default_books["ods"], tmp_path / "less.xlsx")
    assert status == 1
    assert "only in A: E∂W8 (column AE)\n" in out
    assert "tables only in A: lr=0.1, lr=0.2, lr=0.5, lr=0.8, lr=2" in out


def test_csv_and_frame_reports(default_books, capsys):
    status, out, _ = run_cli(capsys, "compare", default_books["xlsx"], default_books["ods"],
                             "--format", "csv", "--sheet", "lr=2:lr=2", "--sheet", "lr=1:lr=0.1")
    assert status == 1
    frame = pd.read_csv(StringIO(out))
    assert len(frame) == 64 and set(frame["sheet_b"]) == {"lr=2", "lr=0.1"}
    same = frame[frame["sheet_a"] == "lr=2"]
    assert (same["status"] == "equal").all() and (same["differing"] == 0).all()
    crossed = frame[frame["sheet_a"] == "lr=1"].set_index("quantity")
    assert crossed.loc["E_total", "status"] == "differs" and crossed.loc["t1", "status"] == "equal"
    assert crossed.loc["w1", "first_iteration"] == 2


def test_comparing_frames_directly_is_the_same_code():
    grid = [["w1", "w2", "E_total"], [0.1, 0.2, 0.3], [0.1, 0.2, 0.4]]
    a = find_table(grid, "x")
    b = find_table([["E_total", "W2", "w1"], [0.3, 0.2, 0.1], [0.3, 0.2, 0.1]], "y")
    sheet = compare_tables(a, b)
    assert [(c.quantity, c.differing, c.first_iteration) for c in sheet.differences] == [("E_total", 1, 2)]
    assert sheet.differences[0].max_abs_diff == pytest.approx(0.1)
    assert compare_table_sets({"x": a}, {"y": b}, [("x", "y")]).equal is False
    assert compare_table_sets({"x": a}, {"x": a}).equal


# --- errors: one line, exit status 2 --------------------------------------------------------

def test_errors_are_one_line_with_status_2(tmp_path, default_books, reference_ods, capsys):
    (tmp_path / "text.xlsx").write_text("not a workbook")
    write_xlsx(tmp_path / "empty.xlsx", {"Sheet1": [["just", "words"], [1, 2]]})
    ods = default_books["ods"]
    cases = [
        (["compare", tmp_path / "missing.ods", ods], "no such file"),
        (["compare", tmp_path / "text.xlsx", ods], "not a valid .xlsx file"),
        (["compare", tmp_path / "empty.xlsx", ods], "no training table found"),
        (["compare", ods, reference_ods], "no sheet names in common"),
        (["compare", ods, reference_ods, "--sheet", "lr=9:Sheet1"], "no training table in a sheet"),
        (["compare", ods, reference_ods, "--sheet", "lr=0.8:Sheet2"], "no training table in a sheet"),
        (["compare", ods, reference_ods, "--sheet", "lr=0.8"], "expected A_NAME:B_NAME"),
        (["compare", ods, ods, "--rtol", "-1"], "must not be negative"),
        (["compare", ods, ods, "--atol", "nan"], "not a finite number"),
        (["compare", ods, ods, "--format", "xml"], "invalid choice"),
        (["compare", ods], "required"),
    ]
    for args, message in cases:
        status, out, err = run_cli(capsys, *args)
        assert status == 2, (args, out, err)
        assert len(err.strip().splitlines()) == 1 and message in err, (args, err)
        assert out == ""


def test_a_real_process_exits_with_the_documented_status(default_books, tmp_path):
    def status(*args):
        result = subprocess.run([sys.executable, "-m", "sheetgen", "compare", *map(str, args)],
                                capture_output=True, text=True, timeout=120)
        assert "Traceback" not in result.stderr
        return result.returncode

    rows = model_rows(0.1)
    names = list(network().names)
    grid = [names] + [[r[q] for q in names] for r in rows]
    grid[1][0] = 0.02
    write_xlsx(tmp_path / "t1.xlsx", {"lr=0.1": grid})
    assert status(default_books["xlsx"], default_books["ods"]) == 0
    assert status(default_books["xlsx"], tmp_path / "t1.xlsx", "--sheet", "lr=0.1:lr=0.1") == 1
    assert status(default_books["xlsx"], tmp_path / "nothing.xlsx") == 2


def test_read_errors_are_workbook_errors(tmp_path, default_books):
    with pytest.raises(WorkbookError, match="no sheet named 'nope'"):
        read_table(default_books["xlsx"], "nope")
    (tmp_path / "bad.ods").write_bytes(b"PK\x03\x04" + b"\0" * 64)
    with pytest.raises(WorkbookError):
        read_tables(tmp_path / "bad.ods")


def test_help_and_readme_state_the_default_tolerances(capsys):
    with pytest.raises(SystemExit):
        main(["compare", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text("utf-8")
    for value in (DEFAULT_RTOL, DEFAULT_ATOL):
        text = f"{value:.0e}".replace("e-0", "e-")  # 1e-09 -> 1e-9
        assert f"default {text}" in help_text and f"| {text}" in readme, text
