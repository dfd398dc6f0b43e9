"""Temporary folders a run owns: removed when the run ends, and after a SIGKILL by the next run.

A run works in `<prefix><pid>-<random>/` and holds a lock on `lock` inside it while it runs; the
kernel drops the lock when the process ends, SIGKILL included, so a later run recognises
leftovers as sheetgen's (the name) and as dead (the lock can be taken, or no process has the
pid) and removes them. Nothing else in the parent folder is touched.
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
