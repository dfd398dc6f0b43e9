"""Progress bars for long runs: one per sheet and format, on stderr, only when asked for.

The command line turns them on (`bars`) when stderr is a terminal and --quiet is not given;
writers wrap their table rows in `track`, which costs nothing when bars are off.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterable, Iterator
from contextvars import ContextVar

_shown: ContextVar[bool] = ContextVar("sheetgen_progress_bars", default=False)
# Runs shorter than this never show a bar, so the default workbook prints nothing extra.
DELAY_SECONDS = 0.5


def wanted(quiet: bool, stream=None) -> bool:
    """Bars only on an interactive terminal, and never with --quiet."""
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    return not quiet and bool(isatty and isatty())


@contextlib.contextmanager
def bars(enabled: bool) -> Iterator[None]:
    token = _shown.set(enabled)
    try:
        yield
    finally:
        _shown.reset(token)


def track(rows: Iterable, total: int, label: str) -> Iterable:
    """`rows` unchanged, counted on a bar named `label` when bars are on."""
    if not _shown.get():
        return rows
    from tqdm import tqdm  # imported only when a bar is drawn

    return tqdm(rows, total=total, desc=label, unit=" rows", file=sys.stderr, leave=False,
                delay=DELAY_SECONDS, mininterval=0.2, dynamic_ncols=True)
