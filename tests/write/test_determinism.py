"""The same settings give byte-identical workbooks, whatever the clock, time zone, hash seed,
umask or folder of the run."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import replace
from pathlib import Path

import pytest

from sheetgen.config import Config
from sheetgen.core.model import Setup
from sheetgen.generation import generate
from tests.children import sheetgen_command

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "sheetgen" / "examples"


def run_generate(out: Path, env: dict[str, str], umask: int, *args: str) -> None:
    result = subprocess.run(
        sheetgen_command("generate", "--no-plots", "--output-dir", str(out), *args, umask=umask),
        capture_output=True, text=True, timeout=120, env={**os.environ, **env})
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("args", [
    ["--iterations", "40"],
    ["--config", str(EXAMPLES_DIR / "biased.toml"), "--reference-errata"],
], ids=["default", "biased-errata"])
def test_two_runs_give_identical_bytes(tmp_path, args):
    first, second = tmp_path / "first", tmp_path / "second" / "deeper"
    start = time.time()
    run_generate(first, {"TZ": "UTC", "PYTHONHASHSEED": "1"}, 0o022, *args)
    if time.time() - start < 1.1:  # make sure the clock has moved on between the runs
        time.sleep(1.1)
    run_generate(second, {"TZ": "Pacific/Kiritimati", "PYTHONHASHSEED": "2"}, 0o077, *args)
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in second.iterdir())
    assert {Path(n).suffix for n in names} == {".xlsx", ".ods"}
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_in_process_runs_with_trained_biases_are_identical(tmp_path):
    config = Config(setup=Setup(b1=0.35, b2=0.6, biases="trained"), learning_rates=(0.5, 2.0),
                    iterations=30, plots=False)
    runs = []
    for k in range(2):
        paths = generate(replace(config, output_dir=tmp_path / str(k)).training())
        runs.append({p.name: p.read_bytes() for p in paths})
    assert runs[0].keys() == {"BackPropagation.xlsx", "BackPropagation.ods"}
    assert runs[0] == runs[1]


def test_a_different_setting_gives_different_bytes(tmp_path):
    """The comparison above can fail: a one-ulp change of one weight changes both files."""
    base = Config(iterations=5, plots=False, output_dir=tmp_path / "a")
    nudged = Config(setup=Setup(w1=0.15000000000000002), iterations=5, plots=False,
                    output_dir=tmp_path / "b")
    a = {p.name: p.read_bytes() for p in generate(base.training())}
    b = {p.name: p.read_bytes() for p in generate(nudged.training())}
    assert a.keys() == b.keys()
    for name in a:
        assert a[name] != b[name], name


# --- nothing half-written, nothing lost -----------------------------------------------------

def interrupted_rows(rows, after: int):
    for k, row in enumerate(rows):
        if k == after:
            raise KeyboardInterrupt
        yield row


# Closing the interrupted .xlsx (which removes XlsxWriter's row data) warns of unwritten sheets.
@pytest.mark.filterwarnings("ignore:Unknown worksheet reference")
@pytest.mark.parametrize("fmt", ["xlsx", "ods"])
def test_interrupted_writer_leaves_the_previous_file_and_no_temporary(tmp_path, monkeypatch, fmt):
    """The real writer, stopped by Ctrl-C (KeyboardInterrupt) in the middle of its rows."""
    import tempfile

    from sheetgen import generation as generate_module

    scratch = tmp_path / "tmp"  # where XlsxWriter keeps its row data while writing
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    real_build = generate_module.build_book

    class InterruptedTrace:
        def __init__(self, trace):
            self.trace = trace

        def rows(self):
            return interrupted_rows(self.trace.rows(), after=500)

    def build_then_interrupt(config, runs):
        book = real_build(config, runs)
        book.sheets[1].trace = InterruptedTrace(book.sheets[1].trace)
        return book

    monkeypatch.setattr(generate_module, "build_book", build_then_interrupt)
    out = tmp_path / "out"
    out.mkdir()
    previous = out / f"BackPropagation.{fmt}"
    previous.write_bytes(b"the workbook of an earlier run")
    with pytest.raises(KeyboardInterrupt):
        generate(Config(iterations=2000, formats=(fmt,), plots=False, output_dir=out).training())
    assert sorted(p.name for p in out.iterdir()) == [previous.name]
    assert previous.read_bytes() == b"the workbook of an earlier run"
    assert list(scratch.iterdir()) == []


def test_failing_writer_leaves_no_file(tmp_path, monkeypatch):
    from sheetgen import generation as generate_module

    def half_then_fail(book, path):
        Path(path).write_bytes(b"PK\x03\x04 half a workbook")
        raise OSError(28, "No space left on device")

    monkeypatch.setitem(generate_module.WRITERS, "ods", half_then_fail)
    with pytest.raises(OSError):
        generate(Config(iterations=3, formats=("ods",), plots=False, output_dir=tmp_path).training())
    assert list(tmp_path.iterdir()) == []


def _bytes_in(folder: Path, but: Path) -> int:
    """Bytes of the files under `folder`; a file may vanish between listing and stat."""
    total = 0
    for p in folder.rglob("*"):
        with contextlib.suppress(FileNotFoundError):
            total += p.stat().st_size if p != but and p.is_file() else 0
    return total


EXIT_STATUS = {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGHUP: 129}


@pytest.mark.parametrize(("fmt", "signum"), [("xlsx", signal.SIGINT), ("ods", signal.SIGINT),
                                             ("xlsx", signal.SIGTERM), ("ods", signal.SIGHUP)],
                         ids=["xlsx-INT", "ods-INT", "xlsx-TERM", "ods-HUP"])
def test_ctrl_c_during_a_big_write(tmp_path, fmt, signum):
    """A real process sent SIGINT (or SIGTERM, SIGHUP) while it writes a large workbook: it
    stops at once, with one line, and leaves nothing behind, in the output folder (where its
    owned temporary folder holds the file being written and XlsxWriter's row data) or in the
    system's temporary folder."""
    out, scratch = tmp_path / "out", tmp_path / "tmp"
    out.mkdir()
    scratch.mkdir()
    previous = out / f"BackPropagation.{fmt}"
    previous.write_bytes(b"the workbook of an earlier run")
    process = subprocess.Popen(
        sheetgen_command("generate", "--iterations", "100000", "--format", fmt, "--learning-rates",
                         "0.5", "--no-plots", "--output-dir", str(out), sigint=True),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "TMPDIR": str(scratch)})
    try:
        # Wait until the write is well under way.
        deadline = time.time() + 90
        while time.time() < deadline and process.poll() is None:
            if _bytes_in(out, but=previous) > 200_000:
                break
            time.sleep(0.05)
        assert process.poll() is None, "finished before it could be interrupted"
        process.send_signal(signum)
        sent = time.monotonic()
        _, err = process.communicate(timeout=120)
        stopped = time.monotonic() - sent
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == EXIT_STATUS[signum]
    assert err == "interrupted; nothing half-written was left behind\n"
    # It stops at once (it used to pack up the unfinished .xlsx first: 4-12 s); generous for a busy machine.
    assert stopped < 3, stopped
    assert sorted(p.name for p in out.iterdir()) == [previous.name]
    assert previous.read_bytes() == b"the workbook of an earlier run"
    assert list(scratch.iterdir()) == []
