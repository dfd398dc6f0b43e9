"""Test helpers that read the parts of a workbook file directly (not through sheetgen)."""

from __future__ import annotations

import posixpath
import zipfile
from xml.etree import ElementTree

from odf.namespaces import OFFICENS, TABLENS
from odf.opendocument import load
from odf.table import Table, TableCell, TableRow

from sheetgen.core.cells import column_letter

NS = {
    "c": "http://schemas.openxmlformats.org/drawingml/2006/chart",
    "a": "http://schemas.openxmlformats.org/drawingml/2006/main",
    "xdr": "http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "rel": "http://schemas.openxmlformats.org/package/2006/relationships",
    "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
    "draw": "urn:oasis:names:tc:opendocument:xmlns:drawing:1.0",
    "svg": "urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0",
    "xlink": "http://www.w3.org/1999/xlink",
    "chart": "urn:oasis:names:tc:opendocument:xmlns:chart:1.0",
    "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
}


def _rels(zf: zipfile.ZipFile, part: str) -> dict[str, str]:
    """Relationship id -> target part path of one part of an xlsx."""
    folder, name = posixpath.split(part)
    rels = ElementTree.fromstring(zf.read(f"{folder}/_rels/{name}.rels"))
    return {r.get("Id"): posixpath.normpath(posixpath.join(folder, r.get("Target")))
            for r in rels.findall("rel:Relationship", NS)}


def xlsx_drawings(path) -> dict[str, dict]:
    """sheet name -> {"charts": [(anchor (col,row), chart root)], "images": [(anchor, bytes)]}."""
    out = {}
    with zipfile.ZipFile(path) as zf:
        book = ElementTree.fromstring(zf.read("xl/workbook.xml"))
        book_rels = _rels(zf, "xl/workbook.xml")
        for sheet in book.findall("m:sheets/m:sheet", NS):
            part = book_rels[sheet.get(f"{{{NS['r']}}}id")]
            found = {"charts": [], "images": []}
            out[sheet.get("name")] = found
            drawing = ElementTree.fromstring(zf.read(part)).find("m:drawing", NS)
            if drawing is None:
                continue
            drawing_part = _rels(zf, part)[drawing.get(f"{{{NS['r']}}}id")]
            targets = _rels(zf, drawing_part)
            for anchor in ElementTree.fromstring(zf.read(drawing_part)):
                start = anchor.find("xdr:from", NS)
                at = (int(start.find("xdr:col", NS).text), int(start.find("xdr:row", NS).text))
                chart = anchor.find(".//c:chart", NS)
                blip = anchor.find(".//a:blip", NS)
                if chart is not None:
                    target = targets[chart.get(f"{{{NS['r']}}}id")]
                    found["charts"].append((at, ElementTree.fromstring(zf.read(target))))
                if blip is not None:
                    found["images"].append((at, zf.read(targets[blip.get(f"{{{NS['r']}}}embed")])))
    return out


def ods_cells(path) -> dict[str, dict[str, tuple[str | None, str | None, str]]]:
    """sheet -> cell ref -> (formula, office:value, text), read with odfpy."""
    doc = load(str(path))
    out = {}
    for table in doc.spreadsheet.getElementsByType(Table):
        cells, r = {}, 0
        for row in table.getElementsByType(TableRow):
            c = 0
            for cell in row.getElementsByType(TableCell):
                repeat = int(cell.attributes.get((TABLENS, "number-columns-repeated"), 1))
                formula = cell.attributes.get((TABLENS, "formula"))
                value = cell.attributes.get((OFFICENS, "value"))
                text = str(cell)
                if formula or value or text:
                    cells[f"{column_letter(c)}{r + 1}"] = (formula, value, text)
                c += repeat
            r += int(row.attributes.get((TABLENS, "number-rows-repeated"), 1))
        out[table.getAttribute("name")] = cells
    return out
