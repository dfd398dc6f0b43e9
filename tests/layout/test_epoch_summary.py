"""The summary's per-epoch formulas compute their own cached values: each SUM or AVERAGE over a
learning-rate sheet's E_total column, evaluated here on that sheet's cached values, under every
`data.reduction` (the engines check the same in tests/write/test_torch_engines.py, slowly)."""

from __future__ import annotations

import re

import pytest

from sheetgen.config import from_mapping
from sheetgen.core.cells import parse_cell
from sheetgen.layout.assemble import build_book

SAMPLES = [{"i1": 0.0, "i2": 1.0, "t1": 1.0, "t2": 0.0}, {"i1": 1.0, "i2": 0.0, "t1": 0.0, "t2": 1.0},
           {"i1": 1.0, "i2": 1.0, "t1": 0.7, "t2": 0.3}, {"i1": 0.2, "i2": 0.4, "t1": 0.4, "t2": 0.6},
           {"i1": 0.5, "i2": 0.9, "t1": 0.1, "t2": 0.9}]
OVER = re.compile(r"^(SUM|AVERAGE)\('?(.+?)'?!\$([A-Z]+)\$(\d+):\$([A-Z]+)\$(\d+)\)$")


@pytest.mark.parametrize("reduction", ["mean", "sum", "torch"])
def test_every_epoch_formula_computes_its_cached_value(tmp_path, reduction):
    training = from_mapping({
        "learning_rates": [0.05, 0.5], "iterations": 11, "output_dir": str(tmp_path), "plots": False,
        "network": {"layers": [2, 3, 2], "activations": ["tanh", "softmax"], "loss": "cross_entropy"},
        "data": {"samples": SAMPLES, "batch": 2, "reduction": reduction}}).training()
    book = build_book(training)
    sheets = {s.name: s for s in book.sheets}
    checked = 0
    for f in book.summary.formulas:
        match = OVER.match(f.formulas["xlsx"])
        if not match:
            continue
        fn, name, col, first, _, last = match.groups()
        sheet = sheets[name.replace("''", "'")]
        e_col = parse_cell(f"{col}1")[1]
        assert sheet.columns[e_col].quantity == "E_total", f.formulas["xlsx"]
        rows = slice(int(first) - 1 - sheet.first_row, int(last) - sheet.first_row)
        values = list(sheet.trace.column("E_total"))[rows]
        expected = sum(values) if fn == "SUM" else sum(values) / len(values)
        assert f.value == pytest.approx(expected, rel=1e-15), (f.formulas["xlsx"], reduction)
        checked += 1
    assert checked >= 2 * 3 + 2  # three epochs per rate, and each rate's last epoch's loss
