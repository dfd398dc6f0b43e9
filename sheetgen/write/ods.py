"""Write a `Book` to .ods: OpenDocument XML streamed row by row into the zip.

A DOM (odfpy) holds the whole document in memory and gets slow on long runs; the table body
is simple enough to write directly, so memory stays flat whatever the number of iterations.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from sheetgen.core.cells import a1, column_letter, odf_address, quote_sheet
from sheetgen.core.template import template
from sheetgen.layout.book import Book, Cell, Sheet
from sheetgen.layout.summary import Summary
from sheetgen.write import number_styles, ods_drawing
from sheetgen.write.ods_drawing import number_style
from sheetgen.write.row_templates import DEFLATE_LEVEL, write_ods_body

NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" '
    'xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0" '
    'xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0" '
    'xmlns:number="urn:oasis:names:tc:opendocument:xmlns:datastyle:1.0" '
    'xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0" '
    'xmlns:config="urn:oasis:names:tc:opendocument:xmlns:config:1.0" '
    'xmlns:xlink="http://www.w3.org/1999/xlink" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" '
    'xmlns:of="urn:oasis:names:tc:opendocument:xmlns:of:1.2" '
    'xmlns:calcext="urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0" '
    f'{number_styles.NAMESPACE} '
    'office:version="1.3"'
)
MIMETYPE = "application/vnd.oasis.opendocument.spreadsheet"
# A fixed timestamp for every zip entry keeps the same settings' files byte-identical.
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
_QUOTE = {"\"": "&quot;"}
COLUMN_WIDTH_IN = 0.085  # inches per character: a signed 10-digit scientific value fits in 16
CELL_STYLES = {"text": None, "label": "ceL", "header": "ceH", "parameter": "ceP", "note": "ceN",
               "number": "ceV", "gradient": "ceG", "integer": "ceI", "rate": "ceR", "map": "ceM",
               "step": "ceS", "input": None,  # input: General, typed numbers as typed
               "blank": "ceB", "blank_header": "ceBH", "check": "ceC"}  # an exercise's (layout/exercise.py)
# The best rate's row in the summary (a named style: a conditional format applies it by name).
HIGHLIGHT_STYLE = "Best_20_rate"  # shown as "Best rate"


def write(book: Book, path: Path) -> None:
    objects = ods_drawing.chart_objects(book)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=DEFLATE_LEVEL) as zf:
        # The mimetype must come first and uncompressed, so tools can sniff the type.
        _entry(zf, "mimetype", MIMETYPE, zipfile.ZIP_STORED)
        _entry(zf, "META-INF/manifest.xml", _manifest(objects))
        _entry(zf, "meta.xml", _meta(book.training.title))
        _entry(zf, "styles.xml", ods_drawing.styles_xml(NS, book.print_scale, _named_styles()))
        _entry(zf, "settings.xml", _settings(book))
        info = zipfile.ZipInfo("content.xml", ZIP_DATE)
        info.compress_type = zipfile.ZIP_DEFLATED
        # A ZipInfo carries its own level (the ZipFile's applies to plain names only).
        info._compresslevel = DEFLATE_LEVEL
        with zf.open(info, "w", force_zip64=True) as raw:
            _content(book, raw, dict(objects))
        for name, chart in objects:
            _entry(zf, f"{name}/content.xml", ods_drawing.chart_content(chart, NS))


def _entry(zf: zipfile.ZipFile, name: str, text: str, compress=zipfile.ZIP_DEFLATED) -> None:
    info = zipfile.ZipInfo(name, ZIP_DATE)
    info.compress_type = compress
    zf.writestr(info, text.encode("utf-8"))


def _manifest(objects=()) -> str:
    files = ["content.xml", "styles.xml", "meta.xml", "settings.xml"]
    entries = "".join(
        f'<manifest:file-entry manifest:full-path="{f}" manifest:media-type="text/xml"/>'
        for f in files)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"'
            ' manifest:version="1.3">'
            f'<manifest:file-entry manifest:full-path="/" manifest:media-type="{MIMETYPE}"/>'
            f"{entries}{ods_drawing.manifest_entries(objects)}</manifest:manifest>")


def _meta(title: str) -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<office:document-meta {NS}><office:meta>'
            "<meta:generator>sheetgen</meta:generator>"
            f"<dc:title>{escape(title)}</dc:title>"
            "</office:meta></office:document-meta>")


def _settings(book: Book) -> str:
    """Every sheet opens at A1; a learning-rate sheet has the rows down to its header frozen,
    as in the .xlsx. The set's name is a qualified name: LibreOffice ignores the whole set
    unless its `ooo` prefix is declared."""
    def item(name: str, kind: str, value) -> str:
        return f'<config:config-item config:name="{name}" config:type="{kind}">{value}</config:config-item>'

    def table(name: str, frozen_rows: int) -> str:
        return (f"<config:config-item-map-entry config:name={quoteattr(name)}>"
                + item("CursorPositionX", "int", 0) + item("CursorPositionY", "int", 0)
                # Both modes 2 (as Gnumeric writes a freeze): Gnumeric ignores a row-only freeze
                # whose horizontal mode is 0; LibreOffice reads either.
                + item("HorizontalSplitMode", "short", 2 if frozen_rows else 0)
                + item("VerticalSplitMode", "short", 2 if frozen_rows else 0)
                + item("HorizontalSplitPosition", "int", 0)
                + item("VerticalSplitPosition", "int", frozen_rows)
                + item("ActiveSplitRange", "short", 2 if frozen_rows else 0)
                + item("PositionLeft", "int", 0) + item("PositionRight", "int", 0)
                + item("PositionTop", "int", 0) + item("PositionBottom", "int", frozen_rows)
                + "</config:config-item-map-entry>")

    tables = "".join(table(s.name, s.first_row) for s in book.sheets)
    if book.maps is not None:
        tables += table(book.maps.name, 0)
    active = escape(book.sheets[0].name) if book.sheets else ""
    if book.summary is not None:  # the workbook opens on its first sheet
        tables = table(book.summary.name, 0) + tables
        active = escape(book.summary.name)
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<office:document-settings {NS} '
            'xmlns:ooo="http://openoffice.org/2004/office">'
            '<office:settings><config:config-item-set config:name="ooo:view-settings">'
            '<config:config-item-map-indexed config:name="Views"><config:config-item-map-entry>'
            + item("ViewId", "string", "view1")
            + f'<config:config-item-map-named config:name="Tables">{tables}'
            "</config:config-item-map-named>"
            + item("ActiveTable", "string", active)
            + "</config:config-item-map-entry></config:config-item-map-indexed>"
            "</config:config-item-set></office:settings></office:document-settings>")


def _named_styles() -> str:
    """The cell styles conditions apply: the best rate's row, bold dark green on light green;
    a small number's scientific format (TINY_FORMAT), and both; 0 as General."""
    best = ('<style:table-cell-properties fo:background-color="#c6efce"/>'
            '<style:text-properties fo:font-weight="bold" fo:color="#006100"/>')
    return (number_style("NT", TINY_FORMAT)
            + f'<style:style style:name="{HIGHLIGHT_STYLE}" style:display-name="Best rate" '
            f'style:family="table-cell">{best}</style:style>'
            f'<style:style style:name="{BEST_TINY_STYLE}" style:display-name="Best rate small" '
            f'style:family="table-cell" style:data-style-name="NT">{best}</style:style>'
            f'<style:style style:name="{TINY_STYLE}" style:display-name="Small number" '
            'style:family="table-cell" style:data-style-name="NT"/>'
            f'<style:style style:name="{ZERO_STYLE}" style:family="table-cell"/>'
            + "".join(f'<style:style style:name="{MAP_BAND}{name}" style:family="table-cell">'
                      f'<style:table-cell-properties fo:background-color="{colour}"/></style:style>'
                      for name, colour in BANDS.items()))


