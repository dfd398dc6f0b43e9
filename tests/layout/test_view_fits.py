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


def test_loss_chart_sits_in_the_frozen_rows(book):
    """Each sheet's chart and its live title cell are above the header: scrolling the table
    never hides them (the files' own positions: test_chart_in_view_on_opening_in_the_files)."""
    for sheet in rate_sheets(book):
        chart = sheet.chart
        assert chart.title_cell is not None and chart.title_cell.row < chart.row
        assert chart.row * ODS_ROW_PX / MM_PX + chart.height_mm <= sheet.header_row * 4.52, sheet.name
        # The picture, drawn at its scale, ends in LibreOffice's narrower .xlsx view (302 mm of
        # columns of 7w + 5 px) and is never drawn below 0.7 of its size.
        picture = sheet.picture
        left = (picture.col * (sheet.column_width * 7 + 5) + 4) * 25.4 / 96
        assert left + picture.drawn_width <= 1268 / 4.19 and picture.scale >= 0.7, (sheet.name, picture.scale)
    if book.summary is not None and book.summary.chart is not None:
        chart = book.summary.chart
        assert chart.row * XLSX_ROW_PX + chart.height_mm * MM_PX <= ROWS_PX


# LibreOffice's window at 1366 x 768 shows 1,268 px of cells across (measured on its screenshots),
# drawing an .ods at 4.0 px a mm and an .xlsx at 4.19 px a mm at its 100 %: 317 and 302 mm of the
# sheet. Gnumeric's shows 338-348 mm of either (GNUMERIC_VIEW_MM).
VIEW_MM = {"ods": 1268 / 4.0, "xlsx": 1268 / 4.19}
EMU_MM = 36000


def _xml(zf: zipfile.ZipFile, name: str):
    from xml.etree import ElementTree

    return ElementTree.fromstring(zf.read(name))


def xlsx_charts_in_view(path: Path) -> dict[str, tuple[int, list[tuple[float, float, int, int]]]]:
    """Per sheet: its frozen rows, and each chart's left and right edges (mm) and its first and
    last rows (0-based, the last the row its bottom edge falls in), from the sheet's own XML."""
    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
          "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
          "xdr": "http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing",
          "rel": "http://schemas.openxmlformats.org/package/2006/relationships"}
    out = {}
    with zipfile.ZipFile(path) as zf:
        names = [s.get("name") for s in _xml(zf, "xl/workbook.xml").iter(f"{{{ns['m']}}}sheet")]
        for k, name in enumerate(names, start=1):
            sheet = _xml(zf, f"xl/worksheets/sheet{k}.xml")
            pane = sheet.find("m:sheetViews/m:sheetView/m:pane", ns)
            frozen = int(float(pane.get("ySplit", 0))) if pane is not None else 0
            widths = {}   # 0-based column: px (XlsxWriter writes w + 5/7 characters: 7 px each)
            for col in sheet.iterfind("m:cols/m:col", ns):
                for c in range(int(col.get("min")) - 1, int(col.get("max"))):
                    widths[c] = round(float(col.get("width")) * 7)
            drawing = sheet.find("m:drawing", ns)
            charts = []
            if drawing is not None:
                rels = _xml(zf, f"xl/worksheets/_rels/sheet{k}.xml.rels")
                target = next(r.get("Target") for r in rels if r.get("Id") == drawing.get(f"{{{ns['r']}}}id"))
                anchors = _xml(zf, "xl/" + target.removeprefix("../"))

                def x_mm(marker, widths=widths) -> float:
                    col = int(marker.find("xdr:col", ns).text)
                    px = sum(widths.get(c, 64) for c in range(col))
                    return px * 25.4 / 96 + int(marker.find("xdr:colOff", ns).text) / EMU_MM

                for anchor in anchors.iterfind("xdr:twoCellAnchor", ns):
                    if anchor.find("xdr:graphicFrame", ns) is None:
                        continue    # the picture
                    start, end = anchor.find("xdr:from", ns), anchor.find("xdr:to", ns)
                    last = int(end.find("xdr:row", ns).text) - (int(end.find("xdr:rowOff", ns).text) == 0)
                    charts.append((x_mm(start), x_mm(end), int(start.find("xdr:row", ns).text), last))
            out[name] = (frozen, charts)
    return out


