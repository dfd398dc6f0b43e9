"""`sheetgen verify`: LibreOffice recalculates the generated workbooks and gets the model's numbers.

Tests marked `libreoffice` start a real headless LibreOffice; they skip where it is absent.
"""

from __future__ import annotations

import math
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import pytest

from sheetgen.check import verify
from sheetgen.check.verify import Recalculated, Recalculation, VerifyError
from sheetgen.cli import main
from sheetgen.config import DEFAULT_LEARNING_RATES, Config
from sheetgen.core.model import Setup, run
from sheetgen.core.presets import reference_network as network
from sheetgen.core.template import sheet_name, template
from sheetgen.generation import generate
from tests.children import sheetgen_command

SHEETS = [sheet_name(rate) for rate in DEFAULT_LEARNING_RATES]
FIRST_ROW = 16  # 0-based index of spreadsheet row 17, the first iteration
SKIP_REASON = ("LibreOffice is not installed (Debian/Ubuntu: apt-get install "
               "libreoffice-calc-nogui python3-uno)")


@pytest.fixture(scope="session")
def libreoffice() -> None:
    try:
        verify.find_uno_python()
    except VerifyError:
        pytest.skip(SKIP_REASON)


@pytest.fixture(scope="session")
def long_books(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("long")
    paths = generate(Config(output_dir=out, iterations=1000, plots=False).training())
    return {p.suffix[1:]: p for p in paths if p.suffix in (".xlsx", ".ods")}


# --- helpers: edit one cell of a generated file, compare with the model -----------------------

def edit_member(src: Path, dst: Path, member: str, edit) -> None:
    """Copy a zip, replacing the text of one member by `edit(text)`; the rest byte for byte."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == member:
                data = edit(data.decode("utf-8")).encode("utf-8")
            zout.writestr(info, data)


def replace_once(text: str, pattern: str, replacement) -> str:
    new, count = re.subn(pattern, replacement, text)
    assert count == 1, f"{pattern!r} matched {count} times"
    return new


def edit_cell(src: Path, dst: Path, sheet: str, xlsx_pattern: str, ods_pattern: str, replacement) -> None:
    """Replace one cell's XML in one sheet; the patterns must match exactly once in that sheet."""
    if src.suffix == ".xlsx":
        with zipfile.ZipFile(src) as zf:
            order = re.findall(r'<sheet name="([^"]+)"', zf.read("xl/workbook.xml").decode("utf-8"))
        member = f"xl/worksheets/sheet{order.index(sheet) + 1}.xml"  # XlsxWriter's numbering
        edit_member(src, dst, member, lambda text: replace_once(text, xlsx_pattern, replacement))
        return

    def edit(text: str) -> str:
        start = text.index(f'<table:table table:name="{sheet}"')
        end = text.index("</table:table>", start)
        return text[:start] + replace_once(text[start:end], ods_pattern, replacement) + text[end:]

    edit_member(src, dst, "content.xml", edit)


def model_cells(setup: Setup, rate: float, iterations: int) -> dict[tuple[int, int], float]:
    names = network().names
    return {(FIRST_ROW + k, c): row[name]
            for k, row in enumerate(run(network(), setup, rate, iterations))
            for c, name in enumerate(names)}


def largest_difference_from_model(sheet: Recalculated, expected: dict[tuple[int, int], float]) -> float:
    """Every formula cell of the table against the model; returns the largest relative difference."""
    table = {at: v for at, v in sheet.values.items() if at[0] >= FIRST_ROW}
    assert table and set(table) <= set(expected)
    assert not sheet.errors
    return max(verify.relative_difference(value, expected[at]) for at, value in table.items())


def no_process_mentions(text: str, wait: float = 5.0) -> bool:
    """True when no running process has `text` in its command line (Linux /proc)."""
    deadline = time.monotonic() + wait
    while True:
        found = []
        for proc in Path("/proc").iterdir():
            if proc.name.isdigit():
                try:
                    cmdline = (proc / "cmdline").read_bytes().decode("utf-8", "replace")
                except OSError:
                    continue
                if text in cmdline:
                    found.append(proc.name)
        if not found or time.monotonic() > deadline:
            return not found
        time.sleep(0.1)


def process_state(pid: int) -> str:
    """A stuck child's state and where the kernel has it waiting, for the failure message."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        wchan = Path(f"/proc/{pid}/wchan").read_text()
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError as exc:
        return f"unreadable ({exc})"
    return f"in state {stat}, waiting in {wchan or '-'}, with children {children}"


# --- without LibreOffice: reading cached values, comparing, refusing ---------------------------

def test_stored_values_are_the_models_numbers(default_books):
    for fmt in ("xlsx", "ods"):
        stored = verify.stored_values(default_books[fmt])
        assert [name for name in stored if name in SHEETS] == SHEETS, fmt
        for rate, name in zip(DEFAULT_LEARNING_RATES, SHEETS, strict=True):
            expected = model_cells(Setup(), rate, 22)
            cells = stored[name]
            # Row 17: 13 plain starting values; the chart's title cell, H1, is text.
            assert len(cells) == 22 * 32 - 13 + 1, (fmt, name)
            assert cells.pop((0, 7)) == f"when learning rate is {name.removeprefix('lr=')}", (fmt, name)
            for at, value in cells.items():
                assert value == expected[at], (fmt, name, at)


def _recalculation(values: dict, errors: dict | None = None) -> Recalculation:
    sheet = Recalculated("s", values=values, formulas={at: "=X" for at in values}, errors=errors or {})
    return Recalculation("test", [sheet], 0.0)


def test_compare_flags_the_cell_that_differs_and_errors():
    stored = {"s": {(0, 0): 1.0, (0, 1): 2.0, (1, 0): 3.0, (1, 1): verify.Other("no cached value"),
                    (2, 2): 5.0, (3, 0): "best", (3, 1): "", (3, 2): "best"}}
    recalc = _recalculation({(0, 0): 1.0, (0, 1): 2.0 * (1 + 1e-9), (1, 0): None, (1, 1): 4.0,
                             (3, 0): "best", (3, 1): "", (3, 2): ""},
                            errors={(1, 0): "#NUM!"})
    (report,) = verify.compare(stored, recalc, rtol=1e-12)
    assert report.checked == 8
    assert [d.cell for d in report.differences] == ["B1", "B2", "C3", "C4"]
    assert report.differences[0].relative == pytest.approx(1e-9, rel=1e-6)
    assert str(report.differences[2].recalculated) == "not a formula in LibreOffice"
    assert report.errors == [("A2", "=X", "#NUM!")]
    # a looser tolerance accepts B1 but never a missing value or an error
    (loose,) = verify.compare(stored, recalc, rtol=1e-6)
    assert [d.cell for d in loose.differences] == ["B2", "C3", "C4"] and loose.errors


def test_relative_difference():
    assert verify.relative_difference(0.0, 0.0) == 0.0
    assert verify.relative_difference(1.0, 1.0 + 2**-52) == pytest.approx(2**-52, rel=1e-9)
    assert verify.relative_difference(0.0, 1e-300) == 1.0
    assert verify.relative_difference("best", "best") == 0.0
    assert verify.relative_difference("", "best") == math.inf
    assert verify.relative_difference("1.0", 1.0) == math.inf


def test_unreadable_files_exit_2_before_libreoffice_starts(tmp_path, monkeypatch, capsys):
    def no_libreoffice(*args, **kwargs):
        raise AssertionError("LibreOffice must not start for an unreadable file")

    monkeypatch.setattr(verify.subprocess, "Popen", no_libreoffice)
    monkeypatch.setattr(verify, "find_uno_python", lambda: "/usr/bin/python3")
    not_zip = tmp_path / "broken.xlsx"
    not_zip.write_text("hello")
    cases = [tmp_path / "missing.ods", not_zip, tmp_path / "notes.txt"]
    (tmp_path / "notes.txt").write_text("x")
    for path in cases:
        assert main(["verify", str(path)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("error: ") and str(path) in err, err


def test_missing_libreoffice_says_how_to_install_it(monkeypatch, capsys, default_books):
    verify.find_uno_python.cache_clear()
    monkeypatch.setattr(verify, "SOFFICE_CANDIDATES", ("no-such-soffice-here",))
    try:
        assert main(["verify", str(default_books["xlsx"])]) == 2
    finally:
        verify.find_uno_python.cache_clear()
    err = capsys.readouterr().err
    assert "libreoffice-calc-nogui" in err and err.count("\n") == 1


@pytest.mark.parametrize("flag", [["--rtol", "-1"], ["--rtol", "x"], ["--timeout", "0"], []])
def test_verify_rejects_bad_flags(flag, capsys):
    assert main(["verify", *flag]) == 2
    assert capsys.readouterr().err.startswith("error: ")


# --- with LibreOffice ---------------------------------------------------------------------------

def test_default_books_verify_clean(libreoffice, default_books, capsys):
    assert main(["verify", str(default_books["xlsx"]), str(default_books["ods"])]) == 0
    out = capsys.readouterr().out
    for fmt in ("xlsx", "ods"):
        assert re.search(rf"^OK {re.escape(str(default_books[fmt]))}: all \d+ formula cells agree", out, re.M)
    for name in SHEETS:
        assert out.count(f"  {name}: {22 * 32 - 13 + 1} formula cells, 0 differ, 0 errors") == 2


@pytest.mark.parametrize("fmt", ["xlsx", "ods"])
def test_every_sheet_recalculates_to_the_model(libreoffice, default_books, fmt):
    recalculation = verify.recalculate(default_books[fmt])
    assert [s.name for s in recalculation.sheets if s.name in SHEETS] == SHEETS
    for rate, name in zip(DEFAULT_LEARNING_RATES, SHEETS, strict=True):
        sheet = recalculation.sheet(name)
        assert len(sheet.values) == 22 * 32 - 13 + 1  # and the chart's title cell
        assert largest_difference_from_model(sheet, model_cells(Setup(), rate, 22)) <= 1e-12


@pytest.mark.parametrize("fmt", ["xlsx", "ods"])
def test_thousand_iterations_recalculate_to_the_model(libreoffice, long_books, fmt):
    path = long_books[fmt]
    recalculation = verify.recalculate(path)
    reports = verify.compare(verify.stored_values(path), recalculation, rtol=1e-12)
    assert all(not r.differences and not r.errors for r in reports)
    assert [r.checked for r in reports if r.name in SHEETS] == [1000 * 32 - 13 + 1] * len(SHEETS)
    largest = 0.0
    for rate, name in zip(DEFAULT_LEARNING_RATES, SHEETS, strict=True):
        expected = model_cells(Setup(), rate, 1000)
        largest = max(largest, largest_difference_from_model(recalculation.sheet(name), expected))
    assert largest <= 1e-12
    print(f"{fmt}, 6 x 1000 iterations: largest relative difference from the model {largest:.3g}")


@pytest.mark.parametrize("fmt", ["xlsx", "ods"])
def test_a_changed_cached_value_and_a_changed_formula_are_reported_exactly(
        libreoffice, default_books, tmp_path, capsys, fmt):
    # Separate edits, on separate sheets. lr=0.8: the stored number of E23 (w1, which feeds
    # every later row) changes, its formula does not, so a check that used cached values would
    # report more cells, or none. lr=1: W23 (E_total = E1 + E2, which nothing refers to)
    # becomes E1 - E2 and keeps the true sum as its cached value. lr=2: W23 becomes the
    # square root of -E1, an error.
    edited = tmp_path / f"cached.{fmt}"
    edit_cell(default_books[fmt], edited, "lr=0.8",
              r'(<c r="E23"[^>]*><f>E22-\$G\$13\*X22</f><v>)([^<]*)(</v>)',
              r'(table:formula="of:=\[\.E22\]-\[\.\$G\$13\]\*\[\.X22\]" office:value-type="float" '
              r'office:value=")([^"]*)(")',
              lambda m: m.group(1) + repr(float(m.group(2)) * (1 + 1e-9)) + m.group(3))
    formula = tmp_path / f"formula.{fmt}"
    edit_cell(edited, formula, "lr=1",
              r"(<c r=\"W23\"[^>]*><f>U23)\+(V23</f>)",
              r"(table:formula=\"of:=\[\.U23\])\+(\[\.V23\]\")",
              lambda m: m.group(1) + "-" + m.group(2))
    path = tmp_path / f"edited.{fmt}"
    edit_cell(formula, path, "lr=2",
              r"(<c r=\"W23\"[^>]*><f>)U23\+V23(</f>)",
              r"(table:formula=\"of:=)\[\.U23\]\+\[\.V23\](\")",
              lambda m: m.group(1) + ("SQRT(-U23)" if fmt == "xlsx" else "SQRT(-[.U23])") + m.group(2))

    assert main(["verify", str(path)]) == 1
    out = capsys.readouterr().out
    listed = re.findall(r"^    (\S+) (=\S+): stored (\S+), recalculated (\S+) \(relative (\S+)\)$", out, re.M)
    assert [cell for cell, *_ in listed] == ["E23", "W23"], out
    (_, _, stored, recalculated, relative), (_, formula, *_) = listed
    assert float(relative) == pytest.approx(1e-9, rel=1e-3)
    assert float(stored) == float(recalculated) * (1 + 1e-9)
    assert formula == "=U23-V23"
    for name in SHEETS:
        differ = 1 if name in ("lr=0.8", "lr=1") else 0
        errors = 1 if name == "lr=2" else 0
        assert re.search(rf"^  {re.escape(name)}: \d+ formula cells, {differ} differ, {errors} errors",
                         out, re.M), name
    assert re.search(r"^    W23 =SQRT\(-U23\): evaluates to (Err:502|#NUM!)$", out, re.M), out
    assert re.search(rf"^FAIL {re.escape(str(path))}: 2 of \d+ formula cells differ, "
                     r"1 is an error \(LibreOffice\)$", out, re.M)


@pytest.mark.parametrize("fmt", ["xlsx", "ods"])
def test_changed_parameters_recalculate_the_sheet(libreoffice, default_books, tmp_path, fmt):
    # Two separate edits, on two sheets: the learning rate of lr=0.8 becomes 0.3, the initial
    # w5 of lr=0.5 becomes 0.35. Each sheet must follow the model run with its new parameter.
    edited = tmp_path / f"rate.{fmt}"
    edit_cell(default_books[fmt], edited, "lr=0.8",
              r'(<c r="G13"[^>]*><v>)0\.8(</v>)',
              r'(table:style-name="ceP" office:value-type="float" office:value=")0\.8(")',
              lambda m: m.group(1) + "0.3" + m.group(2))
    path = tmp_path / f"weight.{fmt}"
    edit_cell(edited, path, "lr=0.5",
              r'(<c r="M17"[^>]*><v>)0\.4(</v>)',
              r'(<table:table-cell table:style-name="ceV" office:value-type="float" office:value=")0\.4("/>)',
              lambda m: m.group(1) + "0.35" + m.group(2))
    recalculation = verify.recalculate(path)

    rate = recalculation.sheet("lr=0.8")
    assert largest_difference_from_model(rate, model_cells(Setup(), 0.3, 22)) <= 1e-12
    old_loss = model_cells(Setup(), 0.8, 22)[(FIRST_ROW + 21, 22)]
    assert not math.isclose(rate.values[(FIRST_ROW + 21, 22)], old_loss, rel_tol=1e-3)

    weight = recalculation.sheet("lr=0.5")
    assert largest_difference_from_model(weight, model_cells(Setup(w5=0.35), 0.5, 22)) <= 1e-12
    old_loss = model_cells(Setup(), 0.5, 22)[(FIRST_ROW + 21, 22)]
    assert not math.isclose(weight.values[(FIRST_ROW + 21, 22)], old_loss, rel_tol=1e-3)

    untouched = recalculation.sheet("lr=2")
    assert largest_difference_from_model(untouched, model_cells(Setup(), 2.0, 22)) <= 1e-12


needs_proc = pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs Linux /proc")


@needs_proc
def test_timeout_leaves_no_libreoffice_behind(libreoffice, long_books, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the throw-away profile goes here
    started = time.monotonic()
    with pytest.raises(VerifyError, match="longer than 1.5 s"):
        verify.recalculate(long_books["ods"], timeout=1.5)
    assert time.monotonic() - started < 15
    assert no_process_mentions(str(tmp_path))
    assert not list(tmp_path.iterdir())  # the profile is gone too


@needs_proc
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_kill_leaves_no_libreoffice_behind(libreoffice, long_books, tmp_path, signum):
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    child = subprocess.Popen(sheetgen_command("verify", str(long_books["ods"]), sigint=True),
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120  # a busy machine takes its time to start LibreOffice
        while no_process_mentions(str(tmp_path), wait=0) and time.monotonic() < deadline:
            time.sleep(0.1)
        if no_process_mentions(str(tmp_path), wait=0):
            state = process_state(child.pid)
            child.kill()
            raise AssertionError(f"LibreOffice never started; the verify child was {state}, "
                                 f"exit {child.poll()}: {child.communicate()}")
        time.sleep(1.0)  # let it get into loading the file
        child.send_signal(signum)
        _, err = child.communicate(timeout=30)
    finally:
        child.kill()
    assert child.returncode == 128 + signum, err
    assert b"Traceback" not in err
    assert no_process_mentions(str(tmp_path))


@needs_proc
def test_sigkill_takes_libreoffice_with_it_and_the_next_run_clears_its_profile(
        libreoffice, long_books, default_books, tmp_path, monkeypatch):
    """SIGKILL runs no handler: LibreOffice ends through its parent-death signal, and the
    next verify removes the dead run's profile folder (and nothing else)."""
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    (tmp_path / "sheetgen-verify-notes").mkdir()  # not a run's folder: stays
    child = subprocess.Popen([sys.executable, "-m", "sheetgen", "verify", str(long_books["ods"])],
                             env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while no_process_mentions("--accept=pipe", wait=0) or no_process_mentions(str(tmp_path), wait=0):
            assert time.monotonic() < deadline, "LibreOffice never started"
            time.sleep(0.1)
        time.sleep(1.0)
    finally:
        child.kill()
        child.wait()
    assert no_process_mentions(str(tmp_path), wait=10), "LibreOffice outlived a SIGKILLed verify"
    left = sorted(p.name for p in tmp_path.iterdir())
    assert len(left) == 2 and left[0].startswith(f"sheetgen-verify-{child.pid}-"), left
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    assert verify.verify_file(default_books["xlsx"], timeout=120).ok
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sheetgen-verify-notes"]


def test_three_verify_processes_at_once_all_pass(libreoffice, default_books):
    """On a busy machine a verify once failed with "LibreOffice failed: no message": the bridge
    could reach the first LibreOffice of a new profile, which quits to be restarted (status 81),
    and a bridge ending as LibreOffice quits could crash in its interpreter's shutdown."""
    files = [str(default_books["xlsx"]), str(default_books["ods"])]
    children = [subprocess.Popen([sys.executable, "-m", "sheetgen", "verify", *files],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for _ in range(3)]
    for child in children:
        out, err = child.communicate(timeout=600)
        assert child.returncode == 0 and err == "", err
        assert out.count("\nOK ") == 2, out


# --- Gnumeric: a second engine ----------------------------------------------------------------

@pytest.fixture(scope="session")
def gnumeric() -> None:
    try:
        verify.find_ssconvert()
    except VerifyError:
        pytest.skip("Gnumeric is not installed (Debian/Ubuntu: apt-get install gnumeric)")


@pytest.fixture(scope="session")
def biased_books(tmp_path_factory) -> dict[str, Path]:
    from sheetgen.config import from_file

    config = from_file(Path(__file__).resolve().parents[2] / "sheetgen" / "examples" / "biased.toml")
    paths = generate(replace_config(config, output_dir=tmp_path_factory.mktemp("biased"),
                                    plots=False).training())
    return {p.suffix[1:]: p for p in paths}


def replace_config(config: Config, **changes) -> Config:
    from dataclasses import replace

    return replace(config, **changes)


@pytest.mark.parametrize("fmt", ["xlsx", "ods"])
def test_gnumeric_recalculates_the_default_and_biased_books(gnumeric, default_books, biased_books, fmt,
                                                           capsys):
    assert main(["verify", "--engine", "gnumeric", str(default_books[fmt]), str(biased_books[fmt])]) == 0
    out = capsys.readouterr().out
    assert out.count(": Gnumeric ") == 2 and out.count("\nOK ") == 2, out
    for book in (default_books, biased_books):
        report = verify.verify_file(book[fmt], engine="gnumeric")
        assert report.engine == "Gnumeric" and report.checked > 0 and report.ok
        assert 0 < report.largest[0] < 1e-12  # its EXP differs from LibreOffice's in the last bits


def test_gnumeric_finds_a_wrong_cached_value(gnumeric, default_books, tmp_path, capsys):
    bad = tmp_path / "edited.xlsx"
    cell = f"J{template()['table']['first_row']}"  # a_h1 of the first iteration
    edit_cell(default_books["xlsx"], bad, "lr=0.5", rf'(<c r="{cell}"[^>]*><f>[^<]*</f><v>)([^<]*)(</v>)',
              "", lambda m: m.group(1) + repr(float(m.group(2)) * (1 + 1e-9)) + m.group(3))
    assert main(["verify", "--engine", "all", str(bad)]) == 1
    out = capsys.readouterr().out
    listed = re.findall(rf"^    {cell} .*: stored (\S+), recalculated (\S+) \(relative 1e-09\)$", out, re.M)
    assert len(listed) == (2 if verify_has_lo() else 1), out
    assert "FAIL" in out and "(Gnumeric)" in out


def verify_has_lo() -> bool:
    try:
        verify.find_uno_python()
    except VerifyError:
        return False
    return True


def test_a_missing_gnumeric_says_how_to_install_it(monkeypatch, default_books, capsys):
    monkeypatch.setattr(verify.shutil, "which", lambda name: None)
    assert main(["verify", "--engine", "gnumeric", str(default_books["xlsx"])]) == 2
    assert capsys.readouterr().err == ("error: Gnumeric (ssconvert) not found: install Gnumeric "
                                       "(Debian/Ubuntu: apt-get install gnumeric)\n")


def test_libreoffice_dying_early_is_reported_at_once(libreoffice, default_books, tmp_path, monkeypatch,
                                                     capsys):
    fake = tmp_path / "soffice"
    fake.write_text("#!/bin/sh\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setattr(verify, "SOFFICE_CANDIDATES", (str(fake),))
    started = time.monotonic()
    assert main(["verify", str(default_books["ods"])]) == 2
    assert time.monotonic() - started < 30  # not the 300 s timeout
    assert "LibreOffice stopped unexpectedly (exit status 3)" in capsys.readouterr().err


# --- a sum that cancels ------------------------------------------------------------------------

def _cancelling(stored_sum: float, recalculated_sum: float, terms=(0.3, 0.2, -0.5)) -> verify.SheetReport:
    """A sheet whose D1 = A1+B1+C1 sums formula cells; the stored and recalculated sums given."""
    cells = {(0, k): v for k, v in enumerate(terms)}
    sheet = Recalculated("s", values={**cells, (0, 3): recalculated_sum},
                         formulas={(0, 0): "=1", (0, 1): "=1", (0, 2): "=1", (0, 3): "=A1+B1+C1"})
    [report] = verify.compare({"s": {**cells, (0, 3): stored_sum}}, Recalculation("7", [sheet], 0.0), 1e-12)
    return report


def test_a_sum_that_cancels_agrees_within_a_few_ulps_of_its_largest_operand():
    # The softmax output bias's gradient: 5.55e-17 in float64, 0.0 in LibreOffice.
    assert not _cancelling(5.551115123125783e-17, 0.0).differences
    assert not _cancelling(4 * math.ulp(0.5), 0.0).differences
    # More than a few ulps, or a result not made of such operands, still differs.
    assert _cancelling(5 * math.ulp(0.5), 0.0).differences
    assert _cancelling(1e-10, 0.0).differences
    assert _cancelling(5.551115123125783e-17, 0.0, terms=(1e-17, 2e-17, 3e-17)).differences


def test_operands_are_the_referenced_cells_and_literals():
    values = {(38, 41): 0.25, (38, 42): -0.75, (38, 43): 2.0, (4, 0): 9.0}.get
    assert sorted(verify.operands("=AP39+AQ39*2-SUM(AR39:AR39)+data.A5", lambda r, c: values((r, c)))) == \
        [-0.75, 0.25, 2.0, 2.0]
    assert verify.operands("of:=[.AP39]-1.5E-3", lambda r, c: values((r, c))) == [0.25, 0.0015]


@pytest.fixture(scope="module")
def per_layer_books(tmp_path_factory) -> dict[str, Path]:
    """softmax-per-layer at lr = 1 for 12 rows: b2's gradient Σ δ_o is 0 in the maths and a few
    ulps of 1 in float64; LibreOffice rounds 3 of these sums to 0 and Gnumeric's long double
    leaves 12 at ~1e-20 (each engine failed these cells before the rule for carried cancellation)."""
    import tomllib

    from sheetgen.config import example_text, from_mapping
    data = tomllib.loads(example_text("softmax-per-layer")) | {
        "learning_rates": [1], "iterations": 12, "plots": False,
        "output_dir": str(tmp_path_factory.mktemp("per-layer"))}
    return {p.suffix[1:]: p for p in generate(from_mapping(data).training())}


def _both_engines() -> list:
    return [pytest.param("libreoffice", marks=pytest.mark.libreoffice),
            pytest.param("gnumeric", marks=pytest.mark.gnumeric)]


def _engine_or_skip(engine: str) -> None:
    try:
        verify.check_engines(engine)
    except VerifyError:
        pytest.skip(f"{engine} is not installed")


@pytest.mark.slow
@pytest.mark.parametrize("engine", _both_engines())
@pytest.mark.parametrize("fmt", ["xlsx", "ods"])
def test_the_per_layer_softmax_example_verifies_clean(per_layer_books, engine, fmt):
    _engine_or_skip(engine)
    report = verify.verify_file(per_layer_books[fmt], engine=engine)
    assert report.ok, verify.format_report(report)
    [sheet] = [s for s in report.sheets if s.name == "lr=1"]
    assert sheet.drifted > 0  # the cancelled sums, agreeing by the rule rather than exactly


@pytest.mark.slow
@pytest.mark.parametrize("engine", _both_engines())
def test_a_wrong_formula_for_a_cancelling_sum_still_fails(per_layer_books, engine, tmp_path):
    _engine_or_skip(engine)
    for i, wrong in enumerate([r"\1AQ24\3", r"\1AR24+1E-12\3"]):  # a term twice; 1e-12 more
        bad = tmp_path / f"wrong{i}.xlsx"
        edit_cell(per_layer_books["xlsx"], bad, "lr=1", r'(<c r="BL24"[^>]*><f>AP24\+AQ24\+)(AR24)(</f>)',
                  "", lambda m, wrong=wrong: m.expand(wrong))
        report = verify.verify_file(bad, engine=engine)
        listed = [d.cell for s in report.sheets for d in s.differences]
        assert not report.ok and listed[0] == "BL24", verify.format_report(report)
        shown = next(d for s in report.sheets for d in s.differences).formula
        assert "AP24" in shown and ("AR24" in shown) == (i == 1), shown  # Gnumeric's: the file's


def test_sockets_of_dead_runs_are_removed(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    folder = verify.PIPE_FOLDERS[0]
    names = [f"OSL_PIPE_{os.getuid()}_sheetgen-{dead.pid}-0123abcd",
             f"OSL_PIPE_{os.getuid()}_sheetgen-{os.getppid()}-0123abcd",  # alive: kept
             f"OSL_PIPE_{os.getuid()}_someone-else-{dead.pid}"]              # not ours: kept
    for name in names:
        (folder / name).write_text("")
    try:
        verify._remove_stale_pipes()
        assert [(folder / n).exists() for n in names] == [False, True, True]
    finally:
        for name in names:
            (folder / name).unlink(missing_ok=True)


def test_the_single_instance_pipe_is_named_as_libreoffice_names_it():
    # Observed with LibreOffice 7.4 for -env:UserInstallation=file:///tmp/h20/prof
    assert verify._single_instance_pipe("file:///tmp/h20/prof") == \
        "SingleOfficeIPC_6635bd1e1d698eb39e8d12dd0296f57"


@pytest.mark.libreoffice
def test_verify_leaves_no_socket_behind(default_books, monkeypatch):
    try:
        verify.find_uno_python()
    except VerifyError:
        pytest.skip("LibreOffice is not installed")
    names = []
    real = verify._single_instance_pipe
    monkeypatch.setattr(verify, "_single_instance_pipe", lambda url: names.append(real(url)) or names[-1])
    assert verify.verify_file(default_books["xlsx"]).ok
    [name] = set(names)
    leftovers = [p.name for p in Path("/tmp").iterdir()
                 if p.name.startswith((f"OSL_PIPE_{os.getuid()}_sheetgen-{os.getpid()}-",
                                       f"OSL_PIPE_{os.getuid()}_{name}"))]
    assert not leftovers