def _highlight_name(style: str, row: int) -> str:
    return f"{CELL_STYLES[style] or 'ceT'}b{row}"


def _highlight_styles(summary: Summary) -> str:
    """One style per (cell style, row) of the summary's highlighted block: its own look plus
    a condition on its row (absolute references: no base-cell arithmetic to get wrong)."""
    h = summary.highlight
    if h is None:
        return ""
    data = {"number": "N1", "rate": "N4" if template()["table"]["rate_format"] != "General" else ""}
    looks = {"label": '<style:text-properties fo:font-weight="bold"/>'}
    parts = []
    used = {(item.style, item.row) for item in [*summary.cells, *summary.formulas]
            if h.first_row <= item.row <= h.last_row and h.first_col <= item.col <= h.last_col}
    for style, row in sorted(used):
        condition = escape(h.formulas["ods"].format(r=row + 1), _QUOTE)
        data_attr = f' style:data-style-name="{data[style]}"' if data.get(style) else ""
        base = f'style:base-cell-address="{_cell_address(summary.name, row, h.first_col)}"'
        small = ""
        if style == "number":  # the best row's small number: highlighted and scientific
            cell = escape(f"[.{a1(h.first_col, row + 1)}]", _QUOTE)
            small = (f'<style:map style:condition="is-true-formula(AND({condition};ABS({cell})&lt;0.001;'
                     f'{cell}&lt;&gt;0))" style:apply-style-name="{BEST_TINY_STYLE}" {base}/>')
        parts.append(
            f'<style:style style:name="{_highlight_name(style, row)}" style:family="table-cell"'
            f'{data_attr}>{looks.get(style, "")}{small}'
            f'<style:map style:condition="is-true-formula({condition})" '
            f'style:apply-style-name="{HIGHLIGHT_STYLE}" {base}/>'
            + (_tiny_maps() if style == "number" else "") + "</style:style>")
    return "".join(parts)


