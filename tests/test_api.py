"""The public API: strings or paths in, results out, and the CLI's one-line errors."""

from __future__ import annotations

import importlib
import re
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


@pytest.mark.parametrize("call, words", [
    (lambda: sheetgen.compare("a.xlsx", "b.ods", rtol=-1), "rtol: must be"),
    (lambda: sheetgen.compare("a.xlsx", "b.ods", atol=float("nan")), "atol: must be a finite number"),
    (lambda: sheetgen.compare("a.xlsx", "b.ods", rtol="1e-9"), "rtol: must be a finite number"),
    (lambda: sheetgen.compare(None, None), "a: expected a file's path"),
    (lambda: sheetgen.compare("a.xlsx", "b.ods", sheets="lr=0.5"), "sheets: expected pairs"),
    (lambda: sheetgen.compare("a.xlsx", "b.ods", sheets=[("lr=0.5",)]), "sheets: expected pairs"),
    (lambda: sheetgen.compare("a.xlsx", "b.ods", sheets=5), "sheets: expected pairs"),
    (lambda: sheetgen.audit(None), "path: expected a file's path"),
    (lambda: sheetgen.verify(None), "path: expected a file's path"),
    (lambda: sheetgen.verify("a.xlsx", rtol=-1), "rtol: must be 0 or more"),
    (lambda: sheetgen.verify("a.xlsx", timeout=-5), "timeout: must be more than 0, got -5"),
    (lambda: sheetgen.verify("a.xlsx", timeout=0), "timeout: must be more than 0"),
])
def test_every_bad_argument_is_a_sheetgen_error_naming_it_before_any_work(call, words, monkeypatch):
    import time

    from sheetgen.check import verify

    def started(*args, **kwargs):
        raise AssertionError("a program was started")

    monkeypatch.setattr(verify, "_start", started)
    start = time.process_time()  # CPU time: the machine may be shared
    with pytest.raises(sheetgen.SheetgenError, match=re.escape(words)):
        call()
    assert time.process_time() - start < 1  # no file read


def test_a_data_file_may_be_given_as_a_path(tmp_path):
    (tmp_path / "s.csv").write_text("i1,t1\n0,1\n1,3\n", "utf-8")
    config = sheetgen.settings(network={"layers": [1, 1]}, data={"file": tmp_path / "s.csv"})
    assert config.data.rows == ((0.0, 1.0), (1.0, 3.0))
