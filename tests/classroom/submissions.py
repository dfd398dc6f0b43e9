"""Simulated students: an exercise workbook filled in with openpyxl, as a student would type it.

The blank cells get formulas rendered from the equations the student "believes" (the true
network, or one with a catalogued slip, `slips.Slip.net`) by the layout's own renderer, in the
sheet's own references. openpyxl saves formulas without values, as a spreadsheet that never
recalculated would; the values a spreadsheet caches on saving are then put into the file, from
the model's run of those same equations (the model and the rendered formulas agree exactly:
tests/check/test_pycel.py; `test_cached_values_are_what_the_formulas_give` checks one here).
"""

from __future__ import annotations

import re
import shutil
import zipfile
from pathlib import Path

import openpyxl

from sheetgen.core.cells import a1, column_letter
from sheetgen.core.model import Network
from sheetgen.core.template import sheet_name
from sheetgen.core.training import Training
from sheetgen.layout.book import build_sheet, render_row


def fill(exercise: Path, out: Path, training: Training, blanks, net: Network | None = None,
         paste: bool = False) -> Path:
    """`exercise` with every blank cell filled: formulas of `net` (default: the true network's),
    or with `paste` the numbers they give; cached values put in for every formula cell."""
    rate = training.learning_rates[0]
    sheet = build_sheet(training, rate, net or training.network)
    rows = list(sheet.rows)
    book = openpyxl.load_workbook(exercise)
    ws = book[sheet_name(rate)]
    for column in sheet.columns:
        if column.quantity not in blanks:
            continue
        start = 1 if training.network.quantity(column.quantity).is_state else 0
        for k in range(start, sheet.iterations):
            row = sheet.first_row + 1 + k
            formula = render_row(column, "xlsx", row, first=k == 0)
            ws[a1(column.index, row)] = rows[k][column.index] if paste or formula is None else "=" + formula
    book.save(out)
    values = {a1(c.index, sheet.first_row + 1 + k): rows[k][c.index]
              for k in range(sheet.iterations) for c in sheet.columns}
    _cache(out, 2, values)
    return out


def _cache(path: Path, sheet_number: int, values: dict[str, float]) -> None:
    """Put cached values into a sheet's formula cells, as a spreadsheet's save does."""
    part = f"xl/worksheets/sheet{sheet_number}.xml"
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == part:
                text = data.decode("utf-8")
                text = re.sub(r'<c r="([A-Z]+[0-9]+)"([^>]*)><f>(.*?)</f><v\s*/?>(?:</v>)?</c>',
                              lambda m: f'<c r="{m.group(1)}"{m.group(2)}><f>{m.group(3)}</f>'
                                        f'<v>{values[m.group(1)]!r}</v></c>' if m.group(1) in values
                              else m.group(0), text)
                data = text.encode("utf-8")
            dst.writestr(item, data)
    shutil.move(tmp, path)


def column_of(training: Training, quantity: str) -> str:
    return column_letter(training.network.index(quantity))
