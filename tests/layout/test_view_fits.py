"""What a student sees on a 1366 x 768 screen, for every shipped example, read back from the
files where the files say it: the frozen rows, the chart's place and size, live titles, column
widths measured in the fonts the applications draw with, and the picture's label boxes."""

from __future__ import annotations

import math
import zipfile
from pathlib import Path

import pytest
from PIL import ImageFont

from sheetgen.config import from_file
from sheetgen.layout.assemble import build_book
from sheetgen.layout.picture import boxes_overlap, label_box, node_box, segment_hits_box

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "sheetgen" / "examples").glob("*.toml"))
# LibreOffice's window at 1366 x 768 (menus, two toolbars, formula bar, column headers, sheet
# tabs and status bar) leaves 520 px for rows, measured on its screenshots; Gnumeric's is alike.
ROWS_PX = 520
ODS_ROW_PX = 4.52 / 25.4 * 96        # LibreOffice's default row height, 0.452 cm: 17.1 px
XLSX_ROW_PX = 20                     # an .xlsx row of 15 pt
MM_PX = 96 / 25.4
FONTS = {"Liberation Sans": "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
         "Carlito": "/usr/share/fonts/truetype/crosextra/Carlito-Bold.ttf"}
FONT_PX = {"Liberation Sans": 10 * 96 / 72, "Carlito": 11 * 96 / 72}   # .ods 10 pt, .xlsx 11 pt


@pytest.fixture(scope="module", params=[p.stem for p in EXAMPLES])
def book(request):
    config = from_file(next(p for p in EXAMPLES if p.stem == request.param))
    from dataclasses import replace

    return build_book(replace(config, iterations=min(config.iterations, 60)).training())


def rate_sheets(book):
    return [s for s in book.sheets if s.chart is not None]


def test_frozen_rows_leave_the_table_in_view(book):
    for sheet in rate_sheets(book):
        for row_px in (ODS_ROW_PX, XLSX_ROW_PX):
            frozen = sheet.first_row * row_px
            assert frozen + 5 * row_px <= ROWS_PX, (sheet.name, sheet.first_row)


def test_loss_chart_is_seen_whole_below_the_frozen_header(book):
    for sheet in rate_sheets(book):
        chart = sheet.chart
        assert chart.row >= sheet.first_row   # in the scrolling part, beside the table's first rows
        for row_px in (ODS_ROW_PX, XLSX_ROW_PX):
            assert sheet.first_row * row_px + chart.height_mm * MM_PX <= ROWS_PX, sheet.name
    if book.summary is not None and book.summary.chart is not None:
        chart = book.summary.chart
        assert chart.row * XLSX_ROW_PX + chart.height_mm * MM_PX <= ROWS_PX


def test_picture_labels_are_clear_of_nodes_lines_and_each_other(book):
    picture = rate_sheets(book)[0].picture
    labelled = [(k, e) for k, e in enumerate(picture.edges) if e.label]
    # A layered network's picture has labels; an image network's blocks may have none.
    assert labelled or all(n.shape == "rect" or n.name == "E_total" for n in picture.nodes)
    boxes = []
    for k, edge in labelled:
        box = label_box(edge.label, edge.label_x, edge.label_y)
        assert 0 <= box[0] and box[2] <= picture.width and 0 <= box[1] and box[3] <= picture.height
        for node in picture.nodes:
            assert not boxes_overlap(box, node_box(node)), (edge.label, node.name)
        for j, other in enumerate(picture.edges):
            if j != k:
                assert not segment_hits_box(other.x1, other.y1, other.x2, other.y2, box), (edge.label, j)
        for other, text in boxes:
            assert not boxes_overlap(box, other), (edge.label, text)
        boxes.append((box, edge.label))


def formatted(value: float) -> str:
    """A value as the computed columns' format shows it from 1e-3 up: up to 9 decimals."""
    if abs(value) >= 1e-3:
        return f"{value:.9f}".rstrip("0").rstrip(".")
    return "-1.23456789E-05" if value < 0 else "1.23456789E-05"  # General, scientific, at its widest


@pytest.mark.parametrize("font", FONTS)
def test_column_widths_fit_the_widest_value_and_header(book, font):
    face = ImageFont.truetype(FONTS[font], round(FONT_PX[font]))   # bold: wider than regular
    for sheet in rate_sheets(book):
        # An .xlsx column of w characters is 7w + 5 px; an .ods one 0.085 in a character.
        column_px = min(sheet.column_width * 7 + 5, sheet.column_width * 0.085 * 96)
        values = sheet.trace.values
        for column in sheet.columns:
            texts = [column.header]
            if column.style != "input":
                texts += [formatted(v) for v in values[:, column.index] if math.isfinite(v)]
            widest = max(texts, key=lambda t: face.getlength(t))
            assert face.getlength(widest) + 6 <= column_px, (sheet.name, column.header, widest, font)


def test_titles_legends_and_best_marks_are_formulas(tmp_path):
    """The rate is named only by live cells: each sheet's title cell above its chart, the
    summary's legend ("curve") cells and "best" marks are formulas in both formats; the charts'
    own titles, fixed text in LibreOffice, name no rate."""
    from sheetgen.config import Config
    from sheetgen.core.cells import column_letter
    from sheetgen.generation import generate
    from sheetgen.read.workbook import Workbook

    config = Config(iterations=3, plots=False, output_dir=tmp_path)
    paths = generate(config.training())
    book = build_book(config.training())
    for path in paths:
        wanted = {s.name: [f"{column_letter(s.chart.title_cell.col)}{s.chart.title_cell.row + 1}"]
                  for s in book.sheets}
        wanted["summary"] = [f"{c}{r}" for r in range(5, 11) for c in "EF"]
        found = Workbook(path).formulas_in(wanted)
        for sheet, refs in wanted.items():
            assert set(found[sheet]) == set(refs), (path.suffix, sheet)
            for ref in refs:
                assert ("MATCH(" if ref.startswith("E") else "TEXT(") in found[sheet][ref], (sheet, ref)
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as zf:
                titles = [zf.read(n).decode() for n in zf.namelist() if n.startswith("xl/charts/chart")]
            assert titles and not any("learning rate is" in t for t in titles)
