"""`make bench`: how fast and how small big runs are, against pandas and against the floor.

Every step runs in a child process, one after another; each row of the table is that process's
wall time (interpreter start included), CPU time and peak resident memory (from wait4).

  sheetgen      `sheetgen generate --iterations N` for each format (plots off)
  pandas        DataFrame.to_excel of the same values, no formulas (xlsxwriter engine)
  floor         the same formula-and-value cell XML from a precompiled row template, written
                into deflate zip entries with the standard library only, no workbook around it
  compare       `sheetgen compare` of the two big books
  audit         `sheetgen audit` of each big book (the reference's; xor's and deep's in each
                format), and of 60 typical hand-made sheets (22 rows, human headers, the shapes
                and mistakes of tests/check/audit) in one command, and of 200 with --jobs 2
                (--only-audit: xor's and deep's big books and the 200 sheets alone)
  one sheet     1,000 and 50,000 iterations, one sheet: memory must not grow with the run
  default       `sheetgen generate` with the default settings (6 x 22, both formats, no plots)
  deep          the `deep` example (2-3-3-2, tanh then sigmoid) at the big run's size, each
                format: time per cell against the reference network's, peak RSS
  conv-digits   the `conv-digits` example (a CNN: conv2d 2@3×3, maxpool, dense 10 softmax; one
                digit per step) at 6 x 2,000 steps, each format: time per cell against the
                reference network's, peak RSS under 150 MB
  lstm-memory   the `lstm-memory` example (an LSTM unrolled over 5 steps, 8 samples a row,
                1,514 columns) at 6 x 2,000 steps, each format: time per cell against the
                reference network's, peak RSS
  class         `sheetgen class` of 200 students (the reference exercise, 22 iterations, gradients
                and updates blank, self-check cells, both formats): variants, exercises and keys
                under 60 s; then `sheetgen grade` of 200 submissions (the keys, handed in as
                they are) under 60 s (--only-class: these two alone)
  verify        (--verify) LibreOffice recalculates both big books: the fast path is still right

It is a measurement, not a test: nothing here fails the test suite. Other load on the machine
shows up in wall time first; CPU time is the steadier figure when the machine is busy.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_RATES = "0.1,0.2,0.5,0.8,1,2"
FORMATS = ("xlsx", "ods")
# Targets of the performance issue.
FLOOR_FACTOR = 2.0        # sheetgen within 2x the floor of its format
PANDAS_FACTOR = 0.3       # sheetgen at most 0.3x pandas' values-only dump
RSS_LIMIT_MB = 100.0      # any sheetgen generate
COMPARE_SECONDS, COMPARE_MB = 15.0, 500.0
AUDIT_BIG_SECONDS = 10.0    # the audit of a 6 x 10,000-row workbook
AUDIT_CLASS_SECONDS = 60.0  # the audit of 60 typical hand-made sheets
CLASS_SIZE = 60
JOBS_CLASS_SIZE, JOBS = 200, 2   # audit --jobs 2 of 200 hand-made sheets, also under 60 s
DEFAULT_SECONDS = 1.0     # the default workbook, whole process
BOMB_SECONDS, BOMB_MB = 1.0, 200  # refusing a hostile file, whole process
DEEP_CELL_FACTOR = 1.5    # a general network's time per cell within 1.5x the reference's
XOR_CELL_FACTOR = 1.5     # a data set's time per cell within 1.5x the reference's
CONV_CELL_FACTOR = 1.5    # an image network's time per cell within 1.5x the reference's
CONV_RSS_MB = 150.0       # its peak memory
CONV_STEPS = 2_000        # its rows per sheet
LSTM_CELL_FACTOR = 1.5    # a recurrent network's time per cell within 1.5x the reference's
LSTM_MB = 150.0           # ... and its peak RSS
LSTM_ITERATIONS = 2_000
CLASS_STUDENTS, CLASS_SECONDS, GRADE_SECONDS = 200, 60.0, 60.0   # sheetgen class and grade
CLASS_CONFIG = """learning_rates = [0.5]
formats = ["xlsx", "ods"]
[class]
blank = ["gradients", "updates"]
self_check = true
"""


@dataclass(frozen=True)
class Example:
    """A shipped example run at a big size in each format, held to a time per cell against the
    reference network's (in CPU time, the steadier figure on a shared machine) and a peak RSS."""

    key: str             # its rows' key in the steps and cells
    name: str            # `sheetgen init-config --example NAME`
    basename: str        # the files it writes
    what: str            # how its rows are named
    rows: int | None     # rows per sheet (None: the big run's)
    cell_factor: float
    rss_mb: float


