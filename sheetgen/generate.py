"""Make the workbooks of one configuration: each file complete, or not there at all."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from sheetgen.config import Config, validate
from sheetgen.layout import Book, build_book, network
from sheetgen.summary import first_and_last
from sheetgen.writers import ods, xlsx

WRITERS: dict[str, Callable[[Book, Path], None]] = {"xlsx": xlsx.write, "ods": ods.write}


@contextlib.contextmanager
def atomic_path(target: Path):
    """A temporary path beside `target`, renamed onto it only when the block succeeds;
    on any failure (Ctrl-C included) the temporary file goes and `target` is untouched."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(fd)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp's 0600 would make the result private
        yield Path(tmp)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_workbook(config: Config, fmt: str) -> Path:
    target = config.output_path(fmt)
    with atomic_path(target) as tmp:
        WRITERS[fmt](build_book(config), tmp)
    return target


def check_model(config: Config) -> None:
    """Run the model once without writing: a setting that leaves floating point raises
    ModelError here, naming the iteration, before any file is opened (about 4 s per million rows)."""
    net = network(config.setup.biases, config.reference_errata)
    for rate in config.learning_rates:
        first_and_last(net, config.setup, rate, config.iterations)  # the summary reuses this pass


def generate(config: Config) -> list[Path]:
    """Check the settings and the model, then write one workbook per format; returns the paths
    written. ConfigError or ModelError leave the output folder as it was."""
    validate(config)
    check_model(config)
    paths = [write_workbook(config, fmt) for fmt in config.formats]
    if config.plots:
        from sheetgen.plots import write_plots  # matplotlib only when plotting

        paths += write_plots(config)
    return paths
