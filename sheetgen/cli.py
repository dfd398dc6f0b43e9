"""Command line: each command a few lines over a public function of the package."""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import replace
from pathlib import Path

from sheetgen import __version__
from sheetgen.config import FORMATS, Config


class UsageError(Exception):
    """Bad input from the user: reported in one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not argparse's usage block
        raise UsageError(f"{self.prog}: {message}")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"not a finite number: {text!r}")
    return value


def _rates(text: str) -> tuple[float, ...]:
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        raise argparse.ArgumentTypeError("the list of learning rates is empty")
    rates = tuple(_number(p) for p in parts)
    if len(set(rates)) != len(rates):
        raise argparse.ArgumentTypeError(f"a learning rate is listed twice: {text!r}")
    return rates


def _formats(text: str) -> tuple[str, ...]:
    if text == "both":
        return FORMATS
    if text in FORMATS:
        return (text,)
    raise argparse.ArgumentTypeError(f"choose xlsx, ods or both, not {text!r}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="sheetgen", description=(
        "Generate, compare and verify live backpropagation workbooks (.xlsx and .ods) "
        "for the 2-2-2 sigmoid network exercise."))
    parser.add_argument("--version", action="version", version=f"sheetgen {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    gen = commands.add_parser(
        "generate", help="write the workbooks (one sheet per learning rate)",
        description="Write outputs/BackPropagation.xlsx and .ods: one sheet per learning rate, "
                    "every computed cell a live formula with its cached value.")
    gen.add_argument("--iterations", type=_positive_int, metavar="N",
                     help="table rows per sheet (default 22)")
    gen.add_argument("--learning-rates", type=_rates, metavar="R,R,...",
                     help="comma-separated learning rates (default 0.1,0.2,0.5,0.8,1,2)")
    gen.add_argument("--format", type=_formats, dest="formats", metavar="xlsx|ods|both",
                     help="which files to write (default both)")
    gen.add_argument("--output-dir", type=Path, metavar="DIR",
                     help="where to write (default outputs/)")
    gen.add_argument("--reference-errata", action="store_true", default=None,
                     help="reproduce the reference sheet's two calculation mistakes")
    gen.set_defaults(run=_generate)
    return parser


def _generate(args: argparse.Namespace) -> int:
    from sheetgen.generate import generate

    config = Config()
    overrides = {name: getattr(args, name) for name in
                 ("iterations", "learning_rates", "formats", "output_dir", "reference_errata")}
    config = replace(config, **{k: v for k, v in overrides.items() if v is not None})
    for path in generate(config):
        print(f"wrote {path} ({len(config.learning_rates)} sheets x {config.iterations} iterations)")
    return 0


def main(argv: list[str] | None = None) -> int:
    from sheetgen.model import ModelError

    try:
        args = build_parser().parse_args(argv)
        if not getattr(args, "run", None):
            build_parser().print_help()
            return 2
        return args.run(args)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        where = f": {exc.filename}" if exc.filename else ""
        print(f"error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; nothing half-written was left behind", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