# LibreOffice draws the General section of a conditional number format at full length ("###" in
# the column) and unsigned (it signs only the first section): a value below 1e-3 in magnitude
# takes, by a condition on its cell, the named style TINY_STYLE, whose one-section scientific
# format fits the column and keeps the sign (Gnumeric applies the same conditions); 0 stays "0".
TINY_FORMAT = "0.########E+00"
TINY_STYLE, ZERO_STYLE, BEST_TINY_STYLE = "Small_20_number", "Zero", "Best_20_rate_20_small"
TINY = "cell-content-is-between(-0.001,0.001)"


def _tiny_maps() -> str:
    return (f'<style:map style:condition="cell-content()=0" style:apply-style-name="{ZERO_STYLE}"/>'
            f'<style:map style:condition="{TINY}" style:apply-style-name="{TINY_STYLE}"/>')


def _cell_address(sheet: str, row: int, col: int) -> str:
    return escape(odf_address(sheet, a1(col, row + 1)), _QUOTE)


def _styles(book: Book) -> str:
    first = book.sheets[0] if book.sheets else None
    rate_format = template()["table"]["rate_format"]
    summary_width = f"{(book.summary.column_width if book.summary else 16) * COLUMN_WIDTH_IN:.3f}in"
    width = f"{(first.column_width if first else 16) * COLUMN_WIDTH_IN:.3f}in"
    bold = ('<style:text-properties fo:font-weight="bold" style:font-weight-asian="bold" '
            'style:font-weight-complex="bold"/>')

    def cell(name: str, inner: str = "", data: str = "") -> str:
        data_attr = f' style:data-style-name="{data}"' if data else ""
        return (f'<style:style style:name="{name}" style:family="table-cell"{data_attr}>'
                f"{inner}</style:style>")

    return (
        "<office:automatic-styles>"
        + (number_style("N1", first.number_format) if first else "")
        + (number_style("N2", first.gradient_format) if first else "")
        + number_style("N3", "0")
        + (number_style("N4", rate_format) if rate_format != "General" else "")
        + '<style:style style:name="co1" style:family="table-column">'
        f'<style:table-column-properties style:column-width="{width}"/></style:style>'
        + '<style:style style:name="co2" style:family="table-column">'
        f'<style:table-column-properties style:column-width="{summary_width}"/></style:style>'
        + cell("ceL", bold)
        + cell("ceH", '<style:table-cell-properties fo:border-bottom="0.5pt solid #000000"/>'
               '<style:paragraph-properties fo:text-align="center"/>' + bold)
        + cell("ceP", '<style:table-cell-properties fo:background-color="#fff2cc" '
               'fo:border="0.5pt solid #000000"/>')
        + cell("ceS", '<style:table-cell-properties fo:background-color="#ddebf7" '
               'fo:border="0.5pt solid #000000"/><style:paragraph-properties fo:text-align="center"/>'
               + bold)
        + cell("ceN", '<style:text-properties fo:font-style="italic" fo:color="#c00000"/>')
        + (_exercise_styles(cell, bold, first) if _is_exercise(book) else "")
        + cell("ceV", _tiny_maps(), "N1") + cell("ceG", _tiny_maps(), "N2") + cell("ceI", data="N3")
        + cell("ceR", data="N4" if rate_format != "General" else "")
        + (_highlight_styles(book.summary) if book.summary is not None else "")
        + (number_style("N5", book.maps.number_format)
           + cell("ceM", MAP_LOOK, "N5")
           + "".join(cell(f"ceM{k}", MAP_LOOK + _band_maps(block, book.maps.name), "N5")
                     for k, block in enumerate(book.maps.blocks))
           + '<style:style style:name="co3" style:family="table-column">'
           f'<style:table-column-properties style:column-width='
           f'"{book.maps.column_width * COLUMN_WIDTH_IN:.3f}in"/></style:style>'
           if book.maps is not None else "")
        + ods_drawing.STYLES
        + ods_drawing.picture_styles(book)
        + "</office:automatic-styles>"
    )


