"""Recalculate a workbook in LibreOffice (or Gnumeric) and compare every formula cell with its
cached value.

LibreOffice runs headless with a throw-away profile and its own process group, and is always
shut down, on success, error, timeout or Ctrl-C; on Linux it also gets a parent-death signal, so
that it ends with sheetgen even when sheetgen is killed with SIGKILL. A small bridge script
(`_uno_bridge.py`), run by a Python that can import LibreOffice's `uno` module, opens the file, forces a hard
recalculation with `calculateAll()` and returns the results as exact doubles (UNO's
`getDataArray()`, not CSV or xlsx export, which round to 15 significant digits). The cached
values are read here, from the file's own XML, so what is compared is what any program that
does not recalculate would read.

Gnumeric, a second and independent engine, recalculates with `ssconvert --recalc` into an .xlsx
of its own, whose values are read back and compared in the same way.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

from sheetgen.check.drift import (
    CANCELLATION_ULPS,
    DRIFT_RTOL,
    condition_number,
    is_amplified_drift,
    is_cancellation,
    is_carried_cancellation,
    references,
)
from sheetgen.core.cells import a1, column_number
from sheetgen.core.tempfolder import owned_folder
from sheetgen.errors import VerifyError, WorkbookError
from sheetgen.read.safety import check_workbook
from sheetgen.read.workbook import Workbook
from sheetgen.read.xml_stream import Other, Value

DEFAULT_RTOL = 1e-12
DEFAULT_TIMEOUT = 300.0  # seconds per file; a 6 x 1,000-row book takes under 10
BRIDGE = Path(__file__).with_name("_uno_bridge.py")
SOFFICE_CANDIDATES = ("soffice", "libreoffice", "/Applications/LibreOffice.app/Contents/MacOS/soffice")
INSTALL_HINT = "install LibreOffice (Debian/Ubuntu: apt-get install libreoffice-calc-nogui python3-uno)"
ENGINES = ("libreoffice", "gnumeric")
SCRATCH_PREFIX = "sheetgen-verify-"  # the owned folder in the system's temporary folder
RESTART = 81  # soffice.bin's exit status when it wants a restart (first start with a new profile)
PRECISION = {"LibreOffice": "exact float64 (results through UNO, cached values from the file's XML)",
             "Gnumeric": "float64 (results from the .xlsx Gnumeric writes, cached values from the "
                         "file's XML)"}
SHOWN_PER_SHEET = 10  # differing or error cells listed per sheet

# Load without recalculating (the bridge then recalculates everything once, explicitly).
PROFILE_SETTINGS = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" \
oor:op="fuse"><value>1</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" \
oor:op="fuse"><value>1</value></prop></item>
</oor:items>
"""

XLSX_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
PKG_REL_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
TABLE_NS = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
OFFICE_NS = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
CALCEXT_NS = "{urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0}"
TEXT_NS = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"


# --- what LibreOffice computes ----------------------------------------------------------------

@dataclass
class Recalculated:
    """One sheet's formula cells after LibreOffice's full recalculation; keys (row, col), 0-based."""

    name: str
    values: dict[tuple[int, int], float | str | None] = field(default_factory=dict)  # None: neither
    formulas: dict[tuple[int, int], str] = field(default_factory=dict)
    errors: dict[tuple[int, int], str] = field(default_factory=dict)       # e.g. "#NUM!", "Err:502"


@dataclass
class Recalculation:
    version: str
    sheets: list[Recalculated]
    seconds: float
    engine: str = "LibreOffice"

    def sheet(self, name: str) -> Recalculated:
        return next(s for s in self.sheets if s.name == name)


def find_soffice() -> str:
    for candidate in SOFFICE_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    raise VerifyError(f"LibreOffice (soffice) not found: {INSTALL_HINT}")


