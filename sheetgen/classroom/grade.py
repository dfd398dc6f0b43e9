"""`sheetgen grade`: each submission matched to its student's variant, audited against it, and
scored per graded column; the gradebook as CSV and as an offline web page.

Scoring: each graded (blank) column earns its marks when the audit finds it `right`, or
`follows` (wrong only because an earlier column is: work carried forward), and its cells hold
formulas; a `mistake`, numbers typed where formulas belong (`pasted`) or a missing column earn
none. A submission that cannot be read or matched is a row saying why, never a stop.
"""

from __future__ import annotations

import collections
import json
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sheetgen.check.audit import audit, expected_from, mark
from sheetgen.core.training import Training
from sheetgen.core.workers import can_fork, map_in_processes
from sheetgen.errors import SheetgenError, UsageError
from sheetgen.read.workbook import Workbook

STATUSES = ("right", "follows", "mistake", "pasted", "missing")
EARNS = ("right", "follows")
MAX_SUBMISSIONS = 10_000
MAX_CLASS_BYTES = 64 * 1024**2


@dataclass(frozen=True)
class ClassRecord:
    """What `sheetgen class` wrote to class.json, as grading needs it."""

    folder: Path
    config: Path
    learning_rate: float
    blank: tuple[str, ...]
    marks: dict[str, float]
    students: tuple[dict, ...]          # id, name, values, variant_seed, ...

    def student(self, sid: str) -> dict:
        return next(s for s in self.students if s["id"] == sid)


def read_class(folder: Path) -> ClassRecord:
    """The class folder's class.json; UsageError saying what is wrong with it."""
    folder = Path(folder)
    path = folder / "class.json"
    if not folder.is_dir():
        raise UsageError(f"--class {folder}: not a folder (give the --output-dir of sheetgen class)")
    if not path.is_file():
        raise UsageError(f"--class {folder}: no class.json (give the --output-dir of sheetgen class)")
    if path.stat().st_size > MAX_CLASS_BYTES:
        raise UsageError(f"{path}: too large for a class list")
    try:
        data = json.loads(path.read_text("utf-8"))
        students = tuple(data["students"])
        record = ClassRecord(folder, folder / str(data["config"]), float(data["learning_rate"]),
                             tuple(data["blank"]), {str(k): float(v) for k, v in data["marks"].items()},
                             students)
        for s in students:
            str(s["id"]), {str(k): float(v) for k, v in s["values"].items()}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise UsageError(f"{path}: not a class.json of sheetgen class ({type(exc).__name__}: "
                         f"{str(exc)[:60]})") from None
    if not record.config.is_file():
        raise UsageError(f"--class {folder}: its config {record.config.name} is missing")
    return record


@dataclass
class Entry:
    """One submission's row of the gradebook."""

    file: str
    student: str = ""
    name: str = ""
    matched_by: str = ""               # file name | numbers | "" (not matched)
    marks: float = 0.0
    out_of: float = 0.0
    status: dict[str, str] = field(default_factory=dict)   # graded column -> STATUSES
    first_mistake: str = ""
    problem: str = ""                  # why it is not graded (or scores 0)
    mistakes: list[tuple[str, str, str]] = field(default_factory=list)   # (kind, column, sentence)
    marked: str = ""                   # the marked copy, relative to the gradebook

    @property
    def score(self) -> float | None:
        """Percent of the marks, or None when the submission was not graded."""
        if self.problem and not self.status:
            return None
        return 100.0 * self.marks / self.out_of if self.out_of else 0.0


@dataclass
class Gradebook:
    entries: list[Entry]
    blank: tuple[str, ...]
    marks: dict[str, float]

    def slip_counts(self) -> dict[str, int]:
        """How many submissions show each kind of mistake (a pasted column, a wrong variant and
        a file not graded count as kinds too), most frequent first."""
        counts: collections.Counter = collections.Counter()
        for e in self.entries:
            kinds = {kind for kind, _, _ in e.mistakes}
            if e.score is None:
                kinds.add("not graded")
            counts.update(kinds)
        return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


# --- matching -----------------------------------------------------------------------------------

def match_name(path: Path, record: ClassRecord) -> dict | None:
    """The student whose id (or id as a file name) the file's name holds, longest id first."""
    stem = path.name
    best = None
    for s in record.students:
        for form in {s["id"], re.sub(r"[^A-Za-z0-9._-]+", "_", s["id"]).strip("._")}:
            if form and re.search(rf"(?<![A-Za-z0-9]){re.escape(form)}(?![A-Za-z0-9])", stem,
                                  re.IGNORECASE):
                if best is None or len(form) > len(best[0]):
                    best = (form, s)
    return best[1] if best else None


