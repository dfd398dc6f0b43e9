"""Guards for workbook files read from users: checked before any parser sees them.

The checks read the zip directory, at most PROLOG_LIMIT bytes from the start of each XML entry,
and then stream the sheet parts once (a big .xlsx's parts side by side, in worker processes).
A file that passes cannot expand beyond MAX_UNCOMPRESSED through the zip library, none of its
XML declares a DTD, so no parser can be made to expand entities, and no sheet asks a reader for
a grid or copied text out of proportion to its bytes.
"""

from __future__ import annotations

import codecs
import functools
import html
import os
import posixpath
import re
import struct
import zipfile
import zlib
from pathlib import Path

from sheetgen.core.cells import a1, column_letter, column_number
from sheetgen.core.workers import can_spread, map_in_processes
from sheetgen.errors import WorkbookError
from sheetgen.read.xml_stream import OdsHeads

# Every file `generate` can write must pass: a generated table row is 2.7-3.2 KB of XML in .xlsx
# and 5.3-6.2 KB in .ods (6.2 with trained biases), a sheet holds up to 1,048,576 rows, and a
# book up to 255 sheets (config.MAX_LEARNING_RATES) and a summary. The bound is that book, with
# room for wider rows; what stops a bomb is MAX_RATIO (generated parts pack at 4:1 to 8:1) and
# the extent checks below, which bound what a reader lays out in memory. Time is linear in the
# file's own size.
MAX_ROW_XML = 16 * 1024
MAX_SHEETS = 256
MAX_UNCOMPRESSED = MAX_SHEETS * 1_048_576 * MAX_ROW_XML
MAX_RATIO = 200          # deflate rarely beats 100:1 on spreadsheet XML; bombs go far beyond
MAX_ENTRIES = 1_000      # a workbook has tens of entries; this bounds the XML scan below
PROLOG_LIMIT = 64 * 1024  # a real XML prolog is under 200 bytes
# The part each format cannot do without.
REQUIRED = {".xlsx": "xl/workbook.xml", ".xlsm": "xl/workbook.xml", ".ods": "content.xml"}
METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)


# Files that passed, by identity and version: the command line checks its inputs before loading
# the readers (pandas takes a second to import), and the readers' own check is then free. An
# .ods file's entry keeps its sheets' first rows, cut from content.xml as the check streams it
# (`ods_head`), for the last few files only.
_PASSED: dict[tuple, bytes | None] = {}
HEADS_KEPT = 4


def check_workbook(path: Path) -> None:
    """Raise WorkbookError unless `path` is an undamaged-looking zip of plausible size whose
    XML parts declare no DTD (no entity expansion)."""
    path = Path(path)
    if not path.exists():
        raise WorkbookError(f"{path}: no such file")
    if not path.is_file():
        raise WorkbookError(f"{path}: not a regular file")
    key = _key(path)
    if key in _PASSED:
        return
    _PASSED[key] = _check(path)
    with_heads = [k for k, head in _PASSED.items() if head is not None]
    for old in with_heads[:-HEADS_KEPT]:
        _PASSED[old] = None
    if len(_PASSED) > 64:
        del _PASSED[next(iter(_PASSED))]


def ods_head(path: Path) -> bytes | None:
    """content.xml of an .ods file that passed, cut down to each sheet's first
    OdsHeads.ROWS table rows (None if not kept, or if the file changed since)."""
    try:
        return _PASSED.get(_key(Path(path)))
    except OSError:
        return None


def _key(path: Path) -> tuple:
    info = path.stat()
    return (str(path.resolve()), info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)


