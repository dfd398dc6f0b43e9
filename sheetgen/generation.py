"""Make the workbooks of one configuration: each file complete, or not there at all.

Compute once, render many: the model runs once per learning rate (which is also the check that
no value leaves floating point, before any file is opened); the one Book built from those
runs is written by every writer, and the plots read the same runs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sheetgen.build.assemble import build_book, equations, traces
from sheetgen.build.book import Book
from sheetgen.config import Config, validate
from sheetgen.write import ods, xlsx
from sheetgen.write.atomic import atomic_path, output_set

WRITERS: dict[str, Callable[[Book, Path], None]] = {"xlsx": xlsx.write, "ods": ods.write}


def write_workbook(book: Book, fmt: str) -> Path:
    target = book.config.output_path(fmt)
    with atomic_path(target) as tmp:
        WRITERS[fmt](book, tmp)
    return target


def generate(config: Config) -> list[Path]:
    """Check the settings and run the model, then write one workbook per format (and the plots);
    returns the paths written. ConfigError or ModelError leave the output folder as it was."""
    validate(config)
    runs = traces(config, equations(config))
    book = build_book(config, runs)
    with output_set(config.output_dir, output_paths(config)):
        paths = [write_workbook(book, fmt) for fmt in config.formats]
        if config.plots:
            from sheetgen.write.plots import write_plots  # matplotlib only when plotting

            paths += write_plots(config, runs)
    return paths


def output_paths(config: Config) -> list[Path]:
    """Every file a run writes, known before the first is written."""
    from sheetgen.write.plots import plot_paths

    paths = [config.output_path(fmt) for fmt in config.formats]
    return paths + (plot_paths(config, config.output_dir / "plots") if config.plots else [])
