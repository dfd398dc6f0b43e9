"""`sheetgen class` and `sheetgen grade` on bad input: one line, exit 2, nothing written; and a
small class end to end (3 students, the three commands of the README)."""

from __future__ import annotations

import csv
import json

import openpyxl
import pytest

from sheetgen.cli import main

EXERCISE = """learning_rates = [0.5]
iterations = 4
formats = ["xlsx"]
[class]
seed = 11
"""


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "ex.toml").write_text(EXERCISE, "utf-8")
    (tmp_path / "noid.csv").write_text("name,email\nAna,a@x\n", "utf-8")
    (tmp_path / "dup.csv").write_text("id,name\nk1,A\nk1,B\n", "utf-8")
    (tmp_path / "same-file.csv").write_text("id\nab/1\nab 1\n", "utf-8")
    (tmp_path / "bad-blank.toml").write_text(EXERCISE + 'blank = ["dE_dw9"]\n', "utf-8")
    (tmp_path / "given-blank.toml").write_text(EXERCISE + 'blank = ["t1"]\n', "utf-8")
    (tmp_path / "bad-mark.toml").write_text(EXERCISE + 'marks = { dE_dw9 = 1 }\n', "utf-8")
    (tmp_path / "few-rows.toml").write_text(EXERCISE.replace("iterations = 4", "iterations = 2")
                                            + "self_check = true\n", "utf-8")
    (tmp_path / "a-file").write_text("", "utf-8")
    return tmp_path


@pytest.mark.parametrize("args, message", [
    (["--students", "noid.csv"], "no id column"),
    (["--students", "dup.csv"], "listed twice"),
    (["--students", "same-file.csv"], "give the same file name"),
    (["--students", "missing.csv"], "file not found"),
    (["--count", "1000000000"], "at most 10,000 students"),
    (["--count", "0"], "must be at least 1"),
    (["--count", "3", "--students", "dup.csv"], "not allowed with"),
    (["--count", "3", "--config", "bad-blank.toml"], "did you mean 'dE_dw8'"),
    (["--count", "3", "--config", "given-blank.toml"], "t1 is given"),
    (["--count", "3", "--config", "bad-mark.toml"], "class.marks.dE_dw9"),
    (["--count", "3", "--config", "few-rows.toml"], "class.self_check"),
    (["--count", "3", "--output-dir", "a-file"], "is a file, not a folder"),
    (["--count", "3", "--output-dir", "a-file/class"], "is a file"),
])
def test_bad_input_is_one_line_and_writes_nothing(folder, monkeypatch, capsys, args, message):
    monkeypatch.chdir(folder)
    defaults = {"--config": "ex.toml", "--output-dir": "out"}
    for flag, value in defaults.items():
        if flag not in args:
            args = [*args, flag, value]
    before = sorted(p.name for p in folder.iterdir())
    assert main(["class", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and message in err, err
    assert sorted(p.name for p in folder.iterdir()) == before


def test_conv_and_recurrent_exercises_are_refused(tmp_path, capsys):
    from sheetgen.config import example_text

    for name, words in (("conv-edge", "convolutional"), ("rnn-sum", "recurrent"), ("xor", "data set")):
        (tmp_path / f"{name}.toml").write_text(example_text(name), "utf-8")
        assert main(["class", "--config", str(tmp_path / f"{name}.toml"), "--count", "2",
                     "--output-dir", str(tmp_path / "out")]) == 2
        err = capsys.readouterr().err
        assert words in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_a_small_class_end_to_end(folder, monkeypatch, capsys):
    """The README's three commands: init-config, class, grade. Names that look like formulas
    stay text in the workbook, the CSV and the page."""
    monkeypatch.chdir(folder)
    (folder / "roster.csv").write_text('id,name\nk1,Ana\nk2,"=1+1"\nk3,<b>Bo</b>\n', "utf-8")
    assert main(["class", "--config", "ex.toml", "--students", "roster.csv", "--output-dir", "c",
                 "--jobs", "1"]) == 0
    record = json.loads((folder / "c" / "class.json").read_text("utf-8"))
    assert [s["id"] for s in record["students"]] == ["k1", "k2", "k3"]
    book = openpyxl.load_workbook(folder / "c" / "exercises" / "exercise_k2.xlsx")
    heading = book["lr=0.5"]["A15"]
    assert heading.value == "Exercise for =1+1 (k2): fill in the green cells with formulas"
    assert heading.data_type == "s"
    rows = list(csv.reader((folder / "c" / "class.csv").open(encoding="utf-8")))
    assert rows[2][1] == "'=1+1"
    # The keys handed in as they are: every column right.
    keys = sorted(str(p) for p in (folder / "c" / "keys").iterdir())
    broken = folder / "broken_k3.xlsx"
    broken.write_bytes(b"not a workbook")
    # The reference exercise's own numbers, under a name holding no id: nobody's variant.
    assert main(["generate", "--learning-rates", "0.5", "--iterations", "4", "--format", "xlsx",
                 "--no-plots", "--output-dir", "stranger", "--quiet"]) == 0
    stranger = folder / "stranger" / "BackPropagation.xlsx"
    capsys.readouterr()
    status = main(["grade", *keys, str(broken), str(stranger), "--class", "c", "--jobs", "1"])
    assert status == 1   # two submissions could not be graded
    out = capsys.readouterr().out
    assert "key_k1.xlsx: k1 100.0%" in out and "broken_k3.xlsx: k3 –" in out
    assert "BackPropagation.xlsx: ? – not matched: no roster id in the file name" in out
    grades = list(csv.DictReader((folder / "c" / "gradebook.csv").open(encoding="utf-8")))
    assert [g["score"] for g in grades] == ["100.0", "100.0", "100.0", "", ""]
    assert grades[1]["name"] == "'=1+1"
    page = (folder / "c" / "gradebook.html").read_text("utf-8")
    assert "&lt;b&gt;Bo&lt;/b&gt;" in page and "<b>Bo</b>" not in page


def test_grade_refuses_a_folder_that_is_no_class(tmp_path, capsys):
    (tmp_path / "x.xlsx").write_bytes(b"")
    assert main(["grade", str(tmp_path / "x.xlsx"), "--class", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no class.json" in err and err.count("\n") == 1


@pytest.mark.slow
def test_the_class_readme_shows_roster_ids_as_text(tmp_path, capsys):
    """At rate 0.1 the README names the students whose step-bounded slips show by 1e-6 only: their
    ids, written as the roster has them, are escaped Markdown, never a link or HTML."""
    (tmp_path / "exercise.toml").write_text('iterations = 4\n[class]\nblank = ["gradients"]\n', "utf-8")
    (tmp_path / "roster.csv").write_text('id\n"[x](javascript:alert(1))"\n<b>Bo</b>\n', "utf-8")
    assert main(["class", "--config", str(tmp_path / "exercise.toml"), "--students",
                 str(tmp_path / "roster.csv"), "--output-dir", str(tmp_path / "class")]) == 0
    readme = (tmp_path / "class" / "README.md").read_text("utf-8")
    assert r"\[x\]\(javascript:alert\(1\)\)" in readme and r"\<b\>Bo\</b\>" in readme
    assert "[x](" not in readme and "<b>" not in readme