def _check(path: Path) -> bytes | None:
    suffix = path.suffix.lower()
    if suffix not in REQUIRED:
        raise WorkbookError(f"{path}: not an .xlsx or .ods file")
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            _check_sizes(path, infos)
            names = {i.filename for i in infos}
            if REQUIRED[suffix] not in names:
                raise WorkbookError(f"{path}: not a {suffix} workbook (it has no {REQUIRED[suffix]})")
            parts, strings = _parts_read(path, zf, infos)
            for info in parts:
                _check_prolog(path, zf, info)
            return _check_extents(path, zf, parts, strings, suffix)
    except zipfile.BadZipFile as exc:
        raise WorkbookError(f"{path}: {_zip_problem(path, suffix, exc)}") from None
    except (zlib.error, EOFError) as exc:
        raise WorkbookError(f"{path}: damaged {suffix} file: {exc}") from None
    except OSError as exc:
        raise WorkbookError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _zip_problem(path: Path, suffix: str, exc: Exception) -> str:
    with open(path, "rb") as f:
        start = f.read(8)
    if start.startswith(b"PK\x03\x04"):
        return f"damaged or truncated {suffix} file ({exc})"
    if start == OLE2:
        return (f"not a valid {suffix} file: it is an OLE2 compound file, an old .xls or a workbook "
                "encrypted with a password; save it as .xlsx or .ods without a password")
    return f"not a valid {suffix} file (not a zip archive)"


OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the signature of a compound file (.xls, .doc, encrypted OOXML)


def _check_sizes(path: Path, infos: list[zipfile.ZipInfo]) -> None:
    if len(infos) > MAX_ENTRIES:
        raise WorkbookError(f"{path}: too many entries in the archive ({len(infos):,})")
    for info in infos:
        if info.flag_bits & 0x1:
            raise WorkbookError(f"{path}: {info.filename} is encrypted")
        if info.compress_type not in METHODS:
            raise WorkbookError(f"{path}: {info.filename} uses an unsupported compression method")
    # Sizes from the zip directory; the zip library never inflates an entry past its stated size.
    total = sum(i.file_size for i in infos)
    packed = max(1, sum(i.compress_size for i in infos))
    if total > MAX_UNCOMPRESSED or total / packed > MAX_RATIO and total > 64 * 1024**2:
        raise WorkbookError(f"{path}: refused: it would expand to {total:,} bytes (zip bomb?)")


def _is_xml(name: str) -> bool:
    return name.lower().endswith((".xml", ".rels", ".vml"))


# Content types say which parts are XML ([Content_Types].xml in .xlsx, the manifest in .ods);
# pictures and other binary parts are left alone, whatever their size.
_DEFAULT = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?Default\s[^>]*>")
_OVERRIDE = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?Override\s[^>]*>")
_FILE_ENTRY = re.compile(rb"<manifest:file-entry\s[^>]*>")
MAX_TYPES = 16 * 1024**2  # a list of content types is a few KB


def _attribute(tag: bytes, name: bytes) -> str | None:
    found = re.search(rb"(?:^|\s)(?:[A-Za-z_][\w.-]*:)?" + name + rb"""\s*=\s*(?:"([^"]*)"|'([^']*)')""", tag)
    if not found:
        return None
    return html.unescape((found.group(1) or found.group(2) or b"").decode("utf-8", "replace"))


def _xml_type(content_type: str) -> bool:
    """application/xml, text/xml and every ...+xml type (a sheet, a drawing, relationships)."""
    return content_type.split(";")[0].strip().lower().endswith("xml")


def _xml_by_type(path: Path, zf: zipfile.ZipFile, by_name: dict[str, zipfile.ZipInfo]) -> set[str]:
    """The parts whose declared content type is XML."""
    listing = by_name.get("[Content_Types].xml") or by_name.get("META-INF/manifest.xml")
    if listing is None:
        return set()
    _check_prolog(path, zf, listing)
    if listing.file_size > MAX_TYPES:
        raise WorkbookError(f"{path}: refused: {listing.filename} is {listing.file_size:,} bytes "
                            f"(a list of content types is a few KB)")
    text = _decode(zf.read(listing)).encode()
    found = set()
    if listing.filename == "[Content_Types].xml":
        extensions = {(_attribute(tag, b"Extension") or "").lower() for tag in _DEFAULT.findall(text)
                      if _xml_type(_attribute(tag, b"ContentType") or "")}
        found |= {name for name in by_name if name.rpartition(".")[2].lower() in extensions}
        for tag in _OVERRIDE.findall(text):
            if _xml_type(_attribute(tag, b"ContentType") or ""):
                found.add((_attribute(tag, b"PartName") or "").lstrip("/"))
    else:
        for tag in _FILE_ENTRY.findall(text):
            if _xml_type(_attribute(tag, b"media-type") or ""):
                found.add(_attribute(tag, b"full-path") or "")
    return found & set(by_name)


