"""The block above a general network's table, kept within UPPER_ROWS rows so that the frozen
rows fit a laptop screen (1366 x 768: about 30 rows of LibreOffice's window show, half of them
frozen) and the table scrolls below its header.

From the left: the learning rate with the optimizer's parameters under it (column A), the network
picture (B1, at most PICTURE_MAX_MM tall) and the loss chart (chart_place: both whole in view on
opening), the settings, then the forward equations, the chain-rule derivations and the update
equations, each in as many side-by-side groups of rows as it needs.
The frozen rows stay in view while the table scrolls, so the derivations above the gradient
columns are read while those columns are.
"""

from __future__ import annotations

import math

from sheetgen.core.cells import column_letter
from sheetgen.layout.picture import text_mm

UPPER_ROWS = 14            # rows 1..14; row 15 stays empty and the header is row 16
HEADER_ROW = UPPER_ROWS + 2
PICTURE_MAX_MM = 60.0      # 14 rows of LibreOffice's 4.52 mm are 63 mm
# Text overflows into empty cells to its right: a line needs its width in the widest font an
# application draws it in (Gnumeric's DejaVu Sans for an .ods, up to 1.18 times Liberation
# Sans's metrics, layout/picture.py's text_mm) and about 1.5 mm of margin either side.
TEXT_WIDE = 1.2
TEXT_PAD_MM = 3.0


# What LibreOffice's window shows of a sheet at 1366 x 768 and 100 % (menus, toolbars, formula bar,
# row headers, scroll bar and sidebar tabs aside): 1,268 px of cells, measured on its screenshots,
# at 4.0 px a mm in an .ods and 4.19 in an .xlsx, so 317 and 302 mm; Gnumeric shows 342 mm of
# either. A little is kept in hand.
VIEW_MM = {"ods": 315.0, "xlsx": 300.0}
CHART_MAX_MM = 110.0      # wider adds nothing to a loss curve
CHART_MIN_MM = 55.0       # narrower and its axis labels crowd the curve
ROW_MM = 4.52             # LibreOffice's default row, the shortest of the two formats'


def column_mm(column_width: int) -> dict[str, float]:
    """A column of `column_width` characters in mm: .ods 0.085 in a character (the writer's
    own width), .xlsx 7 px a character plus 5 at 96 px an inch."""
    return {"ods": column_width * 0.085 * 25.4, "xlsx": (column_width * 7 + 5) * 25.4 / 96}


# Drawn smaller than this its labels (10 pt at full size) would be hard to read: a picture that
# would need less runs past the screen's right edge instead.
PICTURE_MIN_SCALE = 0.7


def chart_place(picture_mm: float, header_row: int, column_width: int) -> tuple[int, dict, int, float]:
    """Where a general network's loss chart goes: in the frozen rows, so that scrolling the table
    never hides it, and whole in view on opening at 1366 x 768 in both formats. Right of the
    picture (from B1, `picture_mm` wide) from the first column clear of it in both formats, when
    at least CHART_MIN_MM remain in view there; otherwise first, over B:C, with the picture moved
    right of it and drawn smaller (down to PICTURE_MIN_SCALE) to end in view too.
    Its live title cell is in row 1, the chart from row 2 to two rows above the header
    (`header_row`, 1-based). Returns the picture's column, the chart spec's place (anchor,
    title_cell, width_mm, height_mm), the first column free after both, and the picture's
    scale."""
    mm = column_mm(column_width)
    # Clear of the picture: the .ods draws it 1 mm right of B's left edge, the .xlsx at B's edge.
    col = max(math.ceil((mm["ods"] + 1 + picture_mm) / mm["ods"]),
              math.ceil((mm["xlsx"] + picture_mm) / mm["xlsx"]))
    width = min(CHART_MAX_MM, *(VIEW_MM[f] - col * mm[f] for f in mm))
    picture_col, scale = 1, 1.0
    if width < CHART_MIN_MM:
        col, width, picture_col = 1, 2 * min(mm.values()) - 3, 3
        room = min(VIEW_MM[f] - picture_col * mm[f] - PICTURE_OFFSET_MM[f] for f in mm)
        scale = max(PICTURE_MIN_SCALE, min(1.0, room / picture_mm))
    height = (header_row - 3) * ROW_MM - 1.5
    place = {"anchor": f"{column_letter(col)}2", "title_cell": f"{column_letter(col)}1",
             "width_mm": round(width, 1), "height_mm": round(height, 1), "x_offset_mm": 0.0}
    chart_end = col + math.ceil((width + 2) / min(mm.values()))
    picture_end = picture_col + math.ceil((picture_mm * scale + 4) / min(mm.values()))
    return picture_col, place, max(chart_end, picture_end), scale


# The picture's offset from its column's left edge: the .ods draws it 1 mm in, the .xlsx 4 px.
PICTURE_OFFSET_MM = {"ods": 1.0, "xlsx": 4 * 25.4 / 96}
# Gnumeric's window at 1366 x 768 shows up to 348 mm of either format (a short book's narrow row
# headers leave it the most): a block starting past this is wholly out of view on opening.
OUT_OF_VIEW_MM = 350.0


def settings_col(col: int, column_width: int, value: str) -> int:
    """The settings block's first column, from `col` on: the block (a label column, then values
    as long as `value` running into the columns after) ends in view on opening
    in both formats, or it starts past every view. A label cut at the window's edge reads
    "iterat" beside no value."""
    mm = column_mm(column_width)
    end = col + 1 + columns_for(value, column_width)
    if all(end * mm[f] <= VIEW_MM[f] for f in mm):
        return col
    return max(col, *(math.ceil(OUT_OF_VIEW_MM / mm[f]) for f in mm))


def columns_for(text: str, column_width: int) -> int:
    """How many columns of `column_width` characters a line of `text` covers in either format."""
    width = text_mm(text) * TEXT_WIDE + TEXT_PAD_MM
    return max(1, math.ceil(width / min(column_mm(column_width).values())))


def text_groups(title: str, lines: list[str], first_col: int, column_width: int,
                rows: int = UPPER_ROWS) -> tuple[list[list[str]], int]:
    """`title` in row 1 of `first_col`, then `lines` from row 2 down to row `rows`, continuing
    in a new group of rows to the right of the widest line of the group before. Returns the
    cells ([ref, text]) and the first column after the last group (with one empty column)."""
    cells = [[f"{column_letter(first_col)}1", title]]
    per_group = rows - 1
    col = first_col
    width = columns_for(title, column_width)
    for start in range(0, len(lines), per_group):
        group = lines[start:start + per_group]
        if start:
            col += width + 1
            width = 0
        for k, line in enumerate(group):
            cells.append([f"{column_letter(col)}{k + 2}", line])
        width = max(width, max(columns_for(line, column_width) for line in group))
    return cells, col + width + 1


__all__ = ["HEADER_ROW", "PICTURE_MAX_MM", "UPPER_ROWS", "chart_place", "columns_for", "settings_col",
           "text_groups"]
