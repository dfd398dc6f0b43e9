"""A student's exercise: the training's Book with some columns left empty for the student.

The given cells keep their live formulas; their cached values are what the sheet computes while
the student's cells are still empty (an empty cell counts as 0), so a recalculation changes
nothing until the student types. Each blank column's header is marked, and optionally a check
cell above it says whether the column is right without showing its numbers (`Check`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from sheetgen.core.cells import a1, cell_range, separator
from sheetgen.core.expressions import Expression
from sheetgen.core.model import Network, Quantity
from sheetgen.core.training import Training
from sheetgen.layout.assemble import build_book, traces
from sheetgen.layout.book import Book, Cell, Sheet, sheet_template
from sheetgen.layout.summary import build_summary

TO_DO, RIGHT, NOT_YET = "to do", "right", "not yet"


@dataclass(frozen=True)
class Check:
    """A blank column's fingerprint in the key: its sum and sum of squares (SUM, SUMPRODUCT), each with the
    tolerance a correct formula in another order still meets."""

    count: int
    total: float
    total_tolerance: float
    squares: float
    squares_tolerance: float


@dataclass(frozen=True)
class CheckCell:
    """A formula cell above the table (written like the chart's title cell)."""

    row: int
    col: int
    formulas: dict[str, str]
    text: str = TO_DO
    style: str = "check"


def first_graded_row(q: Quantity) -> int:
    """The first table row (0-based) a student fills in: a carried column's first row holds its
    start value, which is given."""
    return 1 if q.is_state else 0


def check_of(values: Sequence[float]) -> Check:
    """The fingerprint of a key's column (the graded cells' values)."""
    total = sum(values)
    squares = sum(v * v for v in values)
    spread = sum(abs(v) for v in values)
    return Check(len(values), total, 1e-9 * spread + 1e-300, squares, 1e-9 * squares + 1e-300)


def _check_formula(check: Check, span: str, dialect: str) -> str:
    s = separator(dialect)
    return (f'IF(COUNT({span})<{check.count}{s}"{TO_DO}"{s}IF(AND(ABS(SUM({span})-({check.total!r}))<='
            f'{check.total_tolerance!r}{s}ABS(SUMPRODUCT({span}{s}{span})-({check.squares!r}))<='
            f'{check.squares_tolerance!r}){s}"{RIGHT}"{s}"{NOT_YET}"))')


def zeroed(net: Network, blanks: Sequence[str]) -> Network:
    """`net` with the blank columns empty: 0 in every cell a student fills in."""
    zero = Expression.parse("0")
    quantities = []
    for q in net.quantities:
        if q.name in blanks:
            q = Quantity(q.name, None, zero, q.gradient) if q.is_state else \
                Quantity(q.name, zero, None, q.gradient)
        quantities.append(q)
    return Network(tuple(quantities), net.parameters)


def exercise_book(training: Training, blanks: Sequence[str], heading: str,
                  checks: Mapping[str, Check] | None = None, key: Book | None = None) -> Book:
    """The Book of `training` with the columns `blanks` left for the student (a carried column
    from its second row on), their headers marked, `heading` above the table (plain text: a
    student's name is never a formula) and a check cell above each blank column in `checks`.
    `key`: the same training's full Book, whose sheets are reused with the exercise's values."""
    net = training.network
    runs = traces(training, zeroed(net, blanks))
    if key is None or key.training.network is not net or training.data is not None:
        book = build_book(training, runs, net=net)
    else:
        sheets = [replace(s, trace=runs[s.learning_rate]) for s in key.sheets]
        book = Book(sheets, training, build_summary(sheets, sheet_template(training)),
                    key.print_scale, key.maps)
    book.sheets = [_blank_sheet(s, net, blanks, heading, checks or {}) if s.columns and
                   s.columns[0].quantity == net.names[0] else s for s in book.sheets]
    return book


def _blank_sheet(sheet: Sheet, net: Network, blanks: Sequence[str], heading: str,
                 checks: Mapping[str, Check]) -> Sheet:
    columns = [replace(c, blank_from=first_graded_row(net.quantity(c.quantity)))
               if c.quantity in blanks else c for c in sheet.columns]
    blank_cols = {c.index for c in columns if c.blank_from is not None}
    cells: list = [replace(c, style="blank_header") if c.row == sheet.header_row and c.col in blank_cols
                   and c.style == "header" else c for c in sheet.cells]
    above = sheet.header_row - 1
    cells.append(Cell(above, 0, heading, "label"))
    last = sheet.first_row + sheet.iterations  # 1-based number of the table's last row
    for c in columns:
        check = checks.get(c.quantity)
        if c.blank_from is None or check is None:
            continue
        first = sheet.first_row + 1 + c.blank_from
        formulas = {d: _check_formula(check, cell_range(d, a1(c.index, first), a1(c.index, last)), d)
                    for d in ("xlsx", "ods")}
        cells.append(CheckCell(above, c.index, formulas))
    cells.sort(key=lambda c: (c.row, c.col))
    return replace(sheet, columns=columns, cells=cells)


__all__ = ["NOT_YET", "RIGHT", "TO_DO", "Check", "CheckCell", "check_of", "exercise_book",
           "first_graded_row", "zeroed"]
