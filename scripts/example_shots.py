"""Photograph one workbook as a student first sees it, in LibreOffice Calc or Gnumeric.

Usage: python scripts/example_shots.py APP OUT_DIR WIDTHxHEIGHT WORKBOOK...
APP is libreoffice or gnumeric. Each workbook is opened in its own virtual X display (Xvfb) and
three PNGs are saved as OUT_DIR/<name>-<format>-<app>-<view>.png:
  summary   the window as it opens (the summary sheet),
  open      the first learning-rate sheet as it opens (Ctrl+Page Down),
  scrolled  that sheet at its table's last row (Ctrl+End, Home: 1,000 rows down for a book of
            1,000 iterations): the header must still show;
  maps      an image network's `maps` sheet (the last one) at A1, when the book has one.
A window that has not shown after SHOT_WAIT seconds (default 600: a book of a million cells
takes Gnumeric minutes) is photographed as <name>-<format>-<app>-failed.png and tried once more.
Needs Xvfb, xdotool, LibreOffice with a GUI or Gnumeric, and Pillow built with XCB.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import ImageGrab

sys.path.insert(0, str(Path(__file__).resolve().parent))
from window_shots import PROFILE, run, sheet_names, start_xvfb, wait_for_window  # noqa: E402


def command(app: str, book: Path, profile: Path) -> list[str]:
    if app == "gnumeric":
        return ["gnumeric", "--no-splash", str(book)]
    return ["soffice", "--norestore", "--nologo", "--nodefault", "--calc",
            f"-env:UserInstallation=file://{profile}", str(book)]


def wait_for_book(app: str, env: dict, name: str, timeout: float, process: subprocess.Popen) -> str:
    """The book's window, once shown. Gnumeric first shows a dialog of what it could not read (an
    .xlsx colour scale: "Ignoring unhandled conditional format of type 'colorScale'") and the
    book's window only once it is closed: Return, with focus on it, presses its Close."""
    deadline, ended = time.monotonic() + timeout, None
    while True:
        try:
            return wait_for_window(env, name, min(10.0, max(0.5, deadline - time.monotonic())))
        except SystemExit:
            if process.poll() is not None:   # LibreOffice under load sometimes ends at start
                ended = ended or time.monotonic()
                if time.monotonic() - ended > 30:
                    raise SystemExit(f"error: {app} ended before showing {name!r}") from None
            if time.monotonic() >= deadline:
                raise SystemExit(f"error: no window named {name!r} after {timeout:.0f} s") from None
        if app == "gnumeric":
            for other in run(["xdotool", "search", "--onlyvisible", "--class", "gnumeric"], env).split():
                run(["xdotool", "windowfocus", "--sync", other], env)
                run(["xdotool", "key", "Return"], env)   # a sent key does not reach a dialog


def shoot(app: str, book: Path, out: Path, width: int, height: int) -> list[Path]:
    xvfb, display = start_xvfb(width, height)
    profile = Path(tempfile.mkdtemp(prefix="sheetgen-shots-"))
    env = dict(os.environ, DISPLAY=f":{display}", SAL_USE_VCLPLUGIN=os.environ.get("VCL", "gtk3"),
               HOME=str(profile))  # Gnumeric keeps its settings under HOME: a fresh one each time
    env.pop("WAYLAND_DISPLAY", None)
    (profile / "user").mkdir()
    (profile / "user" / "registrymodifications.xcu").write_text(PROFILE, "utf-8")
    (profile / "book").mkdir()
    book = Path(shutil.copy2(book, profile / "book" / book.name))
    stem = f"{book.stem}-{book.suffix[1:]}-{app}"
    process, written = None, []
    try:
        process = subprocess.Popen(command(app, book, profile), env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            window = wait_for_book(app, env, book.name, float(os.environ.get("SHOT_WAIT", 600)), process)
        except SystemExit:   # what the screen holds instead, then the error
            ImageGrab.grab(xdisplay=f":{display}").save(out / f"{stem}-failed.png")
            raise
        run(["xdotool", "windowmove", window, "0", "0"], env)
        run(["xdotool", "windowsize", window, str(width), str(height)], env)
        time.sleep(8)  # charts and pictures draw after the window shows
        run(["xdotool", "windowfocus", "--sync", window], env)
        steps = [("summary", []), ("open", ["ctrl+Next"]), ("scrolled", ["ctrl+End", "Home"])]
        names = sheet_names(book)
        if names[-1] == "maps":  # from the second sheet to the last, then its top left
            steps.append(("maps", ["ctrl+Next"] * (len(names) - 2) + ["ctrl+Home"]))
        for view, keys in steps:
            for key in keys:
                run(["xdotool", "key", "--window", window, key], env)
                time.sleep(0.05)
            time.sleep(3)
            target = out / f"{stem}-{view}.png"
            ImageGrab.grab(xdisplay=f":{display}").save(target)
            written.append(target)
    finally:
        if process is not None:
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass   # its group ended already
        xvfb.terminate()
        xvfb.wait(timeout=15)
        shutil.rmtree(profile, ignore_errors=True)
    return written


def main(argv: list[str]) -> int:
    if len(argv) < 4 or argv[0] not in ("libreoffice", "gnumeric"):
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    app, out, size, books = argv[0], Path(argv[1]), argv[2], [Path(p) for p in argv[3:]]
    width, height = (int(v) for v in size.split("x"))
    out.mkdir(parents=True, exist_ok=True)
    failed = 0
    for book in books:
        for attempt in (1, 2, 3):   # a window that never shows under load gets more chances
            try:
                for path in shoot(app, book.resolve(), out, width, height):
                    print(f"wrote {path}")
                break
            except SystemExit as exc:
                print(f"{book.name} in {app}, attempt {attempt}: {exc}", file=sys.stderr)
        else:
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
