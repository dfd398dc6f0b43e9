"""A simulated class: 30 variants, then submissions filled in with openpyxl: correct ones, one
per slip class of the catalogue (t1↔t2 among them), numbers pasted instead of formulas, a
wrong variant's numbers, a file with no id in its name, an unreadable file. The expected scores
come from the rules (marks of the columns that are right or follow from an earlier mistake,
with formulas), never from a run."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

import sheetgen
from sheetgen import classroom
from sheetgen.classroom.variants import slips_of
from sheetgen.config import from_file
from tests.classroom.submissions import fill

pytestmark = pytest.mark.slow

CONFIG = """learning_rates = [0.5]
iterations = 6
formats = ["xlsx"]

[class]
seed = 2026
blank = ["gradients", "updates"]
self_check = true
marks = { updates = 0.5, dE_dw5 = 2 }
"""
SLIP_KINDS = ("substitution", "t1↔t2", "other row", "sign", "missing factor", "sequential update")


def pick(slips, kind: str):
    """A gradient column's slip of `kind` (t1↔t2: t2 written for t1)."""
    if kind == "t1↔t2":
        return next(s for s in slips if s.kind == "substitution" and "t1" in s.was and "t2" in s.now
                    and "t1" not in s.now)
    return next(s for s in sorted(slips, key=lambda s: not s.quantity.startswith("dE_")) if s.kind == kind)


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    root = tmp_path_factory.mktemp("class")
    (root / "exercise.toml").write_text(CONFIG, "utf-8")
    folder = root / "class"
    made = sheetgen.make_class(root / "exercise.toml", count=30, output_dir=folder, jobs=2)
    record = classroom.read_class(folder)
    base = from_file(record.config).training()
    variant = classroom.variants_of(base, record)
    subs = root / "submissions"
    subs.mkdir()
    students = record.students
    plan: dict[str, dict] = {}   # file name -> what it is, and what the rules give it

    def exercise(k: int) -> Path:
        return folder / students[k]["exercise"][0]

    def add(name: str, k: int, what: str, slip=None, paste=(), owner: int | None = None,
            mistake=None):
        src = students[owner if owner is not None else k]
        training = variant(src["values"])
        path = subs / name
        if paste == "all":
            fill(exercise(owner if owner is not None else k), path, training, record.blank, paste=True)
        else:
            fill(exercise(owner if owner is not None else k), path, training,
                 [q for q in record.blank if q not in paste], slip.net if slip else None)
            if paste:  # the other columns pasted on top
                fill(path, path, training, paste, paste=True)
        plan[name] = {"student": students[k]["id"], "what": what, "slip": slip, "paste": paste,
                      "wrong_variant": owner is not None, "mistake": mistake}

    add(f"exercise_{students[0]['id']}.xlsx", 0, "correct")
    add(f"{students[1]['id']} final version.xlsx", 1, "correct")
    add("my_backprop_homework.xlsx", 2, "correct, no id in its name")
    for j, kind in enumerate(SLIP_KINDS):
        k = 3 + j
        slip = pick(slips_of(variant(students[k]["values"]), record.blank), kind)
        add(f"exercise_{students[k]['id']}.xlsx", k, kind, slip=slip)
    add(f"exercise_{students[10]['id']}.xlsx", 10, "pasted values", paste="all")
    add(f"exercise_{students[11]['id']}.xlsx", 11, "one column pasted", paste=("dE_dw5",))
    add(f"exercise_{students[12]['id']}.xlsx", 12, "another student's numbers", owner=13)
    bad = subs / f"exercise_{students[14]['id']}.xlsx"
    bad.write_bytes(b"PK\x03\x04 not really a workbook")
    plan[bad.name] = {"student": students[14]["id"], "what": "unreadable"}
    files = sorted(subs.iterdir())
    book, paths = sheetgen.grade(files, folder, mark=True, jobs=2)
    return {"made": made, "record": record, "book": book, "paths": paths, "plan": plan,
            "folder": folder, "files": files}


def expected_score(record, status: dict[str, str]) -> float:
    total = sum(record.marks.values())
    return 100 * sum(record.marks[q] for q, s in status.items() if s in ("right", "follows")) / total


def test_the_class_has_30_reproducible_variants(simulated):
    made, record = simulated["made"], simulated["record"]
    assert len(made.variants) == len(record.students) == 30
    assert len({tuple(sorted(s["values"].items())) for s in record.students}) == 30
    assert all(s["draws"] >= 1 for s in record.students)
    assert made.draws["total"] == sum(s["draws"] for s in record.students)
    readme = (simulated["folder"] / "README.md").read_text("utf-8")
    assert f"Draws needed: {made.draws['total']} for 30 students" in readme
    # The marks as [class] sets them: updates 0.5 each, dE_dw5 2, the other gradients 1.
    assert record.marks["w3"] == 0.5 and record.marks["dE_dw5"] == 2 and record.marks["dE_dw1"] == 1


