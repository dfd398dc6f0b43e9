"""`sheetgen class`: a variant, an exercise and a key per student, the class list and the
teacher's README, written as one set (all or none, sheetgen.write.atomic.output_set)."""

from __future__ import annotations

import collections
import csv
import io
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sheetgen.check.compare import csv_text
from sheetgen.classroom.roster import Student
from sheetgen.classroom.variants import (
    STEP_CHANGE,
    STRICT_DRAWS,
    SlipCheck,
    Variant,
    blank_columns,
    check_ranges,
    check_supported,
    make_variant,
)
from sheetgen.core.exercise import BLANK_GROUPS, ExerciseSpec
from sheetgen.core.text import markdown_text
from sheetgen.core.training import Training
from sheetgen.core.workers import can_fork, map_in_processes
from sheetgen.errors import ConfigError, UsageError
from sheetgen.generation import write_workbook
from sheetgen.layout.assemble import build_book
from sheetgen.layout.exercise import check_of, exercise_book, first_graded_row
from sheetgen.write.atomic import check_targets, output_set

CONFIG_NAME = "exercise.toml"
FILES = ("README.md", "class.csv", "class.json", CONFIG_NAME)
MIN_CHECK_ROWS = 3   # a self-check over fewer cells would all but show them


@dataclass(frozen=True)
class Plan:
    """What `sheetgen class` will do, decided before anything is written."""

    training: Training
    spec: ExerciseSpec
    students: tuple[Student, ...]
    folder: Path
    blanks: tuple[str, ...]
    learning_rate: float
    marks: dict[str, float]
    config_text: str

    def exercise_path(self, student: Student, fmt: str) -> Path:
        return self.folder / "exercises" / f"exercise_{student.file_name}.{fmt}"

    def key_path(self, student: Student, fmt: str) -> Path:
        return self.folder / "keys" / f"key_{student.file_name}.{fmt}"

    def targets(self) -> list[Path]:
        paths = [self.folder / name for name in FILES]
        for s in self.students:
            for fmt in self.training.formats:
                paths += [self.exercise_path(s, fmt), self.key_path(s, fmt)]
        return paths


@dataclass
class ClassResult:
    folder: Path
    variants: list[Variant]
    paths: list[Path]
    slips: dict[str, int] = field(default_factory=dict)   # slip class -> how many in the catalogue

    @property
    def draws(self) -> dict[str, float]:
        counts = [v.draws for v in self.variants]
        return {"total": sum(counts), "mean": round(sum(counts) / len(counts), 2), "min": min(counts),
                "max": max(counts)}


def marks_of(training: Training, spec: ExerciseSpec, blanks: Sequence[str]) -> dict[str, float]:
    """Marks per graded column: 1 each, or as [class].marks sets them (a group's mark goes to
    each of its columns; a column's own mark wins)."""
    marks = {q: 1.0 for q in blanks}
    groups = [(n, v) for n, v in spec.marks if n in BLANK_GROUPS]
    names = [(n, v) for n, v in spec.marks if n not in BLANK_GROUPS]
    for name, value in groups:
        members = [q for q in blank_columns(training, [name]) if q in marks] if _has(training, name) \
            else []
        if not members:
            raise ConfigError(f"class.marks.{name}: no blank column is in {name}")
        for q in members:
            marks[q] = value
    for name, value in names:
        if name not in marks:
            raise ConfigError(f"class.marks.{name}: not a blank column (blank: "
                              f"{', '.join(blanks[:6])}{', ...' if len(blanks) > 6 else ''})")
        marks[name] = value
    if sum(marks.values()) <= 0:
        raise ConfigError("class.marks: every column has 0 marks")
    return marks


def _has(training: Training, group: str) -> bool:
    try:
        blank_columns(training, [group])
        return True
    except ConfigError:
        return False


def plan(training: Training, spec: ExerciseSpec | None, students: Sequence[Student], folder: Path,
         config_text: str) -> Plan:
    """Every check of `sheetgen class`, by arithmetic and names only (no variant is drawn)."""
    spec = spec or ExerciseSpec()
    check_supported(training)
    check_ranges(training, spec)
    blanks = blank_columns(training, spec.blank)
    rate = spec.learning_rate if spec.learning_rate is not None else training.learning_rates[0]
    if spec.self_check:
        fewest = min(training.iterations - first_graded_row(training.network.quantity(q)) for q in blanks)
        if fewest < MIN_CHECK_ROWS:
            raise ConfigError(f"class.self_check: a check over fewer than {MIN_CHECK_ROWS} cells would "
                              f"show them; give iterations = {MIN_CHECK_ROWS + 1} or more")
    ids = [s.id for s in students]
    if len(set(ids)) != len(ids):
        raise UsageError("the class lists an id twice")
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"--output-dir {folder}: is a file, not a folder")
    for parent in folder.parents:
        if parent.exists():
            if not parent.is_dir():
                raise UsageError(f"--output-dir {folder}: cannot be created: {parent} is a file")
            break
    result = Plan(training, spec, tuple(students), folder, blanks, rate,
                  marks_of(training, spec, blanks), config_text)
    check_targets(result.targets())
    return result


