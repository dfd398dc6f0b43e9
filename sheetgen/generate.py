"""Make the workbooks of one configuration: each file complete, or not there at all."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sheetgen.build.book import Book, build_book
from sheetgen.build.summary import first_and_last
from sheetgen.config import Config, validate
from sheetgen.write import ods, xlsx
from sheetgen.write.atomic import atomic_path

WRITERS: dict[str, Callable[[Book, Path], None]] = {"xlsx": xlsx.write, "ods": ods.write}


def write_workbook(config: Config, fmt: str) -> Path:
    target = config.output_path(fmt)
    with atomic_path(target) as tmp:
        WRITERS[fmt](build_book(config), tmp)
    return target


def check_model(config: Config) -> None:
    """Run the model once without writing: a setting that leaves floating point raises
    ModelError here, naming the iteration, before any file is opened (about 4 s per million rows)."""
    net = config.equations()
    for rate in config.learning_rates:
        first_and_last(net, config.setup, rate, config.iterations)  # the summary reuses this pass


def generate(config: Config) -> list[Path]:
    """Check the settings and the model, then write one workbook per format; returns the paths
    written. ConfigError or ModelError leave the output folder as it was."""
    validate(config)
    check_model(config)
    paths = [write_workbook(config, fmt) for fmt in config.formats]
    if config.plots:
        from sheetgen.write.plots import write_plots  # matplotlib only when plotting

        paths += write_plots(config)
    return paths
