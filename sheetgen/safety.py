"""Guards for workbook files read from users: checked before any parser sees them."""

from __future__ import annotations

import zipfile
from pathlib import Path

# Far above any real workbook of this exercise (6 x 50,000 rows is about 300 MB of XML).
MAX_UNCOMPRESSED = 2 * 1024**3
MAX_RATIO = 200          # deflate rarely beats 100:1 on spreadsheet XML; bombs go far beyond
MAX_ENTRIES = 10_000


class WorkbookError(ValueError):
    """A workbook cannot be read; the message is one line for the user."""


def check_workbook(path: Path) -> None:
    """Raise WorkbookError unless `path` is a readable zip of plausible size."""
    path = Path(path)
    if not path.is_file():
        raise WorkbookError(f"{path}: no such file")
    if path.suffix.lower() not in (".xlsx", ".ods"):
        raise WorkbookError(f"{path}: not an .xlsx or .ods file")
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except zipfile.BadZipFile:
        raise WorkbookError(f"{path}: not a valid {path.suffix} file (not a zip archive)") from None
    except OSError as exc:
        raise WorkbookError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(infos) > MAX_ENTRIES:
        raise WorkbookError(f"{path}: too many entries in the archive ({len(infos)})")
    total = sum(i.file_size for i in infos)
    packed = max(1, sum(i.compress_size for i in infos))
    if total > MAX_UNCOMPRESSED or total / packed > MAX_RATIO and total > 64 * 1024**2:
        raise WorkbookError(f"{path}: refused: it would expand to {total:,} bytes (zip bomb?)")
