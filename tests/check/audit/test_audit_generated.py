"""`sheetgen audit`: wrong formulas found, named and explained, in sheets sheetgen makes with a
mistake injected on purpose, in the reference workbook, and in correct sheets (no false alarm)."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest

from sheetgen.check.audit import STAGES, audit, audit_table, find_tables, header_reader, report
from sheetgen.cli import main
from sheetgen.config import Config
from sheetgen.core import model
from sheetgen.core.expressions import Expression
from sheetgen.core.model import Setup
from sheetgen.core.presets import reference_network as network
from sheetgen.layout.assemble import build_book
from sheetgen.read.tables import DEFAULT_HEADERS
from sheetgen.read.workbook import Workbook
from sheetgen.write import ods, xlsx

WRITERS = {"xlsx": xlsx.write, "ods": ods.write}

# One injected mistake per class the audit knows: (column, {name: replacement}), and what the
# diagnosis must say: (the variable that belongs, the one used, read from the row above).
MISTAKES = {
    "target for input": ("dE_dw5", {"t1": "i1"}, ("t1", "i1", False)),
    "input for target": ("dE_dw7", {"t2": "i2"}, ("t2", "i2", False)),
    "a_h1 for a_h2": ("dE_dw3", {"a_h2": "a_h1"}, ("a_h2", "a_h1", False)),
    "a_o2 for a_o1": ("E1", {"a_o1": "a_o2"}, ("a_o1", "a_o2", False)),
    "w5 for w7": ("o2", {"w7": "w5"}, ("w7", "w5", False)),
    "net input for activation": ("dE_dw7", {"a_h1": "h1"}, ("a_h1", "h1", False)),
    "w6 for w5 in a hidden gradient": ("dE_dw2", {"w5": "w6"}, ("w5", "w6", False)),
    "row above in a forward formula": ("h1", {"w2": "prev(w2)"}, ("w2", "w2", True)),
    "row above in a gradient": ("dE_dw8", {"a_h2": "prev(a_h2)"}, ("a_h2", "a_h2", True)),
    "w1 gradient updating w3": ("w3", {"dE_dw3": "dE_dw1"}, ("dE_dw3", "dE_dw1", False)),
    "w6 updated from w5": ("w6", {"w6": "w5"}, ("w6", "w5", False)),
}


def make_book(path: Path, mistakes=None, setup: Setup | None = None, rates=(0.8,),
              iterations: int = 22) -> Path:
    config = Config(setup=setup or Setup(), learning_rates=rates, iterations=iterations)
    WRITERS[path.suffix[1:]](build_book(config.training(), mistakes=mistakes), path)
    return path


def values_only(path: Path, target: Path) -> Path:
    """The workbook re-saved with each formula replaced by its value."""
    if path.suffix == ".xlsx":
        openpyxl.load_workbook(path, data_only=True).save(target)
        return target
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(target, "w") as out:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "content.xml":
                data = re.sub(rb' table:formula="[^"]*"', b"", data)
            out.writestr(info, data)
    return target


REFERENCE_SUMMARY = ["From AB39 and AC39 on, E∂W5 and E∂W6 use i1 where t1 belongs",
                     "From Z39 and AA39 on, E∂W3 and E∂W4 use a_h1 where a_h2 belongs (both times)"]


# --- the reference workbook ---------------------------------------------------------------------

def test_reference_audit_names_its_two_mistakes_and_nothing_else(reference_ods):
    result = audit(reference_ods)
    assert result.exit_status == 1
    [sheet] = result.sheets
    assert sheet.learning_rate == 0.8
    assert sheet.summary == REFERENCE_SUMMARY
    assert [m.quantity for m in sheet.mistakes] == ["dE_dw5", "dE_dw6", "dE_dw3", "dE_dw4"]
    first = sheet.mistakes[0]
    assert (first.cell, first.iteration) == ("AB39", 1)
    assert math.isclose(first.sheet_value, 0.06731819501, rel_tol=1e-12)
    assert math.isclose(first.correct_value, 0.07215707291, rel_tol=1e-9)
    assert first.formula is None  # the reference holds values only
    # No false alarm: every other column follows from these two mistakes.
    assert {c.status for c in sheet.columns if c.quantity not in
            {"dE_dw3", "dE_dw4", "dE_dw5", "dE_dw6"}} <= {"right", "follows"}
    assert sheet.reproduced is True
    assert any("J29" in note and "0.8" in note for note in sheet.notes)


def test_reference_errata_workbook_audits_like_the_reference(tmp_path):
    config = Config(learning_rates=(0.8,), reference_errata=True)
    path = tmp_path / "errata.xlsx"
    xlsx.write(build_book(config.training()), path)
    [sheet] = audit(path).sheets
    assert sheet.summary == [line.replace("39", "17") for line in REFERENCE_SUMMARY]
    assert sheet.mistakes[0].formula == "=(R17-C17)*R17*(1-R17)*J17"
    assert sheet.mistakes[0].formula_in_names == "(a_o1-i1)*a_o1*(1-a_o1)*a_h1"


# --- one injected mistake of each class -----------------------------------------------------------

@pytest.mark.parametrize("fmt", ["xlsx", "ods"])
@pytest.mark.parametrize("case", list(MISTAKES))
def test_injected_mistake_is_found_and_explained(tmp_path, case, fmt):
    column, substitution, (belongs, used, previous) = MISTAKES[case]
    path = make_book(tmp_path / f"book.{fmt}", {column: substitution})
    result = audit(path)
    assert result.exit_status == 1
    [sheet] = result.sheets
    [mistake] = sheet.mistakes
    assert mistake.quantity == column
    explanation = mistake.explanations[0]
    if previous:
        assert (explanation.kind, explanation.shifts) == ("other row", {belongs: -1})
    else:
        assert (explanation.belongs, explanation.used) == (belongs, used)
    assert sheet.reproduced is True
    # The cell's formula is shown, its references read as names.
    assert mistake.formula.startswith("=")
    from_above = previous or network().quantity(column).is_state
    assert DEFAULT_HEADERS[used] + ("[row above]" if from_above else "") in mistake.formula_in_names
    # The first wrong row: row 39 unless the mistake reads a row above.
    assert mistake.iteration == (2 if from_above else 1)


def test_injected_mistake_words_for_a_student(tmp_path):
    path = make_book(tmp_path / "b.xlsx", {"h1": {"w2": "prev(w2)"}, "w3": {"dE_dw3": "dE_dw1"}})
    summary = audit(path).sheets[0].summary
    assert summary == ["From I18 on, h1 takes w2 from the row above where its own row's w2 belongs",
                       "From G18 on, w3 is updated with E∂W1 where E∂W3 belongs"]


def test_several_independent_mistakes_are_all_found_in_dependency_order(tmp_path):
    mistakes = {"w4": {"dE_dw4": "dE_dw2"}, "dE_dw1": {"w7": "w8"}, "E2": {"t2": "t1"},
                "dE_dw6": {"t1": "i1"}, "a_h2": {"h2": "h1"}}
    path = make_book(tmp_path / "many.ods", mistakes, rates=(0.5,))
    [sheet] = audit(path).sheets
    assert [m.quantity for m in sheet.mistakes] == ["a_h2", "E2", "dE_dw6", "dE_dw1", "w4"]
    stages = [STAGES.index(m.stage) for m in sheet.mistakes]
    assert stages == sorted(stages) and len(set(stages)) == 5
    assert all(m.explained for m in sheet.mistakes)
    assert sheet.reproduced is True


def test_two_substitutions_in_one_formula_are_named_together(tmp_path):
    path = make_book(tmp_path / "two.xlsx", {"dE_dw5": {"t1": "i1", "a_h1": "a_h2"}})
    [mistake] = audit(path).sheets[0].mistakes
    assert (mistake.quantity, mistake.kind) == ("dE_dw5", "substitution")
    assert mistake.diagnosis == "From AB17 on, E∂W5 uses i1 and a_h2 where t1 and a_h1 belong"


def test_a_mistake_no_change_explains_is_said_plainly(tmp_path):
    path = make_book(tmp_path / "three.xlsx", {"dE_dw5": {"t1": "i1", "a_h1": "a_h2", "a_o1": "o1"}})
    result = audit(path)
    [mistake] = result.sheets[0].mistakes
    assert mistake.quantity == "dE_dw5" and mistake.explanations == []
    assert mistake.kind == "unexplained"
    # What the cell computes and what it should, in the sheet's own references.
    assert result.sheets[0].summary == [
        "E∂W5: AB17 computes =(Q17-C17)*Q17*(1-Q17)*L17 but should compute =(R17-A17)*R17*(1-R17)*J17"]
    assert "AB17 computes" in report(result)
    assert result.exit_status == 1


@pytest.mark.parametrize("fmt", ["xlsx", "ods"])
def test_values_only_sheet_is_diagnosed_too(tmp_path, fmt):
    path = make_book(tmp_path / f"formulas.{fmt}", {"dE_dw6": {"a_h2": "a_h1"}})
    plain = values_only(path, tmp_path / f"values.{fmt}")
    assert Workbook(plain).formulas("lr=0.8", ["AC18"]) == {}
    assert Workbook(path).formulas("lr=0.8", ["AC18"])["AC18"].endswith(
        "(R18-A18)*R18*(1-R18)*J18" if fmt == "xlsx" else "([.R18]-[.A18])*[.R18]*(1-[.R18])*[.J18]")
    [mistake] = audit(plain).sheets[0].mistakes
    assert mistake.quantity == "dE_dw6" and mistake.formula is None
    assert mistake.explanations[0].words == "E∂W6 uses a_h1 where a_h2 belongs"
    assert audit(plain).sheets[0].values_only and not audit(path).sheets[0].values_only
    assert audit(path).sheets[0].mistakes[0].explanations == mistake.explanations


# --- correct sheets: no false alarm ---------------------------------------------------------------

SETUPS = {
    "reference": Setup(),
    "other inputs": Setup(i1=0.9, i2=-0.4, t1=0.3, t2=0.2, w1=-0.5, w6=1.2, w8=-0.05),
    "fixed biases": Setup(biases="fixed", b1=0.35, b2=0.6),
    "trained biases": Setup(biases="trained", b1=0.35, b2=0.6, i1=0.7),
}


@pytest.mark.parametrize("fmt", ["xlsx", "ods"])
@pytest.mark.parametrize("name", list(SETUPS))
def test_correct_generated_workbook_audits_clean(tmp_path, name, fmt):
    setup = SETUPS[name]
    rates = (0.1, 0.8, 2.5)
    result = audit(make_book(tmp_path / f"ok.{fmt}", setup=setup, rates=rates, iterations=60))
    assert result.exit_status == 0
    assert [s.learning_rate for s in result.sheets] == list(rates)
    for sheet in result.sheets:
        assert sheet.correct and sheet.reproduced is True and not sheet.notes
        assert sheet.setup["biases"] == setup.biases
        expected = setup.values()
        for key, value in sheet.setup.items():
            if key != "biases":
                assert value == expected[key], key
        assert {c.status for c in sheet.columns} == {"right"}
    assert "no mistakes found" in report(result)


def test_audit_of_a_grid_is_a_library_function():
    """A table made from the model's own rows, with other header spellings and no iteration."""
    net = network()
    rows = model.run(net, Setup(), 0.5, 10)
    headers = {"dE_dw1": "dE/dw1", "E_total": "Etotal", "E1": "E1"}
    names = [q for q in net.names if q != "iteration"]
    grid = [["Learning rate", 0.5], [headers.get(q, q) for q in names]]
    grid += [[row[q] for q in names] for row in rows]
    read = header_reader(net.names)
    [found] = find_tables(grid, "mine", read)
    clean = audit_table(found)
    assert clean.correct and clean.learning_rate == 0.5
    assert "agreeing with cell B1" in clean.learning_rate_source
    # Overwrite one value of E∂W1 (row 4) by hand: that cell, and the w1 update that reads it.
    col = found.table.columns["dE_dw1"]
    grid[1 + 4][col] *= 1.001
    broken = audit_table(find_tables(grid, "mine", read)[0])
    gradient, update = broken.mistakes
    assert (gradient.quantity, gradient.iteration, gradient.wrong_rows) == ("dE_dw1", 4, 1)
    assert math.isclose(gradient.difference, rows[3]["dE_dw1"] * 0.001, rel_tol=1e-6)
    assert (update.quantity, update.iteration, update.wrong_rows) == ("w1", 5, 1)
    assert gradient.explanations == [] and update.explanations == []
    assert gradient.diagnosis.startswith(f"dE/dw1: {gradient.cell} holds ")