def test_every_submission_gets_the_score_its_columns_earn(simulated):
    record, plan = simulated["record"], simulated["plan"]
    entries = {e.file: e for e in simulated["book"].entries}
    assert set(entries) == set(plan)
    for name, want in plan.items():
        e = entries[name]
        assert e.student == want["student"], name
        if want["what"] == "unreadable":
            assert e.score is None and e.problem.startswith("not graded"), name
            continue
        if want["wrong_variant"]:
            assert e.score == 0 and "holds the variant of" in e.problem, name
            continue
        if want["paste"] == "all":
            expected = {q: "pasted" for q in record.blank}
        else:
            expected = {q: "pasted" if q in want["paste"] else
                        "mistake" if want["slip"] is not None and q == want["slip"].quantity else "ok"
                        for q in record.blank}
        for q, s in expected.items():
            if s == "ok":
                assert e.status[q] in ("right", "follows"), (name, q, e.status[q])
            else:
                assert e.status[q] == s, (name, q, e.status[q])
        assert e.score == pytest.approx(expected_score(record, e.status)), name
        assert e.score == pytest.approx(expected_score(record, {q: "right" if s == "ok" else s
                                                                for q, s in expected.items()}))
        if want["slip"] is not None:
            assert e.score < 100 and e.first_mistake, name
        elif not want["paste"]:
            assert e.score == 100 and not e.first_mistake, name
    no_id = entries["my_backprop_homework.xlsx"]
    assert no_id.matched_by == "numbers"


def test_work_carried_forward_earns_its_marks(simulated):
    """A slip in an output gradient leaves later columns wrong only through it: they follow."""
    entries = simulated["book"].entries
    follows = [e for e in entries if "follows" in e.status.values()]
    assert follows, "a slip's effect reaches later columns"
    for e in follows:
        assert e.marks >= sum(simulated["record"].marks[q] for q, s in e.status.items() if s == "follows")


def test_the_gradebook_files(simulated):
    folder = simulated["folder"]
    rows = list(csv.DictReader((folder / "gradebook.csv").open(encoding="utf-8")))
    assert len(rows) == len(simulated["plan"])
    assert {"student", "score", "first_mistake", "dE_dw5", "w1"} <= set(rows[0])
    for row in rows:
        assert not any(v.startswith(("=", "+", "-", "@")) for v in row.values())
    counts = simulated["book"].slip_counts()
    assert {"substitution", "sign", "other row", "pasted", "wrong variant"} <= set(counts)
    html = (folder / "gradebook.html").read_text("utf-8")
    assert "<svg" in html and "http" not in html.replace("http-equiv", "")
    marked = list((folder / "marked").glob("*.xlsx"))
    assert len(marked) >= len(SLIP_KINDS)


def test_self_check_cells_say_right_exactly_where_the_column_matches_the_key(simulated):
    """pycel, a formula engine of its own, evaluates a submission's check cells: `right` where
    the column's values are the key's, `not yet` elsewhere (the slipped column, and the columns
    computed from it)."""
    from pycel import ExcelCompiler
    from python_calamine import CalamineWorkbook

    from sheetgen.core.cells import column_letter

    record, plan, folder = simulated["record"], simulated["plan"], simulated["folder"]
    subs = simulated["files"][0].parent
    base = from_file(record.config).training()
    index = {q: i for i, q in enumerate(base.network.names)}

    def table(path: Path) -> list[list]:
        grid = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("lr=0.5").to_python()
        return grid[16:16 + base.iterations]

    for what in ("correct", "sign", "other row"):
        name = next(n for n, w in plan.items() if w["what"] == what)
        student = record.student(plan[name]["student"])
        key, mine = table(folder / student["key"][0]), table(subs / name)
        excel = ExcelCompiler(filename=str(subs / name))
        verdicts = {}
        for q in record.blank:
            first = 1 if base.network.quantity(q).is_state else 0
            same = all(abs(a[index[q]] - b[index[q]]) <= 1e-9 * abs(b[index[q]]) + 1e-15
                       for a, b in zip(mine[first:], key[first:], strict=True))
            verdicts[q] = excel.evaluate(f"'lr=0.5'!{column_letter(index[q])}15")
            assert verdicts[q] == ("right" if same else "not yet"), (name, q, verdicts[q])
        if plan[name]["slip"] is not None:
            assert verdicts[plan[name]["slip"].quantity] == "not yet"
        else:
            assert set(verdicts.values()) == {"right"}
    exercise = ExcelCompiler(filename=str(folder / record.students[0]["exercise"][0]))
    assert exercise.evaluate(f"'lr=0.5'!{column_letter(index['dE_dw1'])}15") == "to do"
