"""Every package of the source tree is in pyproject.toml's list, so an installed (not editable)
sheetgen has all of it."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_is_listed():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "sheetgen").rglob("__init__.py")}
    assert found - listed == set()
    assert {p for p in listed if p != "sheetgen.templates"} <= found
