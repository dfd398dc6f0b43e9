"""What one `sheetgen generate` run makes: the experiment and where its files go."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sheetgen.model import Setup

FORMATS = ("xlsx", "ods")
DEFAULT_LEARNING_RATES = (0.1, 0.2, 0.5, 0.8, 1.0, 2.0)
DEFAULT_ITERATIONS = 22  # the reference table's row count


@dataclass(frozen=True)
class Config:
    setup: Setup = field(default_factory=Setup)
    learning_rates: tuple[float, ...] = DEFAULT_LEARNING_RATES
    iterations: int = DEFAULT_ITERATIONS
    formats: tuple[str, ...] = FORMATS
    output_dir: Path = Path("outputs")
    basename: str = "BackPropagation"
    reference_errata: bool = False
    plots: bool = True

    def output_path(self, fmt: str) -> Path:
        return self.output_dir / f"{self.basename}.{fmt}"
