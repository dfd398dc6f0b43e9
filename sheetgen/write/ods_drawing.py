"""Charts and the network picture in .ods: draw shapes and embedded chart objects.

Shapes sit in the table's `<table:shapes>` (anchored to the sheet, positions in mm), which
the schema places before the table's columns. A chart is an embedded object: a frame in the
sheet pointing at `Object N/`, whose own content.xml holds an `office:chart` reading the
sheet's cells by range address, so LibreOffice redraws it when those cells change.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from sheetgen.core.cells import a1, odf_address
from sheetgen.core.template import template
from sheetgen.layout.book import Book
from sheetgen.layout.charts import Chart, Range
from sheetgen.layout.picture import Picture, label_box, text_mm
from sheetgen.write.number_styles import number_style

# LibreOffice's defaults for what sheetgen leaves unset: columns after the declared ones and
# rows without a style (Liberation Sans 10 pt). Only placement depends on them.
DEFAULT_COLUMN_MM = 22.58
DEFAULT_ROW_MM = 4.52
INCH_MM = 25.4
SERIES_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
                 "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
CHART_MEDIA = "application/vnd.oasis.opendocument.chart"
# The box Gnumeric needs around a label's text, measured in its window: width = text_mm × 1.15
# + 3.2 mm ("w1 = 0.15" wraps at 19.5 mm, fits at 20.5), height 5 mm (4.6 cuts the line's foot).
GNUMERIC_TEXT = (1.15, 3.2, 5.0)

# Graphic and paragraph styles of the shapes, for content.xml's automatic styles.
STYLES = (
    '<style:style style:name="grNode" style:family="graphic"><style:graphic-properties '
    'draw:stroke="solid" svg:stroke-width="0.26mm" svg:stroke-color="#000000" draw:fill="solid" '
    'draw:fill-color="#cfe2f3" draw:textarea-horizontal-align="center" '
    'draw:textarea-vertical-align="middle"/></style:style>'
    '<style:style style:name="grLine" style:family="graphic"><style:graphic-properties '
    'draw:stroke="solid" svg:stroke-width="0.26mm" svg:stroke-color="#000000"/></style:style>'
    '<style:style style:name="grLabel" style:family="graphic"><style:graphic-properties '
    'draw:stroke="none" draw:fill="solid" draw:fill-color="#ffffff" '
    'draw:textarea-horizontal-align="center" draw:textarea-vertical-align="middle" '
    'fo:padding-top="0mm" fo:padding-bottom="0mm" fo:padding-left="0mm" fo:padding-right="0mm"/>'
    '</style:style>'
    '<style:style style:name="grText" style:family="graphic"><style:graphic-properties '
    'draw:stroke="none" draw:fill="none" draw:textarea-horizontal-align="center" '
    'draw:textarea-vertical-align="middle" fo:padding-top="0mm" fo:padding-bottom="0mm" '
    'fo:padding-left="0mm" fo:padding-right="0mm"/></style:style>'
    '<style:style style:name="grChart" style:family="graphic"/>'
    '<style:style style:name="PCentre" style:family="paragraph">'
    '<style:paragraph-properties fo:text-align="center"/>'
    '<style:text-properties fo:font-size="10pt" fo:font-family="\'Liberation Sans\'" '
    'style:font-family-generic="swiss"/></style:style>'
)


def styles_xml(ns: str, scale_percent: int, named_styles: str = "") -> str:
    """styles.xml: `named_styles` (cell styles applied by name), the default page landscape A4,
    printed at `scale_percent`."""
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<office:document-styles {ns}>'
            f"<office:styles>{named_styles}</office:styles>"
            '<office:automatic-styles><style:page-layout style:name="pmPrint">'
            '<style:page-layout-properties fo:page-width="297mm" fo:page-height="210mm" '
            'style:print-orientation="landscape" fo:margin-top="10mm" fo:margin-bottom="10mm" '
            'fo:margin-left="10mm" fo:margin-right="10mm" '
            f'style:scale-to="{scale_percent}%"/></style:page-layout></office:automatic-styles>'
            '<office:master-styles><style:master-page style:name="Default" '
            'style:page-layout-name="pmPrint"/></office:master-styles></office:document-styles>')


def print_ranges(sheet: str, ranges) -> str:
    """The table:print-ranges attribute ('' when none): each block prints on its own pages."""
    if not ranges:
        return ""
    text = " ".join(odf_address(sheet, a1(c0, r0 + 1), a1(c1, r1 + 1)) for r0, c0, r1, c1 in ranges)
    return f" table:print-ranges={quoteattr(text)}"


def chart_objects(book: Book) -> list[tuple[str, Chart]]:
    """Every chart of the book with its object folder name, in sheet order."""
    charts = []
    if book.summary is not None and book.summary.chart is not None:
        charts.append(book.summary.chart)
    charts += [s.chart for s in book.sheets if s.chart is not None]
    return [(f"Object {k}", chart) for k, chart in enumerate(charts, start=1)]


def manifest_entries(objects: list[tuple[str, Chart]]) -> str:
    return "".join(
        f'<manifest:file-entry manifest:full-path="{name}/content.xml" manifest:media-type="text/xml"/>'
        f'<manifest:file-entry manifest:full-path="{name}/" manifest:media-type="{CHART_MEDIA}"/>'
        for name, _ in objects)


def _mm(value: float) -> str:
    return f"{value:.2f}mm"


def _x(col: int, declared: int, column_mm: float) -> float:
    return min(col, declared) * column_mm + max(0, col - declared) * DEFAULT_COLUMN_MM


def shapes(picture: Picture | None, chart: tuple[str, Chart] | None, declared_columns: int,
           column_width_in: float) -> str:
    """The `<table:shapes>` of one sheet ('' when it has none)."""
    column_mm = column_width_in * INCH_MM
    parts = []
    if picture is not None:
        parts.append(_picture(picture, _x(picture.col, declared_columns, column_mm) + 1,
                              picture.row * DEFAULT_ROW_MM + 1))
    if chart is not None:
        name, spec = chart
        ranges = " ".join(_range(r) for s in spec.series for r in (s.y, s.x))
        parts.append(
            f'<draw:frame draw:style-name="grChart" draw:name={quoteattr(spec.title)} '
            f'svg:x="{_mm(_x(spec.col, declared_columns, column_mm) + spec.x_offset_mm)}" '
            f'svg:y="{_mm(spec.row * DEFAULT_ROW_MM)}" '
            f'svg:width="{_mm(spec.width_mm)}" svg:height="{_mm(spec.height_mm)}">'
            f'<draw:object draw:notify-on-update-of-ranges={quoteattr(ranges)} '
            f'xlink:href="./{name}" xlink:type="simple" xlink:show="embed" xlink:actuate="onLoad"/>'
            "</draw:frame>")
    return f"<table:shapes>{''.join(parts)}</table:shapes>" if parts else ""


def _text_style(scale: float) -> str:
    return f"TPicture{round(scale * 1000)}"


def _text(text: str, scale: float) -> str:
    """A centred line of a picture's text, smaller in a span when the picture is drawn smaller
    (Gnumeric reads a span's font size, not a paragraph style's)."""
    if scale != 1:
        text = f'<text:span text:style-name="{_text_style(scale)}">{escape(text)}</text:span>'
    else:
        text = escape(text)
    return f'<text:p text:style-name="PCentre">{text}</text:p>'


def picture_styles(book: Book) -> str:
    """The text style of each scale below full size that the book's pictures are drawn at."""
    scales = sorted({s.picture.scale for s in book.sheets if s.picture is not None} - {1.0})
    return "".join(
        f'<style:style style:name="{_text_style(scale)}" style:family="text">'
        f'<style:text-properties fo:font-size="{10 * scale:.2f}pt"/></style:style>'
        for scale in scales)