def variant_training(plan: Plan, values: dict, **run) -> Training:
    """The exercise's training from a variant's start values, on the class's one learning rate."""
    return plan.training.starting_from(plan.training.setup.values() | values,
                                       learning_rates=(plan.learning_rate,), plots=False, **run)


_JOB: dict = {}


def _student(k: int) -> tuple[Variant, list[Path]]:
    plan, check = _JOB["plan"], _JOB["check"]
    student = plan.students[k]
    variant = make_variant(plan.training, plan.spec, student.id, check)
    key = variant_training(plan, variant.values, output_dir=plan.folder / "keys",
                           basename=f"key_{student.file_name}")
    key_book = build_book(key)
    key_book.small = True
    paths = [write_workbook(key_book, fmt) for fmt in key.formats]
    checks = None
    if plan.spec.self_check:
        trace = key_book.sheets[0].trace
        checks = {q: check_of(trace.column(q)[first_graded_row(key.network.quantity(q)):].tolist())
                  for q in plan.blanks}
    exercise = variant_training(plan, variant.values, output_dir=plan.folder / "exercises",
                                basename=f"exercise_{student.file_name}")
    heading = f"Exercise for {student.shown}: fill in the green cells with formulas"
    book = exercise_book(exercise, plan.blanks, heading, checks, key_book)
    book.small = True
    paths += [write_workbook(book, fmt) for fmt in exercise.formats]
    return variant, paths


def make_class(plan: Plan, jobs: int | None = None) -> ClassResult:
    """Draw every variant and write every file of `plan` (all or none)."""
    check = SlipCheck(plan.training, plan.blanks, plan.spec, plan.learning_rate)
    jobs = jobs or min(4, os.cpu_count() or 1)
    _JOB.update(plan=plan, check=check)
    n = len(plan.students)
    try:
        with output_set(plan.folder, plan.targets()):
            if jobs > 1 and n > 4 and can_fork():
                done = map_in_processes(_student, range(n), jobs)
            else:
                done = [_student(k) for k in range(n)]
            variants = [v for v, _ in done]
            paths = [p for _, ps in done for p in ps]
            result = ClassResult(plan.folder, variants, paths,
                                 dict(collections.Counter(s.kind for s in check.slips)))
            paths += _write_summary(plan, result)
    finally:
        _JOB.clear()
    return result


def _relative(plan: Plan, path: Path) -> str:
    return path.relative_to(plan.folder).as_posix()


def class_record(plan: Plan, result: ClassResult) -> dict:
    """class.json: the exercise, the catalogue and draws, and each student's variant and files."""
    fmts = plan.training.formats
    return {
        "format": "sheetgen class 1",
        "config": CONFIG_NAME,
        "seed": plan.spec.seed,
        "learning_rate": plan.learning_rate,
        "iterations": plan.training.iterations,
        "network": plan.training.describe(),
        "blank": list(plan.blanks),
        "blank_as_set": list(plan.spec.blank),
        "marks": plan.marks,
        "self_check": plan.spec.self_check,
        "formats": list(fmts),
        "slips": {"catalogue": sum(result.slips.values()), "classes": result.slips,
                  "rows": plan.spec.slip_rows, "min_change": plan.spec.min_change},
        "draws": result.draws,
        "students": [{"id": s.id, "name": s.name, "variant_seed": v.seed, "draws": v.draws,
                      "step_change": v.step_change or plan.spec.min_change, "values": v.values,
                      "exercise": [_relative(plan, plan.exercise_path(s, f)) for f in fmts],
                      "key": [_relative(plan, plan.key_path(s, f)) for f in fmts]}
                     for s, v in zip(plan.students, result.variants, strict=True)],
    }


def _write_summary(plan: Plan, result: ClassResult) -> list[Path]:
    from sheetgen.write.atomic import atomic_path

    record = class_record(plan, result)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    fmts = plan.training.formats
    writer.writerow(["student", "name", "variant_seed", "draws", *[f"exercise_{f}" for f in fmts],
                     *[f"key_{f}" for f in fmts]])
    for entry in record["students"]:
        writer.writerow([csv_text(entry["id"]), csv_text(entry["name"]), entry["variant_seed"],
                         entry["draws"], *[csv_text(p) for p in entry["exercise"] + entry["key"]]])
    texts = {"class.json": json.dumps(record, indent=1, ensure_ascii=False) + "\n",
             "class.csv": buffer.getvalue(), CONFIG_NAME: plan.config_text,
             "README.md": teacher_readme(plan, record)}
    paths = []
    for name, text in texts.items():
        with atomic_path(plan.folder / name) as tmp:
            tmp.write_text(text, "utf-8")
        paths.append(plan.folder / name)
    return paths


