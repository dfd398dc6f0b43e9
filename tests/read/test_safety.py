"""Hostile or broken workbook files: every command that reads workbooks answers each with one
line and exit status 2, in bounded time and memory, before any parser or LibreOffice sees it."""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import sys
import time
import tracemalloc
import zipfile
from pathlib import Path

import openpyxl
import pytest

from sheetgen import cli
from sheetgen.config import Config
from sheetgen.core.workers import can_fork
from sheetgen.generation import generate
from sheetgen.read import safety
from sheetgen.read.safety import MAX_UNCOMPRESSED, WorkbookError, check_workbook

HAS_SOFFICE = shutil.which("soffice") is not None
NO_SOFFICE = "LibreOffice not installed (Debian: apt-get install libreoffice-calc-nogui python3-uno)"

BILLION_LAUGHS = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0">&lol9;
</office:document-content>
"""
EXTERNAL_ENTITY = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<!-- an innocent-looking comment first -->
<!DOCTYPE workbook [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">&xxe;</workbook>
"""


def replace_entry(source: Path, target: Path, name: str, data: bytes) -> Path:
    """A copy of the zip `source` with entry `name` replaced by `data`."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info, data if info.filename == name else zin.read(info))
    return target


def claim_size(path: Path, name: str, size: int) -> None:
    """Make the zip directory state `size` as the uncompressed size of entry `name` (a lie)."""
    raw = bytearray(path.read_bytes())
    at = raw.find(b"PK\x01\x02")  # the central directory's entries
    while at != -1:
        name_length = struct.unpack_from("<H", raw, at + 28)[0]
        if raw[at + 46:at + 46 + name_length] == name.encode():
            struct.pack_into("<I", raw, at + 24, size)
            path.write_bytes(bytes(raw))
            return
        at = raw.find(b"PK\x01\x02", at + 4)
    raise AssertionError(f"{name} not in {path}")


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("good")
    paths = generate(Config(learning_rates=(0.5,), iterations=3, plots=False, output_dir=out).training())
    return {p.suffix[1:]: p for p in paths}


@pytest.fixture(scope="module")
def hostile(good, tmp_path_factory) -> dict[str, Path]:
    """name -> a broken or hostile workbook file."""
    d = tmp_path_factory.mktemp("hostile")
    files = {}
    files["not a zip"] = d / "not-a-zip.xlsx"
    files["not a zip"].write_text("t1,t2,i1\n0.01,0.99,0.05\n")
    files["truncated"] = d / "truncated.ods"
    data = good["ods"].read_bytes()
    files["truncated"].write_bytes(data[: len(data) // 2])
    files["empty"] = d / "empty.xlsx"
    files["empty"].write_bytes(b"")

    # Over 64 MiB of zeros packed at about 1000:1 beside a real workbook's parts.
    files["zip bomb"] = d / "bomb.xlsx"
    shutil.copy(good["xlsx"], files["zip bomb"])
    with zipfile.ZipFile(files["zip bomb"], "a", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("xl/media/padding.bin", "w") as entry:
            chunk = bytes(1024 * 1024)
            for _ in range(80):
                entry.write(chunk)
    # A directory that claims 3 GiB for content.xml.
    files["huge size"] = d / "huge.ods"
    shutil.copy(good["ods"], files["huge size"])
    claim_size(files["huge size"], "content.xml", 3 * 1024**3)

    files["entity expansion"] = replace_entry(good["ods"], d / "laughs.ods", "content.xml",
                                              BILLION_LAUGHS.encode())
    files["entity expansion, UTF-16"] = replace_entry(
        good["ods"], d / "laughs16.ods", "content.xml",
        BILLION_LAUGHS.replace("UTF-8", "UTF-16").encode("utf-16"))
    files["external entity"] = replace_entry(good["xlsx"], d / "xxe.xlsx", "xl/workbook.xml",
                                             EXTERNAL_ENTITY.encode())
    files["no workbook part"] = d / "parts.ods"
    with zipfile.ZipFile(files["no workbook part"], "w") as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")

    files["no table"] = d / "notes.xlsx"
    wb = openpyxl.Workbook()
    wb.active.title = "notes"
    wb.active["A1"] = "my notes on backpropagation"
    wb.active["B3"] = 0.25
    wb.save(files["no table"])
    files["wrong type"] = d / "table.csv"
    files["wrong type"].write_text("t1,t2\n")
    files["a folder"] = d / "folder.ods"
    files["a folder"].mkdir()
    files["missing"] = d / "missing.xlsx"
    files["OLE2"] = d / "old.xlsx"  # an old .xls, or an encrypted workbook, renamed
    files["OLE2"].write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4096))
    return files


# bad input -> what the one-line error says (the README's table lists the same)
MESSAGES = {
    "not a zip": "not a valid .xlsx file (not a zip archive)",
    "truncated": "damaged or truncated .ods file",
    "empty": "not a valid .xlsx file (not a zip archive)",
    "zip bomb": "refused: it would expand to 83,9",
    "huge size": "refused: it would expand to 3,221,",
    "entity expansion": "refused: content.xml declares a DTD (entity expansion is not allowed",
    "entity expansion, UTF-16": "refused: content.xml declares a DTD",
    "external entity": "refused: xl/workbook.xml declares a DTD",
    "no workbook part": "not a .ods workbook (it has no content.xml)",
    "no table": "table found",
    "wrong type": "not an .xlsx or .ods file",
    "a folder": "not a regular file",
    "missing": "no such file",
    "OLE2": "not a valid .xlsx file: it is an OLE2 compound file, an old .xls or a workbook encrypted "
            "with a password; save it as .xlsx or .ods without a password",
}
# Cases the file guard alone decides (no table is the readers' business).
GUARDED = [name for name in MESSAGES if name != "no table"]


def commands(bad: Path, good: dict[str, Path]) -> dict[str, list[str]]:
    return {
        "compare A": ["compare", str(bad), str(good["xlsx"])],
        "compare B": ["compare", str(good["ods"]), str(bad)],
        "audit": ["audit", str(bad)],
        "verify": ["verify", str(bad)],
    }


# verify recalculates any workbook, with or without a training table: "no table" is not its error.
@pytest.mark.parametrize(("case", "command"), [
    (case, command) for case in MESSAGES for command in ("compare A", "compare B", "audit", "verify")
    if not (command == "verify" and case == "no table")])
def test_every_reading_command_refuses_in_one_line(case, command, hostile, good, capsys):
    if command == "verify" and not HAS_SOFFICE:
        pytest.skip(NO_SOFFICE)
    bad = hostile[case]
    args = commands(bad, good)[command]
    tracemalloc.start()
    start = time.process_time()  # CPU time: the machine may be shared
    status = cli.main(args)
    seconds = time.process_time() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    out, err = capsys.readouterr()
    assert status == 2, (out, err)
    assert err.count("\n") == 1 and err.startswith("error: "), err
    assert MESSAGES[case] in err and str(bad) in err, err
    assert "Traceback" not in out + err
    assert seconds < 10, seconds
    assert peak < 64 * 1024**2, peak  # the 80 MiB bomb was never inflated


def test_unknown_sheet(good, capsys):
    status = cli.main(["compare", str(good["xlsx"]), str(good["ods"]), "--sheet", "lr=7:lr=7"])
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1
    assert err.startswith(f"error: {good['xlsx']}: ") and "'lr=7'" in err and "'lr=0.5'" in err


@pytest.mark.parametrize("case", GUARDED)
def test_check_workbook_refuses(case, hostile):
    with pytest.raises(WorkbookError) as caught:
        check_workbook(hostile[case])
    message = str(caught.value)
    assert "\n" not in message and MESSAGES[case] in message


def test_check_workbook_accepts_real_workbooks(good, reference_ods):
    for path in (good["xlsx"], good["ods"], reference_ods):
        check_workbook(path)


def test_a_harmless_comment_or_declaration_is_not_a_dtd(good, tmp_path):
    text = ('<?xml version="1.0" encoding="UTF-8"?>\n<!-- <!DOCTYPE in a comment -->\n'
            '<?pi <!DOCTYPE in an instruction ?>\n<office:document-content '
            'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"/>')
    check_workbook(replace_entry(good["ods"], tmp_path / "ok.ods", "content.xml", text.encode()))
    long_prolog = "<!--" + "x" * 70_000 + "-->\n<!DOCTYPE a [<!ENTITY b 'c'>]><a/>"
    with pytest.raises(WorkbookError, match="has no element in its first 65,536 bytes"):
        check_workbook(replace_entry(good["ods"], tmp_path / "long.ods", "content.xml",
                                     long_prolog.encode()))
    utf7 = '<?xml version="1.0" encoding="UTF-7"?>+ADw-!DOCTYPE a+AD4-<a/>'
    with pytest.raises(WorkbookError, match=r"unexpected encoding \(UTF-7\)"):
        check_workbook(replace_entry(good["ods"], tmp_path / "utf7.ods", "content.xml", utf7.encode()))


def test_size_limit_is_far_above_a_real_workbook(good):
    real = sum(i.file_size for i in zipfile.ZipFile(good["xlsx"]).infolist())
    assert real * 1000 < MAX_UNCOMPRESSED


def test_every_book_generate_can_write_passes_the_size_checks(tmp_path):
    """The widest layout (trained biases) at 1,000 rows, extrapolated to the largest book
    generate writes: every part within the bounds, packed well below MAX_RATIO. (A 1 x 400,000
    .ods, 2.3 GB of XML, was refused as a zip bomb.)"""
    from sheetgen.config import MAX_LEARNING_RATES, max_iterations
    from sheetgen.core.model import Setup
    from sheetgen.read.safety import MAX_RATIO, MAX_ROW_XML, MAX_SHEETS

    assert MAX_LEARNING_RATES + 1 <= MAX_SHEETS

    config = Config(setup=Setup(b1=0.35, b2=0.6, biases="trained"), iterations=1000,
                    learning_rates=(0.5,), plots=False, output_dir=tmp_path)
    for path in generate(config.training()):
        check_workbook(path)
        with zipfile.ZipFile(path) as zf:
            table = max(zf.infolist(), key=lambda i: i.file_size)
        per_row = table.file_size / 1000
        assert per_row < MAX_ROW_XML / 2, per_row
        rows = max(max_iterations(fmt) for fmt in ("xlsx", "ods"))
        assert per_row * rows * (MAX_LEARNING_RATES + 1) < MAX_UNCOMPRESSED
        assert table.file_size / table.compress_size < MAX_RATIO / 10


# The peak resident memory of the running process in KiB. VmHWM belongs to the process's own
# memory map, which exec replaces; ru_maxrss would keep the forking test runner's peak.
PEAK_KIB = """
def peak_kib():
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
"""


def test_a_real_process_meets_the_bomb_in_bounded_time_and_memory(hostile):
    """In a separate process, so that its peak memory is its own."""
    probe = (PEAK_KIB + "import sys\nfrom sheetgen.cli import main\nstatus = main(sys.argv[1:])\n"
             "print(peak_kib(), file=sys.stdout)\nsys.exit(status)\n")
    for case in ("zip bomb", "entity expansion"):
        start = time.perf_counter()
        result = subprocess.run([sys.executable, "-c", probe, "audit", str(hostile[case])],
                                capture_output=True, text=True, timeout=60,
                                env={**os.environ, "PYTHONWARNINGS": "ignore"})
        assert time.perf_counter() - start < 30
        assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
        assert MESSAGES[case] in result.stderr
        peak_kib = int(result.stdout.split()[-1])
        assert peak_kib < 200 * 1024, peak_kib  # about 70 MiB: the interpreter and its imports


# --- sheets asking a reader for a huge grid or huge copies: refused before calamine sees them ---

SHEET = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns='
         '"http://schemas.openxmlformats.org/spreadsheetml/2006/main"><dimension ref="A1"/>'
         '<sheetData>{rows}</sheetData></worksheet>')
SHEET_PART = "xl/worksheets/sheet2.xml"  # the lr=0.5 sheet of the `good` workbook


def replace_entries(source: Path, target: Path, entries: dict[str, bytes]) -> Path:
    """A copy of the zip `source` with some entries replaced and the others of `entries` added."""
    entries = dict(entries)
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = entries.pop(info.filename, None)
            zout.writestr(info, zin.read(info) if data is None else data)
        for name, data in entries.items():
            zout.writestr(name, data)
    return target


def xlsx_rows(good: Path, target: Path, rows: str, extra: dict[str, bytes] | None = None) -> Path:
    return replace_entries(good, target, {SHEET_PART: SHEET.format(rows=rows).encode(), **(extra or {})})


def ods_rows(good: Path, target: Path, rows: str, keep: bool = False, before: str = "") -> Path:
    """The ods with the rows of sheet lr=0.5 replaced by `rows` (or, with `keep`, followed by
    them), and `before` inserted before its first row."""
    text = zipfile.ZipFile(good).read("content.xml").decode()
    start = text.index("<table:table-row", text.index('table:name="lr=0.5"'))
    end = text.index("</table:table>", start)
    body = text[start:end] + rows if keep else rows
    content = text[:start] + before + body + text[end:]
    return replace_entries(good, target, {"content.xml": content.encode()})


def shared_strings_bomb(good: Path, target: Path) -> Path:
    """5,000 cells of one 1 MB shared string: the reader copies it into each (5 GB)."""
    with zipfile.ZipFile(good) as zf:
        rels = zf.read("xl/_rels/workbook.xml.rels").decode()
        types = zf.read("[Content_Types].xml").decode()
    rels = rels.replace("</Relationships>", '<Relationship Id="rId99" Type="http://schemas.openxmlformats.org'
                        '/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
                        "</Relationships>")
    types = types.replace("</Types>", '<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                          'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
    strings = ('<?xml version="1.0" encoding="UTF-8"?>\n<sst xmlns="http://schemas.openxmlformats.org/'
               'spreadsheetml/2006/main" count="1" uniqueCount="1"><si><t>' + "x" * 1_000_000
               + "</t></si></sst>")
    rows = "".join(f'<row r="{r}">' + "".join(f'<c r="{c}{r}" t="s"><v>0</v></c>' for c in "ABCDEFGHIJ")
                   + "</row>" for r in range(1, 501))
    return xlsx_rows(good, target, rows, {"xl/sharedStrings.xml": strings.encode(),
                                          "xl/_rels/workbook.xml.rels": rels.encode(),
                                          "[Content_Types].xml": types.encode()})


@pytest.fixture(scope="module")
def sprawling(good, tmp_path_factory) -> dict[str, Path]:
    """name -> a small file whose sheet asks a reader for a huge grid or huge copies of text."""
    d = tmp_path_factory.mktemp("sprawling")
    x, o = good["xlsx"], good["ods"]
    cell = "<c r=\"{}\"><v>1</v></c>"
    row, number = "<table:table-row>", 'office:value-type="float" office:value="1"'
    return {
        "far corner": xlsx_rows(x, d / "corner.xlsx", '<row r="1">' + cell.format("A1") + '</row>'
                                '<row r="1048576">' + cell.format("XFD1048576") + "</row>"),
        "far corner first": xlsx_rows(x, d / "corner-first.xlsx", '<row r="1048576">'
                                      + cell.format("XFD1048576") + '</row><row r="1">' + cell.format("A1")
                                      + "</row>"),
        "far row": xlsx_rows(x, d / "far-row.xlsx", '<row r="1">' + cell.format("A1") + cell.format("AF1")
                             + '</row><row r="1048576">' + cell.format("A1048576") + "</row>"),
        "far corner, UTF-16": replace_entries(x, d / "corner16.xlsx", {SHEET_PART: SHEET.replace(
            "UTF-8", "UTF-16").format(rows='<row r="1">' + cell.format("A1") + '</row><row r="1048576">'
                                      + cell.format("XFD1048576") + "</row>").encode("utf-16")}),
        "past the last row": xlsx_rows(x, d / "past.xlsx", '<row r="1">' + cell.format("A1") + '</row>'
                                       '<row r="1048577">' + cell.format("A1048577") + "</row>"),
        "cells without r": xlsx_rows(x, d / "no-r.xlsx", "<row>" + "<c><v>1</v></c>" * 10_000
                                     + '</row><row r="1048576"><c><v>2</v></c></row>'),
        "shared strings": shared_strings_bomb(x, d / "strings.xlsx"),
        "repeated rows and cells": ods_rows(o, d / "repeats.ods", '<table:table-row table:number-rows-'
                                            'repeated="20000"><table:table-cell table:number-columns-'
                                            f'repeated="1000" {number}/></table:table-row>'),
        "repeated rows, count as character references": ods_rows(
            o, d / "references.ods", '<table:table-row table:number-rows-repeated="&#50;0000"><table:table-'
            f'cell table:number-columns-repeated="1000" {number}/></table:table-row>'),
        "repeated empty rows inside": ods_rows(
            o, d / "inside.ods", f'{row}<table:table-cell table:number-columns-repeated="30" {number}/>'
            '</table:table-row><table:table-row table:number-rows-repeated="1000000"><table:table-cell '
            'table:number-columns-repeated="16384"/></table:table-row>'
            f'{row}<table:table-cell {number}/></table:table-row>'),
        "repeated empty rows, self-closing": ods_rows(
            o, d / "self-closing.ods", f'{row}<table:table-cell table:number-columns-repeated="30" {number}/>'
            '</table:table-row><table:table-row table:number-rows-repeated="1000000"/>'
            f'{row}<table:table-cell {number}/></table:table-row>'),
        "repeated text": ods_rows(o, d / "text.ods", f'{row}<table:table-cell table:number-columns-'
                                  'repeated="16384" office:value-type="string" office:string-value="'
                                  + "y" * 100_000 + '"/></table:table-row>'),
    }


# bad input -> what the one-line error says (the README's table lists the same)
SPRAWL_MESSAGES = {
    "far corner": "xl/worksheets/sheet2.xml spans A1:XFD1048576, 17,179,869,184 cells, from 281 bytes of XML",
    "far corner first": "spans A1:XFD1048576, 17,179,869,184 cells",
    "far row": "spans A1:AF1048576, 33,554,432 cells, from 302 bytes",
    "far corner, UTF-16": "xl/worksheets/sheet2.xml spans A1:XFD1048576, 17,179,869,184 cells",
    "past the last row": "reaches cell A1048577, beyond the last cell of a sheet (XFD1048576)",
    "cells without r": "spans A1:NTP1048576, 10,485,760,000 cells",
    "shared strings": "refused: 5,000 cells would each copy a shared string of up to 1,000,019 bytes",
    "repeated rows and cells": "content.xml, sheet 'lr=0.5', spans A1:ALL20000, 20,000,000 cells",
    "repeated rows, count as character references": "sheet 'lr=0.5', spans A1:ALL20000, 20,000,000 cells",
    "repeated empty rows inside": "content.xml, sheet 'lr=0.5', spans A1:AD1000002, 30,000,060 cells",
    "repeated empty rows, self-closing": "content.xml, sheet 'lr=0.5', spans A1:AD1000002, 30,000,060 cells",
    "repeated text": "content.xml, sheet 'lr=0.5', repeats cells into 1,640,347,875 bytes of text",
}
# Runs CLI commands in a child process limited to MEMORY_LIMIT of address space, so that a file
# the guard let through would fail the test (allocation error) instead of aborting pytest.
PROBE = PEAK_KIB + """
import contextlib, io, json, sys, time
from sheetgen.cli import main
results = []
for args in json.loads(sys.argv[1]):
    out, err = io.StringIO(), io.StringIO()
    start = time.process_time()  # CPU time: the machine may be shared
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(args)
    results.append([status, out.getvalue(), err.getvalue(), time.process_time() - start])
