"""Charts, the network picture and the summary sheet in .xlsx (XlsxWriter).

XlsxWriter keeps charts and images apart from the streamed cell rows, so they can be added
to a sheet at any time before the workbook closes.
"""

from __future__ import annotations

import functools
import io

from sheetgen.core.cells import column_letter
from sheetgen.core.template import template
from sheetgen.layout.charts import Chart, Range
from sheetgen.layout.picture import Picture
from sheetgen.layout.summary import Summary
from sheetgen.write.ods_drawing import SERIES_COLORS
from sheetgen.write.picture_png import render_png

PX_PER_MM = 96 / 25.4
HIGHLIGHT = {"bold": True, "bg_color": "#C6EFCE", "font_color": "#006100"}  # the best rate's row
# LibreOffice draws the General section of the number format at full length ("###") and unsigned:
# a value below 1e-3 in magnitude takes, by a condition, a one-section scientific format that
# fits and keeps the sign; 0 stays General (as in the .ods, write/ods.py).
TINY_FORMAT = "0.########E+00"


def small_numbers(workbook, ws, first_row: int, first_col: int, last_row: int, last_col: int,
                  extra: dict | None = None) -> None:
    """The conditions for small numbers over a block, `extra` (a highlight) kept with them."""
    extra = extra or {}
    ws.conditional_format(first_row, first_col, last_row, last_col, {
        "type": "cell", "criteria": "==", "value": 0, "stop_if_true": True,
        "format": workbook.add_format({**extra, "num_format": "General"})})
    ws.conditional_format(first_row, first_col, last_row, last_col, {
        "type": "cell", "criteria": "between", "minimum": -0.001, "maximum": 0.001,
        "format": workbook.add_format({**extra, "num_format": TINY_FORMAT})})


def _range(r: Range) -> list:
    return [r.sheet, r.first_row, r.col, r.last_row, r.col]


def page_setup(ws, ranges, scale_percent: int, chart: Chart | None = None) -> None:
    """Landscape at `scale_percent`; one print area around the blocks, a page break between them
    (an .xlsx sheet has a single print area) and before the chart, so that no page cuts it.
    A single block is fitted to one page."""
    if not ranges:
        return
    ws.set_landscape()
    ws.set_paper(9)  # A4
    if len(ranges) == 1:
        ws.fit_to_pages(1, 1)
    else:
        ws.set_print_scale(scale_percent)
    ws.print_area(min(r[0] for r in ranges), min(r[1] for r in ranges),
                  max(r[2] for r in ranges), max(r[3] for r in ranges))
    rows = sorted({r[0] for r in ranges} - {0})
    # A chart right of the table starts a page; one in the upper block prints with it.
    beside = chart is not None and chart.row >= min(r[0] for r in ranges[1:] or ranges)
    cols = sorted({r[1] for r in ranges} - {0} | ({chart.col} if beside else set()))
    if rows:
        ws.set_h_pagebreaks(rows)
    if cols:
        ws.set_v_pagebreaks(cols)