# --- the row-above reference in the maths -------------------------------------------------------

def test_prev_reads_the_row_above_in_the_model_and_in_the_formula():
    net = network().substitute({"h1": {"w2": "prev(w2)"}})
    rows = model.run(net, Setup(), 0.8, 3)
    assert rows[0]["h1"] == 0.15 * 0.05 + 0.2 * 0.1          # first row: no row above
    assert rows[2]["h1"] == rows[2]["w1"] * 0.05 + rows[1]["w2"] * 0.1
    column = build_book(Config(learning_rates=(0.8,), iterations=3).training(),
                        mistakes={"h1": {"w2": "prev(w2)"}}).sheets[0].columns[8]
    assert column.first["xlsx"] == "E{r}*C{r}+F{r}*D{r}"
    assert column.later["xlsx"] == "E{r}*C{r}+F{p}*D{r}"
    e = Expression.parse("w1 * prev(i1)")
    assert e.uses_previous_row and not e.without_previous_row().uses_previous_row
    assert e.evaluate({"w1": 2.0, "i1": 3.0}, previous={"i1": 5.0}) == 10.0


# --- the command line ---------------------------------------------------------------------------

def sheetgen(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sheetgen", *args], capture_output=True,
                          text=True, timeout=120)


def test_cli_audit_exit_status_and_json(tmp_path):
    bad = make_book(tmp_path / "bad.ods", {"dE_dw5": {"t1": "i1"}})
    result = sheetgen("audit", str(bad), "--format", "json")
    assert result.returncode == 1, result.stderr
    data = json.loads(result.stdout)
    assert data["exit_status"] == 1
    assert data["files"][0]["sheets"][0]["summary"] == ["From AB17 on, E∂W5 uses i1 where t1 belongs"]
    good = make_book(tmp_path / "good.xlsx", iterations=5)
    result = sheetgen("audit", str(good))
    assert result.returncode == 0 and "no mistakes found" in result.stdout