print(json.dumps({"results": results, "peak_kib": peak_kib()}))
"""
MEMORY_LIMIT = 2 * 1024**3


def limited(probe: str) -> str:
    """`probe` run under MEMORY_LIMIT of address space, set by its own first line (no preexec_fn:
    Python code between fork and exec can deadlock in a test process with threads)."""
    return (f"import resource; resource.setrlimit(resource.RLIMIT_AS, ({MEMORY_LIMIT}, {MEMORY_LIMIT}))\n"
            + probe)


def run_limited(commands: list[list[str]]) -> dict:
    import json

    result = subprocess.run([sys.executable, "-c", limited(PROBE), json.dumps(commands)],
                            capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONWARNINGS": "ignore", "OPENBLAS_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.splitlines()[-1])


@pytest.mark.parametrize("case", list(SPRAWL_MESSAGES))
def test_sprawling_sheets_are_refused_by_every_reading_command(case, sprawling, good):
    bad = sprawling[case]
    names = [n for n in commands(bad, good) if n != "verify" or HAS_SOFFICE]
    run = run_limited([commands(bad, good)[n] for n in names])
    for name, (status, out, err, seconds) in zip(names, run["results"], strict=True):
        assert status == 2, (name, out, err)
        assert err.count("\n") == 1 and err.startswith(f"error: {bad}: refused: "), (name, err)
        assert SPRAWL_MESSAGES[case] in err, (name, err)
        assert seconds < 5, (name, seconds)
    assert run["peak_kib"] < 300 * 1024, run["peak_kib"]  # the interpreter and its imports


@pytest.mark.parametrize("case", list(SPRAWL_MESSAGES))
def test_check_workbook_refuses_sprawling_sheets(case, sprawling):
    with pytest.raises(WorkbookError) as caught:
        check_workbook(sprawling[case])
    assert "\n" not in str(caught.value) and SPRAWL_MESSAGES[case] in str(caught.value)


def test_harmless_extents_are_read_as_usual(good, tmp_path):
    """What writers legitimately emit, or readers ignore, must not be refused: a <dimension>
    claiming the whole sheet, an .ods column declaration repeated a billion times, and empty
    rows and cells repeated to the sheet's end (LibreOffice writes these)."""
    sheet = zipfile.ZipFile(good["xlsx"]).read(SHEET_PART).decode()
    dimension = re.search(r'<dimension ref="(A1:[A-Z]+\d+)"/>', sheet).group(1)
    whole = replace_entries(good["xlsx"], tmp_path / "dimension.xlsx",
                            {SHEET_PART: sheet.replace(dimension, "A1:XFD1048576").encode()})
    trailing = ods_rows(good["ods"], tmp_path / "trailing.ods",
                        '<table:table-row table:number-rows-repeated="1048000"><table:table-cell '
                        'table:number-columns-repeated="16384"/></table:table-row>', keep=True,
                        before='<table:table-column table:number-columns-repeated="1000000000"/>')
    for path in (whole, trailing):
        check_workbook(path)
    run = run_limited([["compare", str(good["xlsx"]), str(whole)], ["audit", str(whole)],
                       ["compare", str(good["ods"]), str(trailing)], ["audit", str(trailing)]])
    for status, out, err, seconds in run["results"]:
        assert status == 0 and err == "", (out, err)
        assert "verdict: equal" in out or "result: no mistakes found" in out, out
        assert seconds < 5, seconds


