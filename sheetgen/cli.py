"""Command line: each command a few lines over a public function of the package."""

from __future__ import annotations

import argparse
import contextlib
import math
import re
import signal
import sys
from pathlib import Path

from sheetgen import __version__
from sheetgen.config import EXAMPLES, FORMATS, example_files, example_text, load, shorten
from sheetgen.core import progress
from sheetgen.errors import SheetgenError, UsageError

# A quoted piece of input this long in an argparse message is cut short (shorten() gives less).
_QUOTED = re.compile(r"'([^'\n]{61,})'")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not argparse's usage block
        message = _QUOTED.sub(lambda m: repr(shorten(m.group(1))), " ".join(message.split()))
        raise UsageError(f"{self.prog}: {message}")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {shorten(text)!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {shorten(str(value))}")
    return value


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {shorten(text)!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"not a finite number: {shorten(text)!r}")
    if value == 0 and any(c in "123456789" for c in text.lower().partition("e")[0]):
        raise argparse.ArgumentTypeError(f"{shorten(text.strip())} underflows to 0 "
                                         "(the smallest float is about 5e-324)")
    return value


def _folder(text: str) -> Path:
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty (for the current folder, give .)")
    return Path(text)


def _non_negative(text: str) -> float:
    value = _number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {shorten(text)}")
    return value


def _positive(text: str) -> float:
    value = _number(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {shorten(text)}")
    return value


def _rates(text: str) -> tuple[float, ...]:
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        raise argparse.ArgumentTypeError("the list of learning rates is empty")
    rates = tuple(_number(p) for p in parts)
    if len(set(rates)) != len(rates):
        raise argparse.ArgumentTypeError(f"a learning rate is listed twice: {shorten(text)!r}")
    return rates


def _formats(text: str) -> tuple[str, ...]:
    if text == "both":
        return FORMATS
    if text in FORMATS:
        return (text,)
    raise argparse.ArgumentTypeError(f"choose xlsx, ods or both, not {shorten(text)!r}")


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
    _experiment_flags(gen)
    gen.add_argument("--format", type=_formats, dest="formats", metavar="xlsx|ods|both",
                     help="which files to write (default both)")
    gen.add_argument("--no-plots", dest="plots", action="store_false", default=None,
                     help="skip the PNG loss plots "
                          "(DIR/plots/BASENAME_loss_lr_<rate>.png, BASENAME_loss_all.png)")
    gen.add_argument("--quiet", action="store_true",
                     help="print nothing but warnings and errors: no progress bars (shown on a "
                          "terminal for long runs), no 'wrote' lines")
    gen.set_defaults(run=_generate)

    rep = commands.add_parser(
        "report", help="write the exercise's write-up (Markdown and a web page) from the same numbers",
        description="Write DIR/report/README.md (Markdown with $...$ math), DIR/report/index.html "
                    "(one page that renders offline, math as MathML) and DIR/report/images/: the "
                    "network, the forward pass and the derivatives worked with iteration 1's "
                    "numbers, the weight update, one loss plot per learning rate and the best rate.")
    _experiment_flags(rep)
    rep.add_argument("--quiet", action="store_true", help="print nothing but warnings and errors")
    rep.set_defaults(run=_report, formats=None, plots=None)

    init = commands.add_parser(
        "init-config", help="write a commented example config file",
        description="Print (or write to --output) a commented experiment config for "
                    "`sheetgen generate --config`: the defaults or one of the shipped examples.")
    init.add_argument("--example", choices=EXAMPLES, default="reference",
                      help="reference: the defaults (default); biased: the worked example with "
                           "fixed biases; mazur-trained-biases: a trained bias per neuron; era: "
                           "targets 0.5 / 0.5; deep: 2-3-3-2, tanh then sigmoid; softmax: 2-3-3 "
                           "with softmax and cross-entropy; softmax-per-layer: the same with one "
                           "bias per layer; xor: 2-2-1 on XOR's 4 samples, full "
                           "batch, gradient descent; linear-sgd, linear-momentum, linear-adam: "
                           "y = a·x + b on 30 samples, one per row, with that optimizer; "
                           "conv-digits: a small CNN (conv2d, maxpool, dense softmax) on ten 8×8 "
                           "digits (with --output, conv-digits.csv is written beside FILE); "
                           "conv-edge: one 3×3 kernel learning a vertical-edge detector")
    init.add_argument("--output", type=Path, metavar="FILE",
                      help="write to FILE (which must not exist yet) instead of printing")
    init.set_defaults(run=_init_config)

    ver = commands.add_parser(
        "verify", help="recalculate workbooks in LibreOffice and compare with their cached values",
        description="Open each FILE (.xlsx or .ods) in a private headless LibreOffice, recalculate "
                    "every formula and compare it with the value stored in the file, as exact "
                    "doubles. Exit status 0: all agree; 1: a cell differs or is an error; 2: cannot run.")
    ver.add_argument("files", type=Path, nargs="+", metavar="FILE", help="workbooks to verify")
    ver.add_argument("--rtol", type=_non_negative, default=1e-12, metavar="R",
                     help="largest relative difference that counts as agreeing (default 1e-12)")
    ver.add_argument("--timeout", type=_positive, default=300.0, metavar="SECONDS",
                     help="give up on a file after this long (default 300)")
    ver.add_argument("--engine", choices=("libreoffice", "gnumeric", "all"), default="libreoffice",
                     help="which program recalculates: LibreOffice (default), Gnumeric "
                          "(ssconvert --recalc), or all, one after the other")
    ver.set_defaults(run=_verify)
    _add_compare(commands)
    _add_audit(commands)
    _add_class(commands)
    return parser


def _experiment_flags(parser: argparse.ArgumentParser) -> None:
    """The settings of one experiment, shared by generate and report."""
    parser.add_argument("--iterations", type=_positive_int, metavar="N",
                        help="table rows per sheet (default 22)")
    parser.add_argument("--learning-rates", type=_rates, metavar="R,R,...",
                        help="comma-separated learning rates (default 0.1,0.2,0.5,0.8,1,2)")
    parser.add_argument("--output-dir", type=_folder, metavar="DIR",
                        help="where to write (default outputs/)")
    parser.add_argument("--reference-errata", action="store_true", default=None,
                        help="reproduce the reference sheet's two calculation mistakes")
    parser.add_argument("--config", type=Path, metavar="FILE",
                        help="read the settings from a TOML file (flags given too override it)")


def _load(args: argparse.Namespace):
    config, warnings = load(args.config, **{name: getattr(args, name) for name in (
        "iterations", "learning_rates", "formats", "output_dir", "reference_errata", "plots")})
    for warning in warnings:
        print(warning, file=sys.stderr)
    return config


def _report(args: argparse.Namespace) -> int:
    from sheetgen.report import write_report

    for path in write_report(_load(args).training()):
        if not args.quiet:
            print(f"wrote {path}")
    return 0


def _generate(args: argparse.Namespace) -> int:
    from sheetgen.generation import generate

    config = _load(args)
    sheets = len(config.learning_rates)
    with progress.bars(progress.wanted(args.quiet)):
        paths = generate(config.training())
    for path in [] if args.quiet else paths:
        if path.suffix == ".png":
            print(f"wrote {path}")
        else:
            print(f"wrote {path} ({sheets} sheet{'s' * (sheets != 1)} x {config.iterations} iterations)")
    return 0


def _init_config(args: argparse.Namespace) -> int:
    text = example_text(args.example)
    if args.output is None:
        if sys.stdout is None:  # started with standard output closed (>&-)
            raise UsageError("standard output is closed; give --output FILE to write the example")
        sys.stdout.write(text)
        sys.stdout.flush()
        return 0
    extra = {Path(args.output).parent / name: data for name, data in example_files(args.example).items()}
    for path, data in extra.items():  # checked first: nothing is written if one is in the way
        if path.exists() and path.read_text("utf-8", errors="replace") != data:
            raise UsageError(f"{path} already exists with other contents; write the example elsewhere")
    try:
        with open(args.output, "x", encoding="utf-8") as out:
            out.write(text)
    except FileExistsError:
        raise UsageError(f"{args.output} already exists; choose another name") from None
    for path, data in extra.items():
        if not path.exists():
            path.write_text(data, "utf-8")
            print(f"wrote {path} (the example's data)")
    print(f"wrote {args.output}; run: sheetgen generate --config {args.output}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    # SIGTERM and SIGHUP already act like Ctrl-C (main), so LibreOffice is shut down on them too.
    from sheetgen.check.verify import check_engines, format_report, verify_file

    engines = check_engines(args.engine)  # once, before any file: a missing engine is one message
    status = 0
    for path in args.files:
        for engine in engines:
            try:
                report = verify_file(path, args.rtol, args.timeout, engine)
            except SheetgenError as exc:  # this file cannot be verified; the others still are
                print(f"error: {exc}", file=sys.stderr)
                status = 2
                break
            print(format_report(report))
            status = max(status, 0 if report.ok else 1)
    return status


def _add_compare(commands) -> None:
    cmp = commands.add_parser(
        "compare", help="compare the training tables of two workbooks cell by cell",
        description="Compare the training tables of two workbooks (.xlsx or .ods, stored values): "
                    "columns matched by header name, rows by iteration order. Exit status 0: equal "
                    "within tolerance; 1: they differ; 2: cannot compare.")
    cmp.add_argument("a", type=Path, metavar="A", help="first workbook")
    cmp.add_argument("b", type=Path, metavar="B", help="second workbook")
    cmp.add_argument("--sheet", type=_sheet_pair, action="append", dest="sheets",
                     metavar="A_NAME:B_NAME",
                     help="compare sheet A_NAME of A with B_NAME of B (repeatable; default: "
                          "the sheets of the same name)")
    # Defaults are sheetgen.check.compare.DEFAULT_RTOL/ATOL (imported lazily: pandas is slow to load).
    cmp.add_argument("--rtol", type=_non_negative, metavar="X",
                     help="relative tolerance (default 1e-9: values stored to 10 significant digits)")
    cmp.add_argument("--atol", type=_non_negative, metavar="X",
                     help="absolute tolerance, for values next to zero (default 1e-15)")
    cmp.add_argument("--format", choices=("text", "json", "csv"), default="text",
                     dest="report_format", help="report format (default text)")
    cmp.set_defaults(run=_compare)


def _sheet_pair(text: str) -> tuple[str, str]:
    a, sep, b = text.partition(":")
    if not sep or not a or not b or ":" in b:
        raise argparse.ArgumentTypeError(f"expected A_NAME:B_NAME, got {shorten(text)!r}")
    return a, b


def _compare(args: argparse.Namespace) -> int:
    _check_first(args.a, args.b)
    from sheetgen.check.compare import DEFAULT_ATOL, DEFAULT_RTOL, compare_workbooks, report

    comparison = compare_workbooks(
        args.a, args.b, args.sheets,
        rtol=DEFAULT_RTOL if args.rtol is None else args.rtol,
        atol=DEFAULT_ATOL if args.atol is None else args.atol)
    sys.stdout.write(report(comparison, args.report_format))
    return 0 if comparison.equal else 1


def _mapping(text: str) -> tuple[str, str]:
    header, sep, quantity = text.rpartition("=")
    if not sep or not header.strip() or not quantity.strip():
        raise argparse.ArgumentTypeError(f"write HEADER=quantity, e.g. \"Grad1=dE_dw1\", not {text!r}")
    return header.strip(), quantity.strip()


def _add_audit(commands) -> None:
    aud = commands.add_parser(
        "audit", help="find and explain the wrong formulas in hand-made backpropagation sheets",
        description="Check every column of each backpropagation table in each FILE (.xlsx, .xlsm "
                    "or .ods) against the true maths, and say in one sentence per mistake which "
                    "cell goes wrong first and why (e.g. 'From AB39 on, E∂W5 uses i1 where t1 "
                    "belongs'). Exit status 0: right; 1: a file has a mistake; 2: nothing could be "
                    "audited.")
    aud.add_argument("files", type=Path, nargs="+", metavar="FILE", help="the workbooks to audit")
    aud.add_argument("--format", choices=("text", "json", "csv"), default="text", dest="report_format",
                     help="report format (default text); csv: one line per sheet and mistake")
    aud.add_argument("--map", type=_mapping, action="append", default=[], metavar="HEADER=quantity",
                     dest="mapping", help="read the column headed HEADER as that quantity "
                     "(e.g. \"Grad1=dE_dw1\"); repeatable")
    aud.add_argument("--mark", type=Path, metavar="OUT.xlsx",
                     help="also write a workbook of the audited tables, wrong cells highlighted, the "
                          "correct formula in a comment, and a findings sheet")
    aud.add_argument("--config", type=Path, metavar="EXERCISE.toml",
                     help="check each table against the network, data and optimizer this config "
                          "sets (without it: inferred from each table's headers and values)")
    aud.add_argument("--jobs", type=_positive_int, default=1, metavar="N",
                     help="audit N files at once, each in its own process (default 1)")
    aud.set_defaults(run=_audit)


def _audit(args: argparse.Namespace) -> int:
    if len(args.files) == 1:  # several: an unreadable file is a line of the report, not an exit
        _check_first(args.files[0])
    from sheetgen.check.audit import audit, audit_files, expected_from, mark, report

    mapping: dict[str, str] = {}
    for header, quantity in args.mapping:
        if mapping.setdefault(header, quantity) != quantity:
            raise UsageError(f"--map {header}: given twice, as {mapping[header]} and as {quantity}; "
                             "give each header once")
    if args.mark is not None and args.mark.suffix.lower() != ".xlsx":
        raise UsageError(f"--mark {args.mark}: the marked workbook is an .xlsx file")
    expected = None
    if args.config is not None:
        from sheetgen.config import from_file

        expected = expected_from(from_file(args.config).training())
        expected.source = f"config {args.config}"
    # One file: its failure is the command's (exit 2); several: each failure is a report line.
    result = audit(args.files[0], mapping, expected) if len(args.files) == 1 else \
        audit_files(args.files, mapping, expected, args.jobs)
    if args.mark is not None:
        mark(result, args.mark)
    sys.stdout.write(report(result, args.report_format))
    return result.exit_status


def _add_class(commands) -> None:
    cls = commands.add_parser(
        "class", help="for teachers: a variant, an exercise and an answer key per student",
        description="Draw each student's numbers (reproducible from the [class] seed and the "
                    "student's id, kept only when every catalogued slip shows in the blank "
                    "columns) and write DIR/exercises/ (the given cells filled, the [class] blank "
                    "columns left for the student), DIR/keys/ (the full live workbook per student), "
                    "DIR/class.csv, DIR/class.json and DIR/README.md for the teacher.")
    cls.add_argument("--config", type=Path, required=True, metavar="EXERCISE.toml",
                     help="the exercise: any dense config, with an optional [class] table")
    who = cls.add_mutually_exclusive_group(required=True)
    who.add_argument("--students", type=Path, metavar="ROSTER.csv",
                     help="the class list: a header row with an id column (id, student_id or "
                          "student) and optionally name")
    who.add_argument("--count", type=_positive_int, metavar="N", help="N students, s001 to sN")
    cls.add_argument("--output-dir", type=_folder, required=True, metavar="DIR", help="where to write")
    cls.add_argument("--jobs", type=_positive_int, metavar="N",
                     help="students made at once, each in its own process (default: up to 4)")
    cls.set_defaults(run=_class)

    grd = commands.add_parser(
        "grade", help="for teachers: grade the students' workbooks into a gradebook",
        description="Match each SUBMISSION to its student's variant (by the id in its file name, "
                    "or by the variant's numbers in its sheet), audit it against that variant and "
                    "score each blank column (right, or following from an earlier mistake, with "
                    "formulas: its marks). Writes gradebook.csv and gradebook.html. Exit status "
                    "0: every submission graded; 1: one could not be; 2: bad input.")
    grd.add_argument("submissions", type=Path, nargs="+", metavar="SUBMISSION",
                     help="the students' workbooks (.xlsx, .xlsm or .ods)")
    grd.add_argument("--class", type=Path, required=True, dest="class_dir", metavar="DIR",
                     help="the --output-dir of sheetgen class")
    grd.add_argument("--output-dir", type=_folder, metavar="DIR",
                     help="where the gradebook goes (default: the class folder)")
    grd.add_argument("--mark", action="store_true",
                     help="also write DIR/marked/marked_<file>.xlsx for each submission with a "
                          "mistake: wrong cells highlighted, the correct formula in a comment")
    grd.add_argument("--jobs", type=_positive_int, metavar="N",
                     help="submissions graded at once, each in its own process (default: up to 4)")
    grd.set_defaults(run=_grade)


def _class(args: argparse.Namespace) -> int:
    import sheetgen

    result = sheetgen.make_class(args.config, students=args.students, count=args.count,
                                 output_dir=args.output_dir, jobs=args.jobs)
    draws = result.draws
    print(f"wrote {len(result.variants)} exercises and keys to {result.folder} (draws: "
          f"{draws['total']}, mean {draws['mean']:g}, most {draws['max']}); see "
          f"{result.folder / 'README.md'}")
    return 0


def _grade(args: argparse.Namespace) -> int:
    import sheetgen

    book, paths = sheetgen.grade(args.submissions, args.class_dir, output_dir=args.output_dir,
                                 mark=args.mark, jobs=args.jobs)
    for entry in book.entries:
        score = "–" if entry.score is None else f"{entry.score:.1f}%"
        print(f"{entry.file}: {entry.student or '?'} {score} {entry.first_mistake or entry.problem}")
    print(f"wrote {paths[0]} and {paths[1]}")
    return 0 if all(e.score is not None for e in book.entries) else 1


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP: handled like Ctrl-C, so every temporary file and LibreOffice go too."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


@contextlib.contextmanager
def _signals_interrupt():
    def interrupt(signum, frame):
        raise Terminated(signum)

    try:
        previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}
    except ValueError:  # not the main thread: leave signals alone
        previous = {}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _check_first(*paths: Path) -> None:
    """A hostile or broken file is refused before the readers (and pandas) are loaded; the
    readers' own check of the same file is then free."""
    from sheetgen.read.safety import check_workbook

    for path in paths:
        check_workbook(path)


def main(argv: list[str] | None = None) -> int:
    with _signals_interrupt():
        try:
            return _main(argv)
        except KeyboardInterrupt as exc:  # also raised by SIGTERM and SIGHUP
            with contextlib.suppress(Exception):
                print("interrupted; nothing half-written was left behind", file=sys.stderr)
            return 128 + getattr(exc, "signum", signal.SIGINT)


def _main(argv: list[str] | None) -> int:
    try:
        args = build_parser().parse_args(argv)
        if not getattr(args, "run", None):
            build_parser().print_help()
            return 2
        return args.run(args)
    except SheetgenError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        where = f": {exc.filename}" if exc.filename else ""
        print(f"error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
