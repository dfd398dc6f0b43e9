"""Work spread over forked processes whose end is quiet.

A pool ends its workers with SIGTERM, and a Ctrl-C reaches every process of the terminal's
group: a worker that kept the command's own handlers would print a traceback of its own. The
parent does the cleaning up; a worker ignores Ctrl-C and ends on SIGTERM or SIGHUP at once.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Callable, Iterable, Sequence
from typing import Any


def _quiet_worker() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)


def can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def can_spread() -> bool:
    """Whether work here can go to forked workers: more than one CPU, fork available, and this
    process not itself a pool's worker (which cannot start workers of its own)."""
    return (os.cpu_count() or 1) > 1 and can_fork() and not multiprocessing.current_process().daemon


def map_in_processes(function: Callable[[Any], Any], items: Sequence[Any], jobs: int,
                     chunks_per_job: int = 8, start: str = "fork") -> list[Any]:
    """`[function(x) for x in items]` in up to `jobs` processes, in the items' order."""
    context = multiprocessing.get_context(start)
    with context.Pool(min(jobs, len(items)), initializer=_quiet_worker) as pool:
        results = pool.map(function, items, chunksize=max(1, len(items) // (jobs * chunks_per_job)))
        pool.close()  # the workers finish and leave; terminate() on the way out finds none
        pool.join()
    return results


def map_as_made(function: Callable[[Any], Any], items: Iterable[Any], jobs: int,
                ahead: int | None = None, start: str = "fork") -> list[Any]:
    """`[function(x) for x in items]` in up to `jobs` processes, in the items' order; each item
    goes to a worker as soon as `items` makes it, so making the next overlaps work on the last.
    `ahead`: the next item is made only while fewer than that many wait or are being worked on
    (items that hold room, such as files, stay bounded)."""
    context = multiprocessing.get_context(start)
    with context.Pool(jobs, initializer=_quiet_worker) as pool:
        pending: list = []
        for item in items:
            pending.append(pool.apply_async(function, (item,)))
            while ahead is not None and sum(not r.ready() for r in pending) >= ahead:
                next(r for r in pending if not r.ready()).wait(0.05)
            if any(r.ready() and not r.successful() for r in pending):
                break   # no more items made: the failure is raised below
        results = [result.get() for result in pending]
        pool.close()
        pool.join()
    return results


__all__ = ["can_fork", "can_spread", "map_as_made", "map_in_processes"]