def test_a_real_table_pays_for_its_grid(tmp_path, monkeypatch):
    """Past FREE_CELLS a grid must be paid for by its bytes: a generated table's cells cost
    90-170 bytes each, far above BYTES_PER_CELL, whatever the number of rows."""
    import sheetgen.read.safety as safety

    config = Config(learning_rates=(0.5,), iterations=500, plots=False, output_dir=tmp_path)
    paths = generate(config.training())
    monkeypatch.setattr(safety, "FREE_CELLS", 0)
    for path in paths:
        check_workbook(path)
    monkeypatch.setattr(safety, "BYTES_PER_CELL", 1000)  # cells costing less than 1000 bytes refused
    monkeypatch.setattr(safety, "_PASSED", {})  # forget that these files passed
    for path in paths:
        with pytest.raises(WorkbookError, match=r"refused: .* spans A1:[A-Z]+[0-9]+, "):
            check_workbook(path)


def test_the_number_patterns_match_exactly_the_larger_numbers():
    import re

    from sheetgen.core.cells import column_letter
    from sheetgen.read.safety import _greater, _letters_greater

    samples = [1, 2, 9, 10, 11, 19, 99, 100, 101, 999, 1000, 1009, 10038, 99999, 100000, 1048576, 9999998]
    for n in samples + [0]:
        pattern = re.compile(_greater(n))
        for m in samples + [n, n + 1, 9999999]:
            assert bool(pattern.fullmatch(str(m).encode())) == (m > n), (n, m)
    columns = [1, 2, 25, 26, 27, 32, 52, 64, 676, 702, 703, 728, 16384, 18278]
    for n in columns + [0]:
        pattern = re.compile(_letters_greater(n))
        for m in columns:
            assert bool(pattern.fullmatch(column_letter(m - 1).encode())) == (m > n), (n, m)


