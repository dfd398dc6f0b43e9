"""Each file complete, or not there at all; every temporary file inside a folder sheetgen owns.

A run writes into `.sheetgen-tmp-<pid>-<random>/` beside its targets and renames each finished
file out of it. It holds a lock on `lock` in that folder while it runs; the kernel drops the lock
when the process ends, SIGKILL included, so a later run recognises leftovers as its own (the
name) and as dead (the lock can be taken, or no process has the pid) and removes them. Nothing
else in the folder is touched.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from sheetgen.errors import WriteError

PREFIX = ".sheetgen-tmp-"
LOCK = "lock"


@contextlib.contextmanager
def owned_folder(parent: Path, prefix: str = PREFIX) -> Iterator[Path]:
    """A new folder in `parent` that only this process uses, removed with all it holds when the
    block ends (also on an error or Ctrl-C); dead runs' folders in `parent` are removed first."""
    parent = Path(parent)
    remove_stale(parent, prefix)
    folder = Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-", dir=parent))
    try:
        # Locked before it gets its final name: a folder whose `lock` can be taken is dead.
        fd = os.open(folder / f"{LOCK}.new", os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.rename(folder / f"{LOCK}.new", folder / LOCK)
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)
            os.close(fd)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def remove_stale(parent: Path, prefix: str = PREFIX) -> list[Path]:
    """Remove the folders `owned_folder` left in `parent` when their process was killed;
    returns them. Folders of live runs, and anything not named like ours, stay."""
    pattern = re.compile(re.escape(prefix) + r"([0-9]+)-[A-Za-z0-9_]+")
    removed = []
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return removed
    for entry in entries:
        match = pattern.fullmatch(entry.name)
        if match and entry.is_dir(follow_symlinks=False) and _dead(Path(entry.path), int(match.group(1))):
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(Path(entry.path))
    return removed


def _dead(folder: Path, pid: int) -> bool:
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # alive, someone else's
    # The pid is in use, perhaps by another process since: the lock tells.
    try:
        fd = os.open(folder / LOCK, os.O_RDWR)
    except OSError:
        return False  # still being set up (or not ours to judge)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False  # its owner holds it: alive
    finally:
        os.close(fd)
    return True


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