EXAMPLES = {e.key: e for e in (
    Example("conv", "conv-digits", "Conv-digits", "conv-digits", CONV_STEPS, CONV_CELL_FACTOR, CONV_RSS_MB),
    Example("lstm", "lstm-memory", "LSTM-memory", "lstm-memory", LSTM_ITERATIONS, LSTM_CELL_FACTOR, LSTM_MB),
    Example("xor", "xor", "XOR", "xor full batch", None, XOR_CELL_FACTOR, RSS_LIMIT_MB),
    Example("deep", "deep", "BackPropagation-deep", "deep 2-3-3-2", None, DEEP_CELL_FACTOR, RSS_LIMIT_MB),
)}


@dataclass
class Step:
    name: str
    seconds: float
    cpu: float
    rss_mb: float
    status: int
    file_mb: float | None = None


def measure(name: str, argv: list[str], output: Path | None = None) -> Step:
    """Run `argv` as a child process: wall time, CPU time (user + system), peak RSS and the
    size of the file it wrote (`output`)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    # wait4 gives this child's own rusage (RUSAGE_CHILDREN would be the largest of all so far).
    printed = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stdout.close()
    size = output.stat().st_size / 1e6 if output is not None and output.is_file() else None
    step = Step(name, seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024,
                proc.returncode, size)
    expected_one = name.startswith(("sheetgen compare", "sheetgen audit"))  # 1: differences found
    if proc.returncode not in (0, 1, 2) or (proc.returncode == 1 and not expected_one) \
            or (proc.returncode == 2 and "bomb" not in name):
        print(printed.decode("utf-8", "replace"), file=sys.stderr)
    print(f"  {name:<44} {seconds:7.2f} s  cpu {step.cpu:6.2f} s  {step.rss_mb:7.1f} MB"
          f"  exit {proc.returncode}", flush=True)
    return step


def renamed_sheet_bomb(good: Path, target: Path) -> Path:
    """`good` with sheet2.xml stored as sheet2.dat holding A1 and XFD1048576: a reader that
    trusted the name would lay out 17 billion cells."""
    import zipfile

    rows = ('<row r="1"><c r="A1"><v>1</v></c></row>'
            '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>')
    sheet = ('<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
             f'spreadsheetml/2006/main"><sheetData>{rows}</sheetData></worksheet>')
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            name, data = info.filename, zin.read(info)
            if name == "xl/worksheets/sheet2.xml":
                name, data = "xl/worksheets/sheet2.dat", sheet.encode()
            elif name in ("xl/_rels/workbook.xml.rels", "[Content_Types].xml"):
                data = data.replace(b"sheet2.xml", b"sheet2.dat")
            zout.writestr(name, data)
    return target


def python(*args: str) -> list[str]:
    return [sys.executable, *args]


def sheetgen(*args: str) -> list[str]:
    return python("-m", "sheetgen", *args)


def has_flag(flag: str) -> bool:
    help_text = subprocess.run(sheetgen("generate", "--help"), cwd=ROOT, capture_output=True,
                               text=True).stdout
    return flag in help_text


# --- child: pandas ----------------------------------------------------------------------------

def pandas_child(iterations: int, rates: str, path: str) -> None:
    import pandas as pd

    from sheetgen.core.model import Setup, iterate
    from sheetgen.core.presets import reference_network
    from sheetgen.core.template import column_specs

    net = reference_network()
    headers = [spec["header"] for spec in column_specs()]
    with pd.ExcelWriter(path, engine="xlsxwriter") as writer:
        for rate in (float(r) for r in rates.split(",")):
            frame = pd.DataFrame(list(iterate(net, Setup(), rate, iterations)), columns=headers)
            frame.to_excel(writer, sheet_name=f"lr={rate:g}", index=False)


# --- child: the floor -------------------------------------------------------------------------

def _row_template(fmt: str, later: list[str], letters: list[str]) -> str:
    """One row of cell XML for str.format: {0} row, {1} row above, {2}... values."""
    def formula(pattern: str, xml: dict[str, str]) -> str:
        text = pattern.replace("{r}", "\0").replace("{p}", "\1")
        for char, entity in xml.items():
            text = text.replace(char, entity)
        return text.replace("{", "{{").replace("}", "}}").replace("\0", "{0}").replace("\1", "{1}")

    if fmt == "xlsx":
        xml = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
        cells = [f'<c r="{letter}{{0}}" s="1"><f>{formula(f, xml)}</f><v>{{{i + 2}}}</v></c>'
                 for i, (f, letter) in enumerate(zip(later, letters, strict=True))]
        return '<row r="{0}">' + "".join(cells) + "</row>"
    xml = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}
    cells = [f'<table:table-cell table:style-name="ceV" table:formula="of:={formula(f, xml)}" '
             f'office:value-type="float" office:value="{{{i + 2}!r}}"/>' for i, f in enumerate(later)]
    return "<table:table-row>" + "".join(cells) + "</table:table-row>"


def floor_child(fmt: str, iterations: int, rates: str, level: int, path: str) -> None:
    from sheetgen.config import Config
    from sheetgen.core.cells import column_letter
    from sheetgen.core.model import Setup, iterate
    from sheetgen.layout.book import build_sheet

    training = Config(iterations=iterations).training()
    net = training.network
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as zf:
        streams = []
        for n, rate in enumerate(float(r) for r in rates.split(",")):
            sheet = build_sheet(training, rate, net)
            template = _row_template(fmt, [c.later[fmt] for c in sheet.columns],
                                     [column_letter(c.index) for c in sheet.columns]).format
            name = f"xl/worksheets/sheet{n + 1}.xml" if fmt == "xlsx" else "content.xml"
            if fmt == "xlsx" or not streams:
                streams.append(zf.open(name, "w", force_zip64=True))
            out = streams[-1]
            out.write(b"<sheetData>" if fmt == "xlsx" else b"<table:table>")
            batch = []
            for k, values in enumerate(iterate(net, Setup(), rate, iterations)):
                number = sheet.first_row + k + 1
                batch.append(template(number, number - 1, *values))
                if len(batch) == 256:
                    out.write("".join(batch).encode())
                    batch = []
            out.write("".join(batch).encode())
            out.write(b"</sheetData>" if fmt == "xlsx" else b"</table:table>")
            if fmt == "xlsx":
                out.close()
        if fmt == "ods":
            streams[-1].close()


# --- child: a class of hand-made sheets -------------------------------------------------------

def class_child(folder: Path, size: int = CLASS_SIZE) -> None:
    """CLASS_SIZE workbooks as students make them (tests/check/audit/handmade.py): both formats,
    human headers, every table shape and mistake class of the audit's tests, some correct."""
    sys.path.insert(0, str(ROOT / "tests" / "check" / "audit"))
    from handmade import Block, write
    from test_audit_handmade import CLASSES, HUMAN

    folder.mkdir(parents=True, exist_ok=True)
    mistakes = [None, *CLASSES.values()]
    for k in range(size):
        case = mistakes[k % len(mistakes)]
        wrong = {} if case is None else {case[0]: case[1]}
        block = Block(rate=(0.1, 0.5, 0.8, 2.0)[k % 4], rows=22, mistakes=wrong,
                      headers=HUMAN if k % 2 else {}, serial="S.No" if k % 3 == 0 else None,
                      two_row_header=k % 5 == 0, title="Backpropagation" if k % 4 == 1 else None)
        fmt = "ods" if k % 2 else "xlsx"
        write(folder / f"student{k:03d}.{fmt}", {"Sheet1": [(block, 0, 0)]}, formulas=k % 7 != 3)


