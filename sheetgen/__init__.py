"""sheetgen: live, verified backpropagation workbooks for the 2-2-2 sigmoid network exercise.

The public API: each function takes strings or paths, raises a SheetgenError subclass with the
one-line message the command line would print, and returns a result object or data.

    import sheetgen
    paths = sheetgen.generate(output_dir="out", learning_rates=[0.5], iterations=100)
    frame = sheetgen.trace(learning_rate=0.5, iterations=100)
    result = sheetgen.compare("a.xlsx", "b.ods")        # .equal, .to_frame()
    found = sheetgen.audit("student.xlsx")               # .ok, .to_frame()
    checked = sheetgen.verify("out/BackPropagation.xlsx")  # .ok, .to_frame(); needs LibreOffice
    pages = sheetgen.write_report(output_dir="out")        # out/report/README.md, index.html
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sheetgen.errors import (
    AuditError,
    ConfigError,
    ModelError,
    SheetgenError,
    UsageError,
    VerifyError,
    WorkbookError,
)

if TYPE_CHECKING:
    import pandas as pd

    from sheetgen.check.audit import Audit
    from sheetgen.check.compare import Comparison
    from sheetgen.check.verify import FileReport
    from sheetgen.config import Config

__version__ = "0.1.0"


def settings(config: Config | str | Path | None = None, **overrides: Any) -> Config:
    """A checked Config: the defaults, then `config` (a Config, or the path of a TOML config
    file), then `overrides` named as the config file's keys (learning_rates, iterations,
    output_dir, formats, basename, reference_errata, plots, inputs, targets, weights, biases)."""
    from sheetgen import config as config_module

    if isinstance(config, config_module.Config):
        base, data, source = config, {}, "settings"
    elif config is None:
        base, data, source = None, {}, "settings"
    elif isinstance(config, str | Path):
        base, data, source = None, config_module.read_file(Path(config)), str(config)
    else:
        raise UsageError(f"config: expected a Config or the path of a config file, "
                         f"got {type(config).__name__}")
    data = data | {key: str(value) if isinstance(value, Path) else
                   list(value) if isinstance(value, tuple) else value for key, value in overrides.items()}
    result = config_module.from_mapping(data, source, base)
    config_module.validate(result)
    return result


def generate(config: Config | str | Path | None = None, **overrides: Any) -> list[Path]:
    """Write the workbooks (and plots) of a configuration; returns the paths written."""
    from sheetgen.generation import generate as run

    return run(settings(config, **overrides).training())


def trace(config: Config | str | Path | None = None, *, learning_rate: float | None = None,
          **overrides: Any) -> pd.DataFrame:
    """One run of the model as a DataFrame: a row per iteration (index from 1), a column per
    quantity (t1, ..., w1, ..., h1, a_h1, ..., E_total, dE_dw1, ...). `learning_rate`: which of
    the configuration's rates (the only one, or the first, by default)."""
    from sheetgen.core.model import trace as run

    if learning_rate is not None:
        overrides.setdefault("learning_rates", [learning_rate])
    chosen = settings(config, **overrides)
    rate = chosen.learning_rates[0] if learning_rate is None else float(learning_rate)
    if rate not in chosen.learning_rates:
        raise UsageError(f"learning_rate: {rate:g} is not one of the configuration's learning rates")
    training = chosen.training()
    return run(training.network, training.setup, rate, training.iterations).to_frame()


def write_report(config: Config | str | Path | None = None, **overrides: Any) -> list[Path]:
    """Write the exercise's write-up (DIR/report/README.md, index.html and images/) from the
    model's runs; returns the paths written."""
    from sheetgen.report import write_report as run

    return run(settings(config, **overrides).training())


def _path(name: str, value: Any) -> Path:
    if isinstance(value, str | Path) and str(value):
        return Path(value)
    raise UsageError(f"{name}: expected a file's path (a string or a Path), got {_shown(value)}")


def _shown(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text}" if len(text) <= 40 else type(value).__name__


def _tolerance(name: str, value: Any, positive: bool = False) -> None:
    import math

    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise UsageError(f"{name}: must be a finite number, got {_shown(value)}")
    if value < 0 or (positive and value == 0):
        raise UsageError(f"{name}: must be {'more than 0' if positive else '0 or more'}, got {value:g}")


