"""`sheetgen audit` on hand-made-style workbooks (openpyxl and odfpy, not sheetgen's writers):
every mistake class and table shape, each mistake found at its column and first cell with its
diagnosis, and no false alarm on the correct ones."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import openpyxl
import pytest
from handmade import NET, Block, Pasted, Wrong, write

from sheetgen.check.audit import audit, audit_files, mark, report
from sheetgen.cli import main
from sheetgen.core.model import Setup


def formula(q: str) -> str:
    return NET.quantity(q).formula.text


def update(q: str) -> str:
    return NET.quantity(q).next.text


HUMAN = {"dE_dw1": "∂E_total/∂w1", "dE_dw2": "dE/dW2", "dE_dw3": "∂(E)/∂w₃", "dE_dw4": "grad w4",
         "dE_dw5": "E∂W5", "dE_dw6": "dEtotal/dw6", "dE_dw7": "∂Error/∂W7", "dE_dw8": "dLoss/dw8",
         "E_total": "Total error", "E1": "E_o1", "E2": "Error 2", "a_h1": "out_h1", "a_h2": "σ(h2)",
         "a_o1": "a_O1", "a_o2": "sigmoid(o2)", "h1": "net h1", "t1": "t1 (target for o1)",
         "w5": "w5 – hidden to output"}

# One mistake per class: (column, mistake, first wrong iteration, kind, words in the diagnosis)
CLASSES = {
    "row above": ("h1", Wrong("w1 * i1 + w2 * i2", {"w2": -1}), 2, "other row",
                  "takes w2 from the row above"),
    "rows below": ("dE_dw7", Wrong(formula("dE_dw7"), {"a_h1": 2}), 1, "other row",
                   "from 2 rows below"),
    "circular chain": ("a_h1", Wrong("sigmoid(h1)", {"h1": 3}), 1, "other row", "circular chain"),
    "another weight's gradient": ("w3", Wrong("w3 - learning_rate * dE_dw1"), 2, "other gradient",
                                  "w3 is updated with dE_dw1 where dE_dw3 belongs"),
    "one after another": ("dE_dw1", Wrong(formula("dE_dw1").replace("w5", "(w5 - learning_rate * dE_dw5)")
                                          .replace("w7", "(w7 - learning_rate * dE_dw7)")),
                          1, "one after another", "updated one after another"),
    "wrong sign in an update": ("w6", Wrong("w6 + learning_rate * dE_dw6"), 2, "sign", "wrong sign"),
    "wrong sign in a gradient": ("dE_dw5", Wrong(formula("dE_dw5").replace("a_o1 - t1", "t1 - a_o1")),
                                 1, "sign", "wrong sign"),
    "sigma prime left out": ("dE_dw8", Wrong("(a_o2 - t2) * a_h2"), 1, "missing factor", "σ′"),
    "input left out": ("dE_dw2", Wrong(formula("dE_dw2").removesuffix(" * i2")), 1, "missing factor",
                       "leaves out the factor i2"),
    "constant pasted": ("dE_dw6", Pasted(5), 5, "constant", "pasted where a formula belongs"),
    "target for input": ("dE_dw5", Wrong(formula("dE_dw5").replace("t1", "i1")), 1, "substitution",
                         "uses i1 where t1 belongs"),
    "unexplained": ("dE_dw5", Wrong(formula("dE_dw5").replace("t1", "i1").replace("a_h1", "a_h2")
                                    .replace("a_o1", "o1")), 1, "unexplained", "should compute =(R"),
}


def check(found, placed, expected):
    """`expected`: [(column, iteration, kind, words)]; each found at its first cell."""
    got = {(m.quantity, m.cell, m.kind) for m in found.mistakes}
    want = {(q, placed.cell(q, it), kind) for q, it, kind, _ in expected}
    assert got == want, (found.summary, want)
    for q, _, _, words in expected:
        [m] = [m for m in found.mistakes if m.quantity == q]
        assert words in m.diagnosis and m.cell in m.diagnosis, m.diagnosis


@pytest.mark.parametrize("fmt", ["xlsx", "ods"])
@pytest.mark.parametrize("case", list(CLASSES))
def test_each_mistake_class_is_found_at_its_first_cell(tmp_path, case, fmt):
    column, mistake, iteration, kind, words = CLASSES[case]
    path = tmp_path / f"{case}.{fmt}"
    # Plain headers keep the expected words short; the shapes below use human ones.
    [placed] = write(path, {"Sheet1": [(Block(mistakes={column: mistake}, rate=0.8), 0, 0)]})["Sheet1"]
    result = audit(path)
    [sheet] = result.sheets
    assert result.exit_status == 1
    check(sheet, placed, [(column, iteration, kind, words)])


@pytest.mark.parametrize("fmt", ["xlsx", "ods"])
def test_values_only_sheets_are_audited_by_values_and_say_so(tmp_path, fmt):
    path = tmp_path / f"values.{fmt}"
    blocks = {"Sheet1": [(Block(mistakes={"dE_dw3": Wrong(formula("dE_dw3").replace("a_h2", "a_h1"))},
                                headers=HUMAN), 0, 0)]}
    [placed] = write(path, blocks, formulas=False)["Sheet1"]
    [sheet] = audit(path).sheets
    assert sheet.values_only and "values only" in report(audit(path))
    check(sheet, placed, [("dE_dw3", 1, "substitution", "uses out_h1 where σ(h2) belongs")])
    # A value where a formula belongs, in a values-only sheet: told by the repeated number.
    path = tmp_path / f"pasted.{fmt}"
    [placed] = write(path, {"S": [(Block(mistakes={"w2": Pasted(4)}), 0, 0)]}, formulas=False)["S"]
    check(audit(path).sheets[0], placed, [("w2", 4, "constant", "it is the value of")])


@pytest.mark.parametrize("fmt", ["xlsx", "ods"])
def test_unexplained_values_only_says_what_it_holds_and_should_compute(tmp_path, fmt):
    column, mistake, *_ = CLASSES["unexplained"]
    path = tmp_path / f"u.{fmt}"
    [placed] = write(path, {"S": [(Block(mistakes={column: mistake}), 0, 0)]}, formulas=False)["S"]
    [m] = audit(path).sheets[0].mistakes
    assert m.diagnosis.startswith(f"dE_dw5: {placed.cell('dE_dw5', 1)} holds 0.")
    assert "but should compute =(R4-A4)*R4*(1-R4)*J4, which gives" in m.diagnosis


@pytest.mark.parametrize("fmt", ["xlsx", "ods"])
def test_learning_rate_cell_the_updates_do_not_use(tmp_path, fmt):
    path = tmp_path / f"lr.{fmt}"
    blocks = {"other value": [(Block(rate=0.8, rate_shown=0.3, literal_rate=True), 0, 0)],
              "same value": [(Block(rate=0.8, literal_rate=True), 0, 0)],
              "right": [(Block(rate=0.8), 0, 0)]}
    placed = write(path, blocks)
    other, same, right = audit(path).sheets
    check(other, placed["other value"][0],
          [("w1", 2, "learning-rate cell", "use 0.8, not the learning-rate cell B1 (0.3)")])
    check(same, placed["same value"][0],
          [("w1", 2, "learning-rate cell", "do not refer to the learning-rate cell B1")])
    assert right.correct


# --- table shapes --------------------------------------------------------------------------------

RATES = (0.1, 0.2, 0.5, 0.8, 1.0, 2.0)


@pytest.mark.parametrize("fmt", ["xlsx", "ods"])
def test_six_tables_stacked_on_one_sheet_each_with_its_own_rate(tmp_path, fmt):
    blocks = []
    top = 0
    for rate in RATES:
        mistakes = {"dE_dw6": Wrong(formula("dE_dw6").replace("t1", "i1"))} if rate == 0.8 else {}
        blocks.append((Block(rate=rate, rows=8, title=f"Learning rate {rate}: training", headers=HUMAN,
                             mistakes=mistakes, rate_label="η"), top, 0))
        top += 8 + 6 + 2   # title, gap, rate, gap, header, body, two blank rows
    path = tmp_path / f"stacked.{fmt}"
    placed = write(path, {"all rates": blocks})["all rates"]
    result = audit(path)
    assert [s.learning_rate for s in result.sheets] == list(RATES)
    assert all("agreeing with cell" in s.learning_rate_source for s in result.sheets)
    for s, p, rate in zip(result.sheets, placed, RATES, strict=True):
        if rate == 0.8:
            check(s, p, [("dE_dw6", 1, "substitution",
                          "dEtotal/dw6 uses i1 where t1 belongs")])
        else:
            assert s.correct, s.summary


@pytest.mark.parametrize("fmt", ["xlsx", "ods"])
def test_tables_side_by_side_with_a_spacer_column(tmp_path, fmt):
    left = Block(rate=0.5, mistakes={"w3": Wrong("w3 - learning_rate * dE_dw1")})
    right = Block(rate=2.0, headers=HUMAN)
    path = tmp_path / f"side.{fmt}"
    placed = write(path, {"two": [(left, 0, 0), (right, 0, 34)]})["two"]
    a, b = audit(path).sheets
    assert (a.learning_rate, b.learning_rate) == (0.5, 2.0)
    check(a, placed[0], [("w3", 2, "other gradient", "w3 is updated with dE_dw1")])
    assert b.correct


@pytest.mark.parametrize("fmt", ["xlsx", "xlsm", "ods"])
def test_serial_column_helper_columns_other_order_two_row_header(tmp_path, fmt):
    order = list(reversed([q for q in NET.names if q != "iteration"]))
    block = Block(serial="S.No", order=order, helpers=[("w4", "note"), ("E_total", "check")],
                  two_row_header=True, headers=HUMAN, rate=1.0,
                  mistakes={"dE_dw4": Wrong(formula("dE_dw4"), {"i2": 0, "a_h2": -1})})
    path = tmp_path / f"shape.{fmt}"
    [placed] = write(path, {"Sheet1": [(block, 2, 1)]})["Sheet1"]
    [sheet] = audit(path).sheets
    assert {h for _, h in sheet.unknown_headers} == {"note", "check"}
    check(sheet, placed, [("dE_dw4", 2, "other row", "takes σ(h2) from the row above")])


@pytest.mark.parametrize("fmt", ["xlsx", "ods"])
def test_targets_inputs_and_rate_in_labelled_cells(tmp_path, fmt):
    block = Block(labelled=("t1", "t2", "i1", "i2"), rate_label="Learning_rate", rate=0.8,
                  label_texts={"t1": "Target 1:", "t2": "target t2", "i1": "Input 1", "i2": "x2"},
                  mistakes={"E1": Wrong("0.5 * (t2 - a_o1) ** 2")}, headers=HUMAN)
    path = tmp_path / f"labelled.{fmt}"
    [placed] = write(path, {"mine": [(block, 0, 0)]})["mine"]
    [sheet] = audit(path).sheets
    assert sheet.setup["t2"] == 0.99 and sheet.learning_rate == 0.8
    check(sheet, placed, [("E1", 1, "substitution", "E_o1 uses t2 where t1 belongs")])
    # The correct formula reads the labelled cells absolutely.
    assert "$" in sheet.mistakes[0].correct_formula


@pytest.mark.parametrize("fmt", ["xlsx", "ods"])
def test_correct_hand_made_sheets_raise_no_false_alarm(tmp_path, fmt):
    sheets = {
        "plain": [(Block(rate=0.1, rows=30), 0, 0)],
        "human": [(Block(rate=2.0, headers=HUMAN, serial="#", title="My sheet"), 3, 2)],
        "other setup": [(Block(setup=Setup(i1=0.9, i2=-0.4, t1=0.3, t2=0.2, w1=-0.5, w6=1.2),
                               rate=0.5, two_row_header=True), 0, 0)],
        "labelled": [(Block(labelled=("t1", "t2", "i1", "i2")), 0, 0)],
    }
    path = tmp_path / f"ok.{fmt}"
    write(path, sheets)
    result = audit(path)
    assert result.exit_status == 0, report(result)
    assert len(result.sheets) == 4 and all(s.correct and s.reproduced for s in result.sheets)
    path = tmp_path / f"ok-values.{fmt}"
    write(path, sheets, formulas=False)
    assert audit(path).exit_status == 0


@pytest.mark.parametrize("fmt", ["xlsx", "ods"])
def test_unknown_headers_are_listed_and_map_places_them(tmp_path, fmt, capsys):
    block = Block(headers={"dE_dw1": "G1", "dE_dw2": "G2"}, mistakes={"dE_dw2": Wrong(
        formula("dE_dw2").replace("i2", "i1"))})
    path = tmp_path / f"unknown.{fmt}"
    [placed] = write(path, {"S": [(block, 0, 0)]})["S"]
    result = audit(path)
    assert result.exit_status == 2 and not result.sheets
    [why] = result.unreadable.values()
    assert "dE_dw1, dE_dw2" in why and "'G1'" in why and "--map" in why
    mapped = audit(path, {"G1": "dE_dw1", "G2": "dE_dw2"})
    check(mapped.sheets[0], placed, [("dE_dw2", 1, "substitution", "G2 uses i1 where i2 belongs")])
    assert main(["audit", str(path), "--map", "G1=dE_dw1", "--map", "G2=dE_dw2"]) == 1
    assert "G2 uses i1 where i2 belongs" in capsys.readouterr().out
    assert main(["audit", str(path), "--map", "G1=dE_dw9"]) == 2
    assert "no quantity named 'dE_dw9'" in capsys.readouterr().err


# --- a class of submissions -----------------------------------------------------------------------

def test_a_class_audit_csv_json_exit_status_and_mark(tmp_path, capsys):
    files = []
    for k, (case, fmt) in enumerate([("target for input", "xlsx"), ("circular chain", "ods"),
                                     (None, "xlsx"), ("constant pasted", "ods")]):
        mistakes = {} if case is None else {CLASSES[case][0]: CLASSES[case][1]}
        path = tmp_path / f"student{k}.{fmt}"
        write(path, {"Sheet1": [(Block(mistakes=mistakes, headers=HUMAN), 0, 0)]})
        files.append(path)
    (tmp_path / "broken.xlsx").write_text("not a workbook")
    files.append(tmp_path / "broken.xlsx")
    out = tmp_path / "marked.xlsx"
    args = ["audit", *map(str, files), "--format", "csv", "--mark", str(out)]
    assert main(args) == 1
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    by_file = {r["file"]: r for r in rows}
    assert by_file[str(files[0])]["first_cell"] == "AB4" and by_file[str(files[0])]["column"] == "AB"
    assert by_file[str(files[1])]["kind"] == "other row"
    assert by_file[str(files[2])]["kind"] == "right"
    assert by_file[str(files[3])]["kind"] == "constant"
    assert by_file[str(files[4])]["kind"] == "not audited"
    book = openpyxl.load_workbook(out)
    assert book.sheetnames[0] == "findings" and len(book.sheetnames) == 5
    first = book["student0-Sheet1"]["AB4"]
    assert first.fill.fgColor.rgb.endswith("FFC7CE")
    assert "Correct: =(R4-A4)*R4*(1-R4)*J4" in first.comment.text
    assert book["student0-Sheet1"]["AB5"].comment is None   # one comment per column
    assert book["student0-Sheet1"]["AA4"].fill.fgColor.rgb in (None, "00000000")
    result = audit_files(files[:3])
    assert result.exit_status == 1
    assert json.loads(report(result, "json"))["exit_status"] == 1
    assert audit_files([files[2]]).exit_status == 0
    assert mark(audit(files[2]), tmp_path / "clean.xlsx").is_file()
    # A submission is never overwritten by the marked copy.
    before = files[0].read_bytes()
    assert main(["audit", str(files[0]), "--mark", str(files[0])]) == 2
    assert "one of the audited files" in capsys.readouterr().err
    assert files[0].read_bytes() == before


@pytest.mark.libreoffice
def test_a_libreoffice_export_audits_like_its_source(tmp_path):
    """One real export, on a small book: LibreOffice saves the hand-made .ods as .xlsx."""
    import shutil
    import subprocess

    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if not soffice:
        pytest.skip("LibreOffice is not installed")
    source = tmp_path / "student.ods"
    column, mistake, iteration, kind, words = CLASSES["one after another"]
    [placed] = write(source, {"Sheet1": [(Block(mistakes={column: mistake}, headers=HUMAN), 0, 0)]})[
        "Sheet1"]
    profile = (tmp_path / "profile").as_uri()
    subprocess.run([soffice, f"-env:UserInstallation={profile}", "--headless", "--convert-to", "xlsx",
                    "--outdir", str(tmp_path / "out"), str(source)], check=True, timeout=180,
                   capture_output=True)
    [sheet] = audit(tmp_path / "out" / "student.xlsx").sheets
    assert not sheet.values_only
    check(sheet, placed, [(column, iteration, kind, "updated one after another")])


# --- text from a submission stays text ----------------------------------------------------------

INJECTED = "=2+5+cmd|' -C calc'!A0"   # a file name a student may choose
MAPS = ["--map", "@dEdw6=dE_dw6", "--map", "+dEdw7=dE_dw7"]


def hostile_submission(tmp_path, fmt: str = "ods"):
    """A submission whose file name, sheet name and headers would each start a formula (text
    cells of an .ods: openpyxl would write such a header as a formula)."""
    headers = {**HUMAN, "dE_dw5": "=E∂W5", "dE_dw6": "@dEdw6", "dE_dw7": "+dEdw7", "dE_dw8": "-dEdw8"}
    path = tmp_path / f"{INJECTED}.{fmt}"
    column, mistake = CLASSES["target for input"][:2]
    write(path, {"=HYPERLINK(1)": [(Block(mistakes={column: mistake}, headers=headers), 0, 0)]})
    return path


def test_mark_writes_every_text_as_text(tmp_path, capsys):
    import zipfile

    path = hostile_submission(tmp_path)
    out = tmp_path / "marked.xlsx"
    assert main(["audit", str(path), *MAPS, "--mark", str(out)]) == 1
    with zipfile.ZipFile(out) as zf:
        parts = [n for n in zf.namelist() if n.startswith("xl/worksheets/") and n.endswith(".xml")]
        assert len(parts) == 2
        for name in parts:
            assert b"<f>" not in zf.read(name) and b"<f " not in zf.read(name), name
    findings = openpyxl.load_workbook(out)["findings"]
    rows = list(findings.iter_rows(min_row=2, values_only=True))
    assert rows[0][0] == str(path) and rows[0][1] == "=HYPERLINK(1)"
    assert rows[0][7] == "=(R4-A4)*R4*(1-R4)*J4"   # the correct formula's text, not 0
    assert findings["A1"].value == "file"


def test_csv_reports_neutralise_formula_text(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the file named as given: a name starting with =
    path = hostile_submission(tmp_path).relative_to(tmp_path)
    assert main(["audit", str(path), *MAPS, "--format", "csv"]) == 1
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    cells = [cell for row in rows[1:] for cell in row]
    assert f"'{path}" in cells and "'=HYPERLINK(1)" in cells and "'=E∂W5" in cells
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")], cells
    # compare: headers and sheet names from the file, numbers (negative ones too) untouched
    other = Path("other.xlsx")
    write(other, {"=HYPERLINK(1)": [(Block(headers=HUMAN), 0, 0)]})
    assert main(["compare", str(path), str(other), "--format", "csv"]) == 1
    table = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert {r["sheet_a"] for r in table} == {"'=HYPERLINK(1)"}
    assert {r["header_a"] for r in table} >= {"'=E∂W5", "'-dEdw8"}
    assert all(r[k][:1] not in "=+-@" or k.startswith("max_") for r in table for k in r if r[k])
    float(next(r["max_abs_diff"] for r in table if r["header_a"] == "'=E∂W5"))


def test_a_conflicting_map_and_an_unwritable_mark_are_one_line(tmp_path, capsys):
    import os

    path = tmp_path / "student.ods"
    write(path, {"Sheet1": [(Block(headers=HUMAN), 0, 0)]})
    assert main(["audit", str(path), "--map", "G1=dE_dw1", "--map", "G1=dE_dw2"]) == 2
    assert "--map G1: given twice, as dE_dw1 and as dE_dw2" in capsys.readouterr().err
    (tmp_path / "folder.xlsx").mkdir()
    os.mkfifo(tmp_path / "pipe.xlsx")  # a special file named like a workbook stays as it is
    for name, words in (("folder.xlsx", "a folder"), ("pipe.xlsx", "not a regular file")):
        assert main(["audit", str(path), "--mark", str(tmp_path / name)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"--mark {tmp_path / name}: {words}" in err and ".part" not in err
    assert (tmp_path / "folder.xlsx").is_dir() and not os.path.isfile(tmp_path / "pipe.xlsx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder.xlsx", "pipe.xlsx", "student.ods"]
