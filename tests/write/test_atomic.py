"""Temporary files live in a folder sheetgen owns: removed at the end of a run, and, after a
SIGKILL, by the next run; a live run's folder and anything not sheetgen's are never touched."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sheetgen import cli
from sheetgen.write.atomic import LOCK, PREFIX, atomic_path, owned_folder, remove_stale


def owned(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.name.startswith(PREFIX))


def test_the_owned_folder_goes_at_the_end_even_on_ctrl_c(tmp_path):
    with owned_folder(tmp_path) as folder:
        (folder / "data").write_bytes(b"x" * 1000)
        assert owned(tmp_path) == [folder] and (folder / LOCK).is_file()
    assert owned(tmp_path) == []
    with pytest.raises(KeyboardInterrupt), atomic_path(tmp_path / "book.xlsx") as tmp:
        tmp.write_bytes(b"half")
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_only_dead_runs_leftovers_are_removed(tmp_path):
    # A run killed with SIGKILL: its pid is gone.
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    child.kill()
    child.wait()
    dead = tmp_path / f"{PREFIX}{child.pid}-abc123"
    dead.mkdir()
    (dead / "BackPropagation.xlsx").write_bytes(b"x" * 1000)
    # A dead run whose pid was reused by a live process: its lock is free.
    reused = tmp_path / f"{PREFIX}1-def456"
    reused.mkdir()
    (reused / LOCK).touch()
    # A live run: it holds its lock (here this process, under another pid in the name).
    live = tmp_path / f"{PREFIX}1-ghi789"
    live.mkdir()
    fd = os.open(live / LOCK, os.O_CREAT | os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)
    # Not ours: other names, and a file named like our folders.
    others = [tmp_path / ".sheetgen-tmp-notes", tmp_path / "sheetgen-tmp-1-x", tmp_path / f"{PREFIX}2-file"]
    others[0].mkdir()
    others[1].mkdir()
    others[2].write_text("mine")
    try:
        assert sorted(remove_stale(tmp_path)) == sorted([dead, reused])
        assert sorted(tmp_path.iterdir()) == sorted([live, *others])
    finally:
        os.close(fd)


def test_a_sigkilled_run_leaves_only_its_folder_and_the_next_run_removes_it(tmp_path):
    out, scratch = tmp_path / "out", tmp_path / "tmp"
    out.mkdir()
    scratch.mkdir()
    args = ["generate", "--iterations", "100000", "--format", "xlsx", "--learning-rates", "0.5",
            "--no-plots", "--output-dir", str(out)]
    process = subprocess.Popen([sys.executable, "-m", "sheetgen", *args], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, env={**os.environ, "TMPDIR": str(scratch)})
    try:
        deadline = time.time() + 90
        while time.time() < deadline and process.poll() is None:
            if sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) > 200_000:
                break
            time.sleep(0.05)
        assert process.poll() is None, "finished before it could be killed"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    left = owned(out)
    assert [p.name for p in out.iterdir()] == [p.name for p in left] and len(left) == 1
    assert list(scratch.iterdir()) == []  # XlsxWriter's row data was in the owned folder too
    status = cli.main(["generate", "--iterations", "3", "--no-plots", "--quiet", "--output-dir", str(out)])
    assert status == 0
    assert sorted(p.name for p in out.iterdir()) == ["BackPropagation.ods", "BackPropagation.xlsx"]


def test_errors_name_the_users_path_and_a_long_name_fits(tmp_path, capsys):
    name = "b" * 245  # with .xlsx, 250 bytes: fits; the old temporary name (.NAME.XXXXXXXX.part) did not
    assert cli.main(["generate", "--iterations", "3", "--no-plots", "--quiet", "--output-dir",
                     str(tmp_path), "--config", str(_config(tmp_path, f"basename = '{name}'"))]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([f"{name}.ods", f"{name}.xlsx", "c.toml"])
    # A name that cannot be written: the message names the file the user asked for.
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "BackPropagation.ods").mkdir()  # a folder where the file should go
    status = cli.main(["generate", "--iterations", "3", "--no-plots", "--format", "ods",
                       "--output-dir", str(tmp_path / "taken")])
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1
    assert err.startswith(f"error: {tmp_path / 'taken' / 'BackPropagation.ods'}: cannot write: "), err
    assert PREFIX not in err


def _config(folder: Path, text: str) -> Path:
    path = folder / "c.toml"
    path.write_text(text, "utf-8")
    return path


def test_a_failed_report_leaves_nothing_new(tmp_path, capsys):
    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "README.md").mkdir()  # a folder where the page should go
    status = cli.main(["report", "--iterations", "3", "--learning-rates", "0.5", "--quiet",
                       "--output-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1
    assert "README.md: cannot write: Is a directory" in err
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == ["report", "report/README.md"]


def test_a_run_failing_midway_removes_what_it_wrote(tmp_path, monkeypatch, capsys):
    from sheetgen import generation

    def broken(book, path):
        raise OSError(28, "No space left on device")

    monkeypatch.setitem(generation.WRITERS, "ods", broken)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    status = cli.main(["generate", "--iterations", "3", "--learning-rates", "0.5", "--quiet",
                       "--output-dir", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert status == 2 and "BackPropagation.ods: cannot write: No space left on device" in err
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["keep.txt"]  # no .xlsx, no plots/


def test_two_runs_into_one_folder_write_one_after_the_other(tmp_path):
    """Two threads, two settings, one folder: the .xlsx and the .ods left are one run's."""
    import threading

    from sheetgen.config import Config
    from sheetgen.generation import generate
    from sheetgen.read.tables import read_tables

    runs = [Config(learning_rates=(rate,), iterations=40, plots=False, output_dir=tmp_path)
            for rate in (0.5, 0.8)]
    threads = [threading.Thread(target=generate, args=(config.training(),)) for config in runs * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sheets = {fmt: list(read_tables(tmp_path / f"BackPropagation.{fmt}"))
              for fmt in ("xlsx", "ods")}
    assert sheets["xlsx"] == sheets["ods"], sheets
