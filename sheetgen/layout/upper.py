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

UPPER_ROWS = 14            # rows 1..14; row 15 stays empty and the header is row 16
HEADER_ROW = UPPER_ROWS + 2
PICTURE_MAX_MM = 60.0      # 14 rows of LibreOffice's 4.52 mm are 63 mm
# Text overflows into empty cells to its right: a line of n characters needs n * CHAR_PX of
# them (a 10 pt Liberation Sans or 11 pt Carlito character is about 6-7 px; a column of w
# characters is 7w + 5 px wide in an .xlsx, wider in an .ods).
CHAR_PX = 7.0


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


def chart_place(picture_mm: float, header_row: int, column_width: int) -> tuple[int, dict, int]:
    """Where a general network's loss chart goes: in the frozen rows, so that scrolling the table
    never hides it, and whole in view on opening at 1366 x 768 in both formats. Right of the
    picture (from B1, `picture_mm` wide) from the first column clear of it in both formats, when
    at least CHART_MIN_MM remain in view there; otherwise first, over B:C, with the picture moved
    right of it (a picture that wide cannot share the screen: its right part is scrolled to).
    Its live title cell is in row 1, the chart from row 2 to two rows above the header
    (`header_row`, 1-based). Returns the picture's column, the chart spec's place (anchor,
    title_cell, width_mm, height_mm) and the first column free after both."""
    mm = column_mm(column_width)
    # Clear of the picture: the .ods draws it 1 mm right of B's left edge, the .xlsx at B's edge.
    col = max(math.ceil((mm["ods"] + 1 + picture_mm) / mm["ods"]),
              math.ceil((mm["xlsx"] + picture_mm) / mm["xlsx"]))
    width = min(CHART_MAX_MM, *(VIEW_MM[f] - col * mm[f] for f in mm))
    picture_col = 1
    if width < CHART_MIN_MM:
        col, width, picture_col = 1, 2 * min(mm.values()) - 3, 3
    height = (header_row - 3) * ROW_MM - 1.5
    place = {"anchor": f"{column_letter(col)}2", "title_cell": f"{column_letter(col)}1",
             "width_mm": round(width, 1), "height_mm": round(height, 1), "x_offset_mm": 0.0}
    chart_end = col + math.ceil((width + 2) / min(mm.values()))
    picture_end = picture_col + math.ceil((picture_mm + 4) / min(mm.values()))
    return picture_col, place, max(chart_end, picture_end)


def columns_for(text_chars: int, column_width: int) -> int:
    """How many columns of `column_width` characters a line of `text_chars` characters covers."""
    return max(1, math.ceil(text_chars * CHAR_PX / (column_width * 7 + 5)))


def text_groups(title: str, lines: list[str], first_col: int, column_width: int,
                rows: int = UPPER_ROWS) -> tuple[list[list[str]], int]:
    """`title` in row 1 of `first_col`, then `lines` from row 2 down to row `rows`, continuing
    in a new group of rows to the right of the widest line of the group before. Returns the
    cells ([ref, text]) and the first column after the last group (with one empty column)."""
    cells = [[f"{column_letter(first_col)}1", title]]
    per_group = rows - 1
    col = first_col
    width = columns_for(len(title), column_width)
    for start in range(0, len(lines), per_group):
        group = lines[start:start + per_group]
        if start:
            col += width + 1
            width = 0
        for k, line in enumerate(group):
            cells.append([f"{column_letter(col)}{k + 2}", line])
        width = max(width, max(columns_for(len(line), column_width) for line in group))
    return cells, col + width + 1


__all__ = ["HEADER_ROW", "PICTURE_MAX_MM", "UPPER_ROWS", "chart_place", "columns_for", "text_groups"]
