"""Make the workbooks of one configuration: each file complete, or not there at all."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from sheetgen.config import Config
from sheetgen.layout import Book, build_book
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


def generate(config: Config) -> list[Path]:
    """Write one workbook per format; returns the paths written."""
    return [write_workbook(config, fmt) for fmt in config.formats]
