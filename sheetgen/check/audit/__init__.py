"""Audit hand-made backpropagation sheets: find the columns whose formula is wrong, and why.

  tables.py    the tables of a sheet, in the shapes people make them, and their labelled cells
  expected.py  the network a table should compute: from a config, or inferred from the sheet
  columns.py   one equation checked against one column (the network's own expressions)
  diagnose.py  the small changes to an equation that reproduce a wrong column
  structure.py each formula's references against its equation (slips the values hide)
  slips.py     the slips, injected into any network (the audit's corpus and bench)
  sheet.py     the audit of one table: mistakes, sentences, whole-table recomputation
  result.py    the results: Audit (one file), ClassAudit (several)
  report.py    text, JSON and CSV reports
  marked.py    a workbook with the wrong cells highlighted and the correct formulas in comments

Files are read only through `sheetgen.read.workbook.Workbook` (opened and checked once).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from sheetgen.check.audit.diagnose import STAGES, Explanation
from sheetgen.check.audit.expected import Expected, from_training
from sheetgen.check.audit.report import REPORT_FORMATS, report
from sheetgen.check.audit.result import Audit, ClassAudit
from sheetgen.check.audit.sheet import ColumnStatus, Mistake, SheetAudit, audit_table, plan
from sheetgen.check.audit.tables import Found, find_data, find_tables, header_reader, is_data_table
from sheetgen.core.presets import reference_network as network
from sheetgen.core.tempfolder import owned_folder
from sheetgen.core.workers import can_fork, can_spread, map_as_made, map_in_processes
from sheetgen.errors import AuditError, SheetgenError, WorkbookError
from sheetgen.read.ods_sheets import Unsplittable, sheet_grid
from sheetgen.read.workbook import Workbook, one_line


def _names() -> tuple[str, ...]:
    names: list[str] = []
    for biases in ("none", "trained"):
        names += [n for n in network(biases).names if n not in names]
    return tuple(names)


def expected_from(training) -> Expected | None:
    """The exercise a `Training` sets (`Config.training()` of `--config`), or None."""
    return None if training is None else from_training(training, "config")


def audit(path: Path | str, mapping: Mapping[str, str] | None = None,
          expected: Expected | None = None) -> Audit:
    """Audit every table of every sheet of a workbook. `mapping`: header text -> quantity, for
    headers the rules do not place; `expected`: the exercise the tables should compute
    (`expected_from(config.training())`; inferred from each table's headers when None). WorkbookError when
    the file cannot be read or holds no table."""
    names, headers = _names(), None
    if expected is not None and expected.net is not None:
        names, headers = expected.net.names, expected.headers
    read = header_reader(names, mapping, headers)
    book = Workbook(path)
    planned, unreadable = [], {}
    found_tables, data = _tables_of(book, read), None
    for name, (_, samples) in found_tables.items():
        if samples is not None:
            found_tables[name], data = ([], None), samples  # the samples: data, not a training
            break
    found_tables = {name: found for name, (found, _) in found_tables.items()}
    for name, tables in found_tables.items():
        for found in tables:
            label = name if len(tables) == 1 else f"{name} {found.span}"
            try:
                planned.append((name, *plan(found, expected, data)))
            except AuditError as exc:
                unreadable[label] = str(exc)
    # Every table's formulas in one read of the file.
    wanted: dict[str, set[str]] = {}
    for name, cells, _ in planned:
        wanted.setdefault(name, set()).update(cells)
    formulas = book.formulas_in({name: sorted(cells) for name, cells in wanted.items()})
    sheets = [finish(formulas.get(name, {})) for name, _, finish in planned]
    if not sheets and not unreadable:
        raise WorkbookError(f"{book.path}: no backpropagation table found in any sheet "
                            "(no header row naming its columns, e.g. w1 w2 E_total)")
    return Audit(str(book.path), sheets, unreadable)


# A workbook this big has its sheets read and searched for tables in worker processes, one sheet
# each, when it has several: the reading is most of an audit's time. An .xlsx worker reads its
# sheet's own part. An .ods's sheets share one content.xml, which calamine parses whole: it is
# streamed apart into one file per sheet, each read by a worker while the next is written; laid
# out otherwise, it is parsed here once, and the workers inherit that and only search their sheet.
PARALLEL_BYTES = 4_000_000
_SHEETS: dict = {}


def _tables_of(book: Workbook, read) -> dict[str, tuple[list[Found], dict | None]]:
    """{sheet: (its tables, its samples when it is a data sheet)}, in the sheets' order."""
    jobs = min(4, os.cpu_count() or 1)
    parallel = can_spread() and book.path.stat().st_size > PARALLEL_BYTES
    _SHEETS.update(book=book, read=read, parent=os.getpid())
    try:
        if parallel and book.is_ods:
            apart = _ods_tables_apart(book, jobs)
            if apart is not None:
                return apart
        names = book.sheet_names
        if parallel and len(names) > 1:
            found = map_in_processes(_sheet_tables, names, min(jobs, len(names)), chunks_per_job=1)
            return dict(zip(names, found, strict=True))
        return {name: _sheet_tables(name) for name in names}
    finally:
        _SHEETS.clear()


def _ods_tables_apart(book: Workbook, jobs: int) -> dict[str, tuple[list[Found], dict | None]] | None:
    try:
        with owned_folder(Path(tempfile.gettempdir())) as folder:
            # Each file waits in the folder until read: at most one per worker, and one more.
            found = map_as_made(_sheet_file_tables, book.sheets_apart(folder), jobs, ahead=jobs + 1)
    except (Unsplittable, WorkbookError, OSError):
        return None  # read whole, as any .ods can be; a damaged one is refused there
    tables = {name: (tables, samples) for name, tables, samples in found}
    return tables if len(tables) == len(found) else None


def _sheet_tables(name: str) -> tuple[list[Found], dict | None]:
    book = _SHEETS["book"]
    if not book.is_ods and os.getpid() != _SHEETS["parent"] and _SHEETS.get("worker") != os.getpid():
        book.in_forked_process()
        _SHEETS["worker"] = os.getpid()
    return _tables_in(book.grid(name), name)


def _sheet_file_tables(path: Path) -> tuple[str, list[Found], dict | None]:
    try:
        name, grid = sheet_grid(path)
    except Exception as exc:  # calamine raises several types; the whole file is read instead
        raise WorkbookError(f"{path}: cannot read: {one_line(exc)}") from None
    return (name, *_tables_in(grid, name))


def _tables_in(grid: list[list], name: str) -> tuple[list[Found], dict | None]:
    found = find_tables(grid, name, _SHEETS["read"])
    return found, find_data(grid) if all(map(is_data_table, found)) else None


def _one(args) -> tuple[str, Audit | None, str | None]:
    path, mapping, expected = args
    try:
        return str(path), audit(path, mapping, expected), None
    except SheetgenError as exc:
        return str(path), None, str(exc)


def audit_files(paths: Iterable[Path | str], mapping: Mapping[str, str] | None = None,
                expected: Expected | None = None, jobs: int = 1) -> ClassAudit:
    """Audit each file; a file that cannot be read is listed with why, and the others go on.
    `jobs`: files audited at once, each in its own process; the report keeps the given order."""
    header_reader(_names(), mapping)  # a bad --map is the user's mistake, not a file's
    paths = list(paths)
    work = [(p, mapping, expected) for p in paths]
    if jobs > 1 and len(paths) > 1:
        results = map_in_processes(_one, work, jobs, chunks_per_job=4,
                                   start="fork" if can_fork() else "spawn")
    else:
        results = map(_one, work)
    audits, failures = [], {}
    for path, result, why in results:
        if result is None:
            failures[path] = why
        else:
            audits.append(result)
    return ClassAudit(audits, failures)


def mark(result: Audit | ClassAudit, output: Path | str) -> Path:
    """Write `output` (.xlsx): each audited table's values, wrong cells highlighted, the correct
    formula in a comment on each wrong column's first wrong cell, and a findings sheet."""
    from sheetgen.check.audit.marked import write_marked

    if isinstance(result, Audit):
        result = ClassAudit([result], {})
    return write_marked(result, Path(output))


__all__ = ["Audit", "AuditError", "ClassAudit", "ColumnStatus", "Expected", "Explanation", "Found",
           "Mistake", "expected_from",
           "REPORT_FORMATS", "STAGES", "SheetAudit", "audit", "audit_files", "audit_table",
           "find_tables", "header_reader", "mark", "report"]
