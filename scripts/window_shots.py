"""Photograph LibreOffice Calc's own window, as a student sees a workbook on opening it.

Usage: python scripts/window_shots.py OUT_DIR WIDTHxHEIGHT WORKBOOK...

For each screen size a virtual X display (Xvfb) of that size runs LibreOffice with a
throw-away profile; its window is sized to the whole screen and each sheet is shown in turn
(Ctrl+Page Down) and saved as OUT_DIR/<format>-<width>x<height>-<k>-<sheet>.png; the last
sheet also scrolled to its table's end (...-end.png), to its last columns (...-gradients.png)
and to its chart (...-chart.png).
Needs Xvfb, xdotool, a LibreOffice with a GUI (libreoffice-calc plus libreoffice-gtk3 or its
X11 backend) and Pillow built with XCB (the project's own).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from PIL import ImageGrab

# No tip of the day, first-start wizard, crash-recovery or lock-file prompt: the window as it opens.
PROFILE = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="ShowTipOfTheDay" oor:op="fuse">
<value>false</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="FirstRun" oor:op="fuse">
<value>false</value></prop></item>
<item oor:path="/org.openoffice.Setup/Office"><prop oor:name="ooSetupInstCompleted" oor:op="fuse">
<value>true</value></prop></item>
<item oor:path="/org.openoffice.Setup/Product"><prop oor:name="ooSetupLastVersion" oor:op="fuse">
<value>99.9</value></prop></item>
<item oor:path="/org.openoffice.Office.Recovery/RecoveryInfo"><prop oor:name="Enabled" oor:op="fuse">
<value>false</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="UseDocumentOOoLockFile" oor:op="fuse">
<value>false</value></prop></item>
</oor:items>
"""


def sheet_names(path: Path) -> list[str]:
    """The sheets in tab order, from the file's own XML (no spreadsheet library needed)."""
    with zipfile.ZipFile(path) as zf:
        if path.suffix == ".xlsx":
            text = zf.read("xl/workbook.xml").decode("utf-8")
            return re.findall(r'<sheet name="([^"]*)"', text)
        text = zf.read("content.xml").decode("utf-8")
        return re.findall(r'<table:table table:name="([^"]*)"', text)


def run(cmd: list[str], env: dict, timeout: float = 10) -> str:
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout).stdout


def wait_for_window(env: dict, name: str, timeout: float = 240) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ids = run(["xdotool", "search", "--onlyvisible", "--name", name], env).split()
        if ids:
            return ids[-1]
        time.sleep(0.5)
    raise SystemExit(f"error: no window named {name!r} after {timeout:.0f} s")


def start_xvfb(width: int, height: int) -> tuple[subprocess.Popen, int]:
    """A virtual screen on a display number Xvfb picks itself (others may run theirs)."""
    read, write = os.pipe()
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", f"{width}x{height}x24",
                             "-nolisten", "tcp"], pass_fds=(write,),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as pipe:
        number = pipe.readline().strip()
    if not number:
        raise SystemExit("error: Xvfb did not start")
    return xvfb, int(number)


def shoot(book: Path, out: Path, width: int, height: int) -> list[Path]:
    xvfb, display = start_xvfb(width, height)
    env = dict(os.environ, DISPLAY=f":{display}", SAL_USE_VCLPLUGIN=os.environ.get("VCL", "gtk3"))
    env.pop("WAYLAND_DISPLAY", None)
    profile = Path(tempfile.mkdtemp(prefix="sheetgen-lo-"))
    (profile / "user").mkdir()
    (profile / "user" / "registrymodifications.xcu").write_text(PROFILE, "utf-8")
    # A private copy: a lock file left by an earlier window cannot stop this one with a dialog.
    (profile / "book").mkdir()
    book = Path(shutil.copy2(book, profile / "book" / book.name))
    office = None
    written = []
    try:
        office = subprocess.Popen(["soffice", "--norestore", "--nologo", "--nodefault", "--calc",
                                   f"-env:UserInstallation=file://{profile}", str(book)],
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  start_new_session=True)
        try:
            window = wait_for_window(env, book.name)
        except SystemExit:  # show what the screen holds instead
            failed = out / f"failed-{book.suffix[1:]}-{width}x{height}.png"
            ImageGrab.grab(xdisplay=f":{display}").save(failed)
            raise
        # No window manager: place and size the window over the whole screen by hand.
        run(["xdotool", "windowmove", window, "0", "0"], env)
        run(["xdotool", "windowsize", window, str(width), str(height)], env)
        time.sleep(6)  # charts and pictures draw after the window shows
        run(["xdotool", "windowfocus", "--sync", window], env)
        fmt = book.suffix[1:]
        for k, name in enumerate(sheet_names(book), start=1):
            if k > 1:
                run(["xdotool", "key", "--window", window, "ctrl+Next"], env)
                time.sleep(2.5)
            safe = re.sub(r"[^A-Za-z0-9.=_-]", "_", name)
            target = out / f"{fmt}-{width}x{height}-{k}-{safe}.png"
            ImageGrab.grab(xdisplay=f":{display}").save(target)
            written.append(target)
        # The last sheet scrolled: to the table's last row (does the header stay?), then up to
        # its header's last column (the gradients), then right to the chart beside them.
        for label, keys in (("end", ["ctrl+End", "Home"]), ("gradients", ["ctrl+Up", "ctrl+Right"]),
                            ("chart", ["Right"] * 7)):
            for key in keys:
                run(["xdotool", "key", "--window", window, key], env)
                time.sleep(0.3)
            time.sleep(2)
            target = out / f"{fmt}-{width}x{height}-{k}-{safe}-{label}.png"
            ImageGrab.grab(xdisplay=f":{display}").save(target)
            written.append(target)
    finally:
        if office is not None:  # its own process group: soffice.bin as well as its launcher
            os.killpg(office.pid, signal.SIGTERM)
            try:
                office.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(office.pid, signal.SIGKILL)
        xvfb.terminate()
        xvfb.wait(timeout=15)
        shutil.rmtree(profile, ignore_errors=True)
    return written


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    out, size, books = Path(argv[0]), argv[1], [Path(p) for p in argv[2:]]
    width, height = (int(v) for v in size.split("x"))
    out.mkdir(parents=True, exist_ok=True)
    for book in books:
        for path in shoot(book.resolve(), out, width, height):
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
