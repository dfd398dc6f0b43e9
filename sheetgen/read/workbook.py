"""One reader for a workbook file: opened once, checked once, read as often as needed.

`Workbook(path)` runs the safety guard when it is made and never again; its sheet names,
value grids (calamine: float64 values exactly, from both formats), formula texts and cached
values all come from that one object. Every failure is a one-line WorkbookError.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Iterator
from functools import cached_property
from pathlib import Path, PurePosixPath

from defusedxml import ElementTree

from sheetgen.core.cells import parse_cell
from sheetgen.errors import WorkbookError
from sheetgen.read.ods_sheets import Unsplittable, sheet_files
from sheetgen.read.safety import check_workbook, ods_head
from sheetgen.read.xml_stream import (
    SHEET,
    OdsFormulaCell,
    OdsHeads,
    Value,
    ods_formula_cells,
    xlsx_cached_values,
    xlsx_shared_strings,
)

XLSX_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
PKG_REL_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:200] or type(exc).__name__


class Workbook:
    """A workbook file (.xlsx, .xlsm or .ods), checked by the safety guard once, on opening."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        check_workbook(self.path)
        self.is_ods = self.path.suffix.lower() == ".ods"

    def __repr__(self) -> str:
        return f"Workbook({str(self.path)!r})"

    @cached_property
    def _calamine(self):
        from python_calamine import CalamineWorkbook

        try:
            return CalamineWorkbook.from_path(str(self.path))
        except Exception as exc:  # calamine raises several types; all mean the same to a user
            raise WorkbookError(f"{self.path}: cannot read: {one_line(exc)}") from None

    def in_forked_process(self) -> None:
        """Called first in a forked worker: the reader it inherited shares the parent's file
        offset, so the worker opens its own (the file was checked once, in the parent)."""
        self.__dict__.pop("_calamine", None)

    def sheets_apart(self, folder: Path) -> Iterator[Path]:
        """An .ods's sheets, each written to a one-sheet file in `folder` as content.xml streams
        past, for worker processes to read side by side (`read.ods_sheets.sheet_grid`).
        Unsplittable when it has one sheet, or is laid out otherwise: read it whole."""
        head = ods_head(self.path)
        if not self.is_ods or (head is not None and head.count(SHEET) < 2):
            raise Unsplittable("one sheet, or not an .ods")
        return sheet_files(self.path, folder)

    @cached_property
    def sheet_names(self) -> list[str]:
        try:
            return list(self._calamine.sheet_names)
        except WorkbookError:
            raise
        except Exception as exc:
            raise WorkbookError(f"{self.path}: cannot read: {one_line(exc)}") from None

    def grid(self, sheet: str) -> list[list]:
        """Every cell value of one sheet from A1 on, rows of cells ('' for an empty cell)."""
        if sheet not in self.sheet_names:
            raise WorkbookError(f"{self.path}: no sheet named {sheet!r} "
                                f"(it has {', '.join(map(repr, self.sheet_names))})")
        try:
            return self._calamine.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
        except Exception as exc:
            raise WorkbookError(f"{self.path}: sheet {sheet!r}: cannot read: {one_line(exc)}") from None

    def formulas(self, sheet: str, cells: Iterable[str]) -> dict[str, str]:
        """{cell: formula text} for those of `cells` (e.g. 'AB39') that hold a formula."""
        wanted = {parse_cell(c): c for c in cells}
        if not wanted:
            return {}
        try:
            return self._ods_formulas(sheet, wanted) if self.is_ods else self._xlsx_formulas(sheet, wanted)
        except WorkbookError:
            raise
        except Exception as exc:  # a damaged file: one line for the user, whatever the parser raised
            raise WorkbookError(f"{self.path}: cannot read formulas: {one_line(exc)}") from None

    def formulas_in(self, wanted: dict[str, Iterable[str]]) -> dict[str, dict[str, str]]:
        """{sheet: {cell: formula}} for several sheets' cells, in one pass over an .ods file."""
        wanted = {sheet: list(cells) for sheet, cells in wanted.items() if cells}
        if len(wanted) < 2:
            return {sheet: self.formulas(sheet, cells) for sheet, cells in wanted.items()}
        if not self.is_ods:
            import openpyxl

            try:
                book = openpyxl.load_workbook(self.path, read_only=True, data_only=False)
                try:
                    return {sheet: self._xlsx_formulas(sheet, {parse_cell(c): c for c in cells}, book)
                            for sheet, cells in wanted.items()}
                finally:
                    book.close()
            except WorkbookError:
                raise
            except Exception as exc:
                raise WorkbookError(f"{self.path}: cannot read formulas: {one_line(exc)}") from None
        cells = {sheet: {parse_cell(c): c for c in refs} for sheet, refs in wanted.items()}
        last = max(r for found in cells.values() for r, _ in found)
        try:
            found = self._ods_first_rows(set(wanted), last)
        except Exception as exc:
            raise WorkbookError(f"{self.path}: cannot read formulas: {one_line(exc)}") from None
        out: dict[str, dict[str, str]] = {sheet: {} for sheet in wanted}
        for c in found:
            ref = cells[c.sheet].get((c.row, c.col))
            if ref is not None:
                out[c.sheet][ref] = c.formula
        return out

    def cached_values(self) -> dict[str, dict[tuple[int, int], Value]]:
        """sheet name -> formula cell (row, col) -> its cached value: a number, a text, or Other."""
        try:
            with zipfile.ZipFile(self.path) as zf:
                if self.is_ods:
                    with zf.open("content.xml") as stream:
                        names, found = ods_formula_cells(stream)
                    out: dict[str, dict[tuple[int, int], Value]] = {name: {} for name in names}
                    for cell in found:
                        out[cell.sheet][(cell.row, cell.col)] = cell.value
                    return out
                strings = self._xlsx_shared_strings(zf)
                return {name: xlsx_cached_values(stream, strings)
                        for name, stream in self._xlsx_sheet_parts(zf)}
        except WorkbookError:
            raise
        except Exception as exc:
            raise WorkbookError(f"{self.path}: cannot read its cells: {one_line(exc)}") from None

    # --- format details --------------------------------------------------------------------------

    def _xlsx_shared_strings(self, zf: zipfile.ZipFile) -> list[str]:
        rels = ElementTree.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
        for r in rels.iter(f"{PKG_REL_NS}Relationship"):
            if r.get("Type", "").endswith("/sharedStrings"):
                target = r.get("Target")
                member = target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl") / target)
                with zf.open(member) as stream:
                    return xlsx_shared_strings(stream)
        return []

    def _xlsx_sheet_parts(self, zf: zipfile.ZipFile):
        workbook = ElementTree.fromstring(zf.read("xl/workbook.xml"))
        rels = ElementTree.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
        targets = {r.get("Id"): r.get("Target") for r in rels.iter(f"{PKG_REL_NS}Relationship")}
        for sheet in workbook.iter(f"{XLSX_NS}sheet"):
            target = targets[sheet.get(f"{REL_NS}id")]
            member = target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl") / target)
            with zf.open(member) as stream:
                yield sheet.get("name"), stream

    def _xlsx_formulas(self, sheet: str, wanted: dict[tuple[int, int], str], opened=None
                       ) -> dict[str, str]:
        import openpyxl  # it expands Excel's shared formulas into each cell's own text

        book = opened or openpyxl.load_workbook(self.path, read_only=True, data_only=False)
        try:
            if sheet not in book.sheetnames:
                return {}
            rows = [r for r, _ in wanted]
            cols = [c for _, c in wanted]
            found = {}
            for r, row in enumerate(book[sheet].iter_rows(min_row=min(rows) + 1, max_row=max(rows) + 1,
                                                          min_col=min(cols) + 1, max_col=max(cols) + 1,
                                                          values_only=True), start=min(rows)):
                for c, value in enumerate(row, start=min(cols)):
                    if (r, c) in wanted and isinstance(value, str) and value.startswith("="):
                        found[wanted[(r, c)]] = value
            return found
        finally:
            if opened is None:
                book.close()

    def _ods_formulas(self, sheet: str, wanted: dict[tuple[int, int], str]) -> dict[str, str]:
        found = self._ods_first_rows({sheet}, max(r for r, _ in wanted))
        return {wanted[(c.row, c.col)]: c.formula for c in found if (c.row, c.col) in wanted}

    def _ods_first_rows(self, sheets: set[str], last: int) -> list[OdsFormulaCell]:
        """The formula cells of `sheets` down to row `last` (0-based). From the first rows the
        safety check kept of content.xml as it streamed it, when they reach that far: then
        content.xml is inflated once in all. Otherwise only those sheets' rows are parsed."""
        def from_head(head: bytes | None) -> list[OdsFormulaCell] | None:
            try:
                return None if head is None else ods_formula_cells(io.BytesIO(head), sheets, last_row=last)[1]
            except ValueError:
                return None   # content.xml laid out otherwise (rows in groups): read it whole

        found = from_head(ods_head(self.path) if last < OdsHeads.ROWS else None)
        if found is None:
            heads = OdsHeads(rows=last + 1, sheets=set(sheets))
            with zipfile.ZipFile(self.path) as zf, zf.open("content.xml") as stream:
                while not heads.done() and (chunk := stream.read(_CHUNK)):
                    heads.feed(chunk)
            found = from_head(heads.close())
        if found is None:
            with zipfile.ZipFile(self.path) as zf, zf.open("content.xml") as stream:
                found = ods_formula_cells(stream, sheets, last_row=last)[1]
        return found


_CHUNK = 1 << 20


__all__ = ["Workbook", "one_line"]
