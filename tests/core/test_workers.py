"""Forked workers end quietly: the parent owns Ctrl-C and SIGTERM's cleaning up."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time

import pytest

from sheetgen.cli import _signals_interrupt
from sheetgen.core.workers import can_fork, map_as_made, map_in_processes


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


def touch(path: str) -> str:
    with open(path, "w") as f:
        f.write(str(os.getpid()))
    return path


@pytest.mark.skipif(not can_fork(), reason="needs fork")
def test_items_as_made_go_to_a_worker_before_the_next_is_made(tmp_path):
    """The second item is made only once a worker has done the first: this would wait forever
    (here: fail) if the items were all made before any work began."""
    def made():
        first = tmp_path / "first"
        yield str(first)
        for _ in range(1000):
            if first.exists():
                break
            time.sleep(0.01)
        assert first.exists(), "the first item was not worked on while the second was made"
        yield str(tmp_path / "second")

    assert map_as_made(touch, made(), jobs=2) == [str(tmp_path / "first"), str(tmp_path / "second")]


@pytest.mark.skipif(not can_fork(), reason="needs fork")
def test_a_failure_making_items_ends_the_workers():
    def made():
        yield -1
        raise ValueError("no more")

    before = set(multiprocessing.active_children())
    with pytest.raises(ValueError, match="no more"):
        map_as_made(abs, made(), jobs=2)
    assert set(multiprocessing.active_children()) <= before


def slow_touch(path: str) -> str:
    time.sleep(0.2)
    return touch(path)


@pytest.mark.skipif(not can_fork(), reason="needs fork")
def test_items_are_made_no_further_ahead_than_asked(tmp_path):
    """With ahead=1, an item is made only once the one before it is done."""
    def made():
        for i in range(3):
            if i:
                assert (tmp_path / str(i - 1)).exists(), f"item {i} made while item {i - 1} was pending"
            yield str(tmp_path / str(i))

    assert map_as_made(slow_touch, made(), jobs=2, ahead=1) == [str(tmp_path / str(i)) for i in range(3)]


@pytest.mark.skipif(not can_fork(), reason="needs fork")
def test_no_more_items_are_made_once_one_failed(tmp_path):
    made = []

    def items():
        for x in ("not a number", *range(50)):
            made.append(x)
            time.sleep(0.02)
            yield x

    with pytest.raises(TypeError):
        map_as_made(abs, items(), jobs=2)
    assert len(made) < 51
