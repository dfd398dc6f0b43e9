"""Write a `Book` to .xlsx with XlsxWriter: every computed cell a formula with its cached value."""

from __future__ import annotations

import datetime
from pathlib import Path

import xlsxwriter

from sheetgen.build.book import Book, Sheet
from sheetgen.write import xlsx_drawing
from sheetgen.write._fast import DEFLATE_LEVEL, write_xlsx_body, xlsx_deflate_level

# A fixed document date keeps the same settings' files byte-identical.
FIXED_DATE = datetime.datetime(2000, 1, 1)


def write(book: Book, path: Path) -> None:
    # constant_memory streams each row to disk once written: memory stays flat for long runs.
    # Its row files go beside `path`, in the folder the caller owns and removes (atomic_path).
    # ZIP64 only where a part needs it (over 2 GiB, about 750,000 rows): smaller files are unchanged.
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False,
                                               "tmpdir": str(Path(path).parent), "use_zip64": True})
    workbook.set_properties({"title": "Backpropagation, 2-2-2 sigmoid network",
                             "created": FIXED_DATE})
    styles = {
        "text": None,
        "label": workbook.add_format({"bold": True}),
        "header": workbook.add_format({"bold": True, "align": "center", "bottom": 1}),
        "parameter": workbook.add_format({"bg_color": "#FFF2CC", "border": 1}),
        "note": workbook.add_format({"italic": True, "font_color": "#C00000"}),
    }
    if book.sheets:
        first = book.sheets[0]
        styles["number"] = workbook.add_format({"num_format": first.number_format})
        styles["gradient"] = workbook.add_format({"num_format": first.gradient_format})
        styles["integer"] = workbook.add_format({"num_format": "0"})
    if book.summary is not None and book.sheets:
        xlsx_drawing.write_summary(workbook, book.summary, styles, book.sheets[0].column_width,
                                   book.print_scale)
    pictures: dict = {}
    for sheet in book.sheets:
        ws = _write_sheet(workbook, sheet, styles)
        _drawings(workbook, ws, sheet, pictures)
        xlsx_drawing.page_setup(ws, sheet.print_ranges, book.print_scale, sheet.chart)
    # Closed only on success: a failed file is discarded, and packing it up would take seconds.
    with xlsx_deflate_level(DEFLATE_LEVEL):
        workbook.close()


def _drawings(workbook, ws, sheet: Sheet, pictures: dict) -> None:
    if sheet.picture is not None:
        xlsx_drawing.insert_picture(ws, sheet.picture, pictures)
    if sheet.chart is not None:
        xlsx_drawing.insert_chart(workbook, ws, sheet.chart)


def _write_sheet(workbook, sheet: Sheet, styles: dict):
    ws = workbook.add_worksheet(sheet.name)
    ws.set_column(0, len(sheet.columns) - 1, sheet.column_width)
    ws.freeze_panes(sheet.first_row, 0)

    for cell in sheet.cells:
        if isinstance(cell.value, str):
            ws.write_string(cell.row, cell.col, cell.value, styles[cell.style])
        else:
            ws.write_number(cell.row, cell.col, cell.value, styles[cell.style])

    write_xlsx_body(ws, sheet, styles)  # row templates: a write call per cell takes 20x as long
    return ws
