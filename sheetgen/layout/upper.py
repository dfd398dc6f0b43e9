"""The block above a general network's table, kept within UPPER_ROWS rows so that the frozen
rows fit a laptop screen (1366 x 768: about 30 rows of LibreOffice's window show, half of them
frozen) and the table scrolls below its header.

From the left: the learning rate with the optimizer's parameters under it (column A), the network
picture (B1, at most PICTURE_MAX_MM tall), the settings, then the forward equations, the
chain-rule derivations and the update equations, each in as many side-by-side groups of rows as
it needs.
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


__all__ = ["HEADER_ROW", "PICTURE_MAX_MM", "UPPER_ROWS", "columns_for", "text_groups"]
