"""Compare the training tables of two workbooks, cell by cell, within a tolerance.

Sheets are paired by name (or explicitly), columns by the quantity their header names, rows by
iteration order. The result is data (`Comparison`, or `Comparison.to_frame()`); `to_text`,
`to_json` and `to_csv` only format it.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sheetgen.core.cells import column_letter
from sheetgen.errors import UsageError, WorkbookError
from sheetgen.read.tables import OPTIONAL, Table, read_tables

# A value stored to 10 significant digits is within 5e-10 of the true one, relatively; the
# absolute tolerance only matters for values at or next to zero.
DEFAULT_RTOL = 1e-9
DEFAULT_ATOL = 1e-15
REPORT_FORMATS = ("text", "json", "csv")


@dataclass(frozen=True)
class ColumnComparison:
    """One quantity present in both tables, over the rows both have."""

    quantity: str
    header_a: str
    header_b: str
    column_a: str                  # spreadsheet column letters
    column_b: str
    cells: int                     # compared
    differing: int
    max_abs_diff: float            # over all compared cells (NaN when no cell has a number)
    max_rel_diff: float            # |a - b| / max(|a|, |b|); 0 where both are 0
    first_iteration: int | None    # first differing row, 1-based iteration order

    @property
    def equal(self) -> bool:
        return self.differing == 0


@dataclass(frozen=True)
class OneSided:
    """A quantity whose column only one table has."""

    quantity: str
    header: str
    column: str
    side: str                      # "a" | "b"

    @property
    def optional(self) -> bool:
        """The iteration number is bookkeeping: missing it on one side is no difference."""
        return self.quantity in OPTIONAL


@dataclass(frozen=True)
class SheetComparison:
    sheet_a: str
    sheet_b: str
    rows_a: int
    rows_b: int
    columns: list[ColumnComparison]
    one_sided: list[OneSided]
    ignored_a: dict[str, str] = field(default_factory=dict)   # column letter -> header not read
    ignored_b: dict[str, str] = field(default_factory=dict)

    @property
    def differences(self) -> list[ColumnComparison]:
        return [c for c in self.columns if not c.equal]

    @property
    def missing(self) -> list[OneSided]:
        """Columns on one side only that count as a difference."""
        return [c for c in self.one_sided if not c.optional]

    @property
    def cells(self) -> int:
        return sum(c.cells for c in self.columns)

    @property
    def differing_cells(self) -> int:
        return sum(c.differing for c in self.columns)

    @property
    def equal(self) -> bool:
        return not self.differences and not self.missing and self.rows_a == self.rows_b

    @property
    def verdict(self) -> str:
        if self.equal:
            largest = max((c.max_rel_diff for c in self.columns if c.max_rel_diff >= 0), default=0.0)
            return (f"equal: all {self.cells} table cells agree "
                    f"({min(self.rows_a, self.rows_b)} rows x {len(self.columns)} columns; "
                    f"largest relative difference {largest:.2g})")
        parts = []
        if self.differences:
            parts.append(f"{len(self.differences)} of {len(self.columns)} columns differ "
                         f"({self.differing_cells} of {self.cells} cells)")
        if self.missing:
            parts.append(f"{len(self.missing)} column(s) on one side only")
        if self.rows_a != self.rows_b:
            parts.append(f"{self.rows_a} rows against {self.rows_b}")
        return "DIFFERENT: " + "; ".join(parts)


@dataclass(frozen=True)
class Comparison:
    a: str
    b: str
    rtol: float
    atol: float
    sheets: list[SheetComparison]
    sheets_only_a: list[str] = field(default_factory=list)  # tables without a counterpart
    sheets_only_b: list[str] = field(default_factory=list)

    @property
    def equal(self) -> bool:
        return all(s.equal for s in self.sheets) and not self.sheets_only_a and not self.sheets_only_b

    def to_frame(self) -> pd.DataFrame:
        """One row per quantity per sheet pair (and per unpaired sheet), with its status:
        equal, differs, only_a, only_b, sheet_only_a, sheet_only_b."""
        rows = []
        for s in self.sheets:
            base = {"sheet_a": s.sheet_a, "sheet_b": s.sheet_b, "rows_a": s.rows_a, "rows_b": s.rows_b}
            for c in s.columns:
                rows.append(base | {
                    "quantity": c.quantity, "header_a": c.header_a, "header_b": c.header_b,
                    "status": "equal" if c.equal else "differs", "cells": c.cells,
                    "differing": c.differing, "max_abs_diff": c.max_abs_diff,
                    "max_rel_diff": c.max_rel_diff, "first_iteration": c.first_iteration})
            for o in s.one_sided:
                rows.append(base | {"quantity": o.quantity, f"header_{o.side}": o.header,
                                    "status": f"only_{o.side}"})
        for side, names in (("a", self.sheets_only_a), ("b", self.sheets_only_b)):
            for name in names:
                rows.append({f"sheet_{side}": name, "status": f"sheet_only_{side}"})
        columns = ["sheet_a", "sheet_b", "quantity", "header_a", "header_b", "status", "cells",
                   "differing", "max_abs_diff", "max_rel_diff", "first_iteration", "rows_a", "rows_b"]
        frame = pd.DataFrame(rows, columns=columns)
        for name in ("cells", "differing", "first_iteration", "rows_a", "rows_b"):
            frame[name] = frame[name].astype("Int64")
        return frame


# --- comparing ------------------------------------------------------------------------------

def _column(quantity: str, a: Table, b: Table, n: int, rtol: float, atol: float) -> ColumnComparison:
    x = a.frame[quantity].to_numpy()[:n]
    y = b.frame[quantity].to_numpy()[:n]
    both_nan = np.isnan(x) & np.isnan(y)
    with np.errstate(invalid="ignore", divide="ignore"):
        diff = np.abs(x - y)
        scale = np.maximum(np.abs(x), np.abs(y))
        close = (x == y) | both_nan | (diff <= atol + rtol * scale)
        rel = np.where(scale > 0, diff / scale, 0.0)
    counted = ~both_nan & ~np.isnan(diff)
    bad = np.flatnonzero(~close)
    return ColumnComparison(
        quantity, a.headers[quantity], b.headers[quantity],
        column_letter(a.columns[quantity]), column_letter(b.columns[quantity]),
        cells=n, differing=len(bad),
        max_abs_diff=float(diff[counted].max()) if counted.any() else math.nan,
        max_rel_diff=float(rel[counted].max()) if counted.any() else math.nan,
        first_iteration=int(bad[0]) + 1 if len(bad) else None)


def compare_tables(a: Table, b: Table, rtol: float = DEFAULT_RTOL,
                   atol: float = DEFAULT_ATOL) -> SheetComparison:
    """Compare two tables over their common quantities (in A's order) and common rows."""
    n = min(len(a), len(b))
    columns = [_column(q, a, b, n, rtol, atol) for q in a.columns if q in b.columns]
    one_sided = [OneSided(q, t.headers[q], column_letter(t.columns[q]), side)
                 for side, t, other in (("a", a, b), ("b", b, a))
                 for q in t.columns if q not in other.columns]
    return SheetComparison(
        a.sheet, b.sheet, len(a), len(b), columns, one_sided,
        {column_letter(c): h for c, h in a.ignored.items()},
        {column_letter(c): h for c, h in b.ignored.items()})


def compare_frames(a: pd.DataFrame, b: pd.DataFrame, names: tuple[str, str] = ("A", "B"),
                   rtol: float = DEFAULT_RTOL, atol: float = DEFAULT_ATOL) -> SheetComparison:
    """Compare two runs held in memory (a column per quantity, a row per iteration) as if they
    were the tables of two workbooks: the model run two ways, say."""
    def table(frame: pd.DataFrame, sheet: str) -> Table:
        columns = [str(c) for c in frame.columns]
        return Table(sheet, 0, 1, {c: c for c in columns}, {c: i for i, c in enumerate(columns)},
                     frame.set_axis(columns, axis=1).astype("float64"))

    _check_tolerance(rtol, atol)
    return compare_tables(table(a, names[0]), table(b, names[1]), rtol, atol)


def compare_table_sets(a: Mapping[str, Table], b: Mapping[str, Table],
                       pairs: Iterable[tuple[str, str]] | None = None, *,
                       rtol: float = DEFAULT_RTOL, atol: float = DEFAULT_ATOL,
                       names: tuple[str, str] = ("A", "B")) -> Comparison:
    """Compare tables by sheet: the given (sheet of A, sheet of B) pairs, or else every pair of
    sheets with the same name, and the one table left on each side when exactly one is (two
    runs at another learning rate: lr=0.1 against lr=0.2); a table still without a counterpart
    counts as a difference."""
    _check_tolerance(rtol, atol)
    pairs = list(pairs or [])
    only_a: list[str] = []
    only_b: list[str] = []
    if pairs:
        for sheet_a, sheet_b in pairs:
            for sheet, tables, name in ((sheet_a, a, names[0]), (sheet_b, b, names[1])):
                if sheet not in tables:
                    raise WorkbookError(f"{name}: no training table in a sheet named {sheet!r} "
                                        f"(tables in: {', '.join(map(repr, tables)) or 'none'})")
    else:
        pairs = [(s, s) for s in a if s in b]
        only_a = [s for s in a if s not in b]
        only_b = [s for s in b if s not in a]
        if len(only_a) == len(only_b) == 1:
            pairs.append((only_a.pop(), only_b.pop()))
        if not pairs:
            raise WorkbookError(
                f"no sheet names in common (A: {', '.join(a)}; B: {', '.join(b)}); "
                "pair sheets with --sheet A_NAME:B_NAME")
    sheets = [compare_tables(a[sa], b[sb], rtol, atol) for sa, sb in pairs]
    return Comparison(names[0], names[1], rtol, atol, sheets, only_a, only_b)


def compare_workbooks(path_a: Path, path_b: Path, pairs: Iterable[tuple[str, str]] | None = None,
                      rtol: float = DEFAULT_RTOL, atol: float = DEFAULT_ATOL) -> Comparison:
    """Read both workbooks' tables and compare them (see `compare_table_sets`).
    Raises WorkbookError (one line) for an unreadable file, no table, or an unknown sheet."""
    _check_tolerance(rtol, atol)
    tables_a = read_tables(Path(path_a))
    tables_b = read_tables(Path(path_b))
    return compare_table_sets(tables_a, tables_b, pairs, rtol=rtol, atol=atol,
                              names=(str(path_a), str(path_b)))


def _check_tolerance(rtol: float, atol: float) -> None:
    for name, value in (("rtol", rtol), ("atol", atol)):
        if (isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value)
                or value < 0):
            raise UsageError(f"{name}: must be a finite number, 0 or more, got {value!r}")


