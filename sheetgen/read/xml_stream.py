"""Streaming readers of a workbook's cell XML: each cell once, at C speed, never a whole tree.

One ODS walker serves formulas and cached values alike; the .xlsx walker reads cached values
(formula text of .xlsx comes from openpyxl, which expands Excel's shared formulas).
Names arrive as "namespace local" (expat's namespace mode); no DTD or entity is accepted.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from xml.parsers import expat
from xml.sax.saxutils import unescape

from sheetgen.core.cells import parse_cell

XLSX_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main "
TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0 "
OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0 "
CALCEXT_TYPE = "urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0 value-type"
TEXT_P = "urn:oasis:names:tc:opendocument:xmlns:text:1.0 p"
MAX_REPEAT = 1024  # a formula repeated further than this is not one a reader expands


@dataclass(frozen=True)
class Other:
    """A cached result that is neither a number nor text: "no cached value", "error #NUM!", ..."""

    what: str

    def __str__(self) -> str:
        return self.what


Value = float | str | Other   # a number, a text result, or something else


def _refuse(*args) -> None:
    raise ValueError("the XML declares a DTD or entities, which a workbook never needs")


def parse(stream, start: Callable, end: Callable, text: Callable) -> None:
    """Stream one XML member through expat with the given handlers; ValueError naming the
    member if its XML is broken or cut short."""
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.StartDoctypeDeclHandler = _refuse   # no DTD, so no entity expansion of any kind
    parser.EntityDeclHandler = _refuse
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.buffer_text = True
    parser.StartElementHandler, parser.EndElementHandler = start, end
    parser.CharacterDataHandler = text
    try:
        parser.ParseFile(stream)
    except expat.ExpatError as exc:
        member = getattr(stream, "name", "a part")
        raise ValueError(f"{member} is damaged or cut short ({expat.ErrorString(exc.code)} at line "
                         f"{exc.lineno}, column {exc.offset}; the zip may state a wrong size)") from None


# --- .ods ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class OdsFormulaCell:
    sheet: str
    row: int
    col: int
    formula: str          # as stored, e.g. "of:=[.A1]*2"
    value: Value          # its cached value


class _Done(Exception):
    """Every wanted row has been read: stop parsing."""


def ods_formula_cells(stream, sheets: set[str] | None = None,
                      last_row: int | None = None) -> tuple[list[str], list[OdsFormulaCell]]:
    """The sheet names of content.xml and its formula cells (of the named `sheets`, up to
    `last_row`), repeats expanded, in document order. Parsing stops once every wanted row is
    read. Tables nested inside cells are not part of a sheet's grid."""
    names: list[str] = []
    found: list[OdsFormulaCell] = []
    pending = set(sheets) if sheets is not None and last_row is not None else None
    cell_names = (TABLE + "table-cell", TABLE + "covered-table-cell")
    state = {"sheet": None, "row": 0, "col": 0, "row_repeat": 1, "cell": None, "depth": 0}

    done: set[str] = set()   # sheets read down to last_row: the rest of them is skipped

    def wanted() -> bool:
        return state["depth"] == 1 and (sheets is None or state["sheet"] in sheets) \
            and state["sheet"] not in done

    def start(name, attrs):
        if name == TABLE + "table":
            state["depth"] += 1
            if state["depth"] == 1:
                state.update(sheet=attrs.get(TABLE + "name", ""), row=0)
                names.append(state["sheet"])
        elif not wanted():
            return
        elif name == TABLE + "table-row":
            state.update(col=0, row_repeat=int(attrs.get(TABLE + "number-rows-repeated", 1)))
        elif name in cell_names:
            repeat = int(attrs.get(TABLE + "number-columns-repeated", 1))
            state["cell"] = (attrs, repeat, [] if TABLE + "formula" in attrs else None)
        elif name == TEXT_P and state["cell"] and state["cell"][2]:
            state["cell"][2].append("\n")

    def finished(sheet: str) -> None:
        if last_row is not None:
            done.add(sheet)
        if pending is not None:
            pending.discard(sheet)
            if not pending:
                raise _Done

    def end(name):
        if name == TABLE + "table":
            if state["depth"] == 1:
                finished(state["sheet"])
            state["depth"] -= 1
        elif not wanted():
            return
        elif name in cell_names:
            attrs, repeat, paragraphs = state["cell"]
            if paragraphs is not None:
                formula = attrs[TABLE + "formula"]
                value = _ods_value(attrs, "".join(paragraphs))
                rows = range(state["row"], state["row"] + min(state["row_repeat"], MAX_REPEAT))
                for r in rows:
                    if last_row is not None and r > last_row:
                        break
                    for c in range(state["col"], state["col"] + min(repeat, MAX_REPEAT)):
                        found.append(OdsFormulaCell(state["sheet"], r, c, formula, value))
            state["col"] += repeat
            state["cell"] = None
        elif name == TABLE + "table-row":
            state["row"] += state["row_repeat"]
            if last_row is not None and state["row"] > last_row:
                finished(state["sheet"])

    def text(data):
        if state["cell"] and state["cell"][2] is not None:
            state["cell"][2].append(data)

    try:
        parse(stream, start, end, text)
    except _Done:
        pass
    return names, found


