"""Hand-made-style workbooks with known mistakes, written with openpyxl and odfpy directly.

A `Block` is one training table as a person lays it out (own header spellings, column order,
serial column, helper columns, two-row header, labelled cells, title); `simulate` computes its
values with the mistakes in it (to a fixed point, for forward references that make a circular
chain of rows), and `write` puts blocks on sheets, with live formulas (and their cached values,
as Google Sheets and LibreOffice save them) or values only.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
from odf.opendocument import OpenDocumentSpreadsheet
from odf.table import Table, TableCell, TableRow
from odf.text import P

from sheetgen.core.cells import column_letter
from sheetgen.core.expressions import Expression
from sheetgen.core.model import Setup
from sheetgen.core.presets import reference_network as network

NET = network()


@dataclass
class Wrong:
    """A column computed by another equation (maths names); `shifts`: name -> rows away."""

    expression: str
    shifts: dict[str, int] = field(default_factory=dict)


@dataclass
class Pasted:
    """From this iteration on, the column holds the number the row above shows."""

    iteration: int


@dataclass
class Block:
    rate: float = 0.5
    rows: int = 12
    setup: Setup = field(default_factory=Setup)
    mistakes: dict = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    order: list[str] | None = None
    serial: str | None = None
    helpers: list[tuple[str, str]] = field(default_factory=list)   # (after quantity, header)
    labelled: tuple[str, ...] = ()           # quantities held in labelled cells
    label_texts: dict[str, str] = field(default_factory=dict)
    rate_label: str | None = "Learning rate"
    rate_shown: float | None = None          # what the labelled rate cell holds (default: rate)
    literal_rate: bool = False               # the updates hold the rate as a number
    two_row_header: bool = False
    title: str | None = None

    def quantities(self) -> list[str]:
        names = self.order or [q for q in NET.names if q != "iteration"]
        return [q for q in names if q not in self.labelled]


def simulate(block: Block) -> list[dict[str, float]]:
    """The table's rows with its mistakes in them (blank cells read as 0, as in a spreadsheet)."""
    setup = block.setup.values() | {"iteration": 1}
    n = block.rows
    old: list[dict[str, float]] = [dict.fromkeys(NET.names, 0.0) for _ in range(n)]
    for _ in range(200):
        new: list[dict[str, float]] = []
        for r in range(n):
            v: dict[str, float] = {}
            for q in NET.quantities:
                spec = block.mistakes.get(q.name)
                if isinstance(spec, Pasted) and r + 1 >= spec.iteration:
                    v[q.name] = new[r - 1][q.name]
                    continue
                if q.is_state and r == 0:
                    v[q.name] = setup[q.name]
                    continue
                text, shifts = _equation(q, spec, r, n)
                base = -1 if q.is_state else 0
                values = {"learning_rate": block.rate}
                for name in Expression.parse(text).names - {"learning_rate"}:
                    k = r + base + shifts.get(name, 0)
                    if k == r:
                        values[name] = v[name] if name in v else old[r][name]
                    elif 0 <= k < r:
                        values[name] = new[k][name]
                    elif r < k < n:
                        values[name] = old[k][name]
                    else:
                        values[name] = 0.0
                v[q.name] = Expression.parse(text).evaluate(values)
            new.append(v)
        change = max(abs(a[k] - b[k]) for a, b in zip(new, old, strict=True) for k in a)
        old = new
        if change == 0:
            break
    return old


def _equation(q, spec, r: int, n: int) -> tuple[str, dict[str, int]]:
    """The equation row r holds: the mistake, except where it would read above the table (there
    a person types the first row right: the header above is text)."""
    base = -1 if q.is_state else 0
    if isinstance(spec, Wrong) and all(r + base + k >= 0 for k in spec.shifts.values()):
        return spec.expression, spec.shifts
    return (q.next or q.formula).text, {}


@dataclass
class Placed:
    """Cells of a sheet: (row, col) 0-based -> value, or (formula, value)."""

    cells: dict[tuple[int, int], object] = field(default_factory=dict)
    # quantity -> 0-based column, first data row (0-based), for the expected answers
    columns: dict[str, int] = field(default_factory=dict)
    first_row: int = 0

    def cell(self, quantity: str, iteration: int) -> str:
        return f"{column_letter(self.columns[quantity])}{self.first_row + iteration}"