# --- the run ----------------------------------------------------------------------------------

def sheetgen_level() -> int:
    """The deflate level sheetgen writes with: the floor is measured at the same one too.
    Asked in a child: a child's peak RSS starts at its parent's (exec keeps the high-water
    mark), so this process stays as small as it can."""
    code = "from sheetgen.write.row_templates import DEFLATE_LEVEL; print(DEFLATE_LEVEL)"
    return int(subprocess.run(python("-c", code), cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout)


def table_columns(config: Path | None) -> int:
    """Table columns of a config's sheets (the reference's without one), asked in a child."""
    code = ("import sys; from pathlib import Path; from sheetgen.config import load; "
            "from sheetgen.layout.book import build_sheet; "
            "c, _ = load(Path(sys.argv[1]) if len(sys.argv) > 1 else None); "
            "print(len(build_sheet(c.training(), c.learning_rates[0]).columns))")
    argv = python("-c", code, *([str(config)] if config else []))
    return int(subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=True).stdout)


def ratio(a: float, b: float) -> float:
    return a / b if b else float("inf")


def run_example(example: Example, out: Path, n: int, rates: str, flags: list[str],
                steps: dict[str, Step], cells: dict[str, int]) -> Path:
    """Generate `example` in each format into out/KEY (its config written there by init-config,
    with any data file beside it); returns its .xlsx."""
    folder = out / example.key
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / f"{example.name}.toml"
    subprocess.run(sheetgen("init-config", "--example", example.name, "--output", str(config)),
                   cwd=ROOT, capture_output=True, check=True)
    rows = example.rows or n
    sheets = len(rates.split(","))
    for fmt in FORMATS:
        steps[f"{example.key} {fmt}"] = measure(
            f"sheetgen generate {fmt} {sheets}x{rows} {example.what}",
            sheetgen("generate", "--config", str(config), "--iterations", str(rows),
                     "--learning-rates", rates, "--format", fmt, "--output-dir", str(folder), *flags),
            folder / f"{example.basename}.{fmt}")
    cells[example.key] = sheets * rows * table_columns(config)
    return folder / f"{example.basename}.xlsx"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=10_000)
    parser.add_argument("--learning-rates", default=DEFAULT_RATES)
    parser.add_argument("--verify", action="store_true",
                        help="also recalculate both big books in LibreOffice (sheetgen verify)")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="leave the files in DIR (default: a temporary folder, removed)")
    parser.add_argument("--only-class", action="store_true",
                        help="only sheetgen class of 200 students and sheetgen grade of 200 submissions")
    parser.add_argument("--only-audit", action="store_true",
                        help="only the audits of xor's and deep's big books (each format) and of "
                             f"{JOBS_CLASS_SIZE} hand-made sheets with --jobs {JOBS}")
    for key in ("xor", "conv", "lstm"):
        parser.add_argument(f"--only-{key}", action="store_true",
                            help=f"only the reference network's big runs and the "
                                 f"{EXAMPLES[key].name} example's (these flags add up)")
    args = parser.parse_args()
    n, rates = args.iterations, args.learning_rates
    sheets = len(rates.split(","))
    out = args.keep or Path(tempfile.mkdtemp(prefix="sheetgen-bench-"))
    out.mkdir(parents=True, exist_ok=True)
    plots = ["--no-plots"] if has_flag("--no-plots") else []
    quiet = ["--quiet"] if has_flag("--quiet") else []
    level = sheetgen_level()
    print(f"{sheets} sheets x {n} iterations; {os.cpu_count()} CPUs; load average "
          f"{os.getloadavg()[0]:.2f}; sheetgen deflates at level {level}")

    steps: dict[str, Step] = {}
    cells: dict[str, int] = {}
    try:
        if args.only_class:
            class_steps(out, steps)
            raise _Done
        if args.only_audit:
            for key in ("xor", "deep"):
                audit_example(EXAMPLES[key], out, n, rates, plots + quiet, steps, cells)
            jobs_step(out, steps)
            raise _Done
        big = {}
        for fmt in FORMATS:
            big[fmt] = out / f"sheetgen-{fmt}" / f"BackPropagation.{fmt}"
            steps[f"sheetgen {fmt}"] = measure(
                f"sheetgen generate {fmt} {sheets}x{n}",
                sheetgen("generate", "--iterations", str(n), "--learning-rates", rates,
                         "--format", fmt, "--output-dir", str(big[fmt].parent), *plots, *quiet),
                big[fmt])
        cells["reference"] = sheets * n * table_columns(None)
        only = [key for key in EXAMPLES if getattr(args, f"only_{key}", False)]
        for key in only or ("conv", "lstm", "xor"):
            if key == "xor":
                audit_example(EXAMPLES[key], out, n, rates, plots + quiet, steps, cells)
            else:
                run_example(EXAMPLES[key], out, n, rates, plots + quiet, steps, cells)
        if only:
            raise _Done
        steps["pandas"] = measure(f"pandas to_excel values only {sheets}x{n}",
                                  python(__file__, "--child-pandas", str(n), rates,
                                         str(out / "pandas.xlsx")), out / "pandas.xlsx")
        for fmt in FORMATS:
            for lv in sorted({1, 6, level}):
                steps[f"floor {fmt} {lv}"] = measure(
                    f"floor {fmt} deflate level {lv}",
                    python(__file__, "--child-floor", fmt, str(n), rates, str(lv),
                           str(out / f"floor-{lv}.{fmt}")), out / f"floor-{lv}.{fmt}")
        if all(p.is_file() for p in big.values()):
            steps["compare"] = measure("sheetgen compare xlsx ods",
                                       sheetgen("compare", str(big["xlsx"]), str(big["ods"])))
        for fmt in FORMATS:
            if big[fmt].is_file():
                steps[f"audit {fmt}"] = measure(f"sheetgen audit {fmt} {sheets}x{n}",
                                                sheetgen("audit", str(big[fmt])))
        subprocess.run(python(__file__, "--child-class", str(out / "class")), cwd=ROOT, check=True)
        steps["audit class"] = measure(
            f"sheetgen audit {CLASS_SIZE} hand-made sheets",
            sheetgen("audit", "--format", "csv", *map(str, sorted((out / "class").iterdir()))))
        jobs_step(out, steps)
        class_steps(out, steps)
        for rows in (1_000, 50_000):
            for fmt in FORMATS:
                steps[f"one {rows} {fmt}"] = measure(
                    f"sheetgen generate {fmt} 1x{rows}",
                    sheetgen("generate", "--iterations", str(rows), "--learning-rates", "0.5",
                             "--format", fmt, "--output-dir", str(out / f"one-{rows}"),
                             *plots, *quiet),
                    out / f"one-{rows}" / f"BackPropagation.{fmt}")
        audit_example(EXAMPLES["deep"], out, n, rates, plots + quiet, steps, cells)
        defaults = [measure("sheetgen generate (default, both)",
                            sheetgen("generate", "--output-dir", str(out / "default"), *plots, *quiet))
                    for _ in range(3)]
        steps["default"] = min(defaults, key=lambda s: s.seconds)
        bomb = renamed_sheet_bomb(out / "default" / "BackPropagation.xlsx", out / "bomb.xlsx")
        for command in ("audit", "compare"):
            extra = [str(out / "default" / "BackPropagation.xlsx")] if command == "compare" else []
            steps[f"bomb {command}"] = measure(f"sheetgen {command} (a sheet bomb under another name)",
                                               sheetgen(command, str(bomb), *extra))
        if args.verify:
            steps["verify"] = measure("sheetgen verify (both big books)",
                                      sheetgen("verify", "--timeout", "1800", *map(str, big.values())))
    except _Done:
        pass
    finally:
        if args.keep is None:
            shutil.rmtree(out, ignore_errors=True)

    print()
    print(report(steps, level, cells))
    return 0


