"""The public API: strings or paths in, results out, and the CLI's one-line errors."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

import sheetgen
from sheetgen.cli import main


def cli_error(capsys, *argv: str) -> str:
    assert main(list(argv)) == 2
    return capsys.readouterr().err.strip().removeprefix("error: ")


def test_the_api_names_what_the_readme_promises():
    for name in ("generate", "trace", "compare", "audit", "verify", "SheetgenError"):
        assert name in sheetgen.__all__
    importlib.import_module("sheetgen.generation")  # a submodule must not hide the function
    assert callable(sheetgen.generate)


def test_a_bad_setting_raises_the_message_a_config_file_gets(tmp_path, capsys):
    config = tmp_path / "bad.toml"
    config.write_text("iterations = 0\n")
    with pytest.raises(sheetgen.ConfigError) as raised:
        sheetgen.generate(output_dir=tmp_path, iterations=0)
    printed = cli_error(capsys, "generate", "--config", str(config))
    assert str(raised.value).removeprefix("settings: ") == printed.removeprefix(f"{config}: ")


def test_a_misspelled_keyword_is_an_error_not_ignored(tmp_path):
    with pytest.raises(sheetgen.SheetgenError, match="did you mean 'iterations'"):
        sheetgen.generate(output_dir=tmp_path, iteration=5)
    assert not any(tmp_path.iterdir())
    with pytest.raises(TypeError):
        sheetgen.audit(tmp_path / "x.xlsx", strict=True)


@pytest.mark.parametrize("command", ["audit", "compare"])
def test_a_missing_file_gives_the_clis_message(tmp_path, capsys, command):
    missing = tmp_path / "missing.xlsx"
    files = [missing] if command == "audit" else [missing, missing]
    with pytest.raises(sheetgen.WorkbookError) as raised:
        getattr(sheetgen, command)(*map(str, files))
    assert str(raised.value) == cli_error(capsys, command, *map(str, files))


def test_strings_and_paths_are_both_accepted(tmp_path):
    paths = sheetgen.generate(output_dir=str(tmp_path), learning_rates=(0.5,), iterations=5, plots=False)
    assert [p.name for p in paths] == ["BackPropagation.xlsx", "BackPropagation.ods"]
    assert sheetgen.compare(paths[0], str(paths[1])).equal
    assert sheetgen.audit(Path(paths[1])).ok


def test_verify_names_an_unknown_engine():
    with pytest.raises(sheetgen.SheetgenError, match="engine"):
        sheetgen.verify("any.xlsx", engine="excel")
    with pytest.raises(sheetgen.UsageError, match="one engine"):
        sheetgen.verify("any.xlsx", engine="all")


def test_trace_is_one_row_per_iteration_with_a_column_per_quantity():
    frame = sheetgen.trace(learning_rate=0.8, iterations=22)
    assert list(frame.index) == list(range(1, 23))
    assert frame.loc[1, "E_total"] == 0.24251985734837728
    assert abs(frame.loc[22, "E_total"] - 0.0915726) < 1e-7
    assert {"w1", "a_h1", "dE_dw5"} <= set(frame.columns)
    with pytest.raises(sheetgen.UsageError, match="learning_rate"):
        sheetgen.trace(learning_rates=[0.1], learning_rate=0.5)
