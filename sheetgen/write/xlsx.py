"""Write a `Book` to .xlsx with XlsxWriter: every computed cell a formula with its cached value."""

from __future__ import annotations

import datetime
from pathlib import Path

import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from sheetgen.core.template import template
from sheetgen.layout.book import Book, Cell, Sheet
from sheetgen.write import xlsx_drawing
from sheetgen.write.row_templates import DEFLATE_LEVEL, write_xlsx_body, xlsx_deflate_level

# A fixed document date keeps the same settings' files byte-identical.
FIXED_DATE = datetime.datetime(2000, 1, 1)


class ExactWorksheet(Worksheet):
    """XlsxWriter writes plain numbers with 16 significant digits (%.16G), which turns
    0.30000000000000004 into 0.3. The shortest repr reads back as the same float64, as the
    formula values (written with str()) and the fast row path already do."""

    def _xml_number_element(self, number, attributes=[]) -> None:  # noqa: B006 (its signature)
        attr = "".join(f' {key}="{self._escape_attributes(value)}"' for key, value in attributes)
        text = repr(number) if isinstance(number, int) else repr(float(number))
        self.fh.write(f"<c{attr}><v>{text}</v></c>")


def add_worksheet(workbook, name: str):
    return workbook.add_worksheet(name, worksheet_class=ExactWorksheet)


def write(book: Book, path: Path) -> None:
    # constant_memory streams each row to disk once written: memory stays flat for long runs.
    # Its row files go beside `path`, in the folder the caller owns and removes (atomic_path).
    # ZIP64 only where a part needs it (over 2 GiB, about 750,000 rows): smaller files are unchanged.
    # A small book (a class's hundreds of exercises) is built in memory: no temporary part files.
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": not book.small, "in_memory": book.small,
                                               "strings_to_numbers": False,
                                               "tmpdir": str(Path(path).parent), "use_zip64": True})
    workbook.set_properties({"title": book.training.title,
                             "created": FIXED_DATE})
    styles = {
        "text": None,
        "label": workbook.add_format({"bold": True}),
        "header": workbook.add_format({"bold": True, "align": "center", "bottom": 1}),
        "parameter": workbook.add_format({"bg_color": "#FFF2CC", "border": 1}),
        "note": workbook.add_format({"italic": True, "font_color": "#C00000"}),
        "step": workbook.add_format({"bold": True, "align": "center", "bg_color": "#DDEBF7",
                                     "border": 1}),
    }
    if book.sheets:
        first = book.sheets[0]
        styles["number"] = workbook.add_format({"num_format": first.number_format})
        styles["gradient"] = workbook.add_format({"num_format": first.gradient_format})
        styles["integer"] = workbook.add_format({"num_format": "0"})
        styles["input"] = workbook.add_format({"num_format": template()["table"]["input_format"]})
        styles["rate"] = workbook.add_format({"num_format": template()["table"]["rate_format"]})
        # An exercise: the cells left for the student, their headers, the self-check cells.
        styles["blank"] = workbook.add_format({"num_format": first.number_format, "bg_color": "#E2EFDA",
                                               "border": 3, "border_color": "#548235"})
        styles["blank_header"] = workbook.add_format({"bold": True, "align": "center", "bottom": 1,
                                                      "bg_color": "#C6E0B4"})
        styles["check"] = workbook.add_format({"italic": True, "align": "center",
                                               "font_color": "#375623"})
    if book.maps is not None:
        styles["map"] = workbook.add_format({"num_format": book.maps.number_format, "border": 1,
                                             "border_color": "#BFBFBF", "font_size": 9})
    if book.summary is not None and book.sheets:
        xlsx_drawing.write_summary(workbook, add_worksheet(workbook, book.summary.name),
                                   book.summary, styles, book.print_scale)
    pictures: dict = {}
    for sheet in book.sheets:
        ws = _write_sheet(workbook, sheet, styles)
        _drawings(workbook, ws, sheet, pictures, book.training.shape, book.small)
        xlsx_drawing.page_setup(ws, sheet.print_ranges, book.print_scale, sheet.chart)
    if book.maps is not None:
        xlsx_drawing.write_maps(workbook, add_worksheet(workbook, book.maps.name), book.maps, styles)
    # Closed only on success: a failed file is discarded, and packing it up would take seconds.
    with xlsx_deflate_level(DEFLATE_LEVEL):
        workbook.close()


def _drawings(workbook, ws, sheet: Sheet, pictures: dict, shape: str, small: bool = False) -> None:
    if sheet.picture is not None:
        xlsx_drawing.insert_picture(ws, sheet.picture, pictures, shape, small)
    if sheet.chart is not None:
        xlsx_drawing.insert_chart(workbook, ws, sheet.chart)


def _write_sheet(workbook, sheet: Sheet, styles: dict):
    ws = add_worksheet(workbook, sheet.name)
    ws.set_column(0, sheet.n_columns - 1, sheet.column_width)
    # Opens at A1 with the rows down to the header frozen (the template keeps them few enough
    # for a laptop screen), so the header stays in view while the table scrolls.
    ws.freeze_panes(sheet.first_row, 0)

    title = sheet.chart.title_cell if sheet.chart is not None else None
    cells: list = list(sheet.cells)
    if title is not None:
        cells.append(title)
    # constant_memory: every row before the next one
    for cell in sorted(cells, key=lambda c: (c.row, c.col)):
        if not isinstance(cell, Cell):  # a formula cell: the chart's title, an exercise's check
            ws.write_formula(cell.row, cell.col, "=" + cell.formulas["xlsx"],
                             styles[getattr(cell, "style", "label")], cell.text)
        elif cell.span > 1:
            ws.merge_range(cell.row, cell.col, cell.row, cell.col + cell.span - 1, cell.value,
                           styles[cell.style])
        elif isinstance(cell.value, str):
            ws.write_string(cell.row, cell.col, cell.value, styles[cell.style])
        else:
            ws.write_number(cell.row, cell.col, cell.value, styles[cell.style])

    write_xlsx_body(ws, sheet, styles)  # row templates: a write call per cell takes 20x as long
    last = sheet.first_row + sheet.iterations - 1
    numeric = [c.index for c in sheet.columns if c.style in ("number", "gradient")]
    runs: list[list[int]] = []
    for col in numeric:  # runs of side-by-side columns, one condition each
        if runs and runs[-1][1] == col - 1:
            runs[-1][1] = col
        else:
            runs.append([col, col])
    for first_col, last_col in runs:
        if sheet.iterations:
            xlsx_drawing.small_numbers(workbook, ws, sheet.first_row, first_col, last, last_col)
    return ws
