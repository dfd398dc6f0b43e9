"""Write a `Book` to .xlsx with XlsxWriter: every computed cell a formula with its cached value."""

from __future__ import annotations

import datetime
from pathlib import Path

import xlsxwriter

from sheetgen.layout import Book, Sheet, render_row

# A fixed document date keeps the same settings' files byte-identical.
FIXED_DATE = datetime.datetime(2000, 1, 1)


def write(book: Book, path: Path) -> None:
    # constant_memory streams each row to disk once written: memory stays flat for long runs.
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False})
    workbook.set_properties({"title": "Backpropagation, 2-2-2 sigmoid network",
                             "created": FIXED_DATE})
    try:
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
        for sheet in book.sheets:
            _write_sheet(workbook, sheet, styles)
    finally:
        workbook.close()


def _write_sheet(workbook, sheet: Sheet, styles: dict) -> None:
    ws = workbook.add_worksheet(sheet.name)
    ws.set_column(0, len(sheet.columns) - 1, sheet.column_width)
    ws.freeze_panes(sheet.first_row, 0)

    for cell in sheet.cells:
        if isinstance(cell.value, str):
            ws.write_string(cell.row, cell.col, cell.value, styles[cell.style])
        else:
            ws.write_number(cell.row, cell.col, cell.value, styles[cell.style])

    for k, values in enumerate(sheet.rows):
        row = sheet.first_row + k
        for column, value in zip(sheet.columns, values, strict=True):
            fmt = styles[column.style]
            formula = render_row(column, "xlsx", row + 1, first=k == 0)
            if formula is None:
                ws.write_number(row, column.index, value, fmt)
            else:
                ws.write_formula(row, column.index, formula, fmt, value)