def _picture(picture: Picture, x0: float, y0: float) -> str:
    s = picture.scale
    parts = []
    for e in picture.edges:
        parts.append(f'<draw:line draw:style-name="grLine" svg:x1="{_mm(x0 + s * e.x1)}" '
                     f'svg:y1="{_mm(y0 + s * e.y1)}" svg:x2="{_mm(x0 + s * e.x2)}" '
                     f'svg:y2="{_mm(y0 + s * e.y2)}"><text:p/></draw:line>')
    for n in picture.nodes:
        kind = "rect" if n.shape == "rect" else "ellipse"
        lines = "".join(_text(line, s) for line in n.shown.split("\n"))
        parts.append(f'<draw:{kind} draw:style-name="grNode" draw:name={quoteattr(n.name.split(chr(10))[0])} '
                     f'svg:x="{_mm(x0 + s * (n.x - n.width / 2))}" '
                     f'svg:y="{_mm(y0 + s * (n.y - n.height / 2))}" '
                     f'svg:width="{_mm(s * n.width)}" svg:height="{_mm(s * n.height)}">'
                     f'{lines}</draw:{kind}>')
    for e in (e for e in picture.edges if e.label):  # a bias node's edges have none
        left, top, right, bottom = label_box(e.label, e.label_x, e.label_y)
        parts.append(_rect("grLabel", x0 + s * left, y0 + s * top, s * (right - left), s * (bottom - top)))
        # The text in a transparent box as large as Gnumeric needs: it draws a shape's text in
        # its own wider font inside about 1.5 mm of padding, wrapping ("w1 =" over "0.15") and
        # cutting off what does not fit. (Gnumeric fills a rectangle but not a text frame.)
        width = max(s * (right - left), s * text_mm(e.label) * GNUMERIC_TEXT[0] + GNUMERIC_TEXT[1])
        height = max(s * (bottom - top), GNUMERIC_TEXT[2])
        parts.append(_rect("grText", x0 + s * e.label_x - width / 2, y0 + s * e.label_y - height / 2,
                           width, height, _text(e.label, s)))
    return "".join(parts)


def _rect(style: str, x: float, y: float, width: float, height: float, paragraph: str = "<text:p/>") -> str:
    return (f'<draw:rect draw:style-name="{style}" svg:x="{_mm(x)}" svg:y="{_mm(y)}" '
            f'svg:width="{_mm(width)}" svg:height="{_mm(height)}">{paragraph}</draw:rect>')