# --- a sheet stored under another name: readers follow the relationships, so the guard does ---

def renamed_sheet(good: Path, target: Path, far: str) -> Path:
    """The workbook with sheet2.xml stored as sheet2.dat (relationships and content types
    updated), holding A1 and a far-off cell."""
    rows = f'<row r="1"><c r="A1"><v>1</v></c></row><row r="1048576"><c r="{far}"><v>1</v></c></row>'
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            name, data = info.filename, zin.read(info)
            if name == SHEET_PART:
                name, data = "xl/worksheets/sheet2.dat", SHEET.format(rows=rows).encode()
            elif name in ("xl/_rels/workbook.xml.rels", "[Content_Types].xml"):
                data = data.replace(b"sheet2.xml", b"sheet2.dat")
            elif name == "xl/worksheets/_rels/sheet2.xml.rels":
                name = "xl/worksheets/_rels/sheet2.dat.rels"
            zout.writestr(name, data)
    return target


RENAMED = {"XFD1048576": "xl/worksheets/sheet2.dat spans A1:XFD1048576, 17,179,869,184 cells",
           "CV1048576": "xl/worksheets/sheet2.dat spans A1:CV1048576, 104,857,600 cells"}
# Imported before the clock starts: what is timed is the refusal, not pandas' import.
TIMED_PROBE = PROBE.replace("from sheetgen.cli import main", "from sheetgen.cli import main\n"
                            "import sheetgen.check.compare, sheetgen.check.audit")


