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
