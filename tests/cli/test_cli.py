"""The command line as a user meets it: real processes, exit codes, one-line errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from sheetgen import __version__


def sheetgen(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sheetgen", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=120)


def test_generate_writes_both_files(tmp_path):
    result = sheetgen("generate", "--output-dir", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "BackPropagation.xlsx").stat().st_size > 0
    assert (tmp_path / "out" / "BackPropagation.ods").stat().st_size > 0
    assert "BackPropagation.xlsx" in result.stdout and "BackPropagation.ods" in result.stdout


def test_generate_one_format_and_rates(tmp_path):
    result = sheetgen("generate", "--format", "ods", "--learning-rates", "0.3,3",
                      "--iterations", "5", "--output-dir", str(tmp_path), "--no-plots")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["BackPropagation.ods"]


@pytest.mark.parametrize("args", [
    ["generate", "--iterations", "0"],
    ["generate", "--iterations", "ten"],
    ["generate", "--learning-rates", "0.1,abc"],
    ["generate", "--learning-rates", "0.1,nan"],
    ["generate", "--learning-rates", ","],
    ["generate", "--learning-rates", "0.1,0.1"],
    ["generate", "--format", "pdf"],
    ["generate", "--no-such-flag"],
    ["no-such-command"],
])
def test_bad_arguments_give_one_line_and_status_2(tmp_path, args):
    result = sheetgen(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_version():
    result = sheetgen("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"sheetgen {__version__}"


def test_every_command_has_help():
    from sheetgen.cli import build_parser

    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    assert "generate" in commands
    for name in commands:
        result = sheetgen(name, "--help")
        assert result.returncode == 0 and "usage: sheetgen " + name in result.stdout
