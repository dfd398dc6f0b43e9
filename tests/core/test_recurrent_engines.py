"""Gnumeric, the second engine, recalculates every recurrent example in both formats (small
books: one rate, a few steps). LibreOffice does the same for every example in
tests/cli/test_network_cli.py."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sheetgen.check import verify
from sheetgen.cli import main
from tests.core.test_recurrent import RECURRENT_EXAMPLES


@pytest.fixture(scope="module")
def books(tmp_path_factory) -> dict[str, dict[str, Path]]:
    root = tmp_path_factory.mktemp("recurrent")
    out = {}
    for name in RECURRENT_EXAMPLES:
        config = root / f"{name}.toml"
        assert main(["init-config", "--example", name, "--output", str(config)]) == 0
        assert main(["generate", "--config", str(config), "--iterations", "4", "--learning-rates",
                     "0.1", "--no-plots", "--quiet", "--output-dir", str(root / name)]) == 0
        out[name] = {p.suffix[1:]: p for p in (root / name).iterdir() if p.suffix in (".xlsx", ".ods")}
    return out


@pytest.mark.gnumeric
@pytest.mark.slow
@pytest.mark.parametrize("name", RECURRENT_EXAMPLES)
@pytest.mark.parametrize("fmt", ["xlsx", "ods"])
def test_gnumeric_recalculates_every_recurrent_example(books, name, fmt):
    if not shutil.which("ssconvert"):
        pytest.skip("Gnumeric is not installed (Debian/Ubuntu: apt-get install gnumeric)")
    report = verify.verify_file(books[name][fmt], engine="gnumeric")
    assert report.checked > 200
    # Every cell agrees at 1e-12 relative but, in a long run, a δ or a cell state whose terms
    # nearly cancel (−1.3e-4 from terms of 0.1): Gnumeric rounds such a sum differently in its
    # last bit, a few 1e-16 absolute, which is over 1e-12 of the small result.
    for sheet in report.sheets:
        assert not sheet.errors, verify.format_report(report)
        for d in sheet.differences:
            assert isinstance(d.recalculated, float), verify.format_report(report)
            assert abs(d.stored - d.recalculated) < 1e-15, verify.format_report(report)
            assert d.relative < 1e-10, verify.format_report(report)
