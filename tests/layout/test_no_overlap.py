"""No two cells of a sheet share a place: a parameter, setting or equation above the table never
lands on its header (an optimizer with a schedule has more parameters than the upper block's
rows; its total_iters value once sat under the header's w1, and every formula reading it was
#VALUE!)."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest

from sheetgen.config import from_mapping
from sheetgen.layout.assemble import build_book

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "write"))
from test_torch_engines import BOOKS, config  # noqa: E402


@pytest.mark.parametrize("name", list(BOOKS))
def test_every_cell_has_its_own_place(tmp_path, name):
    training = from_mapping(config(tmp_path, name) | {"iterations": 3}, name).training()
    book = build_book(training)
    for sheet in book.sheets:
        places = Counter((c.row, c.col) for c in sheet.cells)
        shared = [p for p, n in places.items() if n > 1]
        assert not shared, (name, sheet.name, shared[:5])
