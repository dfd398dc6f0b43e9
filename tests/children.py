"""Start `python -m sheetgen ...` children without `preexec_fn`.

Python code run between fork and exec (preexec_fn) can deadlock when the test process has other
threads; a child stuck there never starts and prints nothing. The settings it made are made by
the child's own first lines instead.
"""

from __future__ import annotations

import sys

PRELUDE = {
    # Ctrl-C reaches the child even when the test run ignores SIGINT (started in the background
    # by a non-interactive shell), which the child would inherit.
    "sigint": "import signal; signal.signal(signal.SIGINT, signal.default_int_handler)",
}


def sheetgen_command(*args: str, umask: int | None = None, sigint: bool = False) -> list[str]:
    """The command line of `python -m sheetgen ARGS`, first setting the umask or SIGINT."""
    lines = []
    if sigint:
        lines.append(PRELUDE["sigint"])
    if umask is not None:
        lines.append(f"import os; os.umask({umask:#o})")
    lines.append("import runpy, sys; sys.argv[0] = 'sheetgen'; "
                 "runpy.run_module('sheetgen', run_name='__main__', alter_sys=True)")
    return [sys.executable, "-c", "\n".join(lines), *args]