MAP_LOOK = ('<style:table-cell-properties fo:border="0.5pt solid #bfbfbf"/>'
            '<style:text-properties fo:font-size="9pt"/>')


def _is_exercise(book: Book) -> bool:
    return any(c.blank_from is not None for sheet in book.sheets for c in sheet.columns)


def _exercise_styles(cell, bold: str, first) -> str:
    """An exercise's cells left for the student, their headers, its self-check cells."""
    return (cell("ceB", '<style:table-cell-properties fo:background-color="#e2efda" '
                 'fo:border="0.5pt dashed #548235"/>', "N1" if first else "")
            + cell("ceBH", '<style:table-cell-properties fo:background-color="#c6e0b4" '
                   'fo:border-bottom="0.5pt solid #000000"/>'
                   '<style:paragraph-properties fo:text-align="center"/>' + bold)
            + cell("ceC", '<style:paragraph-properties fo:text-align="center"/>'
                   '<style:text-properties fo:font-style="italic" fo:color="#375623"/>'))


def _style_attr(style: str) -> str:
    name = CELL_STYLES[style]
    return f' table:style-name="{name}"' if name else ""


def _static_cell(cell: Cell, style_attr: str | None = None) -> str:
    style_attr = _style_attr(cell.style) if style_attr is None else style_attr
    if cell.span > 1:  # merged: the cell, then the ones it covers
        return (f'<table:table-cell{style_attr} table:number-columns-spanned="{cell.span}" '
                f'office:value-type="string"><text:p>{escape(str(cell.value))}</text:p>'
                f"</table:table-cell>" + "<table:covered-table-cell/>" * (cell.span - 1))
    if isinstance(cell.value, str):
        return (f'<table:table-cell{style_attr} office:value-type="string">'
                f"<text:p>{escape(cell.value)}</text:p></table:table-cell>")
    return (f'<table:table-cell{style_attr} office:value-type="float" '
            f'office:value="{cell.value!r}"/>')


def _gap(n: int) -> str:
    if n <= 0:
        return ""
    repeat = f' table:number-columns-repeated="{n}"' if n > 1 else ""
    return f"<table:table-cell{repeat}/>"


def _empty_rows(n: int) -> str:
    if n <= 0:
        return ""
    repeat = f' table:number-rows-repeated="{n}"' if n > 1 else ""
    return f"<table:table-row{repeat}><table:table-cell/></table:table-row>"


def _content(book: Book, out, objects: dict | None = None) -> None:
    out.write((f'<?xml version="1.0" encoding="UTF-8"?>\n<office:document-content {NS}>'
               + _styles(book) + "<office:body><office:spreadsheet>").encode("utf-8"))
    names = {id(chart): name for name, chart in (objects or {}).items()}
    if book.summary is not None:
        out.write(_summary(book.summary, names).encode("utf-8"))
    for sheet in book.sheets:
        _sheet(sheet, out, names)
    if book.maps is not None:
        out.write(_maps(book.maps).encode("utf-8"))
    out.write(b"</office:spreadsheet></office:body></office:document-content>")


# The maps sheet's colour scales (as LibreOffice writes them): grey from white (smallest) to
# mid-grey (largest; black text still reads); for signed quantities blue through white (0) to
# red, symmetric about 0 (±the block's largest magnitude), so that a colour always tells the sign.
GRAY = (("minimum", "0", "#ffffff"), ("maximum", "0", "#808080"))