def audit_example(example: Example, out: Path, n: int, rates: str, flags: list[str],
                  steps: dict[str, Step], cells: dict[str, int]) -> None:
    """Generate `example` big in each format (`run_example`), then audit each book."""
    xlsx = run_example(example, out, n, rates, flags, steps, cells)
    rows = example.rows or n
    for fmt in FORMATS:
        book = xlsx.with_suffix(f".{fmt}")
        if book.is_file():
            steps[f"audit {example.key} {fmt}"] = measure(
                f"sheetgen audit {fmt} {len(rates.split(','))}x{rows} {example.key}",
                sheetgen("audit", str(book)))


def jobs_step(out: Path, steps: dict[str, Step]) -> None:
    """`audit --jobs JOBS` of JOBS_CLASS_SIZE hand-made sheets."""
    subprocess.run(python(__file__, "--child-class", str(out / "class200"), str(JOBS_CLASS_SIZE)),
                   cwd=ROOT, check=True)
    steps["audit jobs"] = measure(
        f"sheetgen audit --jobs {JOBS} {JOBS_CLASS_SIZE} hand-made sheets",
        sheetgen("audit", "--jobs", str(JOBS), "--format", "csv",
                 *map(str, sorted((out / "class200").iterdir()))))


def class_steps(out: Path, steps: dict[str, Step]) -> None:
    """sheetgen class of CLASS_STUDENTS, then sheetgen grade of their keys."""
    config = out / "class-exercise.toml"
    config.write_text(CLASS_CONFIG, "utf-8")
    folder = out / "class-made"
    steps["class"] = measure(f"sheetgen class {CLASS_STUDENTS} students (both formats)",
                             sheetgen("class", "--config", str(config), "--count", str(CLASS_STUDENTS),
                                      "--output-dir", str(folder)))
    keys = sorted((folder / "keys").glob("*.xlsx"))
    if keys:
        draws = json.loads((folder / "class.json").read_text("utf-8"))["draws"]
        print(f"  draws for {CLASS_STUDENTS} variants: {draws['total']} (mean {draws['mean']:g}, "
              f"most {draws['max']})")
        steps["grade"] = measure(f"sheetgen grade {len(keys)} submissions",
                                 sheetgen("grade", *map(str, keys), "--class", str(folder)))


