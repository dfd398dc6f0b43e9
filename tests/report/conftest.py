"""Reports made once per test session and shared: matplotlib's plots make each one cost
seconds, and several tests read the same report."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from sheetgen.config import Config, example_text, from_mapping
from sheetgen.report import write_report


def report_config(kind: str, out: Path) -> Config:
    """default, errata (--reference-errata), trained biases, or a shipped example by name
    (biased, deep, softmax, mazur-trained-biases, era)."""
    if kind in ("biased", "deep", "softmax", "mazur-trained-biases", "era"):
        return from_mapping(tomllib.loads(example_text(kind)) | {"output_dir": str(out)})
    if kind == "trained":
        return from_mapping({"biases": {"b1": 0.35, "b2": 0.6, "train": True}, "output_dir": str(out),
                             "learning_rates": [0.5, 3], "iterations": 40})
    return Config(output_dir=out, reference_errata=kind == "errata")


@pytest.fixture(scope="session")
def made_report(tmp_path_factory):
    """kind -> (config, its report folder), written on first use."""
    made: dict[str, tuple[Config, Path]] = {}

    def make(kind: str) -> tuple[Config, Path]:
        if kind not in made:
            config = report_config(kind, tmp_path_factory.mktemp(kind))
            write_report(config.training())
            made[kind] = config, config.output_dir / "report"
        return made[kind]

    return make