def _signed(first: str, last: str) -> tuple:
    largest = f"MAX(MAX([.${first}:.${last}]);-MIN([.${first}:.${last}]))"
    return (("formula", f"=-{largest}", "#2166ac"), ("number", "0", "#ffffff"),
            ("formula", f"={largest}", "#b2182b"))


# Gnumeric reads no colour scale (an .ods calcext:color-scale nor an .xlsx colorScale), but it
# does read a cell style's style:map conditions, which LibreOffice ignores in a document that has
# calcext:conditional-formats: for Gnumeric each block's cells take bands of the same colours,
# by the same measure (the block's range; ±its largest magnitude), strongest first.
MAP_BAND = "Map_20_band_20_"
BANDS = {"g3": "#808080", "g2": "#a6a6a6", "g1": "#cccccc",
         "r2": "#d6604d", "r1": "#f4a582", "b2": "#4393c3", "b1": "#92c5de"}


def _band_maps(block, sheet: str) -> str:
    """A block's banded conditions, relative to its first cell."""
    first = f"{column_letter(block.col)}${block.row + 2}"
    last = f"{column_letter(block.last_col)}${block.last_row + 1}"
    rng = f"[.${first}:.${last}]"
    cell = f"[.{column_letter(block.col)}{block.row + 2}]"
    if block.scale == "gray":
        low, span = f"MIN({rng})", f"(MAX({rng})-MIN({rng}))"
        bands = [(f"AND({span}&gt;0;{cell}-{low}&gt;={share}*{span})", name)
                 for share, name in (("0.75", "g3"), ("0.5", "g2"), ("0.25", "g1"))]
    else:
        largest = f"MAX(MAX({rng});-MIN({rng}))"
        bands = [(f"AND({cell}&gt;0;{cell}&gt;=0.5*{largest})", "r2"),
                 (f"AND({cell}&lt;0;{cell}&lt;=-0.5*{largest})", "b2"),
                 (f"AND({cell}&gt;0;{cell}&gt;=0.15*{largest})", "r1"),
                 (f"AND({cell}&lt;0;{cell}&lt;=-0.15*{largest})", "b1")]
    base = _cell_address(sheet, block.row + 1, block.col)
    return "".join(f'<style:map style:condition="is-true-formula({condition})" '
                   f'style:apply-style-name="{MAP_BAND}{name}" style:base-cell-address="{base}"/>'
                   for condition, name in bands)


def _in_block(item, block) -> bool:
    return block.row < item.row <= block.last_row and block.col <= item.col <= block.last_col


def _maps(maps) -> str:
    """The maps sheet: labels, the typed cells, live INDEX formulas, a colour scale per block
    (and for Gnumeric its bands: _band_maps)."""
    parts = [f"<table:table table:name={quoteattr(maps.name)}"
             f"{ods_drawing.print_ranges(maps.name, maps.print_ranges)}>",
             f'<table:table-column table:style-name="co3" table:number-columns-repeated="{maps.n_columns}"/>']
    items = sorted([*maps.cells, *maps.formulas], key=lambda c: (c.row, c.col))

    def render(item) -> str:
        if item.style == "map":
            k = next((k for k, b in enumerate(maps.blocks) if _in_block(item, b)), None)
            if k is not None:
                return _summary_cell(item, f' table:style-name="ceM{k}"')
        return _summary_cell(item, _style_attr(item.style))

    rows, _ = _upper_rows(items, render)
    parts.append(rows)
    parts.append("<calcext:conditional-formats>")
    for block in maps.blocks:
        first = f"{quote_sheet(maps.name)}.{column_letter(block.col)}{block.row + 2}"
        last = f"{quote_sheet(maps.name)}.{column_letter(block.last_col)}{block.last_row + 1}"
        top = f"{column_letter(block.col)}${block.row + 2}"
        bottom = f"{column_letter(block.last_col)}${block.last_row + 1}"
        scale = GRAY if block.scale == "gray" else _signed(top, bottom)
        entries = "".join(f'<calcext:color-scale-entry calcext:value={quoteattr(value)} '
                          f'calcext:type="{kind}" calcext:color="{color}"/>' for kind, value, color in scale)
        parts.append(f'<calcext:conditional-format calcext:target-range-address='
                     f'{quoteattr(first + ":" + last)}><calcext:color-scale>{entries}'
                     "</calcext:color-scale></calcext:conditional-format>")
    parts.append("</calcext:conditional-formats></table:table>")
    return "".join(parts)