def ods_charts_in_view(path: Path) -> dict[str, tuple[int, list[tuple[float, float, float, float]]]]:
    """Per sheet: its frozen rows, and each chart's left, right, top and bottom edges (mm)."""
    ns = {"table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
          "draw": "urn:oasis:names:tc:opendocument:xmlns:drawing:1.0",
          "svg": "urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0",
          "config": "urn:oasis:names:tc:opendocument:xmlns:config:1.0"}
    out = {}
    with zipfile.ZipFile(path) as zf:
        frozen = {}
        for entry in _xml(zf, "settings.xml").iter(f"{{{ns['config']}}}config-item-map-entry"):
            items = {i.get(f"{{{ns['config']}}}name"): i.text
                     for i in entry.iterfind("config:config-item", ns)}
            if "VerticalSplitPosition" in items:
                mode = items.get("VerticalSplitMode")
                frozen[entry.get(f"{{{ns['config']}}}name")] = (
                    int(items["VerticalSplitPosition"]) if mode == "2" else 0)
        content = _xml(zf, "content.xml")
        for table in content.iter(f"{{{ns['table']}}}table"):
            name = table.get(f"{{{ns['table']}}}name")
            charts = []
            for frame in table.iterfind("table:shapes/draw:frame", ns):
                if frame.find("draw:object", ns) is None:
                    continue

                def mm(attr: str, frame=frame) -> float:
                    return float(frame.get(f"{{{ns['svg']}}}{attr}").removesuffix("mm"))

                charts.append((mm("x"), mm("x") + mm("width"), mm("y"), mm("y") + mm("height")))
            out[name] = (frozen.get(name, 0), charts)
    return out


# Gnumeric's window at 1366 x 768 shows 1,279-1,314 px of cells across at 3.78 px a mm (its row
# headers widen with a sheet's last row number), 338-348 mm of either format, measured on its
# screenshots. Its .ods cells are drawn in its own "Sans" (DejaVu Sans), the .xlsx ones in
# Calibri's metric twin Carlito; LibreOffice's .ods in Liberation Sans.
GNUMERIC_VIEW_MM = (338.0, 348.0)
FONT_DIRS = "/usr/share/fonts/truetype/"
CELL_FONTS = {("ods", "libreoffice"): ("liberation/LiberationSans-Regular.ttf",
                                        "liberation/LiberationSans-Bold.ttf", 10),
              ("ods", "gnumeric"): ("dejavu/DejaVuSans.ttf", "dejavu/DejaVuSans-Bold.ttf", 10),
              ("xlsx", "libreoffice"): ("crosextra/Carlito-Regular.ttf", "crosextra/Carlito-Bold.ttf", 11),
              ("xlsx", "gnumeric"): ("crosextra/Carlito-Regular.ttf", "crosextra/Carlito-Bold.ttf", 11)}
CELL_PAD_MM = 1.5           # the applications' margins either side of a cell's text