@cache
def find_uno_python() -> str:
    """A Python that can import LibreOffice's `uno` module: the system one on Debian."""
    soffice = find_soffice()
    candidates = ["/usr/bin/python3", shutil.which("python3"),
                  os.path.join(os.path.dirname(os.path.realpath(soffice)), "python")]
    for python in dict.fromkeys(c for c in candidates if c and os.access(c, os.X_OK)):
        try:
            probe = subprocess.run([python, "-c", "import uno"], capture_output=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if probe.returncode == 0:
            return python
    raise VerifyError("no Python with LibreOffice's uno module found "
                      "(Debian/Ubuntu: apt-get install python3-uno)")


def recalculate(path: Path, timeout: float = DEFAULT_TIMEOUT, engine: str = "libreoffice") -> Recalculation:
    """Open `path` in a private headless LibreOffice (or Gnumeric), recalculate every formula,
    return the results."""
    path = Path(path)
    if engine not in ENGINES:
        raise VerifyError(f"unknown engine {engine!r}; choose {', '.join(ENGINES)}")
    try:
        check_workbook(path)
    except WorkbookError as exc:
        raise VerifyError(str(exc)) from None
    if engine == "gnumeric":
        return _recalculate_gnumeric(path, timeout)
    soffice, python = find_soffice(), find_uno_python()
    start = time.monotonic()
    deadline = start + timeout
    with owned_folder(Path(tempfile.gettempdir()), SCRATCH_PREFIX) as scratch:
        profile = scratch / "profile"
        (profile / "user").mkdir(parents=True)
        (profile / "user" / "registrymodifications.xcu").write_text(PROFILE_SETTINGS, "utf-8")
        command = [*office_command(soffice), "--headless", "--invisible", "--norestore", "--nologo",
                   "--nolockcheck", "--nodefault", f"-env:UserInstallation={profile.as_uri()}"]
        if command[0] != soffice:
            _first_start(command, scratch, deadline, f"{path}: LibreOffice", timeout)
        _remove_stale_pipes()
        pipe = f"sheetgen-{os.getpid()}-{uuid.uuid4().hex}"
        office = _start([*command, f"--accept=pipe,name={pipe};urp;"], stdout=subprocess.DEVNULL,
                        scratch=scratch)
        try:
            remaining = max(1.0, deadline - time.monotonic())
            bridge = _start([python, str(BRIDGE), pipe, str(path.resolve()), f"{remaining:.1f}"],
                            stdout=subprocess.PIPE)
            try:
                out, err = _wait_for_bridge(bridge, office, deadline, f"{path}: LibreOffice", timeout)
            finally:
                bridge.kill()  # nothing happens if it has finished
                bridge.wait()
            if bridge.returncode != 0 and time.monotonic() >= deadline:
                # It gave up connecting as the time ran out (a slow start-up): that is the timeout.
                raise VerifyError(f"{path}: LibreOffice took longer than {timeout:g} s (--timeout)")
            if bridge.returncode != 0:
                lines = err.decode("utf-8", "replace").strip().splitlines()
                raise VerifyError(f"{path}: LibreOffice failed: "
                                  f"{lines[-1] if lines else _no_message(bridge.returncode)}")
            with contextlib.suppress(subprocess.TimeoutExpired):
                office.wait(timeout=5)  # the bridge asked it to quit
        finally:
            _stop(office)
            for folder in PIPE_FOLDERS:  # the sockets a killed LibreOffice leaves
                for name in (pipe, _single_instance_pipe(profile.as_uri())):
                    with contextlib.suppress(OSError):
                        (folder / f"OSL_PIPE_{os.getuid()}_{name}").unlink()
    return _parse_bridge_output(out, time.monotonic() - start)


# LibreOffice makes its named pipe's socket here, whatever TMPDIR says.
PIPE_FOLDERS = (Path("/tmp"), Path("/var/tmp"))


def _single_instance_pipe(profile_url: str) -> str:
    """The name of the pipe LibreOffice opens for its profile (one instance per profile): the
    MD5 of the profile's URL in UTF-16, each byte in hex without padding, as LibreOffice writes
    it. The profile is this run's own, so its pipe is too."""
    digest = hashlib.md5(profile_url.encode("utf-16-le")).digest()
    return "SingleOfficeIPC_" + "".join(f"{byte:x}" for byte in digest)


def _remove_stale_pipes() -> None:
    """Remove the sockets of earlier runs whose process is gone (SIGKILL gives no chance to)."""
    pattern = re.compile(rf"OSL_PIPE_{os.getuid()}_sheetgen-([0-9]+)-[0-9a-f]+")
    for folder in PIPE_FOLDERS:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            match = pattern.fullmatch(entry.name)
            if not match or int(match.group(1)) == os.getpid():
                continue
            try:
                os.kill(int(match.group(1)), 0)
            except ProcessLookupError:
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
            except PermissionError:
                pass  # alive, someone else's


def _no_message(status: int) -> str:
    if status < 0:
        name = signal.Signals(-status).name
        return f"the bridge to it was ended by signal {-status} ({name}), with no message"
    return f"the bridge to it ended with status {status} and no message"


def office_command(soffice: str) -> list[str]:
    """The process to run: soffice.bin itself where it sits beside the launcher. The launcher
    (a script, then oosplash) forks soffice.bin, so a parent-death signal given to the launcher
    would not reach the process that does the work."""
    binary = Path(os.path.realpath(soffice)).with_name("soffice.bin")
    if sys.platform.startswith("linux") and binary.is_file() and os.access(binary, os.X_OK):
        return [str(binary)]
    return [soffice]


def _first_start(command: list[str], scratch: Path, deadline: float, what: str, timeout: float) -> None:
    """Let soffice.bin set up the new profile and quit. On a first start it exits with status 81
    to be restarted (the launcher does that); a bridge that connected to that first instance
    would lose it mid-way."""
    for _ in range(3):
        first = _start([*command, "--terminate_after_init"], stdout=subprocess.DEVNULL, scratch=scratch)
        try:
            status = first.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            raise VerifyError(f"{what} took longer than {timeout:g} s (--timeout)") from None
        finally:
            _stop(first)
        if status != RESTART:
            return


def _start(command: list[str], stdout, scratch: Path | None = None) -> subprocess.Popen:
    """A child in its own process group (killed as a whole by _stop) that dies with this process;
    with `scratch`, its own temporary files (LibreOffice's lu*.tmp) go into that owned folder."""
    env = None
    if scratch is not None:
        (scratch / "tmp").mkdir(exist_ok=True)
        env = {**os.environ, "TMPDIR": str(scratch / "tmp")}
    preexec = None
    if sys.platform.startswith("linux"):
        setpriv = shutil.which("setpriv")  # util-linux: sets it with no Python code in the child
        if setpriv:
            command = [setpriv, "--pdeathsig", "KILL", "--", *command]
        else:
            preexec = _die_with_parent()
    return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=stdout, stderr=subprocess.PIPE
                            if stdout is subprocess.PIPE else subprocess.DEVNULL, env=env,
                            start_new_session=True, preexec_fn=preexec)