# --- reports --------------------------------------------------------------------------------

def _g(value: float | None) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3g}"


def _header(c: ColumnComparison) -> str:
    return c.header_a if c.header_a == c.header_b else f"{c.header_a} = {c.header_b}"


def to_text(comparison: Comparison) -> str:
    """A report for a terminal: per sheet pair, a table of the columns that differ, columns on
    one side only, row counts, and a one-line verdict."""
    out = [f"A: {comparison.a}", f"B: {comparison.b}",
           f"tolerance: |a - b| <= {comparison.atol:g} + {comparison.rtol:g} * max(|a|, |b|)"]
    for s in comparison.sheets:
        out.append("")
        title = s.sheet_a if s.sheet_a == s.sheet_b else f"{s.sheet_a} (A) : {s.sheet_b} (B)"
        out.append(f"sheet {title}: {s.rows_a} rows in A, {s.rows_b} in B, "
                   f"{len(s.columns)} columns in common")
        if s.differences:
            rows = [("column", "max abs diff", "max rel diff", "cells", "first iteration")]
            rows += [(_header(c), _g(c.max_abs_diff), _g(c.max_rel_diff),
                      f"{c.differing}/{c.cells}", str(c.first_iteration)) for c in s.differences]
            widths = [max(len(r[i]) for r in rows) for i in range(5)]
            for r in rows:
                out.append("  " + "  ".join(v.ljust(w) if i == 0 else v.rjust(w)
                                            for i, (v, w) in enumerate(zip(r, widths, strict=True))))
        for o in s.one_sided:
            note = " (optional: not a difference)" if o.optional else ""
            out.append(f"  only in {o.side.upper()}: {o.header} (column {o.column}){note}")
        for side, ignored in (("A", s.ignored_a), ("B", s.ignored_b)):
            if ignored:
                listed = ", ".join(f"{col} {text!r}" for col, text in ignored.items())
                out.append(f"  not read in {side} (header not recognised or repeated): {listed}")
        if s.rows_a != s.rows_b:
            out.append(f"  rows: {s.rows_a} in A, {s.rows_b} in B; "
                       f"compared the first {min(s.rows_a, s.rows_b)}")
        out.append(f"  verdict: {s.verdict}")
    for side, names in (("A", comparison.sheets_only_a), ("B", comparison.sheets_only_b)):
        if names:
            out.append("")
            out.append(f"tables only in {side}: {', '.join(names)}")
    out.append("")
    different = sum(not s.equal for s in comparison.sheets)
    unpaired = len(comparison.sheets_only_a) + len(comparison.sheets_only_b)
    if comparison.equal:
        out.append(f"result: equal ({len(comparison.sheets)} sheet(s) compared)")
    else:
        extra = f", {unpaired} table(s) without a counterpart" if unpaired else ""
        out.append(f"result: DIFFERENT ({different} of {len(comparison.sheets)} sheet(s) differ{extra})")
    return "\n".join(out) + "\n"


