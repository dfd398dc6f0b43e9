"""The README and the CLI help agree: every command and option is documented."""

from __future__ import annotations

from pathlib import Path

import pytest

from sheetgen.cli import build_parser

README = (Path(__file__).resolve().parent.parent / "README.md").read_text("utf-8")


def test_readme_starts_with_the_two_commands():
    first_block = README.split("```")[1]
    assert "make run" in first_block and "make test" in first_block


def test_every_command_and_option_is_in_the_readme():
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    for name, sub in commands.items():
        assert f"sheetgen {name}" in README, name
        for action in sub._actions:
            for flag in action.option_strings:
                if flag.startswith("--") and flag != "--help":
                    assert flag in README, (name, flag)


@pytest.mark.libreoffice
def test_the_from_python_section_runs(tmp_path, monkeypatch, capsys):
    """The README's Python example, run as written in an empty folder; its comments say what
    it prints, and the checks below hold it to that."""
    import shutil

    import pytest

    if not shutil.which("soffice") and not shutil.which("libreoffice"):
        pytest.skip("LibreOffice is not installed (the example verifies a workbook)")
    section = README.split("## From Python", 1)[1]
    code = section.split("```python", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {})  # noqa: S102
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == str(["BackPropagation.xlsx", "BackPropagation.ods",
                              "BackPropagation_loss_lr_0.5.png", "BackPropagation_loss_all.png"])
    assert printed[1].startswith("0.24251985734837728 0.0295180")
    assert printed[2] == "True 32"
    assert printed[3].startswith("True Empty DataFrame")
    assert printed[-1] == "settings: learning_rate: unknown key (did you mean 'learning_rates'?)"
    assert any(line.startswith("True") and "checked" in line for line in printed[4:])
