"""The table body, nearly all of a long run, written from one precompiled template per row.

Each later row of a sheet differs from the row above only in its row numbers and values, so the
per-cell work (rendering each formula, escaping it, and in XlsxWriter about 30 regular-expression
substitutions per formula in `_prepare_formula`) is done once per column; each row is then one
`str.format` call. tests/test_row_templates.py checks that both formats come out byte-identical to
the per-cell path.

It relies on XlsxWriter internals (the worksheet's `constant_memory` row file and its
`_prepare_formula`), which is why pyproject.toml pins XlsxWriter below 4.

.xlsx: XlsxWriter stays the workbook container. Its first and last table rows go through its
public `write_*` calls, so its row and dimension bookkeeping is exactly as if it had written
every row; the rows between are appended, in its own cell XML, to the row file that its
`constant_memory` mode keeps for the sheet.
.ods: rows go to the zip entry through a second thread, so that deflate (which releases the GIL)
runs beside the formatting instead of after it.
"""

from __future__ import annotations

import contextlib
import functools
import queue
import string
import threading
from collections.abc import Callable, Iterator

from sheetgen.core import progress
from sheetgen.core.cells import a1
from sheetgen.layout.book import Sheet, is_blank, render_row

ROWS_PER_WRITE = 256  # rows joined into one write: fewer calls, still a small buffer
# ... of the reference's 32 columns: a wider table joins fewer rows, so a write (and the chunks
# queued for deflate) stays the same size whatever the width.
CELLS_PER_WRITE = ROWS_PER_WRITE * 32
# ... or fewer, for wide rows (a recurrent network's 1,000 columns of long formulas): a write's
# text stays about this size, however wide the table.
CHARS_PER_WRITE = 1 << 20
# zlib level of both formats. On this XML zlib's default, 6, takes about 3.5x the CPU of level 2
# for files 9-16% smaller, and deflate was the largest single cost of a long run.
DEFLATE_LEVEL = 2


def _xlsx_escape(text: str) -> str:
    # As XlsxWriter escapes formula text (its _escape_data): not the double quote.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _ods_escape(text: str) -> str:
    # As xml.sax.saxutils.escape(text, {'"': "&quot;"}), without importing urllib with it.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _braces(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


def formula_template(pattern: str, xml_escape: Callable[[str], str]) -> str:
    """A layout formula template ({r} this row, {p} the row above) as an XML-escaped format
    string with positional fields: {0} this row, {1} the row above."""
    fields = {"r": "{0}", "p": "{1}"}
    out = []
    for literal, name, spec, conversion in string.Formatter().parse(pattern):
        out.append(_braces(xml_escape(literal)))
        if name is not None:
            if name not in fields or spec or conversion:
                raise ValueError(f"unexpected field {{{name}}} in formula template {pattern!r}")
            out.append(fields[name])
    return "".join(out)