def _die_with_parent():
    """A preexec_fn giving the child SIGKILL when this process ends, SIGKILL included (Linux's
    PR_SET_PDEATHSIG). Only where setpriv is missing: Python code run between fork and exec can
    deadlock when this process has other threads."""
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up here: the child must not load
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def preexec() -> None:
        prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the parent died before the signal was asked for
            os._exit(1)

    return preexec


def _wait_for_bridge(bridge: subprocess.Popen, office: subprocess.Popen, deadline: float,
                     what: str, timeout: float) -> tuple[bytes, bytes]:
    """The bridge's output; gives up at the deadline or when LibreOffice dies first."""
    while True:
        try:
            return bridge.communicate(timeout=0.5)  # retrying loses no output
        except subprocess.TimeoutExpired:
            pass
        if office.poll() is not None:
            try:  # LibreOffice also exits when the bridge is done: give it a moment to finish
                return bridge.communicate(timeout=3)
            except subprocess.TimeoutExpired:
                raise VerifyError(f"{what} stopped unexpectedly (exit status {office.returncode})") from None
        if time.monotonic() > deadline:
            raise VerifyError(f"{what} took longer than {timeout:g} s (--timeout)")


def _stop(office: subprocess.Popen) -> None:
    """Kill LibreOffice's whole process group (launcher, soffice.bin) and reap the launcher."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(office.pid, signal.SIGKILL)
    office.wait()


def _parse_bridge_output(raw: bytes, seconds: float) -> Recalculation:
    data = json.loads(raw)
    sheets = []
    for entry in data["sheets"]:
        sheet = Recalculated(entry["name"])
        for block in entry["blocks"]:
            for i, (values, formulas) in enumerate(zip(block["values"], block["formulas"], strict=True)):
                for j, (value, formula) in enumerate(zip(values, formulas, strict=True)):
                    at = (block["row"] + i, block["col"] + j)
                    sheet.values[at] = value
                    sheet.formulas[at] = formula
        for row, col, text in entry["errors"]:
            sheet.errors[(row, col)] = text
        sheets.append(sheet)
    return Recalculation(data["version"], sheets, seconds)


# --- Gnumeric ----------------------------------------------------------------------------------

GNUMERIC_HINT = "install Gnumeric (Debian/Ubuntu: apt-get install gnumeric)"


def find_ssconvert() -> str:
    found = shutil.which("ssconvert")
    if not found:
        raise VerifyError(f"Gnumeric (ssconvert) not found: {GNUMERIC_HINT}")
    return found


@cache
def gnumeric_version() -> str:
    try:
        probe = subprocess.run([find_ssconvert(), "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    found = probe.stdout.split("'")
    return found[1] if len(found) > 2 else "?"


def _recalculate_gnumeric(path: Path, timeout: float) -> Recalculation:
    """Gnumeric's values of every formula cell after `ssconvert --recalc`, read back from the
    .xlsx it writes (its values there round-trip exactly; its CSV export loses the cells' places)."""
    ssconvert = find_ssconvert()
    start = time.monotonic()
    with owned_folder(Path(tempfile.gettempdir()), SCRATCH_PREFIX) as scratch:
        result = scratch / "recalculated.xlsx"
        process = _start([ssconvert, "--recalc", str(path.resolve()), str(result)], stdout=subprocess.PIPE,
                         scratch=scratch)
        try:
            _, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise VerifyError(f"{path}: Gnumeric took longer than {timeout:g} s (--timeout)") from None
        finally:
            _stop(process)
        if process.returncode != 0 or not result.is_file():
            lines = err.decode("utf-8", "replace").strip().splitlines()
            raise VerifyError(f"{path}: Gnumeric failed: "
                              f"{lines[-1] if lines else f'exit status {process.returncode}, no message'}")
        try:
            recalculated = stored_values(result)
        except VerifyError as exc:
            raise VerifyError(f"{path}: Gnumeric's result cannot be read: "
                              f"{str(exc).removeprefix(f'{result}: ')}") from None
    sheets = []
    for name, cells in recalculated.items():
        sheet = Recalculated(name)
        for at, value in cells.items():
            sheet.formulas[at] = ""
            if isinstance(value, Other) and value.what.startswith("error "):
                sheet.errors[at] = value.what.removeprefix("error ")
                sheet.values[at] = None
            else:
                sheet.values[at] = None if isinstance(value, Other) else value
        sheets.append(sheet)
    return Recalculation(gnumeric_version(), sheets, time.monotonic() - start, "Gnumeric")


# --- what the file stores ----------------------------------------------------------------------

def stored_values(path: Path) -> dict[str, dict[tuple[int, int], Value]]:
    """sheet name -> formula cell (row, col) -> its cached value: a number, a text, or Other."""
    try:
        return Workbook(path).cached_values()
    except WorkbookError as exc:
        raise VerifyError(str(exc)) from None


# --- the comparison ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Difference:
    cell: str
    formula: str
    stored: Value
    recalculated: Value
    relative: float     # inf when the two are of different kinds or texts differ


@dataclass
class SheetReport:
    name: str
    checked: int = 0
    differences: list[Difference] = field(default_factory=list)
    errors: list[tuple[str, str, str]] = field(default_factory=list)   # (cell, formula, error text)
    largest: float = 0.0
    largest_at: str = ""
    drifted: int = 0    # beyond rtol, but carried in from inputs that already differ (check/drift.py)


@dataclass
class FileReport:
    path: Path
    rtol: float
    version: str
    seconds: float
    sheets: list[SheetReport]
    engine: str = "LibreOffice"

    @property
    def checked(self) -> int:
        return sum(s.checked for s in self.sheets)

    @property
    def ok(self) -> bool:
        return not any(s.differences or s.errors for s in self.sheets)

    @property
    def largest(self) -> tuple[float, str]:
        worst = max(self.sheets, key=lambda s: s.largest, default=None)
        return (worst.largest, f"'{worst.name}'!{worst.largest_at}") if worst else (0.0, "")

    def to_frame(self):
        """One row per sheet: formula cells checked, how many differ or are errors, the largest
        relative difference and where."""
        import pandas as pd

        return pd.DataFrame(
            [{"sheet": s.name, "checked": s.checked, "differ": len(s.differences),
              "errors": len(s.errors), "largest_relative": s.largest, "largest_at": s.largest_at}
             for s in self.sheets],
            columns=["sheet", "checked", "differ", "errors", "largest_relative", "largest_at"])


def relative_difference(a: Value, b: Value) -> float:
    """|a - b| / max(|a|, |b|) for numbers; 0 or inf for texts and other results."""
    if isinstance(a, int | float) and isinstance(b, int | float):
        return 0.0 if a == b else abs(a - b) / max(abs(a), abs(b))
    return 0.0 if type(a) is type(b) and a == b else math.inf


# --- cancellation: a sum whose terms cancel is only as exact as its largest term ---------------

_OPERAND = re.compile(r"(?<![A-Za-z0-9_.$])\$?([A-Z]{1,3})\$?([0-9]{1,7})(?::\$?([A-Z]{1,3})\$?([0-9]{1,7}))?"
                      r"(?![A-Za-z0-9_(.])|(?<![A-Za-z0-9_.$])([0-9]+\.?[0-9]*(?:[Ee][-+]?[0-9]+)?)")
MAX_RANGE_OPERANDS = 1024
_ODF_OWN_SHEET = re.compile(r"\[\.(\$?[A-Z]{1,3}\$?[0-9]+(?::\.\$?[A-Z]{1,3}\$?[0-9]+)?)\]")  # [.A1:.B2]


def operands(formula: str, values) -> list[float]:
    """The numbers a formula works on: its literals and the values (`values(row, col)`, 0-based,
    None when unknown) of the cells it refers to on its own sheet."""
    found: list[float] = []
    text = _ODF_OWN_SHEET.sub(lambda m: m.group(1).replace(":.", ":"), formula.removeprefix("of:"))
    for match in _OPERAND.finditer(text):
        letters, row, last_letters, last_row, number = match.groups()
        if number is not None:
            found.append(float(number))
            continue
        top, left = int(row) - 1, column_number(letters) - 1
        bottom, right = top, left
        if last_letters:
            bottom, right = int(last_row) - 1, column_number(last_letters) - 1
        if (bottom - top + 1) * (right - left + 1) > MAX_RANGE_OPERANDS:
            continue
        for r in range(top, bottom + 1):
            for c in range(left, right + 1):
                value = values(r, c)
                if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
                    found.append(float(value))
    return found


def within_cancellation(a: Value, b: Value, numbers: list[float]) -> bool:
    """True when a and b differ by at most CANCELLATION_ULPS ulps of the largest of `numbers`
    (the formula's operands): the rounding any engine may make in a sum that cancels."""
    if not (isinstance(a, int | float) and isinstance(b, int | float) and numbers):
        return False
    largest = max(abs(x) for x in numbers)
    return abs(a - b) <= CANCELLATION_ULPS * math.ulp(largest)


def compare(stored: dict[str, dict[tuple[int, int], Value]], recalculation: Recalculation,
            rtol: float) -> list[SheetReport]:
    reports = []
    for sheet in recalculation.sheets:
        cached = stored.get(sheet.name, {})
        report = SheetReport(sheet.name)
        for at in sorted(set(sheet.values) | set(cached)):
            ref = a1(at[1], at[0] + 1)
            if at in sheet.errors:
                report.errors.append((ref, sheet.formulas.get(at, ""), sheet.errors[at]))
            stored_value = cached.get(at, Other("not a formula in the file"))
            if at in sheet.errors:
                recalculated: Value = Other(f"error {sheet.errors[at]}")
            elif at not in sheet.values:
                recalculated = Other(f"not a formula in {recalculation.engine}")
            else:
                value = sheet.values[at]
                recalculated = Other("neither a number nor a text") if value is None else value
            report.checked += 1
            rel = relative_difference(stored_value, recalculated)
            if rel > rtol and math.isfinite(rel) and at not in sheet.errors:
                def value(r: int, c: int, sheet=sheet, cached=cached):
                    found = sheet.values.get((r, c))
                    return cached.get((r, c)) if found is None else found

                formula = sheet.formulas.get(at, "")
                if within_cancellation(stored_value, recalculated, operands(formula, value)):
                    rel = 0.0  # agreement: the rule is in the README (Verifying in LibreOffice)
            if rel > report.largest or not report.largest_at:
                report.largest, report.largest_at = rel, ref
            if rel > rtol and at not in sheet.errors:
                report.differences.append(
                    Difference(ref, sheet.formulas.get(at, ""), stored_value, recalculated, rel))
        reports.append(report)
    return reports


def verify_file(path: Path, rtol: float = DEFAULT_RTOL, timeout: float = DEFAULT_TIMEOUT,
                engine: str = "libreoffice") -> FileReport:
    """Recalculate `path` in LibreOffice (or Gnumeric) and compare every formula cell with its
    cached value."""
    path = Path(path)
    stored = stored_values(path)  # first: an unreadable file never starts LibreOffice
    recalculation = recalculate(path, timeout, engine)
    reports = compare(stored, recalculation, rtol)
    if recalculation.engine in DRIFTING_ENGINES:
        excuse_drift(path, stored, recalculation, reports, rtol)
    return FileReport(path, rtol, recalculation.version, recalculation.seconds, reports,
                      recalculation.engine)


# Engines whose arithmetic differs from ours in the last bits: Gnumeric's long double and EXP;
# LibreOffice's compensated (Kahan) sums, which on the image networks' long cancelling sums of
# products differ by up to 3.5e-12 (on every other shipped example it agrees exactly).
DRIFTING_ENGINES = ("Gnumeric", "LibreOffice")


def excuse_drift(path: Path, stored: dict[str, dict[tuple[int, int], Value]],
                 recalculation: Recalculation, reports: list[SheetReport],
                 rtol: float = DEFAULT_RTOL) -> None:
    """Move the numeric differences that are amplified last-bit drift (check/drift.py: within
    DRIFT_RTOL, and an input of the formula already differs, or the formula cancels) out of
    `differences`; those kept get the file's formula where the engine gives none (Gnumeric)."""
    suspects = {r.name: [d for d in r.differences if math.isfinite(d.relative)] for r in reports}
    if not any(suspects.values()):
        return
    formulas = Workbook(path).formulas_in({name: [d.cell for d in found]
                                           for name, found in suspects.items()})
    engine = {sheet.name: sheet for sheet in recalculation.sheets}

    def difference(cell: tuple[str, int, int]) -> float:
        sheet, row, col = cell
        cached = stored.get(sheet, {}).get((row, col))
        if cached is None or sheet not in engine:
            return 0.0  # a typed value: nothing to recalculate
        if (row, col) in engine[sheet].errors:
            return math.inf
        return relative_difference(cached, engine[sheet].values.get((row, col)))

    workbook, grids = Workbook(path), {}

    def value_of(cell: tuple[str, int, int]) -> float | None:
        sheet, row, col = cell
        if sheet not in grids:
            grids[sheet] = workbook.grid(sheet) if sheet in workbook.sheet_names else []
        grid = grids[sheet]
        value = grid[row][col] if row < len(grid) and col < len(grid[row]) else None
        return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None

    def engine_value(cell: tuple[str, int, int]) -> float | None:
        sheet, row, col = cell
        if sheet in engine and (row, col) in engine[sheet].errors:
            return None
        if sheet not in engine or (row, col) not in engine[sheet].values:
            return value_of(cell)  # a typed value: the same in every engine
        found = engine[sheet].values[(row, col)]
        return float(found) if isinstance(found, int | float) and not isinstance(found, bool) else None

    for report in reports:
        kept = []
        for d in report.differences:
            formula = formulas.get(report.name, {}).get(d.cell)
            if formula is None:
                kept.append(d)
                continue
            inputs = references(formula, report.name)
            condition = condition_number(formula, report.name, value_of)
            if is_amplified_drift(d.relative, inputs, difference, condition) \
                    or is_cancellation(d.relative, condition, rtol) \
                    or (isinstance(d.stored, int | float) and isinstance(d.recalculated, int | float)
                        and is_carried_cancellation(abs(d.stored - d.recalculated), formula, report.name,
                                                    value_of, engine_value)):
                report.drifted += 1
            else:
                kept.append(d if d.formula else replace(d, formula=formula))  # Gnumeric gives none
        report.differences = kept


def _show(value: Value) -> str:
    return str(value) if isinstance(value, Other) else repr(value)


def format_report(report: FileReport) -> str:
    lines = [f"{report.path}: {report.engine} {report.version} recalculated every formula "
             f"({report.seconds:.1f} s with start-up); compared as {PRECISION[report.engine]}, "
             f"rtol {report.rtol:g}"]
    for s in report.sheets:
        where = f" at {s.largest_at}" if s.largest else ""
        drift = (f", {s.drifted} beyond rtol by last-bit drift (an input already differing, or "
                 f"cancellation; within {DRIFT_RTOL:g} of the value or, for a sum that cancels, of its "
                 f"terms; check/drift.py)" if s.drifted else "")
        lines.append(f"  {s.name}: {s.checked} formula cells, {len(s.differences)} differ, "
                     f"{len(s.errors)} errors, largest relative difference {s.largest:.3g}{where}{drift}")
        for d in s.differences[:SHOWN_PER_SHEET]:
            lines.append(f"    {d.cell} {d.formula}: stored {_show(d.stored)}, "
                         f"recalculated {_show(d.recalculated)} (relative {d.relative:.3g})")
        for ref, formula, text in s.errors[:SHOWN_PER_SHEET]:
            lines.append(f"    {ref} {formula}: evaluates to {text}")
        hidden = max(0, len(s.differences) - SHOWN_PER_SHEET) + max(0, len(s.errors) - SHOWN_PER_SHEET)
        if hidden:
            lines.append(f"    ... and {hidden} more")
    largest, at = report.largest
    differ = sum(len(s.differences) for s in report.sheets)
    errors = sum(len(s.errors) for s in report.sheets)
    if report.ok and not report.checked:
        lines.append(f"OK {report.path}: no formula cells, nothing to recalculate")
    elif report.ok:
        where = f" at {at}" if largest else ""
        lines.append(f"OK {report.path}: all {report.checked} formula cells agree "
                     f"(largest relative difference {largest:.3g}{where}; {report.engine})")
    else:
        lines.append(f"FAIL {report.path}: {differ} of {report.checked} formula cells differ, "
                     f"{errors} {'is an error' if errors == 1 else 'are errors'} ({report.engine})")
    return "\n".join(lines)


def check_engines(engine: str) -> tuple[str, ...]:
    """The engines `engine` names ("libreoffice", "gnumeric" or "all"), each found installed,
    or VerifyError saying how to install the missing one."""
    engines = ENGINES if engine == "all" else (engine,)
    for name in engines:
        if name not in ENGINES:
            raise VerifyError(f"unknown engine {name!r}; choose {', '.join(ENGINES)} or all")
        if name == "libreoffice":
            find_uno_python()
        else:
            find_ssconvert()
    return engines


@contextlib.contextmanager
def terminate_as_interrupt():
    """SIGTERM and SIGHUP act like Ctrl-C, so that LibreOffice is shut down on them too."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
