"""The README and the CLI help agree: every command and option is documented."""

from __future__ import annotations

from pathlib import Path

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
