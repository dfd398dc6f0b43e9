"""Compute once, render many: one model run per learning rate feeds every file of a run."""

from __future__ import annotations

import pandas as pd

from sheetgen.config import Config
from sheetgen.core.template import sheet_name
from sheetgen.generation import generate
from sheetgen.layout import assemble
from sheetgen.layout.assemble import build_book
from sheetgen.write import ods, xlsx


def test_one_default_generate_runs_the_model_once_per_learning_rate(tmp_path, monkeypatch):
    runs = []
    real = assemble.trace
    monkeypatch.setattr(assemble, "trace", lambda *args: runs.append(args[2]) or real(*args))
    paths = generate(Config(output_dir=tmp_path).training())
    assert sorted(p.suffix for p in paths) == [".ods"] + [".png"] * 7 + [".xlsx"]
    assert sorted(runs) == [0.1, 0.2, 0.5, 0.8, 1.0, 2.0]


def test_a_book_can_be_written_again_and_again_to_any_writer(tmp_path):
    config = Config(learning_rates=(0.5, 2.0), iterations=40, plots=False)
    book = build_book(config.training())
    written = [tmp_path / "first.xlsx", tmp_path / "second.ods", tmp_path / "third.xlsx"]
    xlsx.write(book, written[0])
    ods.write(book, written[1])
    xlsx.write(book, written[2])
    for path in written:
        for rate in config.learning_rates:
            frame = pd.read_excel(path, sheet_name=sheet_name(rate), header=15,
                                  engine="odf" if path.suffix == ".ods" else "openpyxl")
            assert frame["E_total"].notna().sum() == 40, (path.name, rate)
    assert written[0].read_bytes() == written[2].read_bytes()