def xlsx_upper(path: Path) -> dict[str, tuple[list[float], list[tuple[int, int, str]], float | None]]:
    """Per sheet: the columns' left edges (mm, 0-based, enough for every cell), the texts of the
    cells above its frozen rows (0-based row, column, text as cached), and the picture's right
    edge (mm) or None."""
    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
          "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
          "xdr": "http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing"}
    from sheetgen.core.cells import parse_cell

    out = {}
    with zipfile.ZipFile(path) as zf:
        strings = "xl/sharedStrings.xml"
        shared = ["".join(t.text or "" for t in si.iter(f"{{{ns['m']}}}t"))
                  for si in _xml(zf, strings)] if strings in zf.namelist() else []
        names = [s.get("name") for s in _xml(zf, "xl/workbook.xml").iter(f"{{{ns['m']}}}sheet")]
        for k, name in enumerate(names, start=1):
            sheet = _xml(zf, f"xl/worksheets/sheet{k}.xml")
            pane = sheet.find("m:sheetViews/m:sheetView/m:pane", ns)
            frozen = int(float(pane.get("ySplit", 0))) if pane is not None else 0
            widths = {}
            for col in sheet.iterfind("m:cols/m:col", ns):
                for c in range(int(col.get("min")) - 1, int(col.get("max"))):
                    widths[c] = round(float(col.get("width")) * 7)
            edges = [0.0]
            for c in range(2000):
                edges.append(edges[-1] + widths.get(c, 64) * 25.4 / 96)
            cells = []
            for row in sheet.iterfind("m:sheetData/m:row", ns):
                if int(row.get("r")) > frozen:
                    break
                for c in row.iterfind("m:c", ns):
                    v, kind = c.find("m:v", ns), c.get("t")
                    if kind == "s":
                        text = shared[int(v.text)]
                    elif kind == "inlineStr":
                        text = "".join(t.text or "" for t in c.iter(f"{{{ns['m']}}}t"))
                    elif v is not None:
                        text = v.text if kind == "str" else format_number(float(v.text))
                    else:
                        continue
                    cells.append((*parse_cell(c.get("r")), text))
            right = None
            drawing = sheet.find("m:drawing", ns)
            if drawing is not None:
                rels = _xml(zf, f"xl/worksheets/_rels/sheet{k}.xml.rels")
                target = next(r.get("Target") for r in rels if r.get("Id") == drawing.get(f"{{{ns['r']}}}id"))
                for anchor in _xml(zf, "xl/" + target.removeprefix("../")).iterfind("xdr:twoCellAnchor", ns):
                    if anchor.find("xdr:pic", ns) is not None:
                        end = anchor.find("xdr:to", ns)
                        right = (edges[int(end.find("xdr:col", ns).text)]
                                 + int(end.find("xdr:colOff", ns).text) / EMU_MM)
            out[name] = (edges, cells, right)
    return out


def ods_upper(path: Path, frozen_rows: dict[str, int]) -> dict[str, tuple[list[float], list, float | None]]:
    """As xlsx_upper, for an .ods and its sheets' `frozen_rows`: the column widths from the
    table's column styles, the picture's right edge from its shapes (the chart's frame aside)."""
    ns = {"table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
          "style": "urn:oasis:names:tc:opendocument:xmlns:style:1.0",
          "draw": "urn:oasis:names:tc:opendocument:xmlns:drawing:1.0",
          "svg": "urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0",
          "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
          "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0"}

    def mm(text: str) -> float:
        if text.endswith("in"):
            return float(text.removesuffix("in")) * 25.4
        return float(text.removesuffix("mm"))

    out = {}
    with zipfile.ZipFile(path) as zf:
        content = _xml(zf, "content.xml")
        column_mm = {st.get(f"{{{ns['style']}}}name"): mm(props.get(f"{{{ns['style']}}}column-width"))
                     for st in content.iter(f"{{{ns['style']}}}style")
                     if (props := st.find("style:table-column-properties", ns)) is not None}
        for table in content.iter(f"{{{ns['table']}}}table"):
            name = table.get(f"{{{ns['table']}}}name")
            edges = [0.0]
            for col in table.iterfind("table:table-column", ns):
                width = column_mm.get(col.get(f"{{{ns['table']}}}style-name"), 22.58)
                for _ in range(int(col.get(f"{{{ns['table']}}}number-columns-repeated", 1))):
                    edges.append(edges[-1] + width)
            edges += [edges[-1] + 22.58 * k for k in range(1, 2000)]
            cells = []
            r = 0
            for row in table.iterfind(".//table:table-row", ns):
                if r >= frozen_rows[name]:
                    break
                r += int(row.get(f"{{{ns['table']}}}number-rows-repeated", 1))
                c = 0
                for cell in row:
                    repeat = int(cell.get(f"{{{ns['table']}}}number-columns-repeated", 1))
                    text = "\n".join("".join(p.itertext()) for p in cell.iterfind("text:p", ns))
                    if text:
                        cells.append((r - 1, c, text))
                    c += repeat
            xs = [float(shape.get(f"{{{ns['svg']}}}{attr}").removesuffix("mm"))
                  + (float(shape.get(f"{{{ns['svg']}}}width").removesuffix("mm")) if attr == "x" else 0)
                  for kind in ("ellipse", "rect", "line")
                  for shape in table.iterfind(f"table:shapes/draw:{kind}", ns)
                  for attr in (("x",) if kind != "line" else ("x1", "x2"))]
            out[name] = (edges, cells, max(xs) if xs else None)
    return out