def _range(r: Range) -> str:
    return odf_address(r.sheet, a1(r.col, r.first_row + 1), a1(r.col, r.last_row + 1))


def _cell(sheet: str, row: int, col: int) -> str:
    return odf_address(sheet, a1(col, row + 1))


def _secondary_axis(chart: Chart) -> str:
    if not chart.y2_title:
        return ""
    return ('<chart:axis chart:dimension="y" chart:name="secondary-y" chart:style-name="chA">'
            f'<chart:title chart:style-name="chAY"><text:p>{escape(chart.y2_title)}</text:p>'
            "</chart:title></chart:axis>")


def chart_content(chart: Chart, ns: str) -> str:
    """The content.xml of one chart object."""
    styles = [
        '<style:style style:name="chT" style:family="chart"><style:text-properties '
        'fo:font-size="13pt" fo:font-weight="bold"/></style:style>',
        number_style("chNX", "0"),
        number_style("chNY", template()["table"]["axis_format"]),
        # Axis numbers in their own formats, not linked to the cells' 10 digits.
        '<style:style style:name="chAX" style:family="chart" style:data-style-name="chNX">'
        '<style:chart-properties chart:display-label="true" chart:link-data-style-to-source="false"/>'
        '<style:text-properties fo:font-size="9pt"/></style:style>',
        '<style:style style:name="chA" style:family="chart" style:data-style-name="chNY">'
        '<style:chart-properties chart:display-label="true" chart:link-data-style-to-source="false"/>'
        '<style:text-properties fo:font-size="9pt"/></style:style>',
        '<style:style style:name="chAT" style:family="chart"><style:text-properties '
        'fo:font-size="10pt"/></style:style>',
        '<style:style style:name="chAY" style:family="chart"><style:chart-properties '
        'style:rotation-angle="90"/><style:text-properties fo:font-size="10pt"/></style:style>',
        '<style:style style:name="chG" style:family="chart"><style:graphic-properties '
        'svg:stroke-color="#d9d9d9"/></style:style>',
        '<style:style style:name="chW" style:family="chart"><style:graphic-properties '
        'draw:fill="none" draw:stroke="none"/></style:style>',
        '<style:style style:name="chP" style:family="chart"><style:chart-properties '
        'chart:lines="true" chart:symbol-type="none"/></style:style>',
    ]
    series = []
    for k, s in enumerate(chart.series):
        color = SERIES_COLORS[k % len(SERIES_COLORS)]
        styles.append(f'<style:style style:name="chS{k}" style:family="chart"><style:chart-properties '
                      'chart:symbol-type="none"/><style:graphic-properties draw:stroke="solid" '
                      f'svg:stroke-width="0.06cm" svg:stroke-color="{color}"/></style:style>')
        label = (f' chart:label-cell-address={quoteattr(_cell(*s.name_cell))}'
                 if s.name_cell else "")
        axis = ' chart:attached-axis="secondary-y"' if s.secondary else ""
        series.append(f'<chart:series chart:style-name="chS{k}" chart:class="chart:scatter"{axis} '
                      f'chart:values-cell-range-address={quoteattr(_range(s.y))}{label}>'
                      f'<chart:domain table:cell-range-address={quoteattr(_range(s.x))}/>'
                      "</chart:series>")
    all_ranges = " ".join(_range(r) for s in chart.series for r in (s.x, s.y))
    legend = '<chart:legend chart:legend-position="end"/>' if chart.legend else ""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<office:document-content {ns} '
        'xmlns:chart="urn:oasis:names:tc:opendocument:xmlns:chart:1.0">'
        f"<office:automatic-styles>{''.join(styles)}</office:automatic-styles>"
        "<office:body><office:chart>"
        f'<chart:chart svg:width="{_mm(chart.width_mm)}" svg:height="{_mm(chart.height_mm)}" '
        'chart:class="chart:scatter">'
        f'<chart:title chart:style-name="chT"><text:p>{escape(chart.title)}</text:p></chart:title>'
        f"{legend}"
        f'<chart:plot-area chart:style-name="chP" table:cell-range-address={quoteattr(all_ranges)} '
        'chart:data-source-has-labels="none">'
        '<chart:axis chart:dimension="x" chart:name="primary-x" chart:style-name="chAX">'
        f'<chart:title chart:style-name="chAT"><text:p>{escape(chart.x_title)}</text:p></chart:title>'
        "</chart:axis>"
        '<chart:axis chart:dimension="y" chart:name="primary-y" chart:style-name="chA">'
        f'<chart:title chart:style-name="chAY"><text:p>{escape(chart.y_title)}</text:p></chart:title>'
        '<chart:grid chart:style-name="chG" chart:class="major"/></chart:axis>'
        f"{_secondary_axis(chart)}"
        f"{''.join(series)}"
        '<chart:wall chart:style-name="chW"/>'
        "</chart:plot-area></chart:chart></office:chart></office:body></office:document-content>"
    )