def test_a_sheet_under_another_name_is_refused_fast_and_small(good, tmp_path):
    import json

    names = [n for n in ("compare A", "compare B", "audit", "verify") if n != "verify" or HAS_SOFFICE]
    for far, message in RENAMED.items():
        bad = renamed_sheet(good["xlsx"], tmp_path / f"renamed-{far}.xlsx", far)
        with pytest.raises(WorkbookError, match=message):
            check_workbook(bad)

        result = subprocess.run(
            [sys.executable, "-c", limited(TIMED_PROBE),
             json.dumps([commands(bad, good)[n] for n in names])],
            capture_output=True, text=True, timeout=120,
            env={**os.environ, "PYTHONWARNINGS": "ignore", "OPENBLAS_NUM_THREADS": "1"})
        assert result.returncode == 0, result.stderr[-2000:]  # a reader let loose aborts the child
        run = json.loads(result.stdout.splitlines()[-1])
        for name, (status, out, err, seconds) in zip(names, run["results"], strict=True):
            assert status == 2 and err.count("\n") == 1 and message in err, (name, out, err)
            assert seconds < 1, (name, seconds)
        assert run["peak_kib"] < 200 * 1024, run["peak_kib"]


def lying_sizes(good: Path, target: Path, member: str) -> Path:
    """A copy whose zip directory states half the real size of `member`, with the CRC of that
    half: the zip library reads the cut-short part without complaint."""
    import zlib

    shutil.copy(good, target)
    data = zipfile.ZipFile(good).read(member)
    half = len(data) // 2
    raw = bytearray(target.read_bytes())
    at = raw.find(b"PK\x01\x02")
    while at != -1:
        name_length = struct.unpack_from("<H", raw, at + 28)[0]
        if raw[at + 46:at + 46 + name_length] == member.encode():
            struct.pack_into("<I", raw, at + 16, zlib.crc32(data[:half]))
            struct.pack_into("<I", raw, at + 24, half)
        at = raw.find(b"PK\x01\x02", at + 4)
    target.write_bytes(bytes(raw))
    return target