def format_number(value: float) -> str:
    return f"{value:.10g}"


def text_width_mm(text: str, fonts: tuple[str, str, int]) -> float:
    """A cell's text drawn in the regular face of `fonts`, with the cell's margins."""
    face = ImageFont.truetype(FONT_DIRS + fonts[0], round(fonts[2] * 96 / 72))
    return max(face.getlength(line) for line in text.split("\n")) * 25.4 / 96 + 2 * CELL_PAD_MM


def cut_texts(edges: list[float], cells: list[tuple[int, int, str]], fonts: tuple[str, str, int],
              views: list[tuple[float, float]], bold: set[tuple[int, int]]) -> list[str]:
    """The cells whose text a window cuts: one that starts left of a view's edge (anywhere from
    its narrowest to its widest place) but runs past it, or whose overflow the next filled cell
    of its row stops short. A text overflows into empty cells to its right; the cells at `bold`
    (the labels) are measured in the bold face."""
    faces = [ImageFont.truetype(FONT_DIRS + name, round(fonts[2] * 96 / 72)) for name in fonts[:2]]
    filled: dict[int, list[int]] = {}
    for r, c, _ in sorted(cells):
        filled.setdefault(r, []).append(c)
    cut = []
    for r, c, text in cells:
        face = faces[(r, c) in bold]
        width = max(face.getlength(line) for line in text.split("\n")) * 25.4 / 96 + 2 * CELL_PAD_MM
        left, right = edges[c], edges[c] + width
        after = [k for k in filled[r] if k > c]
        stop = edges[after[0]] if after else math.inf
        if right > max(stop, edges[c + 1]):
            cut.append(f"{text!r} at row {r + 1}, column {c + 1}: stopped at {stop:.0f} mm")
        for low, high in views:
            if left < high and right > low:
                cut.append(f"{text!r} at row {r + 1}, column {c + 1}: {left:.0f}-{right:.0f} mm "
                           f"across the window's edge at {low:.0f}-{high:.0f} mm")
    return cut