def _batches(lines: Iterator[str], columns: int = 32) -> Iterator[str]:
    rows = max(1, min(ROWS_PER_WRITE, CELLS_PER_WRITE // max(1, columns)))
    batch = []
    size = 0
    for line in lines:
        batch.append(line)
        size += len(line)
        if len(batch) == rows or size >= CHARS_PER_WRITE:
            yield "".join(batch)
            batch = []
            size = 0
    if batch:
        yield "".join(batch)


# --- .xlsx ------------------------------------------------------------------------------------

def xlsx_row_template(sheet: Sheet, style_index: dict[str, int]) -> str:
    """XlsxWriter's XML for one later table row: {0} row number, {1} the row above, {2}... the
    values in column order (str(value): what XlsxWriter writes for a formula's value)."""
    parts = ['<row r="{0}">']
    for i, column in enumerate(sheet.columns):
        formula = formula_template(column.later["xlsx"], _xlsx_escape)
        parts.append(f'<c r="{a1(column.index, "{0}")}" s="{style_index[column.style]}">'
                     f"<f>{formula}</f><v>{{{i + 2}}}</v></c>")
    parts.append("</row>")
    return "".join(parts)


@contextlib.contextmanager
def xlsx_deflate_level(level: int) -> Iterator[None]:
    """XlsxWriter has no option for it: the ZipFile it creates in close() gets `compresslevel`
    (its module looks the name up at call time)."""
    import xlsxwriter.workbook

    original = xlsxwriter.workbook.ZipFile
    xlsxwriter.workbook.ZipFile = functools.partial(original, compresslevel=level)
    try:
        yield
    finally:
        xlsxwriter.workbook.ZipFile = original


def _xlsx_row_through_library(ws, sheet: Sheet, styles: dict, k: int, values) -> None:
    row = sheet.first_row + k
    for column, value in zip(sheet.columns, values, strict=True):
        if is_blank(column, k):  # an exercise's cell for the student: empty, marked
            ws.write_blank(row, column.index, None, styles["blank"])
            continue
        fmt = styles[column.style]
        formula = render_row(column, "xlsx", row + 1, first=k == 0)
        if formula is None:
            ws.write_number(row, column.index, value, fmt)
        else:
            ws.write_formula(row, column.index, formula, fmt, value)


def _xlsx_needs_no_preparation(ws, sheet: Sheet) -> bool:
    """True when XlsxWriter would store our later-row formulas unchanged, as the template does.
    Rows differ only in their numbers, so one row per column tells."""
    from xlsxwriter.worksheet import re_dynamic_function

    row = sheet.first_row + 2
    for column in sheet.columns:
        formula = render_row(column, "xlsx", row, first=False)
        if (formula.startswith(("{", "=")) or re_dynamic_function.search(formula)
                or ws._prepare_formula(formula) != formula):
            return False
    return True


def _unprepared(formula: str, expand_future_functions: bool = False) -> str:
    return formula[1:] if formula.startswith("=") else formula


def write_xlsx_body(ws, sheet: Sheet, styles: dict) -> None:
    """The table rows of `sheet` into XlsxWriter worksheet `ws` (cells above already written)."""
    rows = iter(progress.track(sheet.rows, sheet.iterations, f"xlsx {sheet.name}"))
    first = next(rows, None)
    if first is None:
        return
    _xlsx_row_through_library(ws, sheet, styles, 0, first)
    previous = next(rows, None)
    if previous is None:
        return
    formats = {column.style: styles[column.style] for column in sheet.columns}
    fast = (ws.constant_memory and not ws.row_info and not ws.comments
            and all(column.blank_from is None for column in sheet.columns)
            and None not in formats.values() and _xlsx_needs_no_preparation(ws, sheet))
    k = 1
    if fast:
        ws._write_single_row(sheet.first_row + 1)  # the first row to the row file, as the library would
        # Indices of formats the first row has just used: asking for others would number them.
        style_index = {name: fmt._get_xf_index() for name, fmt in formats.items()}
        fmt = xlsx_row_template(sheet, style_index).format
        start = sheet.first_row + 2  # 1-based number of the row being formatted

        def middle() -> Iterator[str]:
            nonlocal previous, k
            for values in rows:  # `previous` is not the last row: format it here
                number = start + k - 1
                yield fmt(number, number - 1, *previous)
                previous, k = values, k + 1

        write = ws.fh.write
        for chunk in _batches(middle(), len(sheet.columns)):
            write(chunk)
    else:
        # Formulas XlsxWriter would store unchanged skip its ~30 substitutions per cell.
        plain = _xlsx_needs_no_preparation(ws, sheet)
        if plain:
            ws._prepare_formula = _unprepared
        try:
            for values in rows:
                _xlsx_row_through_library(ws, sheet, styles, k, previous)
                previous, k = values, k + 1
            _xlsx_row_through_library(ws, sheet, styles, k, previous)
        finally:
            if plain:
                del ws._prepare_formula
        return
    # The last row through the library too: XlsxWriter then holds it as its pending row,
    # with its dimensions, exactly as after writing every row itself.
    _xlsx_row_through_library(ws, sheet, styles, k, previous)


# --- .ods -------------------------------------------------------------------------------------

def ods_row_template(sheet: Sheet, style_attrs: list[str], first: bool,
                     blank_style: str = "") -> str:
    """One table row of content.xml: {0} row number, {1} the row above, {2}... the values."""
    parts = ["<table:table-row>"]
    for i, (column, style) in enumerate(zip(sheet.columns, style_attrs, strict=True)):
        if is_blank(column, 0 if first else 1):  # an exercise's cell for the student
            parts.append(f"<table:table-cell{blank_style}/>")
            continue
        pattern = column.first if first else column.later
        value = f'office:value-type="float" office:value="{{{i + 2}!r}}"/>'
        if pattern is None:
            parts.append(f"<table:table-cell{style} {value}")
        else:
            formula = formula_template(pattern["ods"], _ods_escape)
            parts.append(f'<table:table-cell{style} table:formula="of:={formula}" {value}')
    parts.append("</table:table-row>")
    return "".join(parts)


class _WriterThread:
    """Writes byte chunks to `out` from a second thread; a bounded queue keeps memory flat."""

    def __init__(self, out) -> None:
        self._out = out
        self._queue: queue.Queue = queue.Queue(maxsize=4)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="sheetgen-ods-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (chunk := self._queue.get()) is not None:
            if self._error is None:
                try:
                    self._out.write(chunk)
                except BaseException as exc:  # handed to the main thread
                    self._error = exc

    def write(self, chunk: bytes) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(chunk)

    def close(self, report: bool = True) -> None:
        self._queue.put(None)
        self._thread.join()
        if report and self._error is not None:
            raise self._error


def write_ods_body(sheet: Sheet, out, style_attrs: list[str], blank_style: str = "") -> None:
    """The table rows of `sheet` as content.xml rows, to the binary stream `out`."""
    first = ods_row_template(sheet, style_attrs, first=True, blank_style=blank_style).format
    later = ods_row_template(sheet, style_attrs, first=False, blank_style=blank_style).format
    start = sheet.first_row + 1  # 1-based number of the first table row

    def lines() -> Iterator[str]:
        for k, values in enumerate(progress.track(sheet.rows, sheet.iterations, f"ods {sheet.name}")):
            number = start + k
            yield (later if k else first)(number, number - 1, *values)

    writer = _WriterThread(out)
    try:
        for chunk in _batches(lines(), len(sheet.columns)):
            writer.write(chunk.encode("utf-8"))
    except BaseException:
        writer.close(report=False)  # the error that stopped the rows is the one to tell
        raise
    writer.close()