SPREADSHEET = b"<office:spreadsheet"
SHEET, SHEET_END, _ROW_END = b"<table:table ", b"</table:table>", b"</table:table-row>"
_SHEET_NAME = re.compile(rb'table:name="([^"]*)"')
CLOSING = b"</office:spreadsheet></office:body></office:document-content>"


class OdsHeads:
    """content.xml cut down, as its bytes stream past (`feed`), to each sheet's first ROWS table
    rows: the bytes of later rows are skipped unparsed. `close()` gives that document, or None
    if it would pass LIMIT bytes or content.xml is not laid out as expected. `sheets`: only
    those sheets (then `done()` says when all are taken)."""

    ROWS = 64
    LIMIT = 32 * 1024**2

    def __init__(self, rows: int | None = None, sheets: set[str] | None = None) -> None:
        self.rows = self.ROWS if rows is None else rows
        self.wanted = sheets            # None: every sheet
        self.parts: list[bytes] = []
        self.size = 0
        self.buf = b""
        self.started = self.taking = self.failed = False
        self.seeking = True             # the next sheet's start, not the end of one skipped
        self.taken = 0                  # rows of the sheet being taken

    def done(self) -> bool:
        """Every wanted sheet is taken: the rest of content.xml need not be fed."""
        return self.wanted is not None and not self.wanted and not self.taking

    def feed(self, chunk: bytes) -> None:
        if self.failed or self.done():
            return
        buf = self.buf + chunk if self.buf else chunk
        at = 0
        if not self.started:
            start = buf.find(SPREADSHEET)
            tag_end = buf.find(b">", start) if start >= 0 else -1
            if tag_end < 0:
                self.buf = buf
                if len(buf) > self.LIMIT:
                    self._fail()
                return
            self._keep(buf[:tag_end + 1])
            at, self.started, self.seeking = tag_end + 1, True, True
        while not self.failed and not self.done():
            if self.taking:
                row_end = buf.find(_ROW_END, at)
                end = buf.find(SHEET_END, at, None if row_end < 0 else row_end)
                if end >= 0:
                    self._keep(buf[at:end + len(SHEET_END)])
                    at, self.taking, self.seeking = end + len(SHEET_END), False, True
                elif row_end >= 0:
                    self.taken += 1
                    self._keep(buf[at:row_end + len(_ROW_END)])
                    at = row_end + len(_ROW_END)
                    if self.taken >= self.rows:
                        self._keep(SHEET_END)
                        self.taking = self.seeking = False
                else:
                    break
            elif not self.seeking:
                # The rest of a sheet: skipped up to its end ("</table:table-row>" shares only a
                # prefix with it), the next sheet starting right after.
                end = buf.find(SHEET_END, at)
                if end < 0:
                    at = max(at, len(buf) - len(SHEET_END) + 1)
                    break
                at, self.seeking = end + len(SHEET_END), True
            else:
                start = buf.find(SHEET, at)
                tag_end = buf.find(b">", start) if start >= 0 else -1
                if tag_end < 0:
                    at = start if start >= 0 else max(at, len(buf) - len(SHEET) + 1)
                    break
                found = _SHEET_NAME.search(buf, start, tag_end)
                name = unescape(found.group(1).decode("utf-8", "replace")) if found else ""
                if self.wanted is None or name in self.wanted:
                    if self.wanted is not None:
                        self.wanted.discard(name)
                    self.taking, self.taken = True, 0
                    self._keep(buf[start:tag_end + 1])
                else:
                    self.seeking = False
                at = tag_end + 1
        if self.failed:
            return
        self.buf = buf[at:]
        if len(self.buf) > self.LIMIT:
            self._fail()

    def _keep(self, piece: bytes) -> None:
        self.size += len(piece)
        self.parts.append(piece)
        if self.size > self.LIMIT:
            self._fail()

    def _fail(self) -> None:
        self.failed, self.parts, self.buf = True, [], b""

    def close(self) -> bytes | None:
        if self.failed or not self.started:
            return None
        if self.taking:
            self._keep(SHEET_END)
            self.taking = False
        return None if self.failed else b"".join(self.parts) + CLOSING


