"""For teachers: a variant per student, exercise sheets, answer keys and a gradebook.

  roster.py     the class list (a roster CSV or a count) and the students' file names
  variants.py   each student's numbers, drawn until every catalogued slip shows
  make.py       `sheetgen class`: the exercises, keys, class.csv/json and the teacher's README
  grade.py      `sheetgen grade`: match, audit and score each submission
  gradebook.py  gradebook.csv and the offline gradebook.html

Everything takes the exercise's `Training` (built from its config by the caller); a variant is
that training started from other values, so no maths is written here.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

# The class list is read (and refused) before the audit and its libraries are loaded.
from sheetgen.classroom.roster import Student, counted, read_roster
from sheetgen.core.exercise import ExerciseSpec
from sheetgen.core.training import Training

if TYPE_CHECKING:
    from sheetgen.classroom.grade import ClassRecord, Gradebook
    from sheetgen.classroom.make import ClassResult


def write_class(training: Training, exercise: ExerciseSpec | None, students: Sequence[Student],
                folder: Path | str, config_text: str, jobs: int | None = None) -> ClassResult:
    """Check everything, then draw each student's variant and write the class folder: a
    SheetgenError before any file is written when an input is wrong."""
    from sheetgen.classroom.make import make_class, plan

    return make_class(plan(training, exercise, students, Path(folder), config_text), jobs)


def read_class(folder: Path | str) -> ClassRecord:
    """The class folder's class.json (UsageError when it is not one)."""
    from sheetgen.classroom.grade import read_class as read

    return read(Path(folder))


def variants_of(training: Training, record: ClassRecord):
    """values -> the exercise's training from those start values, at the class's rate."""
    def variant(values: dict) -> Training:
        return training.starting_from(training.setup.values() | values,
                                      learning_rates=(record.learning_rate,), plots=False)
    return variant


def write_gradebook(submissions: Sequence[Path | str], record: ClassRecord, training: Training,
                    output_dir: Path | str | None = None, marked: bool = False,
                    jobs: int | None = None) -> tuple[Gradebook, list[Path]]:
    """Grade the submissions against the class and write gradebook.csv and gradebook.html (and,
    with `marked`, marked/marked_<file>.xlsx per submission with a mistake) into `output_dir`
    (default: the class folder). Returns the gradebook and the paths written."""
    from sheetgen.classroom.grade import grade, marked_name
    from sheetgen.classroom.gradebook import to_csv, to_html
    from sheetgen.write.atomic import atomic_path, output_set

    folder = Path(output_dir) if output_dir is not None else record.folder
    if folder.exists() and not folder.is_dir():
        from sheetgen.errors import UsageError

        raise UsageError(f"--output-dir {folder}: is a file, not a folder")
    paths = [Path(p) for p in submissions]
    mark_dir = folder / "marked" if marked else None
    targets = [folder / "gradebook.csv", folder / "gradebook.html"]
    if mark_dir is not None:
        targets += [mark_dir / marked_name(p) for p in paths]
    with output_set(folder, targets):
        book = grade(paths, record, training, variants_of(training, record), mark_dir, jobs)
        written = [p for p in targets[2:] if p.exists()]
        for target, text in ((targets[0], to_csv(book)), (targets[1], to_html(book))):
            with atomic_path(target) as tmp:
                tmp.write_text(text, "utf-8")
    return book, [targets[0], targets[1], *written]


__all__ = ["ExerciseSpec", "Student", "counted", "read_class", "read_roster", "variants_of",
           "write_class", "write_gradebook"]
