"""Read the training tables of .xlsx and .ods workbooks into pandas DataFrames.

A table is found by its header row, not by its position: the row whose cells name the most of
the template's quantities, spelled in any of the ways `canonical_name` accepts. Columns are
keyed by quantity name (`w1`, `a_h1`, `E_total`, `dE_dw1`, ...), rows are in iteration order.
Values are what the cells store (cached values of formulas; nothing is recalculated), read
with calamine, which returns sheetgen's float64 values exactly from both formats.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from sheetgen.core.cells import column_letter
from sheetgen.core.model import BIAS_MODES
from sheetgen.core.template import column_specs
from sheetgen.errors import WorkbookError
from sheetgen.read.workbook import Workbook

# A header row must name at least this many quantities: fewer is more likely a stray label.
MIN_HEADERS = 3


def _template_columns() -> dict[str, str]:
    """Quantity name -> default header, for every column of every bias mode, in sheet order."""
    headers: dict[str, str] = {}
    for biases in BIAS_MODES:
        for spec in column_specs(biases):
            headers.setdefault(spec["quantity"], spec["header"])
    return headers


DEFAULT_HEADERS: dict[str, str] = _template_columns()
QUANTITIES: tuple[str, ...] = tuple(DEFAULT_HEADERS)
OPTIONAL = frozenset({"iteration"})  # bookkeeping, not maths: a table may leave it out

# --- header spellings: every alias rule lives here ------------------------------------------

# Squashed spellings (see _squash) of names that are not just the quantity's own name.
_ALIASES = {
    "etot": "E_total", "loss": "E_total",
    "iter": "iteration", "step": "iteration", "epoch": "iteration", "#": "iteration",
    "ao1": "a_o1", "a01": "a_o1", "ao2": "a_o2", "a02": "a_o2",  # a_01: the reference's own typo
}
# Prefixes naming a neuron's input (net_h1 = h1) or output (out_h1, σ(h1) = a_h1).
_NET_PREFIXES = ("net",)
_OUT_PREFIXES = ("out", "sigmoid", "σ", "sigma")
_NEURONS = ("h1", "h2", "o1", "o2")
# A gradient: E∂W1, dE/dw1, ∂E_total/∂w1, dE_dw1, dEtotal/dW1, dw1, grad_w1 (after squashing).
_GRADIENT = re.compile(r"(?:(?:d?e(?:total|tot)?)?d|grad)([wb][0-9]+)")
# The columns of any dense network's sheet (sheetgen.core.network) beyond the reference's names:
# i3, t3, w9, b3, e3, h3, h2_1, a_h2_1, exp_o1, δ_o1.
_GENERAL = re.compile(r"[itwbe][0-9]+|(?:a_|exp_|δ_)?(?:h[0-9]+(?:_[0-9]+)?|o[0-9]+)")
_GENERAL_GRADIENT = re.compile(r"E∂(W[0-9]+|b[0-9]+)")


def _squash(text: str) -> str:
    """Lower case, ∂ as d, subscripts as digits, and no spaces or punctuation between parts."""
    text = unicodedata.normalize("NFKC", text).lower().replace("∂", "d")
    return re.sub(r"[\s_\-/().,:*·]+", "", text)


@cache
def _by_key() -> dict[str, str]:
    keys: dict[str, str] = {}
    for quantity, header in DEFAULT_HEADERS.items():
        for spelling in (quantity, header):
            key = _squash(spelling)
            if keys.setdefault(key, quantity) != quantity:
                raise ValueError(f"headers {quantity!r} and {keys[key]!r} read the same")
    for key, quantity in _ALIASES.items():
        keys.setdefault(key, quantity)
    for neuron in _NEURONS:
        for prefix in _NET_PREFIXES:
            keys.setdefault(prefix + neuron, neuron)
        for prefix in _OUT_PREFIXES:
            keys.setdefault(prefix + neuron, "a_" + neuron)
    return keys


def canonical_name(header: object) -> str | None:
    """The quantity a header names (`'dE/dw1'` -> `'dE_dw1'`, `'e1'` -> `'E1'`), or None."""
    if not isinstance(header, str):
        return None
    key = _squash(header)
    found = _by_key().get(key)
    if found is None and (match := _GRADIENT.fullmatch(key)):
        found = _by_key().get("ded" + match.group(1))
    text = header.strip()
    if found is None and (match := _GENERAL_GRADIENT.fullmatch(text)):
        found = "dE_d" + match.group(1).lower()
    elif found is None and _GENERAL.fullmatch(text):
        found = "E" + text[1:] if text[1:].isdigit() and text[0] == "e" else text.replace("δ_", "delta_")
    return found


# --- tables ---------------------------------------------------------------------------------

@dataclass
class Table:
    """One sheet's training table. `frame`: a float64 column per quantity found, one row per
    iteration (index 1..n); cells that hold no number are NaN."""

    sheet: str
    header_row: int                       # 0-based
    first_row: int                        # 0-based
    headers: dict[str, str]               # quantity -> header text as written
    columns: dict[str, int]               # quantity -> 0-based column
    frame: pd.DataFrame
    ignored: dict[int, str] = field(default_factory=dict)  # column -> header not used

    def __len__(self) -> int:
        return len(self.frame)

    def cell(self, quantity: str, iteration: int) -> str:
        """The spreadsheet address of one value, e.g. `cell('w1', 1)` -> 'E39'."""
        return f"{column_letter(self.columns[quantity])}{self.first_row + iteration}"


def _number(value: object) -> float:
    if isinstance(value, bool):
        return math.nan
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and value.strip():
        try:
            return float(value.strip())
        except ValueError:
            return math.nan
    return math.nan


def _numbers(values: list) -> np.ndarray:
    return np.fromiter(map(_number, values), dtype=np.float64, count=len(values))


def _padded(rows: Sequence[Sequence], width: int) -> Sequence[Sequence]:
    """Rows at least `width` cells long (calamine's are; a hand-built grid may be ragged)."""
    if all(len(row) >= width for row in rows):
        return rows
    return [row if len(row) >= width else list(row) + [None] * (width - len(row)) for row in rows]


def _rows_before_blank(columns: list[list]) -> int:
    for i in range(len(columns[0])):
        if all(_blank(column[i]) for column in columns):
            return i
    return len(columns[0])


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _header_columns(row: Sequence) -> tuple[dict[str, int], dict[int, str]]:
    found: dict[str, int] = {}
    ignored: dict[int, str] = {}
    for col, value in enumerate(row):
        if _blank(value):
            continue
        quantity = canonical_name(value)
        if quantity is None or quantity in found:
            ignored[col] = str(value).strip()
        else:
            found[quantity] = col
    return found, ignored


def find_table(grid: Sequence[Sequence], sheet: str = "") -> Table | None:
    """The training table in a grid of cell values (rows of cells), or None.

    The header row is the one naming the most quantities (the first such row on a tie, and at
    least MIN_HEADERS); the table runs down to the first row with no value in its columns."""
    best, best_row = 0, -1
    for r, row in enumerate(grid):
        if sum(map(str.__instancecheck__, row)) < MIN_HEADERS:
            continue  # a fast skip over number rows
        names = {q for v in row if (q := canonical_name(v)) is not None}
        if len(names) > best:
            best, best_row = len(names), r
    if best < MIN_HEADERS:
        return None
    columns, ignored = _header_columns(grid[best_row])
    first = best_row + 1
    rest = _padded(grid[first:], max(columns.values()) + 1)
    raw = {q: [row[c] for row in rest] for q, c in columns.items()}
    numeric = {q: set(map(type, values)) <= {float, int} for q, values in raw.items()}
    # A column of numbers only has no blank cell, so no row below the header is blank.
    n = len(rest) if any(numeric.values()) else _rows_before_blank(list(raw.values()))
    data = {q: np.array(values[:n], dtype=np.float64) if numeric[q] else _numbers(values[:n])
            for q, values in raw.items()}
    frame = pd.DataFrame(data, index=pd.RangeIndex(1, n + 1, name="iteration_order"))
    headers = {q: str(grid[best_row][c]).strip() for q, c in columns.items()}
    return Table(sheet, best_row, first, headers, columns, frame, ignored)


# --- workbooks ------------------------------------------------------------------------------

_WHY = f"(no row names at least {MIN_HEADERS} of its columns, e.g. w1 w2 E_total)"


def read_table(source: Path | Workbook, sheet: str) -> Table:
    """The training table of one sheet; WorkbookError if the sheet or the table is missing."""
    return read_tables(source, [sheet])[sheet]


def read_tables(source: Path | Workbook, sheets: Iterable[str] | None = None) -> dict[str, Table]:
    """The training tables of the named sheets (WorkbookError if one is missing or has none),
    or of every sheet that has one, in workbook order (WorkbookError if none has)."""
    book = source if isinstance(source, Workbook) else Workbook(source)
    path = book.path
    tables = {}
    if sheets is not None:
        for name in sheets:
            table = find_table(book.grid(name), name)
            if table is None:
                raise WorkbookError(f"{path}: sheet {name!r}: no training table found {_WHY}")
            tables[name] = table
        return tables
    for name in book.sheet_names:
        table = find_table(book.grid(name), name)
        if table is not None:
            tables[name] = table
    if not tables:
        raise WorkbookError(f"{path}: no training table found in any sheet {_WHY}")
    return tables


def read_frame(source: Path | Workbook, sheet: str) -> pd.DataFrame:
    """One sheet's table as a DataFrame: a float64 column per quantity, rows in iteration order."""
    return read_table(source, sheet).frame


__all__ = ["DEFAULT_HEADERS", "MIN_HEADERS", "OPTIONAL", "QUANTITIES", "Table", "canonical_name",
           "find_table", "read_frame", "read_table", "read_tables"]