def _same(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def numbers_of(values: dict[str, list[float]], names: Sequence[str]) -> dict[str, float]:
    """The first row's given numbers (inputs, targets, start weights) a sheet holds."""
    return {n: values[n][0] for n in names if n in values and values[n] and
            isinstance(values[n][0], float) and math.isfinite(values[n][0])}


def match_numbers(found: dict[str, float], record: ClassRecord) -> dict | None:
    if not found:
        return None
    for s in record.students:
        if all(n in s["values"] and _same(v, s["values"][n]) for n, v in found.items()):
            return s
    return None


# --- one submission -----------------------------------------------------------------------------

_JOB: dict = {}


def _graded_rows(q: str, training: Training) -> int:
    return 1 if training.network.quantity(q).is_state else 0


def grade_one(path: Path, record: ClassRecord, training: Training, mark_dir: Path | None = None,
              variant_of=None) -> Entry:
    """One submission's row. `variant_of(values) -> Training`: the exercise from a variant."""
    entry = Entry(Path(path).name, out_of=sum(record.marks.values()))
    by_name = match_name(Path(path), record)
    student = by_name
    exercise = variant_of(student["values"]) if student else training
    try:
        result = audit(path, None, expected_from(exercise))
    except SheetgenError as exc:
        entry.problem = f"not graded: {str(exc).replace(str(path), Path(path).name)}"
        if student:
            entry.student, entry.name, entry.matched_by = student["id"], student.get("name", ""), "file name"
        return entry
    sheets = result.sheets
    if not sheets:
        why = "; ".join(f"{k}: {v}" for k, v in result.unreadable.items()) or "no table"
        entry.problem = f"not graded: {why}"
        if student:
            entry.student, entry.name, entry.matched_by = student["id"], student.get("name", ""), "file name"
        return entry
    sheet = sheets[0]
    drawn = list(record.students[0]["values"])
    found = numbers_of(sheet.values, drawn)
    owner = match_numbers(found, record)
    if student is None:
        if owner is None:
            entry.problem = ("not matched: no roster id in the file name, and its numbers are no "
                             "student's variant")
            return entry
        student, entry.matched_by = owner, "numbers"
        exercise = variant_of(student["values"])
        if expected_from(exercise).parameters != expected_from(training).parameters:
            result = audit(path, None, expected_from(exercise))
            sheet = result.sheets[0]
    else:
        entry.matched_by = "file name"
    entry.student, entry.name = student["id"], student.get("name", "")
    if owner is None or owner["id"] != student["id"]:
        whose = f"the variant of {owner['id']}" if owner is not None else "no student's variant"
        entry.problem = f"wrong numbers: the sheet holds {whose}, not those of {student['id']}"
        entry.status = {q: "mistake" for q in record.blank}
        entry.mistakes = [("wrong variant", "", entry.problem)]
        entry.first_mistake = entry.problem
        return entry
    columns = {c.quantity: c for c in sheet.columns}
    formulas = _formula_cells(path, sheet, record.blank, columns, training)
    mistakes = {m.quantity: m for m in sheet.mistakes}
    for q in record.blank:
        c = columns.get(q)
        if c is None:
            entry.status[q] = "missing"
        elif not formulas.get(q, False):
            entry.status[q] = "pasted"
        else:
            entry.status[q] = c.status
        if entry.status[q] in EARNS:
            entry.marks += record.marks[q]
    entry.mistakes = [(m.kind, m.quantity, m.diagnosis) for m in sheet.mistakes]
    for q in record.blank:
        if entry.status[q] == "pasted" and q not in mistakes:
            entry.mistakes.append(("pasted", q, f"{columns[q].header}: numbers typed where formulas "
                                                f"belong (column {columns[q].column})"))
    order = {q: k for k, q in enumerate(training.network.names)}
    graded = sorted([m for m in entry.mistakes], key=lambda m: order.get(m[1], -1))
    entry.first_mistake = graded[0][2] if graded else ""
    if mark_dir is not None and (sheet.mistakes or any(s == "pasted" for s in entry.status.values())):
        target = mark_dir / marked_name(Path(path))
        try:
            mark(result, target)
            entry.marked = f"{mark_dir.name}/{target.name}"
        except SheetgenError as exc:
            entry.problem = f"no marked copy: {exc}"
    return entry


def marked_name(path: Path) -> str:
    """marked_<stem>.xlsx (an .ods submission's: marked_<stem>_ods.xlsx)."""
    suffix = path.suffix.lower().lstrip(".")
    return f"marked_{path.stem}{'' if suffix == 'xlsx' else '_' + suffix}.xlsx"


def _formula_cells(path: Path, sheet, blank: Sequence[str], columns: dict, training: Training
                   ) -> dict[str, bool]:
    """Per graded column: whether every graded cell holds a formula."""
    first = sheet.header_row + 1
    wanted = {}
    for q in blank:
        if q in columns:
            start = first + _graded_rows(q, training)
            wanted[q] = [f"{columns[q].column}{r}" for r in range(start, first + sheet.rows)]
    cells = [c for refs in wanted.values() for c in refs]
    try:
        found = Workbook(path).formulas(sheet.sheet, cells)
    except SheetgenError:
        found = {}
    return {q: bool(refs) and all(c in found for c in refs) for q, refs in wanted.items()}


def _one(k: int) -> Entry:
    job = _JOB
    path = job["paths"][k]
    try:
        return grade_one(path, job["record"], job["training"], job["mark_dir"], job["variant_of"])
    except SheetgenError as exc:   # a file the readers refuse in a way not foreseen: a row, not a stop
        return Entry(Path(path).name, problem=f"not graded: {exc}")


def grade(paths: Sequence[Path], record: ClassRecord, training: Training, variant_of,
          mark_dir: Path | None = None, jobs: int | None = None) -> Gradebook:
    """Grade every submission (in `jobs` processes); the rows keep the given order."""
    paths = [Path(p) for p in paths]
    if not paths:
        raise UsageError("no submissions given")
    if len(paths) > MAX_SUBMISSIONS:
        raise UsageError(f"at most {MAX_SUBMISSIONS:,} submissions at once, got {len(paths):,}")
    _JOB.update(paths=paths, record=record, training=training, mark_dir=mark_dir, variant_of=variant_of)
    jobs = jobs or min(4, os.cpu_count() or 1)
    try:
        if jobs > 1 and len(paths) > 4 and can_fork():
            entries = map_in_processes(_one, range(len(paths)), jobs)
        else:
            entries = [_one(k) for k in range(len(paths))]
    finally:
        _JOB.clear()
    return Gradebook(entries, record.blank, record.marks)


__all__ = ["ClassRecord", "Entry", "Gradebook", "STATUSES", "grade", "grade_one", "marked_name",
           "match_name",
           "match_numbers", "read_class"]