def json_ready(value):
    """Data with NaN and infinities as null, which JSON has no other way to say."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    return value


def to_json(comparison: Comparison) -> str:
    data = asdict(comparison)
    data["equal"] = comparison.equal
    for sheet, s in zip(data["sheets"], comparison.sheets, strict=True):
        sheet["equal"] = s.equal
        sheet["verdict"] = s.verdict
        sheet["cells"] = s.cells
        sheet["differing_cells"] = s.differing_cells
        for o in sheet["one_sided"]:
            o["optional"] = o["quantity"] in OPTIONAL
    return json.dumps(json_ready(data), indent=2, ensure_ascii=False) + "\n"


# A spreadsheet opening a CSV reads a cell starting with one of these as a formula (OWASP's CSV
# injection); text from a workbook (sheet names, headers, file names) gets a leading ' instead.
CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_text(value):
    """`value` as a CSV cell may safely hold it: text that would start a formula gets a leading
    ', numbers (and anything not text) are left as they are."""
    if isinstance(value, str) and value.startswith(CSV_FORMULA_START):
        return "'" + value
    return value


def to_csv(comparison: Comparison) -> str:
    buffer = io.StringIO()
    frame = comparison.to_frame()
    for name in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[name]):
            frame[name] = frame[name].map(csv_text)
    frame.to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue()


def report(comparison: Comparison, fmt: str = "text") -> str:
    """The comparison as text, json or csv."""
    return {"text": to_text, "json": to_json, "csv": to_csv}[fmt](comparison)


__all__ = ["CSV_FORMULA_START", "DEFAULT_ATOL", "DEFAULT_RTOL", "REPORT_FORMATS", "ColumnComparison",
           "Comparison",
           "OneSided", "SheetComparison", "compare_frames", "compare_table_sets", "compare_tables",
           "compare_workbooks", "csv_text",
           "report", "to_csv", "to_json", "to_text"]
