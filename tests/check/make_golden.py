"""Write the golden snapshots in tests/check/golden/: `make golden`. Never edit them by hand.

One CSV per sheet of the default workbook (tests/check/golden/default/) and of the reference-errata
workbook (tests/check/golden/errata/): the table's header row as the sheet has it, then one line per
iteration, every value to 17 significant digits (enough to read back the exact float64).
A change in these files is a change in the numbers sheetgen writes: review the diff.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

GOLDEN = Path(__file__).resolve().parent / "golden"
sys.path.insert(0, str(GOLDEN.parents[2]))  # run from a checkout without installing

from sheetgen.config import Config  # noqa: E402
from sheetgen.layout.assemble import build_book  # noqa: E402

CASES = {"default": Config(), "errata": Config(reference_errata=True)}


def golden_rows(config: Config) -> dict[str, list[list[str]]]:
    """Sheet name -> CSV rows (header, then one per iteration) for one configuration."""
    sheets = {}
    for sheet in build_book(config.training()).sheets:
        rows = [[column.header for column in sheet.columns]]
        rows += [[format(value, ".17g") for value in values] for values in sheet.rows]
        sheets[sheet.name] = rows
    return sheets


def write_golden(root: Path = GOLDEN) -> list[Path]:
    written = []
    for case, config in CASES.items():
        folder = root / case
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.csv"):
            old.unlink()
        for name, rows in golden_rows(config).items():
            path = folder / f"{name}.csv"
            with open(path, "w", newline="", encoding="utf-8") as out:
                csv.writer(out, lineterminator="\n").writerows(rows)
            written.append(path)
    return written


if __name__ == "__main__":
    paths = write_golden()
    print(f"wrote {len(paths)} golden files under {GOLDEN}")
