"""An .ods file's sheets apart: each written to a one-sheet .ods of its own as content.xml streams
past, so that worker processes can parse the sheets side by side.

calamine parses all of an .ods's content.xml on opening, in one thread: for a 6 x 10,000-row book
that is five seconds. A sheet's file is content.xml's opening (up to `<office:spreadsheet ...>`),
the sheet's `<table:table>` element as it stands, and the closing tags, stored uncompressed.
Anything not laid out that way (a table inside a table, a cut-off sheet, an opening past
MAX_OPENING bytes) raises Unsplittable, possibly after some files were yielded: the caller then
discards them and reads the whole file instead.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

from sheetgen.read.safety import inflated
from sheetgen.read.xml_stream import CLOSING, SHEET_END, SPREADSHEET

MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"
MANIFEST = (b'<?xml version="1.0" encoding="UTF-8"?>'
            b'<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
            b'<manifest:file-entry manifest:full-path="/" manifest:media-type="' + MIMETYPE + b'"/>'
            b'<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
            b'</manifest:manifest>')
MAX_OPENING = 32 * 1024**2      # styles and settings before the first sheet
_SHEET_START = re.compile(rb"<table:table[\s>/]")
_KEEP = len(SHEET_END) - 1      # bytes that may hold the start of a tag cut by a chunk's end


class Unsplittable(Exception):
    """content.xml is not laid out as one element per sheet after its opening."""


def sheet_files(path: Path, folder: Path) -> Iterator[Path]:
    """Write each sheet of the .ods `path` (already checked by the safety guard) to its own file
    in `folder`, yielding each file's path as soon as it is complete, in the sheets' order."""
    with zipfile.ZipFile(path) as zf:
        opening, buf, out, count = None, b"", None, 0
        try:
            # Inflated as the safety check inflates it (no CRC pass: the check passed these bytes).
            for chunk in inflated(zf, zf.getinfo("content.xml")):
                buf += chunk
                at = 0
                while True:
                    if opening is None:
                        start = buf.find(SPREADSHEET)
                        tag_end = buf.find(b">", start) if start >= 0 else -1
                        if tag_end < 0:
                            if len(buf) > MAX_OPENING:
                                raise Unsplittable("content.xml opens with too much before its sheets")
                            break
                        opening, at = buf[:tag_end + 1], tag_end + 1
                    elif out is None:
                        found = _SHEET_START.search(buf, at)
                        end = buf.find(SHEET_END, at, None if found is None else found.start())
                        if end >= 0:  # a sheet's end outside a sheet: a table inside a table
                            raise Unsplittable("a table inside a table")
                        if found is None:
                            at = max(at, len(buf) - _KEEP)
                            break
                        at, count = found.start(), count + 1
                        out = _SheetFile(folder / f"sheet-{count}.ods", opening)
                        out.write(buf[at:found.end()])
                        at = found.end()
                    else:
                        # The first end closes the sheet; were a table nested in it, the
                        # sheet's own end would come next, between sheets, and be refused there.
                        end = buf.find(SHEET_END, at)
                        if end < 0:
                            keep = max(at, len(buf) - _KEEP)
                            out.write(memoryview(buf)[at:keep])
                            at = keep
                            break
                        out.write(memoryview(buf)[at:end + len(SHEET_END)])
                        at = end + len(SHEET_END)
                        done, out = out.close(), None   # complete: the caller's to remove
                        yield done
                buf = buf[at:]
            if out is not None or opening is None:
                raise Unsplittable("content.xml ends inside a sheet")
        finally:
            if out is not None:
                out.discard()


class _SheetFile:
    def __init__(self, path: Path, opening: bytes) -> None:
        self.path = path
        self.zf = zipfile.ZipFile(path, "w", zipfile.ZIP_STORED)
        self.zf.writestr("mimetype", MIMETYPE)
        self.zf.writestr("META-INF/manifest.xml", MANIFEST)
        self.content = self.zf.open("content.xml", "w", force_zip64=True)
        self.content.write(opening)

    def write(self, data: bytes) -> None:
        self.content.write(data)

    def close(self) -> Path:
        self.content.write(CLOSING)
        self.content.close()
        self.zf.close()
        return self.path

    def discard(self) -> None:
        try:
            self.content.close()
            self.zf.close()
        finally:
            self.path.unlink(missing_ok=True)


def sheet_grid(path: Path) -> tuple[str, list[list]]:
    """The name and every cell value of the one sheet of a file `sheet_files` wrote, which is
    removed once read."""
    from python_calamine import CalamineWorkbook

    try:
        book = CalamineWorkbook.from_path(str(path))
        if len(book.sheet_names) != 1:  # e.g. a self-closed <table:table/> took the next sheet in
            raise Unsplittable(f"{len(book.sheet_names)} sheets in one sheet's file")
        return book.sheet_names[0], book.get_sheet_by_index(0).to_python(skip_empty_area=False)
    finally:
        Path(path).unlink(missing_ok=True)


__all__ = ["Unsplittable", "sheet_files", "sheet_grid"]
