"""Shared fixtures: workbooks generated once per test session into a temporary folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from sheetgen.config import Config
from sheetgen.generation import generate

# Tests that ask for a tool's fixture carry its marker, so `make test-fast` can leave them out.
MARKER_OF_FIXTURE = {"libreoffice": "libreoffice", "gnumeric": "gnumeric"}


def pytest_collection_modifyitems(items):
    for item in items:
        for fixture, marker in MARKER_OF_FIXTURE.items():
            if fixture in getattr(item, "fixturenames", ()):
                item.add_marker(marker)


REFERENCE = Path(__file__).resolve().parent.parent.parent / "shared" / "reference"
REFERENCE_ODS = REFERENCE / "BackPropagation.ods"


@pytest.fixture(scope="session")
def default_books(tmp_path_factory) -> dict[str, Path]:
    """The default workbooks, as `sheetgen generate` writes them: {"xlsx": path, "ods": path}."""
    out = tmp_path_factory.mktemp("default")
    paths = generate(Config(output_dir=out).training())
    return {p.suffix[1:]: p for p in paths}


@pytest.fixture
def reference_ods() -> Path:
    if not REFERENCE_ODS.is_file():
        pytest.skip(f"reference workbook not found at {REFERENCE_ODS} (../shared/reference/)")
    return REFERENCE_ODS
