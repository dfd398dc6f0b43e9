"""Each file complete, or not there at all; every temporary file inside a folder the run owns.

A file is written as `.sheetgen-tmp-<pid>-<random>/<its name>` beside its target and renamed
onto the target only when complete (see core/tempfolder.py for how leftovers of a killed run
are recognised and removed).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from sheetgen.core.tempfolder import LOCK, PREFIX, owned_folder, remove_stale
from sheetgen.errors import WriteError

__all__ = ["LOCK", "PREFIX", "atomic_path", "owned_folder", "remove_stale"]


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """A temporary path for `target` inside an owned folder beside it, renamed onto it only when
    the block succeeds; on any failure (Ctrl-C included) the temporary file goes and `target`
    is untouched. An OSError inside names `target`, not the temporary file."""
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with owned_folder(target.parent) as folder:
            tmp = folder / target.name  # as long as the final name: it fits wherever that does
            with open(tmp, "xb"):
                pass
            os.chmod(tmp, 0o666 & ~_umask())  # the result gets the usual permissions
            yield tmp
            os.replace(tmp, target)
    except OSError as exc:
        raise WriteError(f"{target}: cannot write: {exc.strerror or exc}") from None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


MAX_NAME_BYTES = 255  # a file name's length on Linux, macOS and Windows file systems


def check_targets(targets: list[Path]) -> None:
    """WriteError for the first target that cannot be written, before any is: a name too long
    for a file system, or a folder in the file's place."""
    for target in targets:
        length = len(target.name.encode("utf-8", "surrogateescape"))
        if length > MAX_NAME_BYTES:
            raise WriteError(f"{target}: cannot write: its name is {length} bytes, a file name has at "
                             f"most {MAX_NAME_BYTES}")
        if target.is_dir():
            raise WriteError(f"{target}: cannot write: Is a directory")
        for parent in target.parents:
            if parent.exists():
                if not parent.is_dir():
                    raise WriteError(f"{target}: cannot write: {parent} is a file, not a folder")
                break


@contextlib.contextmanager
def output_set(folder: Path, targets: list[Path]) -> Iterator[None]:
    """One run's files, all or none new: every name is checked before the first is written; the
    folder is locked while the run writes (two runs into one folder write one after the other,
    so one run's .xlsx never sits beside the other's .ods); on any failure the files this run
    created, and the folders it made for them, are removed (a file it replaced stays replaced)."""
    import fcntl

    check_targets(targets)
    folder = Path(folder)
    made = [p for p in (folder, *folder.parents) if not p.exists()]
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WriteError(f"{folder}: cannot create: {exc.strerror or exc}") from None
    existed = {t for t in targets if t.exists()}
    created_folders = {p for t in targets for p in t.parents if not p.exists()}
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        except BaseException:
            for target in targets:
                if target not in existed:
                    with contextlib.suppress(FileNotFoundError, IsADirectoryError):
                        target.unlink()
            for path in sorted(created_folders | set(made), key=lambda p: len(p.parts), reverse=True):
                with contextlib.suppress(OSError):
                    path.rmdir()  # only when empty
            raise
    finally:
        os.close(fd)  # and with it the lock