def test_verify_names_a_part_cut_short_by_a_lying_zip(good, tmp_path, capsys):
    from sheetgen.check.verify import stored_values
    from sheetgen.errors import VerifyError

    bad = lying_sizes(good["xlsx"], tmp_path / "lying.xlsx", SHEET_PART)
    with pytest.raises(VerifyError) as caught:
        stored_values(bad)
    message = str(caught.value)
    assert message.startswith(f"{bad}: cannot read its cells: {SHEET_PART} is damaged or cut short ("), \
        message
    assert message.endswith("; the zip may state a wrong size)") and "\n" not in message
    if HAS_SOFFICE:
        assert cli.main(["verify", str(bad)]) == 2
        assert capsys.readouterr().err == f"error: {message}\n"


# --- pictures and other binary parts; LibreOffice's Basic libraries --------------------------------

def with_picture(good: Path, target: Path, size: int = 1024**2) -> Path:
    """The generated book as a spreadsheet program saves it with a screenshot pasted in: its
    values (openpyxl keeps no formulas' values) and a PNG of about `size` bytes of noise."""
    import numpy as np
    from openpyxl.drawing.image import Image as Picture
    from PIL import Image

    side = int((size / 3) ** 0.5) + 1
    png = target.with_suffix(".png")
    pixels = np.random.default_rng(0).integers(0, 256, (side, side, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(png)
    book = openpyxl.load_workbook(good, data_only=True)
    book["lr=0.5"].add_image(Picture(str(png)), "AL2")
    book.save(target)
    png.unlink()
    return target


def test_a_pasted_picture_of_any_size_is_left_alone(good, tmp_path, capsys):
    book = with_picture(good["xlsx"], tmp_path / "screenshot.xlsx")
    with zipfile.ZipFile(book) as zf:
        pictures = [i for i in zf.infolist() if i.filename.startswith("xl/media/")]
    assert max(i.file_size for i in pictures) > 1024**2  # past the 64 KiB an XML prolog may take
    check_workbook(book)
    assert cli.main(["audit", str(book)]) == 0
    assert cli.main(["compare", str(book), str(good["ods"])]) == 0
    assert "error" not in capsys.readouterr().err


def test_a_part_typed_or_related_as_xml_is_still_checked(good, tmp_path):
    # Declared XML by its content type, whatever its name.
    with zipfile.ZipFile(good["xlsx"]) as zf:
        types = zf.read("[Content_Types].xml")
    declared = types.replace(b"</Types>", b'<Override PartName="/xl/notes.bin" '
                                          b'ContentType="application/xml"/></Types>')
    bad = replace_entries(good["xlsx"], tmp_path / "typed.xlsx",
                          {"[Content_Types].xml": declared, "xl/notes.bin": EXTERNAL_ENTITY.encode()})
    with pytest.raises(WorkbookError, match="xl/notes.bin declares a DTD"):
        check_workbook(bad)
    # A picture's name and type, but a worksheet relationship points to it: readers parse it.
    renamed = renamed_sheet(good["xlsx"], tmp_path / "png.xlsx", "XFD1048576")
    with zipfile.ZipFile(renamed) as zf:
        entries = {i.filename: zf.read(i) for i in zf.infolist()}
    entries["xl/media/image9.png"] = entries.pop("xl/worksheets/sheet2.dat")
    entries["xl/_rels/workbook.xml.rels"] = entries["xl/_rels/workbook.xml.rels"].replace(
        b"worksheets/sheet2.dat", b"media/image9.png")
    entries["[Content_Types].xml"] = entries["[Content_Types].xml"].replace(
        b"</Types>", b'<Default Extension="png" ContentType="image/png"/></Types>')
    disguised = tmp_path / "disguised.xlsx"
    with zipfile.ZipFile(disguised, "w", zipfile.ZIP_DEFLATED) as zout:
        for name, data in entries.items():
            zout.writestr(name, data)
    with pytest.raises(WorkbookError, match="xl/media/image9.png spans A1:XFD1048576"):
        check_workbook(disguised)


LIBREOFFICE_DOCTYPE = '<!DOCTYPE {} PUBLIC "-//OpenOffice.org//DTD OfficeDocument 1.0//EN" "{}">'
BASIC = {  # a Basic library's parts, as LibreOffice writes them into an .ods
    "Basic/script-lc.xml": (
        "library:libraries", "libraries.dtd",
        '<library:libraries xmlns:library="http://openoffice.org/2000/library" '
        'xmlns:xlink="http://www.w3.org/1999/xlink"><library:library library:name="Standard" '
        'xlink:href="./Standard/script.xlb/" xlink:type="simple" library:link="false"/>'
        '</library:libraries>'),
    "Basic/Standard/script-lb.xml": (
        "library:library", "library.dtd",
        '<library:library xmlns:library="http://openoffice.org/2000/library" library:name="Standard" '
        'library:readonly="false" library:passwordprotected="false"><library:element '
        'library:name="Module1"/></library:library>'),
    "Basic/Standard/Module1.xml": (
        "script:module", "module.dtd",
        '<script:module xmlns:script="http://openoffice.org/2000/script" script:name="Module1" '
        'script:language="StarBasic" script:moduleType="normal">REM  *****  BASIC  *****\n'
        'Sub Main\nEnd Sub\n</script:module>'),
}


def with_basic(good: Path, target: Path, change: dict[str, str] | None = None) -> Path:
    parts = {name: f'<?xml version="1.0" encoding="UTF-8"?>\n{LIBREOFFICE_DOCTYPE.format(root, dtd)}\n{body}'
             for name, (root, dtd, body) in BASIC.items()}
    parts.update(change or {})
    with zipfile.ZipFile(good) as zf:
        manifest = zf.read("META-INF/manifest.xml")
    entries = "".join(f' <manifest:file-entry manifest:full-path="{name}" manifest:media-type="text/xml"/>\n'
                      for name in parts)
    manifest = manifest.replace(b"</manifest:manifest>", entries.encode() + b"</manifest:manifest>")
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info, manifest if info.filename == "META-INF/manifest.xml" else zin.read(info))
        for name, text in parts.items():
            zout.writestr(name, text)
    return target


def test_a_basic_library_is_accepted(good, tmp_path, capsys):
    book = with_basic(good["ods"], tmp_path / "macros.ods")
    check_workbook(book)
    assert cli.main(["audit", str(book)]) == 0
    assert cli.main(["compare", str(book), str(good["xlsx"])]) == 0
    assert "error" not in capsys.readouterr().err


@pytest.mark.parametrize("name, text", [
    # a DTD with entities, in a Basic part
    ("Basic/Standard/Module1.xml", BILLION_LAUGHS),
    # LibreOffice's doctype with an internal subset
    ("Basic/script-lc.xml", '<?xml version="1.0"?>\n<!DOCTYPE library:libraries PUBLIC '
     '"-//OpenOffice.org//DTD OfficeDocument 1.0//EN" "libraries.dtd" [<!ENTITY x "y">]>\n<a/>'),
    # LibreOffice's doctype pointing elsewhere
    ("Basic/script-lc.xml", '<?xml version="1.0"?>\n<!DOCTYPE library:libraries PUBLIC '
     '"-//OpenOffice.org//DTD OfficeDocument 1.0//EN" "http://example.com/x.dtd">\n<a/>'),
    # LibreOffice's doctype outside Basic/
    ("content.xml", '<?xml version="1.0"?>\n' + LIBREOFFICE_DOCTYPE.format("office:document-content",
                                                                          "office.dtd") + "\n<a/>"),
])
def test_any_other_doctype_is_still_refused(good, tmp_path, name, text):
    if name == "content.xml":
        book = replace_entry(good["ods"], tmp_path / "doctype.ods", name, text.encode())
    else:
        book = with_basic(good["ods"], tmp_path / "macros.ods", {name: text})
    with pytest.raises(WorkbookError, match=f"{name} declares a DTD"):
        check_workbook(book)


def test_the_check_inflates_each_part_as_the_zip_library_reads_it(good, tmp_path):
    """The check reads entries straight from the archive: the same bytes as the zip library,
    deflated or stored, and no more than a directory that understates a part's size says."""
    from sheetgen.read.safety import inflated

    stored = tmp_path / "stored.xlsx"
    with zipfile.ZipFile(good["xlsx"]) as zin, zipfile.ZipFile(stored, "w", zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info))
    lying = lying_sizes(good["xlsx"], tmp_path / "lying.xlsx", SHEET_PART)
    for path in (good["xlsx"], good["ods"], stored, lying):
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                assert b"".join(inflated(zf, info)) == zf.read(info), (path, info.filename)