@pytest.mark.slow
def test_chart_in_view_on_opening_in_the_files(tmp_path):
    """Every shipped example, both formats, read back: each learning-rate sheet's loss chart lies
    within the frozen rows (scrolling never hides it) and within the columns LibreOffice's
    window shows at 1366 x 768 on opening, and so does the picture's right edge; the frozen rows
    leave table rows in view; every text above the header that starts in LibreOffice's or
    Gnumeric's window ends in it, measured in the font each draws it with, and no filled cell
    stops one short."""
    from dataclasses import replace

    from sheetgen.generation import generate

    seen = 0
    for example in EXAMPLES:
        config = from_file(example)
        training = replace(config, iterations=3, plots=False, output_dir=tmp_path / example.stem).training()
        # Each sheet's rows above its table's header (and a recurrent table's step labels).
        sheets = {s.name: s for s in build_book(training).sheets if s.chart is not None}
        tops = {name: min(c.row for c in s.cells if c.style in ("header", "step"))
                for name, s in sheets.items()}
        labels = {name: {(c.row, c.col) for c in s.cells if c.style == "label"} for name, s in sheets.items()}
        rates = set(sheets)
        for path in generate(training):
            fmt = path.suffix[1:]
            views = xlsx_charts_in_view(path) if fmt == "xlsx" else ods_charts_in_view(path)
            upper = xlsx_upper(path) if fmt == "xlsx" else ods_upper(
                path, {name: frozen for name, (frozen, _) in views.items()})
            for name in rates:
                frozen, charts = views[name]
                # The picture ends in LibreOffice's narrower view too (Gnumeric's is wider).
                edges, cells, picture_right = upper[name]
                assert picture_right is not None and picture_right <= VIEW_MM[fmt], (
                    example.stem, fmt, name, picture_right)
                # Every text above the header reads whole in both windows, or starts out of view
                # (the reference exercise's own design, its equations beside the chart, aside).
                above = [c for c in cells if c[0] < tops[name]]
                assert any(text == "Learning_rate" for _, _, text in above), (example.stem, fmt)
                for app, edge in (("libreoffice", (VIEW_MM[fmt],) * 2), ("gnumeric", GNUMERIC_VIEW_MM)):
                    if training.design == "reference":
                        break
                    cut = cut_texts(edges, above, CELL_FONTS[(fmt, app)], [edge], labels[name])
                    assert not cut, (example.stem, fmt, app, name, cut)
                assert len(charts) == 1, (example.stem, path.suffix, name)
                left, right, top, bottom = charts[0]
                if training.design == "reference":
                    # The equations in G beside the chart run on under H: clear of the chart in
                    # either window's font (row 1's stops at the chart's title cell, H1).
                    for app in ("libreoffice", "gnumeric"):
                        for r, c, text in above:
                            if c == 6 and r > 0:
                                end = edges[6] + text_width_mm(text, CELL_FONTS[(fmt, app)])
                                assert end <= left, (example.stem, fmt, app, text, end, left)
                row_px = XLSX_ROW_PX if path.suffix == ".xlsx" else ODS_ROW_PX
                assert 0 < frozen and frozen * row_px + 5 * row_px <= ROWS_PX, (example.stem, name, frozen)
                assert 0 <= left and right <= VIEW_MM[path.suffix[1:]], (example.stem, path.suffix, right)
                if path.suffix == ".xlsx":   # rows: the first and the last the chart covers
                    assert 0 <= top and bottom < frozen, (example.stem, name, top, bottom, frozen)
                else:                        # mm: LibreOffice's rows of 4.52 mm
                    assert 0 <= top and bottom <= frozen * 4.52, (example.stem, name, bottom, frozen)
                seen += 1
    assert seen >= 2 * 6 * len(EXAMPLES) // 2   # most examples have several rates


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


def test_labels_fit_their_column(book):
    """The labels above the table (the learning rate's and the optimizer's parameters' in column
    A, the settings' beside their values) each fit their own column, in bold, in the font each
    application draws them with (Gnumeric an .ods's in DejaVu Sans): none runs into its value
    or under the picture or chart beside it."""
    sheet = rate_sheets(book)[0]
    widths = {"ods": sheet.column_width * 0.085 * 96, "xlsx": sheet.column_width * 7 + 5}   # px
    labels = [c.value for c in sheet.cells if c.style == "label" and c.row < sheet.header_row]
    assert "Learning_rate" in labels or book.training.design == "reference"
    for (fmt, app), (_, bold, points) in CELL_FONTS.items():
        face = ImageFont.truetype(FONT_DIRS + bold, round(points * 96 / 72))
        for label in labels:
            assert face.getlength(label) + 6 <= widths[fmt], (sheet.name, label, fmt, app)


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