def teacher_readme(plan: Plan, record: dict) -> str:
    """The teacher's README.md: what was generated, and how to grade."""
    n = len(plan.students)
    fmts = " and ".join(f".{f}" for f in plan.training.formats)
    draws = record["draws"]
    slips = record["slips"]
    classes = ", ".join(f"{k} ({v})" for k, v in sorted(slips["classes"].items()))
    marks = ", ".join(f"{q} {m:g}" for q, m in plan.marks.items())
    given = ", weights and biases" if plan.training.spec.bias_names else " and weights"
    lines = [
        "# Class exercise",
        "",
        f"Generated by `sheetgen class` for {n} student{'s' * (n != 1)}: network {record['network']}, "
        f"learning rate {plan.learning_rate:g}, {plan.training.iterations} iterations.",
        "",
        "## What is here",
        "",
        f"- `exercises/`: one workbook per student ({fmts}), `exercise_<id>`. The given cells hold "
        "live formulas; the green cells are for the student: the columns "
        f"{', '.join(plan.blanks)} (a weight column from its second row on: its first row is the "
        "given start value). Hand each student their own file.",
        "- `keys/`: the answer key per student, `key_<id>`: the full live workbook of that variant. "
        "Keep these back.",
        "- `class.csv`, `class.json`: each student's id, name, variant seed, draws and files; "
        "`class.json` also holds each variant's numbers, which `sheetgen grade` reads.",
        f"- `{CONFIG_NAME}`: the exercise's config, as given.",
        "",
        "## The variants",
        "",
        f"Each student's inputs, targets{given} are drawn from the [class] ranges (seed "
        f"{plan.spec.seed} and the student's id: the same roster "
        "gives the same variants again). A draw is kept only if every slip of the catalogue "
        f"moves at least one green cell by {slips['min_change']:g} relative or more within the first "
        f"{slips['rows']} iterations, so that a wrong formula shows in the numbers. The catalogue "
        f"holds {slips['catalogue']} slips in the green columns: {classes}. "
        f"Draws needed: {draws['total']} for {n} students (mean {draws['mean']:g}, "
        f"fewest {draws['min']}, most {draws['max']}).",
        "",
    ]
    stepped = [e["id"] for e in record["students"] if e["step_change"] < slips["min_change"]]
    if stepped:
        lines[-1:-1] = [
            "",
            f"A name read from the row above, or a weight read already updated, changes a cell by "
            f"one training step only. For {len(stepped)} student{'s' * (len(stepped) != 1)} "
            f"({', '.join(map(markdown_text, stepped[:20]))}{', …' if len(stepped) > 20 else ''}) "
            "no draw in "
            f"{STRICT_DRAWS} made those slips move a cell by {slips['min_change']:g}: theirs move one "
            f"by {STEP_CHANGE:g} relative or more (the 7th of the 10 significant digits the sheet "
            "shows; the self-check cells and `grade` see far smaller differences). A larger "
            "learning rate makes these slips show more.",
        ]
    if plan.spec.self_check:
        lines += [
            "## Self-check cells",
            "",
            "Above each green column a cell says `to do` (not every cell filled), `right` or "
            "`not yet`. It compares the column's sum and sum of squares with the key's, within "
            "10^-9 relative: the formula shows those two numbers, never a cell's value. How strong "
            "that is: a student cannot read an answer off it, but can see whether a guess is "
            "right, and a determined student could type numbers with the same sum and sum of "
            "squares; the check looks at values only, so it cannot tell a formula from a pasted "
            "number. The grade does both (below). A column that is right only given an earlier "
            "wrong column shows `not yet`, since it is compared with the key.",
            "",
        ]
    lines += [
        "## Grading",
        "",
        "Collect the students' files (keep the id in each file's name, e.g. `exercise_<id>.xlsx`), "
        "then run:",
        "",
        "```",
        f"sheetgen grade SUBMISSIONS... --class {plan.folder}",
        "```",
        "",
        "It writes `gradebook.csv` and `gradebook.html` here (`--mark` also writes a marked copy "
        "of each submission to `marked/`). A submission is matched to its variant by the id in "
        "its file name, or else by the variant's numbers in its sheet; a sheet holding another "
        "variant's numbers is flagged and scores 0. Each green column is audited against the "
        "student's own variant: `right` and `follows` (wrong only because an earlier column is "
        "wrong: work carried forward) earn the column's marks; `mistake`, and numbers typed "
        "where formulas belong (`pasted`), earn none.",
        "",
        f"Marks per column: {marks} (set them in [class] marks).",
        "",
    ]
    return "\n".join(lines)


__all__ = ["ClassResult", "Plan", "class_record", "make_class", "marks_of", "plan",
           "teacher_readme", "variant_training"]
