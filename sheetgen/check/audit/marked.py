"""`--mark OUT.xlsx`: the audited tables' values with each wrong cell highlighted, a comment
on the first wrong cell of each wrong column giving the correct formula in that sheet's own
references, and a findings sheet (one row per mistake)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import xlsxwriter

from sheetgen.core.cells import parse_cell
from sheetgen.errors import UsageError, WriteError

FINDINGS = "findings"


def _sheet_name(text: str, taken: set[str]) -> str:
    base = "".join("_" if ch in "[]:*?/\\'" else ch for ch in text)[:28] or "table"
    name, k = base, 2
    while name.lower() in taken:
        name, k = f"{base[:25]}~{k}", k + 1
    taken.add(name.lower())
    return name


@contextlib.contextmanager
def _complete_or_absent(target: Path):
    """A temporary file beside `target`, renamed onto it only when the block succeeds."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    except OSError as exc:
        raise WriteError(f"{target}: cannot write: {exc.strerror or exc}") from None
    os.close(fd)
    try:
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # mkstemp's 0600 would make the result private
        yield Path(tmp)
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and not isinstance(exc, WriteError):  # name the user's file
            raise WriteError(f"{target}: cannot write: {exc.strerror or exc}") from None
        raise


def write_marked(result, output: Path) -> Path:
    audited = {Path(a.path).resolve() for a in result.audits} | {Path(p).resolve() for p in result.failures}
    if output.resolve() in audited:
        raise UsageError(f"--mark {output}: that is one of the audited files; choose another name")
    if output.exists() and not output.is_file() or output.is_symlink() and not output.exists():
        kind = "a folder" if output.is_dir() else "not a regular file"
        raise UsageError(f"--mark {output}: {kind}; give the name of an .xlsx file to write")
    with _complete_or_absent(output) as tmp:
        # Text from the audited files (names, headers, formulas to show) is written as text,
        # never as a live formula or link.
        book = xlsxwriter.Workbook(str(tmp), {"nan_inf_to_errors": True, "strings_to_formulas": False,
                                              "strings_to_urls": False})
        wrong_fmt = book.add_format({"bg_color": "#FFC7CE", "font_color": "#9C0006"})
        bold = book.add_format({"bold": True})
        findings = book.add_worksheet(FINDINGS)
        taken = {FINDINGS}
        heads = ("file", "sheet", "table", "column", "first cell", "kind", "diagnosis",
                 "correct formula")
        _text_row(findings, 0, heads, bold)
        line = 1
        for audit in result.audits:
            for s in audit.sheets:
                name = _sheet_name(f"{Path(audit.path).stem}-{s.sheet}", taken)
                sheet = book.add_worksheet(name)
                header_row = s.header_row - 1
                wrong = {c for m in s.mistakes if m.kind != "learning-rate cell" for c in m.wrong_cells}
                firsts = {m.cell: m for m in s.mistakes}
                for status in s.columns:
                    col = _col(status.column)
                    sheet.write_string(header_row, col, status.header, bold)
                    for k, value in enumerate(s.values.get(status.quantity, [])):
                        row = header_row + 1 + k
                        cell = f"{status.column}{row + 1}"
                        fmt = wrong_fmt if cell in wrong else None
                        sheet.write_number(row, col, value, fmt) if value == value \
                            else sheet.write_blank(row, col, None, fmt)
                        if cell in firsts:
                            m = firsts[cell]
                            sheet.write_comment(row, col, f"{m.diagnosis}\nCorrect: {m.correct_formula}",
                                                {"x_scale": 3, "y_scale": 2})
                sheet.freeze_panes(header_row + 1, 0)
                sheet.set_column(0, max((_col(c.column) for c in s.columns), default=0), 13)
                rows = s.mistakes or [None]
                for m in rows:
                    _text_row(findings, line, (
                        audit.path, s.sheet, s.table, m.column if m else "", m.cell if m else "",
                        m.kind if m else "right", m.diagnosis if m else "no mistakes",
                        m.correct_formula if m else ""))
                    line += 1
            for sheet_name, why in audit.unreadable.items():
                _text_row(findings, line, (audit.path, sheet_name, "", "", "", "not audited", why, ""))
                line += 1
        for path, why in result.failures.items():
            _text_row(findings, line, (path, "", "", "", "", "not audited", why, ""))
            line += 1
        findings.set_column(0, 0, 30)
        findings.set_column(1, 2, 12)
        findings.set_column(6, 6, 90)
        findings.set_column(7, 7, 60)
        book.close()
    return output


def _text_row(sheet, row: int, texts, style=None) -> None:
    for col, text in enumerate(texts):
        sheet.write_string(row, col, str(text), style)


def _col(letters: str) -> int:
    return parse_cell(f"{letters}1")[1]


__all__ = ["write_marked"]