def _ods_value(attrs: dict, text: str) -> Value:
    kind = attrs.get(OFFICE + "value-type")
    if kind in ("float", "percentage", "currency"):
        return float(attrs[OFFICE + "value"])
    if kind == "boolean":
        return 1.0 if attrs.get(OFFICE + "boolean-value") == "true" else 0.0
    if kind is None:
        return Other("no cached value")
    if attrs.get(CALCEXT_TYPE) == "error":
        return Other(f"error {text}")
    return attrs.get(OFFICE + "string-value", text)


# --- .xlsx --------------------------------------------------------------------------------------

def xlsx_cached_values(stream, strings: list[str] | tuple = ()) -> dict[tuple[int, int], Value]:
    """One worksheet part: formula cell (row, col) -> its cached value; `strings`, the shared
    strings, for results stored as t="s" (XlsxWriter writes none; Gnumeric does)."""
    cells: dict[tuple[int, int], Value] = {}
    cell: dict = {}
    position = [0, -1]   # row, column: for cells that omit their address

    def start(name, attrs):
        if name == XLSX_MAIN + "c":
            ref = attrs.get("r")
            if ref:
                position[:] = parse_cell(ref)
            else:
                position[1] += 1
            cell.clear()
            cell.update(at=tuple(position), t=attrs.get("t", "n"))
        elif name == XLSX_MAIN + "f":
            cell["f"] = True
        elif name == XLSX_MAIN + "v":
            cell["v"] = []
        elif name == XLSX_MAIN + "row":
            position[:] = [int(attrs["r"]) - 1 if "r" in attrs else position[0] + 1, -1]

    def end(name):
        if name == XLSX_MAIN + "v" and isinstance(cell.get("v"), list):
            # Closed: the indentation a pretty-printed file has after </v> (Gnumeric's) is not in it.
            cell["v"] = "".join(cell["v"])
        elif name == XLSX_MAIN + "c" and cell.get("f"):
            v = cell.get("v")
            value = _xlsx_value(cell["t"], None if v is None else "".join(v))
            if cell["t"] == "s" and isinstance(value, str):
                value = strings[int(value)]  # ValueError or IndexError: a damaged file
            cells[cell["at"]] = value

    def text(data):
        if "v" in cell and isinstance(cell["v"], list):
            cell["v"].append(data)

    parse(stream, start, end, text)
    return cells


def _xlsx_value(kind: str, v: str | None) -> Value:
    if v is None:
        return Other("no cached value")
    if kind == "e":
        return Other(f"error {v.strip()}")
    if kind in ("str", "inlineStr", "s") or not v:
        return v   # an empty <v></v> is how an empty text result is stored
    return float(v)


def xlsx_shared_strings(stream) -> list[str]:
    """The texts of a sharedStrings part, in order (rich-text runs joined)."""
    strings: list[str] = []
    parts: list[str] | None = None
    inside_t = False

    def start(name, attrs):
        nonlocal parts, inside_t
        if name == XLSX_MAIN + "si":
            parts = []
        elif name == XLSX_MAIN + "t":
            inside_t = True

    def end(name):
        nonlocal inside_t
        if name == XLSX_MAIN + "si" and parts is not None:
            strings.append("".join(parts))
        elif name == XLSX_MAIN + "t":
            inside_t = False

    def text(data):
        if inside_t and parts is not None:
            parts.append(data)

    parse(stream, start, end, text)
    return strings