def _shapes(picture, chart, names: dict, n_columns: int, column_width: int) -> str:
    named = (names[id(chart)], chart) if chart is not None and id(chart) in names else None
    return ods_drawing.shapes(picture, named, n_columns, column_width * COLUMN_WIDTH_IN)


def _upper_rows(items, render) -> tuple[str, int]:
    """Rows holding `items` (sorted by row, then column) with empty rows and cells between;
    also the row after the last one written."""
    by_row: dict[int, list] = {}
    for item in items:
        by_row.setdefault(item.row, []).append(item)
    parts, row_cursor = [], 0
    for row in sorted(by_row):
        parts.append(_empty_rows(row - row_cursor))
        parts.append("<table:table-row>")
        col_cursor = 0
        for item in by_row[row]:
            parts.append(_gap(item.col - col_cursor))
            parts.append(render(item))
            col_cursor = item.col + getattr(item, "span", 1)
        parts.append("</table:table-row>")
        row_cursor = row + 1
    return "".join(parts), row_cursor


def _summary_cell(item, style_attr: str) -> str:
    if isinstance(item, Cell):
        return _static_cell(item, style_attr)
    formula = f' table:formula="of:={escape(item.formulas["ods"], _QUOTE)}"'
    if isinstance(item.value, str):
        return (f"<table:table-cell{style_attr}{formula} "
                f'office:value-type="string" office:string-value={quoteattr(item.value)}>'
                f"<text:p>{escape(item.value)}</text:p></table:table-cell>")
    return (f"<table:table-cell{style_attr}{formula} "
            f'office:value-type="float" office:value="{item.value!r}"/>')


def _summary(summary: Summary, names: dict) -> str:
    """The summary table: plain cells and formula cells over the learning-rate sheets."""
    parts = [f"<table:table table:name={quoteattr(summary.name)}"
             f"{ods_drawing.print_ranges(summary.name, summary.print_ranges)}>",
             _shapes(None, summary.chart, names, summary.n_columns, summary.column_width),
             f'<table:table-column table:style-name="co2" '
             f'table:number-columns-repeated="{summary.n_columns}"/>']
    items = sorted([*summary.cells, *summary.formulas], key=lambda c: (c.row, c.col))
    h = summary.highlight

    def render(item) -> str:
        if h is not None and h.first_row <= item.row <= h.last_row and h.first_col <= item.col <= h.last_col:
            return _summary_cell(item, f' table:style-name="{_highlight_name(item.style, item.row)}"')
        return _summary_cell(item, _style_attr(item.style))

    rows, _ = _upper_rows(items, render)
    parts.append(rows)
    parts.append("</table:table>")
    return "".join(parts)


def _sheet(sheet: Sheet, out, names: dict | None = None) -> None:
    n_columns = sheet.n_columns
    head = [f"<table:table table:name={quoteattr(sheet.name)}"
            f"{ods_drawing.print_ranges(sheet.name, sheet.print_ranges)}>",
            _shapes(sheet.picture, sheet.chart, names or {}, n_columns, sheet.column_width),
            f'<table:table-column table:style-name="co1" '
            f'table:number-columns-repeated="{n_columns}"/>']
    # Cells above the table body, with the chart's live title cell just above the chart.
    title = sheet.chart.title_cell if sheet.chart is not None else None
    items = sorted([*sheet.cells, title] if title else sheet.cells, key=lambda c: (c.row, c.col))

    def render(item) -> str:
        if isinstance(item, Cell):
            return _static_cell(item)
        formula = escape(item.formulas["ods"], _QUOTE)
        style = _style_attr(getattr(item, "style", "label"))
        return (f'<table:table-cell{style} table:formula="of:={formula}" '
                f'office:value-type="string" office:string-value={quoteattr(item.text)}>'
                f"<text:p>{escape(item.text)}</text:p></table:table-cell>")

    rows, row_cursor = _upper_rows(items, render)
    head.append(rows)
    head.append(_empty_rows(sheet.first_row - row_cursor))
    out.write("".join(head).encode("utf-8"))

    # Row templates, formatted beside a deflate thread: rendering cell by cell takes 1.8x as long.
    blank = [_style_attr("blank")] if any(c.blank_from is not None for c in sheet.columns) else []
    write_ods_body(sheet, out, [_style_attr(c.style) for c in sheet.columns], *blank)
    out.write(b"</table:table>")