def place(block: Block, top: int = 0, left: int = 0, formulas: bool = True) -> Placed:
    out = Placed()
    cells = out.cells
    r = top
    if block.title:
        cells[(r, left)] = block.title
        r += 2
    absolute: dict[str, str] = {}
    c = left
    if block.rate_label:
        cells[(r, c)] = block.rate_label
        cells[(r, c + 1)] = block.rate if block.rate_shown is None else block.rate_shown
        absolute["learning_rate"] = f"${column_letter(c + 1)}${r + 1}"
        c += 3
    values0 = block.setup.values()
    for q in block.labelled:
        cells[(r, c)] = block.label_texts.get(q, q)
        cells[(r, c + 1)] = values0[q]
        absolute[q] = f"${column_letter(c + 1)}${r + 1}"
        c += 3
    if c != left:
        r += 2
    layout: list[tuple[str, str | None]] = []     # (kind or quantity, header)
    if block.serial:
        layout.append(("#serial", block.serial))
    for q in block.quantities():
        layout.append((q, block.headers.get(q, q)))
        layout += [("#helper", h) for after, h in block.helpers if after == q]
    gradients = [q for q in NET.names if q.startswith("dE_dw")]
    if block.two_row_header:
        first = next(q for q, _ in layout if q in gradients)
        for k, (q, header) in enumerate(layout):
            if q == first:
                cells[(r, left + k)] = "∂E/∂"
            if q in gradients:
                header = q.replace("dE_d", "")
            cells[(r + 1, left + k)] = header
        r += 2
    else:
        for k, (_, header) in enumerate(layout):
            cells[(r, left + k)] = header
        r += 1
    out.first_row = r
    col = {q: left + k for k, (q, _) in enumerate(layout) if not q.startswith("#")}
    out.columns = col
    rows = simulate(block)
    for i, row in enumerate(rows):
        sheet_row = r + i
        for k, (q, _) in enumerate(layout):
            where = (sheet_row, left + k)
            if q == "#serial":
                cells[where] = i + 1
                continue
            if q == "#helper":
                cells[where] = f"step {i + 1}"
                continue
            value = row[q]
            spec = block.mistakes.get(q)
            quantity = NET.quantity(q)
            is_pasted = isinstance(spec, Pasted) and i + 1 >= spec.iteration
            if not formulas or is_pasted or (quantity.is_state and i == 0):
                cells[where] = value
                continue
            text, shifts = _equation(quantity, spec, i, len(rows))
            base = -1 if quantity.is_state else 0

            def ref(name: str, i=i, base=base, shifts=shifts) -> str:
                if name == "learning_rate" and (block.literal_rate or "learning_rate" not in absolute):
                    return repr(block.rate)
                if name in absolute:
                    return absolute[name]
                return f"{column_letter(col[name])}{r + i + base + shifts.get(name, 0) + 1}"

            cells[where] = ("=" + Expression.parse(text).to_formula(ref), value)
    return out


def _xlsx(path: Path, sheets: dict[str, dict]) -> None:
    book = openpyxl.Workbook()
    book.remove(book.active)
    cached: dict[str, dict[str, float]] = {}
    for k, (name, cells) in enumerate(sheets.items(), start=1):
        ws = book.create_sheet(name)
        cached[f"xl/worksheets/sheet{k}.xml"] = {}
        for (r, c), v in cells.items():
            ref = f"{column_letter(c)}{r + 1}"
            if isinstance(v, tuple):
                ws[ref] = v[0]
                cached[f"xl/worksheets/sheet{k}.xml"][ref] = v[1]
            else:
                ws[ref] = v
    book.save(path)
    # openpyxl writes formulas without values; a spreadsheet program saves both.
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename in cached and cached[info.filename]:
                values = cached[info.filename]
                data = re.sub(rb'<c r="([A-Z]+[0-9]+)"([^>]*)><f>(.*?)</f>(?:<v\s*/>|<v></v>)</c>',
                              lambda m, values=values: b'<c r="%s"%s><f>%s</f><v>%s</v></c>' % (
                                  m.group(1), m.group(2), m.group(3),
                                  repr(values[m.group(1).decode()]).encode()), data)
            dst.writestr(info, data)
    tmp.replace(path)


def _ods(path: Path, sheets: dict[str, dict]) -> None:
    doc = OpenDocumentSpreadsheet()
    for name, cells in sheets.items():
        table = Table(name=name)
        n_rows = max(r for r, _ in cells) + 1
        n_cols = max(c for _, c in cells) + 1
        for r in range(n_rows):
            tr = TableRow()
            for c in range(n_cols):
                v = cells.get((r, c))
                if v is None:
                    tr.addElement(TableCell())
                elif isinstance(v, tuple):
                    # OpenFormula: [.A1] references, ; between arguments
                    formula = re.sub(r"(\$?[A-Z]+\$?[0-9]+)", r"[.\1]", v[0][1:]).replace(",", ";")
                    cell = TableCell(valuetype="float", value=repr(v[1]), formula="of:=" + formula)
                    cell.addElement(P(text=repr(v[1])))
                    tr.addElement(cell)
                elif isinstance(v, str):
                    cell = TableCell(valuetype="string")
                    cell.addElement(P(text=v))
                    tr.addElement(cell)
                else:
                    cell = TableCell(valuetype="float", value=repr(float(v)))
                    cell.addElement(P(text=repr(v)))
                    tr.addElement(cell)
            table.addElement(tr)
        doc.spreadsheet.addElement(table)
    doc.save(str(path))


def write(path: Path, sheets: dict[str, list[tuple[Block, int, int]]], formulas: bool = True
          ) -> dict[str, list[Placed]]:
    """Blocks placed at (top, left) on each sheet; the placements, for the expected answers."""
    grids: dict[str, dict] = {}
    placed: dict[str, list[Placed]] = {}
    for name, blocks in sheets.items():
        grids[name] = {}
        placed[name] = []
        for block, top, left in blocks:
            p = place(block, top, left, formulas)
            grids[name].update(p.cells)
            placed[name].append(p)
    (_ods if path.suffix == ".ods" else _xlsx)(path, grids)
    return placed