# A reader opens whatever part a relationship points to, whatever its name (a sheet stored as
# sheet2.dat is read like sheet2.xml), so every target of every .rels part is checked as XML too.
_TARGET = re.compile(rb"""\bTarget\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_TYPE = re.compile(rb"""\bType\s*=\s*["'][^"']*/sharedStrings["']""")
_EXTERNAL = re.compile(rb"""TargetMode\s*=\s*["']External["']""")
_RELATIONSHIP = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?Relationship\s[^>]*>")
# Relationships to parts no reader parses as XML (a picture, an embedded file): their targets are
# checked only when their content type or name says XML.
_BINARY = re.compile(rb"""\bType\s*=\s*["'][^"']*/(?:image|hdphoto|audio|video|media|oleObject|package|"""
                     rb"""printerSettings|vbaProject|font|thumbnail)["']""")
MAX_RELS = 16 * 1024**2  # a .rels part lists tens of parts in a few KB


def _parts_read(path: Path, zf: zipfile.ZipFile,
                infos: list[zipfile.ZipInfo]) -> tuple[list[zipfile.ZipInfo], set[str]]:
    """The XML-named parts and every part a relationship points to, in archive order, and the
    names of the shared-strings parts among them, whatever their name."""
    by_name = {i.filename: i for i in infos}
    wanted = {i.filename for i in infos if _is_xml(i.filename)} | _xml_by_type(path, zf, by_name)
    strings = {i.filename for i in infos if i.filename.lower().endswith("sharedstrings.xml")}
    for info in infos:
        if not info.filename.lower().endswith(".rels"):
            continue
        _check_prolog(path, zf, info)
        if info.file_size > MAX_RELS:
            raise WorkbookError(f"{path}: refused: {info.filename} is {info.file_size:,} bytes "
                                f"(a list of relationships is a few KB)")
        text = _decode(zf.read(info)).encode()
        folder = posixpath.dirname(posixpath.dirname(info.filename))  # xl/_rels/x.rels -> xl
        for tag in _RELATIONSHIP.findall(text):
            target = _TARGET.search(tag)
            if not target or _EXTERNAL.search(tag) or _BINARY.search(tag):
                continue
            name = html.unescape((target.group(1) or target.group(2) or b"").decode("utf-8", "replace"))
            # Readers differ in how they resolve a target: take every reading that names a part.
            for candidate in (posixpath.normpath(posixpath.join(folder, name)), name.lstrip("/"),
                              posixpath.normpath("xl/" + name.lstrip("/")), name):
                if candidate in by_name:
                    wanted.add(candidate)
                    if _TYPE.search(tag):
                        strings.add(candidate)
    return [i for i in infos if i.filename in wanted], strings


# What may come before a DOCTYPE or the root element: whitespace, <?...?>, comments.
_PROLOG_ITEM = re.compile(r"\s+|<\?.*?\?>|<!--.*?-->", re.DOTALL)
# Encodings in which "<!DOCTYPE" reads the same as in the text decoded here.
_DECLARED_ENCODING = re.compile(r"""<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_ENCODINGS = {"utf-8", "utf8", "utf-16", "utf-16le", "utf-16be", "utf-32", "us-ascii", "ascii",
              "iso-8859-1", "latin-1", "latin1"}
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
         (codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
         (codecs.BOM_UTF16_BE, "utf-16-be"))


# LibreOffice writes this doctype, without an internal subset or entities, in the parts of a
# Basic library (Basic/script-lc.xml, Basic/Standard/Module1.xml); no reader of ours opens them.
_BASIC_PART = re.compile(r"Basic/(?:[^/]+/)?[^/]+\.xml")
_BASIC_DOCTYPE = re.compile(r'<!DOCTYPE [A-Za-z]+:[A-Za-z]+ PUBLIC "-//OpenOffice\.org//DTD '
                            r'OfficeDocument 1\.0//EN" "[a-z]+\.dtd">')


def _check_prolog(path: Path, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """Refuse a DTD (<!DOCTYPE, hence <!ENTITY) in the part's prolog; reads <= PROLOG_LIMIT bytes."""
    with zf.open(info) as raw:
        head = raw.read(PROLOG_LIMIT)
    text = _decode(head)
    basic = path.suffix.lower() == ".ods" and _BASIC_PART.fullmatch(info.filename)
    pos = 0
    while True:
        match = _PROLOG_ITEM.match(text, pos) or (basic and _BASIC_DOCTYPE.match(text, pos))
        if not match:
            break
        pos = match.end()
        basic = basic and match.re is not _BASIC_DOCTYPE  # once
    declared = _DECLARED_ENCODING.match(text)
    if declared and declared.group(1).lower() not in _ENCODINGS:
        raise WorkbookError(f"{path}: refused: {info.filename} is in an unexpected encoding "
                            f"({declared.group(1)})")
    rest = text[pos:pos + 9].upper()
    if rest.startswith(("<!DOCTYPE", "<!ENTITY")):
        raise WorkbookError(f"{path}: refused: {info.filename} declares a DTD "
                            "(entity expansion is not allowed in a workbook)")
    if not re.match(r"<[^!?]", rest) and len(head) == PROLOG_LIMIT:
        raise WorkbookError(f"{path}: refused: {info.filename} has no element "
                            f"in its first {PROLOG_LIMIT:,} bytes")


def _decode(head: bytes) -> str:
    """The XML text as far as it decodes; encodings sniffed as the XML spec describes."""
    encoding, skip = _sniff(head)
    return codecs.getincrementaldecoder(encoding)("replace").decode(head[skip:])


def _sniff(head: bytes) -> tuple[str, int]:
    """(encoding, length of its byte-order mark) of an XML entity starting with `head`."""
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name, len(bom)
    if head[:4] == b"<\0?\0":
        return "utf-16-le", 0
    if head[:4] == b"\0<\0?":
        return "utf-16-be", 0
    if head[:4] in (b"<\0\0\0", b"\0\0\0<"):
        return ("utf-32-le" if head[0] else "utf-32-be"), 0
    return "utf-8", 0


# --- sheet extents: what a reader lays out in memory ------------------------------------------
#
# calamine builds every sheet as a dense grid from A1 to its last cell and copies the text of
# repeated cells, so a tiny file can ask for billions of cells (two cells, A1 and XFD1048576;
# an .ods row repeated 20,000 times over 1,000 repeated cells). The sheet parts are streamed
# once and refused when the grid they ask for is not paid for by their own bytes.

MAX_ROWS = 1_048_576   # the last row of an .xlsx or .ods sheet
MAX_COLUMNS = 16_384   # and its last column, XFD
FREE_CELLS = 2_000_000  # a grid this size reads in a few seconds and ~100 MB, whatever its bytes
# Beyond FREE_CELLS every cell of the grid must be paid for by this many bytes of the sheet's
# XML: a written cell costs 20-170 bytes, so only far-off cells or repeats come below it.
BYTES_PER_CELL = 8
MAX_COPIED = 256 * 1024**2  # text a reader copies for repeated cells (shared strings, .ods repeats)
SCAN_CHUNK = 4 * 1024**2
MAX_ROW_BYTES = 64 * 1024**2  # no table row (or tag) is this long


def _check_extents(path: Path, zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo], shared: set[str],
                   suffix: str) -> bytes | None:
    """`infos`: the parts a reader may parse as XML; `shared`: the shared-strings parts. Returns
    an .ods file's sheets' first rows (`ods_head`)."""
    if suffix == ".ods":
        return _check_ods(path, zf, zf.getinfo("content.xml"))
    strings = [i for i in infos if i.filename in shared]
    longest = max((_longest_string(zf, i) for i in strings), default=0)
    sheets = [i for i in infos if i not in strings]
    # Every shared-string cell may copy the longest string: count them only when that matters.
    cells_bound = sum(i.file_size for i in sheets) // 20
    count_strings = longest * cells_bound > MAX_COPIED
    if _in_workers(sheets):
        _PARTS.update(path=path, zf=zf, count_strings=count_strings)
        try:
            jobs = min(4, os.cpu_count() or 1, len(sheets))
            biggest_first = sorted(sheets, key=lambda i: -i.file_size)
            string_cells = sum(map_in_processes(_check_part, biggest_first, jobs,
                                                chunks_per_job=len(sheets)))
        finally:
            _PARTS.clear()
    else:
        string_cells = sum(_check_xlsx_part(path, zf, info, count_strings) for info in sheets)
    if longest * string_cells > MAX_COPIED:
        raise WorkbookError(f"{path}: refused: {string_cells:,} cells would each copy a shared string "
                            f"of up to {longest:,} bytes (a shared-strings bomb?)")
    return None


# Parts this big are checked side by side in worker processes, one part each: inflating and
# scanning a 6 x 10,000-row book's sheets takes three seconds in one process.
PARALLEL_PART_BYTES = 32 * 1024**2
_PARTS: dict = {}


def _in_workers(parts: list[zipfile.ZipInfo]) -> bool:
    return len(parts) > 1 and can_spread() and sum(i.file_size for i in parts) > PARALLEL_PART_BYTES


def _check_part(info: zipfile.ZipInfo) -> int:
    # Each part is read through its own file handle (`inflated`), never the parent's.
    return _check_xlsx_part(_PARTS["path"], _PARTS["zf"], info, _PARTS["count_strings"])


def _chunks(zf: zipfile.ZipFile, info: zipfile.ZipInfo):
    """The entry's bytes in SCAN_CHUNK pieces, as UTF-8 (a UTF-16 or UTF-32 part is transcoded,
    so that the byte patterns below see it too)."""
    pieces = inflated(zf, info)
    chunk = next(pieces, b"")
    encoding, skip = _sniff(chunk)
    if encoding == "utf-8":
        if chunk:
            yield chunk
        yield from pieces
        return
    decoder = codecs.getincrementaldecoder(encoding)("replace")
    yield decoder.decode(chunk[skip:]).encode()
    for chunk in pieces:
        yield decoder.decode(chunk).encode()


def inflated(zf: zipfile.ZipFile, info: zipfile.ZipInfo):
    """The entry's bytes in pieces of up to SCAN_CHUNK, inflated straight from the archive and
    never past the size its directory states, as the zip library reads it. No CRC: a further pass
    over every byte that guards nothing the check looks for (the readers read the entry anew)."""
    with open(zf.filename, "rb") as f:
        f.seek(info.header_offset)
        header = f.read(30)
        if len(header) < 30 or header[:4] != b"PK\x03\x04":
            raise zipfile.BadZipFile(f"bad local file header of {info.filename}")
        name_length, extra_length = struct.unpack("<HH", header[26:30])
        f.seek(info.header_offset + 30 + name_length + extra_length)
        packed, left = info.compress_size, info.file_size
        inflate = zlib.decompressobj(-15) if info.compress_type == zipfile.ZIP_DEFLATED else None
        pending = b""
        while left > 0:
            if not pending:
                if packed <= 0:
                    if inflate is not None and not inflate.eof:
                        raise EOFError(f"{info.filename}: the data ends before its end-of-stream marker")
                    return
                pending = f.read(min(SCAN_CHUNK, packed))
                if not pending:
                    raise EOFError(f"{info.filename}: the archive ends inside it")
                packed -= len(pending)
            if inflate is None:
                out, pending = pending[:left], pending[left:]
            else:
                out = inflate.decompress(pending, min(SCAN_CHUNK, left))
                pending = inflate.unconsumed_tail
                if inflate.eof:
                    if len(out) < left:
                        raise zipfile.BadZipFile(f"{info.filename} is shorter than its stated size")
                    pending, packed = b"", 0
            left -= len(out)
            if out:
                yield out


def _check_grid(path: Path, part: str, rows: int, columns: int, size: int) -> None:
    corner = a1(columns - 1, rows)
    if rows > MAX_ROWS or columns > MAX_COLUMNS:
        raise WorkbookError(f"{path}: refused: {part} reaches cell {corner}, beyond the last "
                            f"cell of a sheet ({a1(MAX_COLUMNS - 1, MAX_ROWS)})")
    cells = rows * columns
    if cells > FREE_CELLS and cells * BYTES_PER_CELL > size:
        raise WorkbookError(f"{path}: refused: {part} spans A1:{corner}, {cells:,} cells, from "
                            f"{size:,} bytes of XML (far-off or repeated cells?)")


# .xlsx: the usual shape is <c r="B39" ...> with rows in order. The scan finds the largest row
# and column of each chunk with one regex that matches only the cells able to raise them
# (two- and three-letter columns, rows past the chunk's last cell); any other shape of cell
# (no r, r not first, a prefix, odd letters) sends the part to a slower tag-by-tag pass that
# follows the reader's own counting. The <dimension ref=...> a sheet states is not used: readers
# ignore it (a sheet claiming A1:XFD1048576 over two cells reads in 70 MB), so it is no threat.
_REF = re.compile(rb"\$?([A-Za-z]{1,3})\$?([0-9]+)")
_LAST_CELL = re.compile(rb'<c r="[A-Z]{1,3}([1-9][0-9]{0,6})"')
_XLSX_TAG = re.compile(rb"<(/?)(?:[A-Za-z_][\w.-]*:)?(row|c)((?:\s[^>]*)?)>")
_PREFIXED_CELL = re.compile(rb"<[^\s<>/:]+:c[\s>/]")
_R_ATTRIBUTE = re.compile(rb"\sr\s*=\s*[\"']([^\"']*)[\"']")
_SHARED = re.compile(rb"\st\s*=\s*[\"']s[\"']")


def _greater(n: int) -> bytes:
    """A regex for the decimal numbers (1 to 7 digits, no leading zero) greater than n."""
    digits = str(n)
    options = [f"[1-9][0-9]{{{len(digits)},6}}"] if len(digits) < 7 else []
    for i, d in enumerate(digits):
        if d != "9":
            rest = len(digits) - i - 1
            options.append(digits[:i] + f"[{int(d) + 1}-9]" + (f"[0-9]{{{rest}}}" if rest else ""))
    return ("(?:" + "|".join(options or ["(?!)"]) + ")").encode()


def _letters_greater(n: int) -> bytes:
    """A regex for the column letters (1 to 3) after column n (1 = A)."""
    if n == 0:
        return b"[A-Z]{1,3}"
    letters = column_letter(n - 1)
    options = [f"[A-Z]{{{len(letters) + 1},3}}"] if len(letters) < 3 else []
    for i, letter in enumerate(letters):
        if letter != "Z":
            rest = len(letters) - i - 1
            options.append(letters[:i] + f"[{chr(ord(letter) + 1)}-Z]" + (f"[A-Z]{{{rest}}}" if rest else ""))
    return ("(?:" + "|".join(options or ["(?!)"]) + ")").encode()


@functools.lru_cache(maxsize=64)
def _cells_pattern(rows: int, columns: int) -> re.Pattern:
    """Cells past row `rows` or column `columns`, or of an unusual shape."""
    return re.compile(rb'<c(?: r="(?:(' + _letters_greater(columns) + rb')([1-9][0-9]{0,6})|[A-Z]{1,3}+('
                      + _greater(rows) + rb'))"|(?! r="[A-Z]{1,3}[1-9][0-9]{0,6}")[\s>/])')


def _check_xlsx_part(path: Path, zf: zipfile.ZipFile, info: zipfile.ZipInfo, count_strings: bool) -> int:
    """Refuse a part whose cells reach too far; return its shared-string cells if counted."""
    rows = columns = strings = 0
    slow: _XlsxCounter | None = None
    carry = b""
    for chunk in _chunks(zf, info):
        text = carry + chunk if carry else chunk
        cut = max(0, text.rfind(b"<"))   # the bytes before `cut` are scanned; the rest carried
        carry = text[cut:]
        if len(carry) > MAX_ROW_BYTES:
            raise WorkbookError(f"{path}: refused: {info.filename} has a tag longer than "
                                f"{MAX_ROW_BYTES:,} bytes")
        if count_strings:
            strings += sum(1 for _ in _SHARED.finditer(text, 0, cut))
        if slow is None and text.find(b":c", 0, cut) >= 0 and _PREFIXED_CELL.search(text, 0, cut):
            slow = _XlsxCounter(rows)
        if slow is None:
            at = text.rfind(b'<c r="', 0, cut)
            last = _LAST_CELL.match(text, at, cut) if at >= 0 else None
            if last:
                rows = max(rows, int(last.group(1)))
            row_end = text.rfind(b'</row>', 0, cut)
            widest = _LAST_CELL.match(text, text.rfind(b'<c r="', 0, row_end)) if row_end > 0 else None
            if widest:  # a row's last cell: in a table, the widest; the regex then skips the rest
                letters = widest.group(0)[6:].rstrip(b'"0123456789')
                columns = max(columns, column_number(letters.decode("ascii")))
            for letters, row, past in _cells_pattern(rows, columns).findall(text, 0, cut):
                if letters:
                    columns, rows = max(columns, column_number(letters.decode("ascii"))), max(rows, int(row))
                elif past:
                    rows = max(rows, int(past))
                else:  # a cell of another shape
                    slow = _XlsxCounter(rows)
                    break
        if slow is not None:
            slow.feed(text[:cut])
            rows, columns = max(rows, slow.rows), max(columns, slow.columns)
        _check_grid(path, info.filename, rows, columns, info.file_size)
    return strings


class _XlsxCounter:
    """Cell positions as the reader counts them: r when given, else the next row or column.
    An empty <c/> is counted too, as the fast pass counts it (the reader skips it)."""

    def __init__(self, rows: int):
        self.row = self.rows = rows  # rows seen so far; the next r-less row follows them
        self.column = self.columns = 0

    def feed(self, text: bytes) -> None:
        for end, name, attributes in _XLSX_TAG.findall(text):
            if name == b"row":
                if attributes.endswith(b"/"):
                    continue  # an empty <row/> moves no counter
                if end:
                    self.row, self.column = self.row + 1, 0
                else:
                    r = _R_ATTRIBUTE.search(attributes)
                    if r and r.group(1).isdigit():
                        self.row = int(r.group(1)) - 1
                continue
            if end:
                continue
            r = _R_ATTRIBUTE.search(attributes)
            ref = _REF.fullmatch(r.group(1)) if r else None
            if ref:
                self.column = column_number(ref.group(1).decode("ascii")) - 1
                row = int(ref.group(2))
            else:
                row = self.row + 1
            self.rows = max(self.rows, row)
            self.columns = max(self.columns, self.column + 1)
            self.column += 1


def _longest_string(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> int:
    """An upper bound on the bytes of the longest shared string: the widest gap between <si."""
    longest = gap = 0
    for chunk in _chunks(zf, info):
        pieces = chunk.split(b"<si")
        gap += len(pieces[0])
        for piece in pieces[1:]:
            longest, gap = max(longest, gap), len(piece)
    return max(longest, gap)


# .ods: rows and cells may say they repeat. calamine copies a row's cells for every repeat and
# fills empty cells and rows only up to the last one holding a value, so trailing empty repeats
# (LibreOffice ends sheets with <table:table-row table:number-rows-repeated="1048000">) cost
# nothing and are not counted. The scan splits content.xml at row starts with bytes.split; only
# rows that mention a repeat are looked at cell by cell.
_ODS_ROW = b"<table:table-row"
_ODS_TABLE_END = b"</table:table>"
_ROWS_REPEATED = re.compile(rb"number-rows-repeated\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")
_COLUMNS_REPEATED = re.compile(rb"number-columns-repeated\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")
_VALUE = re.compile(rb"office:(?:value|string-value|date-value|time-value|boolean-value)|table:formula")
MIN_CELL_BYTES = len(b"<table:table-cell/>")


_TABLE_NAME = re.compile(rb"<table:table\s[^>]*?table:name\s*=\s*[\"']([^\"']*)[\"']")


class _OdsTable:
    def __init__(self) -> None:
        self.rows = self.pending = self.columns = self.copied = self.size = 0
        self.name = "content.xml"

    def named(self, text: bytes, stop: int) -> None:
        found = _TABLE_NAME.search(text, 0, stop)
        if found:
            self.name = f"content.xml, sheet {found.group(1).decode('utf-8', 'replace')!r},"


def _check_ods(path: Path, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes | None:
    """Refuse a sheet that asks for too much; return the sheets' first rows (`ods_head`), cut
    from the same bytes."""
    table = _OdsTable()
    heads = OdsHeads()
    carry = b""
    for chunk in _chunks(zf, info):
        heads.feed(chunk)
        text = carry + chunk
        cut = text.rfind(_ODS_ROW)
        if cut <= 0:
            if len(text) > MAX_ROW_BYTES:
                raise WorkbookError(f"{path}: refused: content.xml has a row or run of markup longer "
                                    f"than {MAX_ROW_BYTES:,} bytes")
            carry = text
            continue
        text, carry = text[:cut], text[cut:]
        table = _scan_ods(path, text, table)
    _scan_ods(path, carry, table, last=True)
    return heads.close()


def _scan_ods(path: Path, text: bytes, table: _OdsTable, last: bool = False) -> _OdsTable:
    parts = text.split(_ODS_TABLE_END)
    for i, part in enumerate(parts):
        # Rows are read in place, between offsets: splitting would copy all of content.xml.
        repeats = b"repeated" in part
        at = part.find(_ODS_ROW)
        head = len(part) if at < 0 else at
        table.size += head
        table.named(part, head)
        while at >= 0:
            start = at + len(_ODS_ROW)
            at = part.find(_ODS_ROW, start)
            stop = len(part) if at < 0 else at
            _ods_row(part, start, stop, table, repeats)
            table.size += stop - start + len(_ODS_ROW)
        if i < len(parts) - 1 or last:
            _check_ods_table(path, table)
            if i < len(parts) - 1:
                table = _OdsTable()
        else:
            # Refuse early, before a huge content.xml is read to its end.
            _check_grid(path, table.name, table.rows, table.columns, 2**63)
    return table


def _ods_row(text: bytes, start: int, stop: int, table: _OdsTable, repeats: bool) -> None:
    """The row in text[start:stop], after its "<table:table-row"; `repeats`: whether "repeated"
    occurs anywhere in `text`."""
    end = text.find(b">", start, stop)
    if end < 0 or text[start:start + 1] not in (b" ", b"\t", b"\n", b"\r", b">", b"/"):
        return  # <table:table-rows>, <table:table-row-group>: not a row
    row_repeats = _repeats(_ROWS_REPEATED.search(text, start, end))
    copied = 0
    if not (_VALUE.search(text, end, stop) or text.find(b"</table:table-cell>", start, stop) >= 0):
        width = 0  # an empty row: the reader fills it in only below a row with values
    elif not repeats or text.find(b"repeated", end, stop) < 0:
        width = (stop - start) // MIN_CELL_BYTES  # a bound: every cell costs at least this much
        if width > 1024:
            width = _cell_count(text, start, stop)
    else:
        # Each cell counts once, a repeated one as often as it repeats unless nothing with a
        # value follows it (trailing empty cells are not filled in).
        width = _cell_count(text, start, stop)
        for repeat in _COLUMNS_REPEATED.finditer(text, end, stop):
            count = _repeats(repeat)
            begin = max(start, text.rfind(b"<", start, repeat.start()))
            close = text.find(b">", repeat.end(), stop)
            if close < 0 or count == 1:
                continue
            tag = text[begin:close + 1]
            if _VALUE.search(tag) or not tag.endswith(b"/>"):
                following = [at for at in (text.find(b"<table:table-cell", close, stop),
                                           text.find(b"<table:covered-table-cell", close, stop)) if at >= 0]
                copied += (count - 1) * ((min(following) if following else stop) - begin)
                width += count - 1
            elif _VALUE.search(text, close, stop) or text.find(b"</table:table-cell>", close, stop) >= 0:
                width += count - 1
    if width:
        table.rows += table.pending + row_repeats
        table.pending = 0
        table.columns = max(table.columns, width)
        table.copied += row_repeats * copied + (row_repeats - 1) * (stop - start)
    else:
        table.pending += row_repeats


def _cell_count(text: bytes, start: int, stop: int) -> int:
    return (text.count(b"<table:table-cell", start, stop)
            + text.count(b"<table:covered-table-cell", start, stop))


def _repeats(found: re.Match | None) -> int:
    """A repeat count as the reader may parse it: character references resolved, a sign allowed."""
    if not found:
        return 1
    value = html.unescape((found.group(1) or found.group(2) or b"").decode("utf-8", "replace"))
    try:
        return max(1, int(value))
    except ValueError:
        return 1  # the reader refuses it


def _check_ods_table(path: Path, table: _OdsTable) -> None:
    _check_grid(path, table.name, table.rows, table.columns, table.size)
    if table.copied > MAX_COPIED:
        raise WorkbookError(f"{path}: refused: {table.name} repeats cells into {table.copied:,} bytes "
                            f"of text (a repeated-cell bomb?)")