@pytest.mark.skipif(not can_fork(), reason="needs fork")
@pytest.mark.parametrize("case", [c for c in SPRAWL_MESSAGES if not c.startswith("repeated")])
def test_parts_checked_side_by_side_are_refused_alike(case, sprawling, monkeypatch):
    """A big .xlsx has its parts checked in worker processes: the same verdict, the same line."""
    monkeypatch.setattr(safety, "PARALLEL_PART_BYTES", 0)
    checked = []
    real = safety.map_in_processes
    monkeypatch.setattr(safety, "map_in_processes",
                        lambda function, items, *a, **k: (checked.append(len(items)),
                                                          real(function, items, *a, **k))[1])
    with pytest.raises(WorkbookError) as caught:
        safety._check(sprawling[case])
    assert checked and checked[0] > 1
    assert "\n" not in str(caught.value) and SPRAWL_MESSAGES[case] in str(caught.value)


@pytest.mark.skipif(not can_fork(), reason="needs fork")
def test_a_real_workbook_checked_side_by_side_passes(good, monkeypatch):
    monkeypatch.setattr(safety, "PARALLEL_PART_BYTES", 0)
    assert safety._in_workers(zipfile.ZipFile(good["xlsx"]).infolist())
    assert safety._check(good["xlsx"]) is None
