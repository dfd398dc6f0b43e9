"""Write the books `make screenshots` photographs: every shipped example at 1,000 iterations
(scrolling them shows whether the header stays), both formats.

Usage: python scripts/shot_books.py OUT_DIR [EXAMPLE.toml ...]   (default: every shipped example)

A book of more than BUDGET computed cells keeps fewer learning-rate sheets (its first rates), and
one sheet of more than BUDGET cells fewer rows: an image or recurrent network has 800-1,500
columns a sheet, and its full book at 1,000 rows (50-150 MB) takes either application many
minutes to open. What each book holds is printed and written to OUT_DIR/BOOKS.txt.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from sheetgen.config import from_file

ROWS = 1000
BUDGET = 1_000_000       # computed cells a book (columns x rows x sheets)


def plan(example: Path) -> tuple[int, list[float], str]:
    """The rows and rates of an example's screenshot book, and a line saying so."""
    config = from_file(example)
    training = replace(config, iterations=1).training()
    columns = len(training.columns)
    rates = list(training.learning_rates)
    keep = max(1, min(len(rates), BUDGET // (columns * ROWS)))
    rows = ROWS if columns * ROWS <= BUDGET else max(100, BUDGET // columns // 100 * 100)
    line = f"{example.stem}: {columns:,} columns, {rows:,} rows, {keep} of {len(rates)} rates"
    if keep < len(rates) or rows < ROWS:
        line += f" (kept under {BUDGET:,} cells)"
    return rows, rates[:keep], line


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__.strip().splitlines()[3], file=sys.stderr)
        return 2
    out = Path(argv[0])
    examples = [Path(p) for p in argv[1:]] or sorted(Path("sheetgen/examples").glob("*.toml"))
    out.mkdir(parents=True, exist_ok=True)
    lines = []
    sheetgen = Path(sys.executable).with_name("sheetgen")
    for example in examples:
        rows, rates, line = plan(example)
        subprocess.run([str(sheetgen), "generate", "--quiet", "--no-plots", "--iterations", str(rows),
                        "--learning-rates", ",".join(repr(r) for r in rates), "--config", str(example),
                        "--output-dir", str(out)], check=True, stdout=subprocess.DEVNULL)
        print(line)
        lines.append(line)
    (out / "BOOKS.txt").write_text("\n".join(lines) + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
