"""A class's workbooks in LibreOffice and Gnumeric (each format in each engine once): every
formula of an exercise (blank cells empty) and of a key recalculates to its cached value, and
Gnumeric's recalculation of a filled submission makes every self-check cell say `right`."""

from __future__ import annotations

import csv
import subprocess

import pytest

import sheetgen
from sheetgen import classroom
from sheetgen.check import verify
from sheetgen.config import from_file
from sheetgen.errors import VerifyError
from tests.classroom.submissions import fill

CONFIG = """learning_rates = [0.5]
iterations = 5
formats = ["xlsx", "ods"]
[class]
self_check = true
"""


@pytest.fixture(scope="module")
def small_class(tmp_path_factory):
    root = tmp_path_factory.mktemp("engines")
    (root / "ex.toml").write_text(CONFIG, "utf-8")
    sheetgen.make_class(root / "ex.toml", count=1, output_dir=root / "class", jobs=1)
    return root / "class"


def _books(folder, engine: str):
    """One exercise and one key, of the two formats between the two engines."""
    first, second = ("ods", "xlsx") if engine == "libreoffice" else ("xlsx", "ods")
    return [*(folder / "exercises").glob(f"*.{first}"), *(folder / "keys").glob(f"*.{second}")]


@pytest.mark.libreoffice
def test_libreoffice_recalculates_exercises_and_keys_to_their_cached_values(small_class):
    try:
        verify.find_uno_python()
    except VerifyError:
        pytest.skip("LibreOffice is not installed")
    for path in _books(small_class, "libreoffice"):
        report = verify.verify_file(path, engine="libreoffice")
        assert report.ok, verify.format_report(report)


@pytest.mark.gnumeric
def test_gnumeric_recalculates_them_and_the_self_checks_of_a_filled_sheet(small_class, tmp_path):
    try:
        ssconvert = verify.find_ssconvert()
    except VerifyError:
        pytest.skip("Gnumeric is not installed")
    for path in _books(small_class, "gnumeric"):
        report = verify.verify_file(path, engine="gnumeric")
        assert report.ok, verify.format_report(report)
    record = classroom.read_class(small_class)
    training = classroom.variants_of(from_file(record.config).training(), record)(
        record.students[0]["values"])
    filled = fill(small_class / record.students[0]["exercise"][0], tmp_path / "filled.xlsx", training,
                  record.blank)
    subprocess.run([ssconvert, "--recalc", "-S", str(filled), str(tmp_path / "out.csv")],
                   capture_output=True, timeout=120, check=True)
    rows = list(csv.reader((tmp_path / "out.csv.1").open(encoding="utf-8")))
    checks = [cell for cell in rows[14] if cell in ("right", "not yet", "to do")]
    assert checks == ["right"] * len(record.blank)
