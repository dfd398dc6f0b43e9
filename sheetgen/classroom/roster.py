"""The class list: a roster CSV (an id column, optionally names) or a count of students.

Ids and names are text from a file: they go into workbooks as strings (never formulas), into
CSV cells neutralised, into the teacher's page escaped; a student's files are named from the
id with anything but letters, digits, '.', '_' and '-' replaced.
"""

from __future__ import annotations

import csv
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path

from sheetgen.core.data import open_regular
from sheetgen.core.exercise import MAX_STUDENTS
from sheetgen.errors import UsageError

ID_COLUMNS = ("id", "student_id", "student id", "student", "matriculation", "login")
NAME_COLUMNS = ("name", "student_name", "student name", "full name", "full_name")
MAX_ROSTER_BYTES = 4 * 1024**2
MAX_ID = 64


@dataclass(frozen=True)
class Student:
    id: str
    name: str = ""

    @property
    def file_name(self) -> str:
        """The id as a file name's part: letters, digits, '.', '_', '-'."""
        return re.sub(r"[^A-Za-z0-9._-]+", "_", self.id).strip("._") or "student"

    @property
    def shown(self) -> str:
        return f"{self.name} ({self.id})" if self.name else self.id


def _shown(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:28] + "...")


def counted(n: int) -> list[Student]:
    """`--count N`: students s001, s002, ... (as many digits as N needs, at least 3)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise UsageError(f"--count: must be a whole number of at least 1, got {n!r}")
    if n > MAX_STUDENTS:
        raise UsageError(f"--count: at most {MAX_STUDENTS:,} students in one class, got {n:,}")
    width = max(3, len(str(n)))
    return [Student(f"s{k:0{width}d}") for k in range(1, n + 1)]


def read_roster(path: Path) -> list[Student]:
    """The students of a roster CSV: a header row naming an id column (id, student_id, student,
    ...) and optionally a name column; UsageError naming the file and the line otherwise."""
    path = Path(path)

    def fail(message: str) -> UsageError:
        return UsageError(f"--students {path}: {message}")

    fd = open_regular(path, fail)
    try:
        size = os.fstat(fd).st_size
        if size > MAX_ROSTER_BYTES:
            raise fail(f"too large for a class list ({size:,} bytes; at most {MAX_ROSTER_BYTES:,})")
        with os.fdopen(fd, "rb", closefd=False) as stream:
            data = stream.read(MAX_ROSTER_BYTES + 1)
    finally:
        os.close(fd)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise fail("not a text file (not UTF-8)") from None
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise fail(f"not a CSV file: {exc}") from None
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if not rows:
        raise fail("empty: give a header row (id, name) and one row per student")
    header = [h.strip().lower() for h in rows[0]]
    id_col = next((header.index(h) for h in ID_COLUMNS if h in header), None)
    if id_col is None:
        raise fail(f"no id column: the header row names {', '.join(map(_shown, rows[0][:6])) or 'nothing'}"
                   f"; name one column {' or '.join(repr(h) for h in ID_COLUMNS[:3])}")
    name_col = next((header.index(h) for h in NAME_COLUMNS if h in header), None)
    if len(rows) - 1 > MAX_STUDENTS:
        raise fail(f"at most {MAX_STUDENTS:,} students in one class, the file lists {len(rows) - 1:,}")
    students, seen, files = [], {}, {}
    for line, row in enumerate(rows[1:], start=2):
        sid = row[id_col].strip() if id_col < len(row) else ""
        if not sid:
            raise fail(f"line {line}: the id is empty")
        if len(sid) > MAX_ID or any(ord(c) < 32 or ord(c) == 127 for c in sid):
            raise fail(f"line {line}: the id {_shown(sid)} is too long or holds control characters "
                       f"(at most {MAX_ID} characters)")
        if sid in seen:
            raise fail(f"line {line}: the id {_shown(sid)} is listed twice (first on line {seen[sid]})")
        seen[sid] = line
        name = row[name_col].strip() if name_col is not None and name_col < len(row) else ""
        student = Student(sid, " ".join(name.split())[:200])
        key = student.file_name.lower()
        if key in files:
            raise fail(f"line {line}: the ids {_shown(files[key])} and {_shown(sid)} give the same "
                       f"file name ({student.file_name}); make them differ in letters or digits")
        files[key] = sid
        students.append(student)
    if not students:
        raise fail("no students: the file has a header row only")
    return students


__all__ = ["ID_COLUMNS", "NAME_COLUMNS", "Student", "counted", "read_roster"]