class _Done(Exception):
    """--only-…: the steps asked for are done."""


def report(steps: dict[str, Step], level: int, cells: dict[str, int] | None = None) -> str:
    lines = ["| step | wall s | CPU s | peak RSS MB | file MB |", "| --- | ---: | ---: | ---: | ---: |"]
    for step in steps.values():
        failed = "" if step.status == 0 else f" (exit {step.status})"
        size = "" if step.file_mb is None else f"{step.file_mb:.1f}"
        lines.append(f"| {step.name}{failed} | {step.seconds:.2f} | {step.cpu:.2f} | {step.rss_mb:.0f} "
                     f"| {size} |")
    lines += ["", "| target | measured | result |", "| --- | --- | --- |"]

    def target(text: str, measured: str, ok: bool) -> None:
        lines.append(f"| {text} | {measured} | {'PASS' if ok else 'MISS'} |")

    pandas = steps.get("pandas")
    for fmt in FORMATS:
        mine, floor = steps.get(f"sheetgen {fmt}"), steps.get(f"floor {fmt} {level}")
        if mine and floor:
            r = ratio(mine.seconds, floor.seconds)
            target(f"{fmt} within {FLOOR_FACTOR:g}x the floor (deflate level {level})",
                   f"{mine.seconds:.2f} s / {floor.seconds:.2f} s = {r:.2f}x", r <= FLOOR_FACTOR)
    for fmt in FORMATS:
        mine = steps.get(f"sheetgen {fmt}")
        if mine and pandas:
            r = ratio(mine.seconds, pandas.seconds)
            target(f"{fmt} at most {PANDAS_FACTOR:g}x pandas values-only",
                   f"{mine.seconds:.2f} s / {pandas.seconds:.2f} s = {r:.2f}x", r <= PANDAS_FACTOR)
    generates = [s for k, s in steps.items() if k.startswith(("sheetgen ", "one ", "default"))]
    if generates:
        worst = max(generates, key=lambda s: s.rss_mb)
        target(f"peak RSS under {RSS_LIMIT_MB:g} MB, any run size",
               f"largest {worst.rss_mb:.0f} MB ({worst.name})", worst.rss_mb < RSS_LIMIT_MB)
    if "compare" in steps:
        c = steps["compare"]
        target(f"compare under {COMPARE_SECONDS:g} s and {COMPARE_MB:g} MB",
               f"{c.seconds:.2f} s, {c.rss_mb:.0f} MB, exit {c.status}",
               c.seconds < COMPARE_SECONDS and c.rss_mb < COMPARE_MB and c.status == 0)
    for fmt in FORMATS:
        if f"audit {fmt}" in steps:
            a = steps[f"audit {fmt}"]
            target(f"audit of {fmt} 6x10,000 under {AUDIT_BIG_SECONDS:g} s", f"{a.seconds:.2f} s",
                   a.seconds < AUDIT_BIG_SECONDS and a.status == 0)
    for name in ("xor", "deep"):
        for fmt in FORMATS:
            if f"audit {name} {fmt}" in steps:
                a = steps[f"audit {name} {fmt}"]
                # CPU beside wall: on a loaded machine the wall time says more about the others.
                target(f"audit of {name} {fmt} 6x10,000 under {AUDIT_BIG_SECONDS:g} s",
                       f"{a.seconds:.2f} s (CPU {a.cpu:.2f} s, {a.rss_mb:.0f} MB)",
                       a.seconds < AUDIT_BIG_SECONDS and a.status == 0)
    if "audit jobs" in steps:
        a = steps["audit jobs"]
        target(f"audit --jobs {JOBS} of {JOBS_CLASS_SIZE} hand-made sheets under "
               f"{AUDIT_CLASS_SECONDS:g} s", f"{a.seconds:.2f} s (CPU {a.cpu:.2f} s, {a.rss_mb:.0f} MB)",
               a.seconds < AUDIT_CLASS_SECONDS and a.status in (0, 1))
    for key, what, limit in (("class", f"class: {CLASS_STUDENTS} variants, exercises and keys",
                              CLASS_SECONDS),
                             ("grade", f"grade: {CLASS_STUDENTS} submissions", GRADE_SECONDS)):
        if key in steps:
            a = steps[key]
            target(f"{what} under {limit:g} s", f"{a.seconds:.2f} s (CPU {a.cpu:.2f} s)",
                   a.seconds < limit and a.status == 0)
    if "audit class" in steps:
        a = steps["audit class"]
        target(f"audit of {CLASS_SIZE} hand-made sheets under {AUDIT_CLASS_SECONDS:g} s",
               f"{a.seconds:.2f} s", a.seconds < AUDIT_CLASS_SECONDS and a.status in (0, 1))
    cells = cells or {}
    for example in EXAMPLES.values():
        for fmt in FORMATS:
            mine, theirs = steps.get(f"sheetgen {fmt}"), steps.get(f"{example.key} {fmt}")
            if not (mine and theirs and cells.get(example.key) and cells.get("reference")):
                continue
            ours = theirs.cpu / cells[example.key] * 1e6
            reference = mine.cpu / cells["reference"] * 1e6
            r = ratio(ours, reference)
            wall = ratio(theirs.seconds / cells[example.key], mine.seconds / cells["reference"])
            target(f"{example.name} {fmt}: time per cell within {example.cell_factor:g}x the reference "
                   "network's", f"CPU {ours:.3f} µs / {reference:.3f} µs = {r:.2f}x (wall {wall:.2f}x; "
                   f"{cells[example.key]:,} cells)", r <= example.cell_factor)
            target(f"{example.name} {fmt}: peak RSS under {example.rss_mb:g} MB", f"{theirs.rss_mb:.0f} MB",
                   theirs.rss_mb < example.rss_mb)
    if "default" in steps:
        d = steps["default"]
        target(f"default workbook under {DEFAULT_SECONDS:g} s (best of 3)", f"{d.seconds:.2f} s",
               d.seconds < DEFAULT_SECONDS and d.status == 0)
    for command in ("audit", "compare"):
        if f"bomb {command}" in steps:
            b = steps[f"bomb {command}"]
            target(f"{command} refuses a sheet bomb (exit 2) under {BOMB_SECONDS:g} s and {BOMB_MB:g} MB",
                   f"{b.seconds:.2f} s, {b.rss_mb:.0f} MB, exit {b.status}",
                   b.seconds < BOMB_SECONDS and b.rss_mb < BOMB_MB and b.status == 2)
    if "verify" in steps:
        v = steps["verify"]
        target("LibreOffice verify of both big books", f"exit {v.status}, {v.seconds:.0f} s", v.status == 0)
    failed = [s.name for k, s in steps.items()
              if s.status != (2 if k.startswith("bomb ") else 0) and k not in ("audit class", "audit jobs")]
    if failed:
        lines.append(f"\nfailed steps: {', '.join(failed)}")
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child-pandas":
        sys.path.insert(0, str(ROOT))
        pandas_child(int(sys.argv[2]), sys.argv[3], sys.argv[4])
    elif len(sys.argv) > 1 and sys.argv[1] == "--child-class":
        sys.path.insert(0, str(ROOT))
        class_child(Path(sys.argv[2]), *map(int, sys.argv[3:4]))
    elif len(sys.argv) > 1 and sys.argv[1] == "--child-floor":
        sys.path.insert(0, str(ROOT))
        floor_child(sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5]), sys.argv[6])
    else:
        sys.exit(main())
