"""Make the workbooks of one training: each file complete, or not there at all.

Compute once, render many: the model runs once per learning rate (which is also the check that
no value leaves floating point, before any file is opened); the one Book built from those
runs is written by every writer, and the plots read the same runs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sheetgen.core.training import Training
from sheetgen.layout.assemble import build_book, equations, traces
from sheetgen.layout.book import Book
from sheetgen.write import ods, xlsx
from sheetgen.write.atomic import atomic_path, output_set

WRITERS: dict[str, Callable[[Book, Path], None]] = {"xlsx": xlsx.write, "ods": ods.write}


def write_workbook(book: Book, fmt: str) -> Path:
    target = book.training.output_path(fmt)
    with atomic_path(target) as tmp:
        WRITERS[fmt](book, tmp)
    return target


def generate(training: Training) -> list[Path]:
    """Run the model, then write one workbook per format (and the plots); returns the paths
    written. ModelError leaves the output folder as it was (the settings were checked when the
    training was built: `sheetgen.config.load`)."""
    runs = traces(training, equations(training))
    book = build_book(training, runs)
    with output_set(training.output_dir, output_paths(training)):
        paths = [write_workbook(book, fmt) for fmt in training.formats]
        if training.plots:
            from sheetgen.write.plots import write_plots  # matplotlib only when plotting

            paths += write_plots(training, runs)
    return paths


def output_paths(training: Training) -> list[Path]:
    """Every file a run writes, known before the first is written."""
    from sheetgen.write.plots import plot_paths

    paths = [training.output_path(fmt) for fmt in training.formats]
    return paths + (plot_paths(training, training.output_dir / "plots") if training.plots else [])