def test_cli_audit_text_names_the_mistake(tmp_path, capsys):
    bad = make_book(tmp_path / "bad.xlsx", {"dE_dw5": {"t1": "i1"}})
    assert main(["audit", str(bad)]) == 1
    out = capsys.readouterr().out
    assert "E∂W5 uses i1 where t1 belongs" in out
    assert "AB17 holds =(R17-C17)*R17*(1-R17)*J17" in out


def test_cli_audit_without_a_table_exits_2_in_one_line(tmp_path, capsys):
    book = openpyxl.Workbook()
    book.active["A1"] = "no table here"
    book.save(tmp_path / "empty.xlsx")
    (tmp_path / "junk.ods").write_text("not a workbook")
    for path in (tmp_path / "empty.xlsx", tmp_path / "junk.ods", tmp_path / "missing.xlsx"):
        assert main(["audit", str(path)]) == 2, path
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and str(path) in err, err


def test_cli_audit_table_lacking_columns_exits_2(tmp_path, capsys):
    book = openpyxl.Workbook()
    book.active.append(["t1", "t2", "i1", "i2", "w1"])
    book.active.append([0.01, 0.99, 0.05, 0.1, 0.15])
    book.save(tmp_path / "partial.xlsx")
    assert main(["audit", str(tmp_path / "partial.xlsx")]) == 2
    assert "lacks the column(s)" in capsys.readouterr().out