def insert_chart(workbook, ws, chart: Chart) -> None:
    """A scatter chart with straight lines: numeric x (the iteration column), never categories."""
    xl = workbook.add_chart({"type": "scatter", "subtype": "straight"})
    for k, s in enumerate(chart.series):
        # The .ods charts' colours: without them Gnumeric draws the third curve pale yellow.
        series = {"name": s.name, "categories": _range(s.x), "values": _range(s.y),
                  "line": {"color": SERIES_COLORS[k % len(SERIES_COLORS)], "width": 1.75}}
        if s.name_cell:  # `name_data`: the cell's text cached, for readers that do not look it up
            series.update(name=list(s.name_cell), name_data=[s.name])
        if s.secondary:
            series["y2_axis"] = True
        xl.add_series(series)
    # Fixed text: LibreOffice shows a title linked to a cell as fixed text, so the rate is named
    # by the live cell above the chart instead (layout/charts.py, TitleCell).
    xl.set_title({"name": chart.title, "name_font": {"size": 13}})
    axis_format = template()["table"]["axis_format"]
    xl.set_x_axis({"name": chart.x_title, "num_format": "0", "major_gridlines": {"visible": False}})
    xl.set_y_axis({"name": chart.y_title, "num_format": axis_format,
                   "major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}}})
    if chart.y2_title:
        xl.set_y2_axis({"name": chart.y2_title, "num_format": axis_format})
    if not chart.legend:
        xl.set_legend({"none": True})
    else:
        xl.set_legend({"position": "bottom"})
    xl.set_size({"width": round(chart.width_mm * PX_PER_MM),
                 "height": round(chart.height_mm * PX_PER_MM)})
    ws.insert_chart(chart.row, chart.col, xl, {"object_position": 1,
                                               "x_offset": round(chart.x_offset_mm * PX_PER_MM)})


@functools.lru_cache(maxsize=4)
def _png(picture: Picture, compress_level: int) -> bytes:
    """Rendered once for the workbooks that show the same picture (a key and its exercise)."""
    return render_png(picture, compress_level)


def insert_picture(ws, picture: Picture, cache: dict, shape: str = "2-2-2", small: bool = False) -> None:
    """The network drawing as a PNG; rendered once per distinct picture of the workbook."""
    if picture not in cache:
        cache[picture] = _png(picture, 1 if small else 6)
    ws.insert_image(picture.row, picture.col, "network.png",
                    {"image_data": io.BytesIO(cache[picture]), "x_offset": 4, "y_offset": 4,
                     "object_position": 1, "description": f"the {shape} network and its initial weights"})


def write_items(ws, items, styles: dict) -> None:
    """A side sheet's labels, numbers and formulas, row by row; text always as text."""
    for item in sorted(items, key=lambda c: (c.row, c.col)):
        style = styles[item.style]
        if hasattr(item, "formulas"):
            ws.write_formula(item.row, item.col, "=" + item.formulas["xlsx"], style, item.value)
        elif isinstance(item.value, str):
            ws.write_string(item.row, item.col, item.value, style)
        else:
            ws.write_number(item.row, item.col, item.value, style)


def write_summary(workbook, ws, summary: Summary, styles: dict,
                  scale_percent: int = 100) -> None:
    page_setup(ws, summary.print_ranges, scale_percent)
    ws.set_column(0, summary.n_columns - 1, summary.column_width)
    write_items(ws, [*summary.cells, *summary.formulas], styles)
    if summary.highlight is not None:
        h = summary.highlight
        criteria = "=" + h.formulas["xlsx"].format(r=h.first_row + 1)
        numbers = sorted({f.col for f in summary.formulas if f.style == "number"
                          and h.first_row <= f.row <= h.last_row and h.first_col <= f.col <= h.last_col})
        for col in numbers:  # the best row's small number: highlighted and scientific, first
            here = f"{column_letter(col)}{h.first_row + 1}"
            ws.conditional_format(h.first_row, col, h.last_row, col, {
                "type": "formula", "criteria": f"=AND({criteria[1:]},ABS({here})<0.001,{here}<>0)",
                "stop_if_true": True,
                "format": workbook.add_format({**HIGHLIGHT, "num_format": TINY_FORMAT})})
        ws.conditional_format(h.first_row, h.first_col, h.last_row, h.last_col, {
            "type": "formula", "criteria": criteria, "stop_if_true": True,
            "format": workbook.add_format(HIGHLIGHT)})
        for col in numbers:
            small_numbers(workbook, ws, h.first_row, col, h.last_row, col)
    if summary.chart is not None:
        insert_chart(workbook, ws, summary.chart)


# The maps sheet's colour scales: grey from white (smallest) to mid-grey (largest; black text
# still reads) for images and activations; for signed quantities blue through white (0) to red,
# symmetric about 0 (±the block's largest magnitude), so that a colour always tells the sign.
GRAY = {"type": "2_color_scale", "min_color": "#FFFFFF", "max_color": "#808080"}


def signed_scale(first: str, last: str) -> dict:
    largest = f"MAX(MAX(${first}:${last}),-MIN(${first}:${last}))"
    return {"type": "3_color_scale", "min_type": "formula", "min_value": f"=-{largest}",
            "min_color": "#2166AC", "mid_type": "num", "mid_value": 0, "mid_color": "#FFFFFF",
            "max_type": "formula", "max_value": f"={largest}", "max_color": "#B2182B"}


BANDS = {"g3": "#808080", "g2": "#A6A6A6", "g1": "#CCCCCC",
         "r2": "#D6604D", "r1": "#F4A582", "b2": "#4393C3", "b1": "#92C5DE"}


def band_formats(workbook, colour: str, cache: dict = {}) -> object:  # noqa: B006 (one per book)
    key = (id(workbook), colour)
    if key not in cache:
        cache[key] = workbook.add_format({"bg_color": colour})
    return cache[key]


def bands(block, first: str, last: str) -> list[tuple[str, str]]:
    """The colour scale's bands, strongest first, relative to the block's first cell (the .ods
    has the same: write/ods.py, _band_maps)."""
    from sheetgen.core.cells import column_letter

    rng, cell = f"${first}:${last}", f"{column_letter(block.col)}{block.row + 2}"
    if block.scale == "gray":
        span = f"(MAX({rng})-MIN({rng}))"
        return [(f"AND({span}>0,{cell}-MIN({rng})>={share}*{span})", BANDS[name])
                for share, name in (("0.75", "g3"), ("0.5", "g2"), ("0.25", "g1"))]
    largest = f"MAX(MAX({rng}),-MIN({rng}))"
    return [(f"AND({cell}>0,{cell}>=0.5*{largest})", BANDS["r2"]),
            (f"AND({cell}<0,{cell}<=-0.5*{largest})", BANDS["b2"]),
            (f"AND({cell}>0,{cell}>=0.15*{largest})", BANDS["r1"]),
            (f"AND({cell}<0,{cell}<=-0.15*{largest})", BANDS["b1"])]


def write_maps(workbook, ws, maps, styles: dict) -> None:
    """The maps sheet: labels, the typed cells, live INDEX formulas, a colour scale per block."""
    from sheetgen.core.cells import column_letter

    page_setup(ws, maps.print_ranges, 100)
    ws.set_column(0, maps.n_columns - 1, maps.column_width)
    write_items(ws, [*maps.cells, *maps.formulas], styles)
    for block in maps.blocks:
        first = f"{column_letter(block.col)}${block.row + 2}"
        last = f"{column_letter(block.last_col)}${block.last_row + 1}"
        scale = GRAY if block.scale == "gray" else signed_scale(first, last)
        ws.conditional_format(block.row + 1, block.col, block.last_row, block.last_col, dict(scale))
        # Gnumeric reads no colorScale: bands of the same colours by formula rules, after it.
        for formula, colour in bands(block, first, last):
            ws.conditional_format(block.row + 1, block.col, block.last_row, block.last_col, {
                "type": "formula", "criteria": "=" + formula,
                "format": band_formats(workbook, colour)})
