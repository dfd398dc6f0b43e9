"""Forked workers end quietly: the parent owns Ctrl-C and SIGTERM's cleaning up."""

from __future__ import annotations

import os
import signal

import pytest

from sheetgen.cli import _signals_interrupt
from sheetgen.core.workers import can_fork, map_in_processes


def handlers(_: int) -> tuple[bool, bool, bool, int]:
    return (signal.getsignal(signal.SIGINT) is signal.SIG_IGN,
            signal.getsignal(signal.SIGTERM) is signal.SIG_DFL,
            signal.getsignal(signal.SIGHUP) is signal.SIG_DFL, os.getpid())


@pytest.mark.skipif(not can_fork(), reason="needs fork")
def test_workers_ignore_ctrl_c_and_end_on_sigterm_without_the_commands_handlers():
    with _signals_interrupt():  # as under the CLI: SIGTERM raises in the parent
        results = map_in_processes(handlers, range(6), jobs=2)
    assert all(r[:3] == (True, True, True) for r in results), results
    assert os.getpid() not in {r[3] for r in results}  # the work ran in the workers
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the parent's own came back


def test_results_keep_the_items_order():
    assert map_in_processes(abs, [-3, 1, -2, 5, -8], jobs=2) == [3, 1, 2, 5, 8]