def compare(a: str | Path, b: str | Path, sheets: list[tuple[str, str]] | None = None, *,
            rtol: float | None = None, atol: float | None = None) -> Comparison:
    """Compare the training tables of two workbooks cell by cell (stored values)."""
    a, b = _path("a", a), _path("b", b)
    _tolerance("rtol", rtol)
    _tolerance("atol", atol)
    if sheets is not None and (isinstance(sheets, str | bytes) or not all(
            isinstance(pair, list | tuple) and len(pair) == 2 and all(isinstance(n, str) for n in pair)
            for pair in _items(sheets))):
        raise UsageError(f"sheets: expected pairs of sheet names such as [('lr=0.5', 'lr=0.5')], "
                         f"got {_shown(sheets)}")
    from sheetgen.check.compare import DEFAULT_ATOL, DEFAULT_RTOL, compare_workbooks

    return compare_workbooks(a, b, sheets and [tuple(pair) for pair in sheets],
                             rtol=DEFAULT_RTOL if rtol is None else rtol,
                             atol=DEFAULT_ATOL if atol is None else atol)


def _items(value: Any) -> list:
    try:
        return list(value)
    except TypeError:
        return [None]


def audit(path: str | Path) -> Audit:
    """Find the wrong formulas of a hand-made backpropagation workbook."""
    path = _path("path", path)
    from sheetgen.check.audit import audit as run

    return run(path)


def verify(path: str | Path, *, rtol: float | None = None, timeout: float | None = None,
           engine: str = "libreoffice") -> FileReport:
    """Recalculate a workbook in LibreOffice (or Gnumeric: engine="gnumeric") and compare every
    formula with its cached value."""
    path = _path("path", path)
    _tolerance("rtol", rtol)
    _tolerance("timeout", timeout, positive=True)
    from sheetgen.check.verify import DEFAULT_RTOL, DEFAULT_TIMEOUT, check_engines, verify_file

    if engine == "all":
        raise UsageError("engine: one report is one engine's: 'libreoffice' or 'gnumeric'")
    check_engines(engine)
    return verify_file(path, DEFAULT_RTOL if rtol is None else rtol,
                       DEFAULT_TIMEOUT if timeout is None else timeout, engine)


def make_class(config: str | Path, *, students: str | Path | None = None, count: int | None = None,
               output_dir: str | Path, jobs: int | None = None):
    """For teachers: a variant, an exercise and an answer key per student (`students`: a roster
    CSV with an id column; or `count` students s001...), the class list and a README, written to
    `output_dir`; everything is checked before the first file is written. Returns a ClassResult
    (.variants, .draws, .paths)."""
    from sheetgen import classroom

    if (students is None) == (count is None):
        raise UsageError("give students (a roster CSV) or count, not both or neither")
    folder = _path("output_dir", output_dir)
    path = _path("config", config)
    roster = classroom.counted(count) if students is None else \
        classroom.read_roster(_path("students", students))
    from sheetgen import config as config_module

    loaded, _ = config_module.load(path, output_dir=folder, plots=False)
    text = config_module.read_file(path) and path.read_text("utf-8-sig")
    return classroom.write_class(loaded.training(), loaded.exercise, roster, folder, text, jobs)


def grade(submissions, class_dir: str | Path, *, output_dir: str | Path | None = None,
          mark: bool = False, jobs: int | None = None):
    """For teachers: grade the students' workbooks against the class `sheetgen class` wrote in
    `class_dir`; writes gradebook.csv and gradebook.html. Returns (Gradebook, paths)."""
    from sheetgen import classroom
    from sheetgen import config as config_module

    if isinstance(submissions, str | Path):
        submissions = [submissions]
    record = classroom.read_class(_path("class_dir", class_dir))
    training = config_module.from_file(record.config).training()
    return classroom.write_gradebook([_path("submission", p) for p in submissions], record, training,
                                     output_dir, mark, jobs)


__all__ = ["AuditError", "ConfigError", "ModelError", "SheetgenError", "UsageError", "VerifyError",
           "WorkbookError", "__version__", "audit", "compare", "generate", "grade", "make_class", "settings",
           "trace", "verify", "write_report"]
