"""The table-body fast path (sheetgen/writers/row_templates.py) against the per-cell path it replaces.

.xlsx: the same book written with XlsxWriter's own write_number/write_formula for every cell
must give byte-identical workbook parts. .ods: the same rows rendered cell by cell with
layout.render_row must give a byte-identical content.xml. Then both files read back with
their libraries hold exactly the model's values and the layout's formulas.
"""

from __future__ import annotations

import dataclasses
import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import zipfile
import zlib

import openpyxl
import pytest
import xlsxwriter
from parts import ods_cells

from sheetgen.config import Config
from sheetgen.core import progress
from sheetgen.core.cells import column_letter
from sheetgen.core.model import Setup, run
from sheetgen.core.presets import reference_network as network
from sheetgen.layout.assemble import build_book
from sheetgen.layout.book import render_row
from sheetgen.write import ods, row_templates, xlsx


def xlsx_per_cell(ws, sheet, styles) -> None:
    """XlsxWriter's own way: one write call per cell, each formula through _prepare_formula."""
    for k, values in enumerate(sheet.rows):
        row = sheet.first_row + k
        for column, value in zip(sheet.columns, values, strict=True):
            formula = render_row(column, "xlsx", row + 1, first=k == 0)
            if formula is None:
                ws.write_number(row, column.index, value, styles[column.style])
            else:
                ws.write_formula(row, column.index, formula, styles[column.style], value)


def ods_per_cell(sheet, out, style_attrs) -> None:
    """Each cell rendered and escaped on its own (the writer's loop before row templates)."""
    from xml.sax.saxutils import escape

    for k, values in enumerate(sheet.rows):
        number = sheet.first_row + k + 1
        parts = ["<table:table-row>"]
        for column, style, value in zip(sheet.columns, style_attrs, values, strict=True):
            formula = render_row(column, "ods", number, first=k == 0)
            if formula is None:
                parts.append(f'<table:table-cell{style} office:value-type="float" '
                             f'office:value="{value!r}"/>')
            else:
                parts.append(f'<table:table-cell{style} table:formula="of:='
                             f'{escape(formula, {chr(34): "&quot;"})}" '
                             f'office:value-type="float" office:value="{value!r}"/>')
        parts.append("</table:table-row>")
        out.write("".join(parts).encode("utf-8"))


def parts_of(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


CONFIGS = {
    "default": Config(learning_rates=(0.5, 2.0), iterations=300, plots=False),
    "errata": Config(learning_rates=(0.8,), iterations=40, reference_errata=True, plots=False),
    "trained biases": Config(setup=Setup(b1=0.35, b2=0.6, biases="trained"),
                             learning_rates=(0.5,), iterations=25, plots=False),
    "one row": Config(learning_rates=(0.1,), iterations=1, plots=False),
    "two rows": Config(learning_rates=(0.1,), iterations=2, plots=False),
    "three rows": Config(learning_rates=(0.1,), iterations=3, plots=False),
}


@pytest.mark.parametrize("name", CONFIGS)
def test_xlsx_fast_path_is_byte_identical_to_xlsxwriter_per_cell(tmp_path, monkeypatch, name):
    config = CONFIGS[name]
    xlsx.write(build_book(config.training()), tmp_path / "fast.xlsx")
    monkeypatch.setattr(xlsx, "write_xlsx_body", xlsx_per_cell)
    xlsx.write(build_book(config.training()), tmp_path / "library.xlsx")
    fast, library = parts_of(tmp_path / "fast.xlsx"), parts_of(tmp_path / "library.xlsx")
    assert list(fast) == list(library)
    for part in library:
        assert fast[part] == library[part], part
    if config.iterations > 2:  # the comparison covered rows the fast path wrote
        sheet_xml = fast["xl/worksheets/sheet2.xml"].decode()
        assert f'<row r="{18}">' in sheet_xml and "&gt;=" in sheet_xml


@pytest.mark.parametrize("name", CONFIGS)
def test_ods_fast_path_is_byte_identical_to_per_cell_rendering(tmp_path, monkeypatch, name):
    config = CONFIGS[name]
    ods.write(build_book(config.training()), tmp_path / "fast.ods")
    monkeypatch.setattr(ods, "write_ods_body", ods_per_cell)
    ods.write(build_book(config.training()), tmp_path / "cells.ods")
    assert parts_of(tmp_path / "fast.ods") == parts_of(tmp_path / "cells.ods")


def test_a_formula_xlsxwriter_would_change_goes_through_xlsxwriter(tmp_path, monkeypatch):
    """SWITCH gets XlsxWriter's _xlfn. prefix: the template cannot know that, so that sheet
    is written cell by cell, and the file is still the library's, byte for byte."""
    config = Config(learning_rates=(0.5,), iterations=30, plots=False)

    def book_with_switch():
        book = build_book(config.training())
        sheet = book.sheets[0]
        columns = list(sheet.columns)
        w = next(i for i, c in enumerate(columns) if c.quantity == "E_total")
        later = dict(columns[w].later, xlsx="SWITCH(1,1,U{r}+V{r})")
        columns[w] = dataclasses.replace(columns[w], later=later)
        book.sheets[0] = dataclasses.replace(sheet, columns=columns)
        return book

    probe = xlsxwriter.Workbook(str(tmp_path / "probe.xlsx"))
    assert not row_templates._xlsx_needs_no_preparation(probe.add_worksheet(), book_with_switch().sheets[0])
    probe.close()
    xlsx.write(book_with_switch(), tmp_path / "fast.xlsx")
    monkeypatch.setattr(xlsx, "write_xlsx_body", xlsx_per_cell)
    xlsx.write(book_with_switch(), tmp_path / "library.xlsx")
    assert parts_of(tmp_path / "fast.xlsx") == parts_of(tmp_path / "library.xlsx")
    assert b"_xlfn.SWITCH(1,1,U19+V19)" in parts_of(tmp_path / "fast.xlsx")["xl/worksheets/sheet2.xml"]


@pytest.fixture(scope="module")
def long_sheet(tmp_path_factory):
    """One sheet of 600 rows (several batches of ROWS_PER_WRITE) through the fast path.
    Not more: odfpy's DOM is big, and a pytest process that has grown inflates the peak RSS that
    later tests measure in their child processes (exec keeps the parent's high-water mark)."""
    config = Config(learning_rates=(0.8,), iterations=600, plots=False,
                    output_dir=tmp_path_factory.mktemp("long"))
    xlsx.write(build_book(config.training()), config.output_path("xlsx"))
    ods.write(build_book(config.training()), config.output_path("ods"))
    return config


def expected_cells(config: Config):
    """(ref, formula or None, value) of every table cell, from the model and the layout."""
    sheet = build_book(config.training()).sheets[0]
    rows = run(network(), config.setup, config.learning_rates[0], config.iterations)
    for k, row in enumerate(rows):
        number = sheet.first_row + k + 1
        for column in sheet.columns:
            ref = f"{column_letter(column.index)}{number}"
            yield ref, column, row[column.quantity], number, k == 0


def test_xlsx_long_sheet_reads_back_with_openpyxl(long_sheet):
    path = long_sheet.output_path("xlsx")
    formulas = openpyxl.load_workbook(path, read_only=True)["lr=0.8"]
    values = openpyxl.load_workbook(path, read_only=True, data_only=True)["lr=0.8"]
    first = 17
    f_rows = list(formulas.iter_rows(min_row=first, values_only=True))
    v_rows = list(values.iter_rows(min_row=first, values_only=True))
    assert len(f_rows) == len(v_rows) == long_sheet.iterations
    checked = 0
    for ref, column, value, number, is_first in expected_cells(long_sheet):
        k, c = number - first, column.index
        assert v_rows[k][c] == value, ref  # exact: the stored text reads back as the same double
        formula = render_row(column, "xlsx", number, first=is_first)
        assert f_rows[k][c] == (value if formula is None else "=" + formula), ref
        checked += 1
    assert checked == 600 * 32


def test_ods_long_sheet_reads_back_with_odfpy(long_sheet):
    cells = ods_cells(long_sheet.output_path("ods"))["lr=0.8"]
    checked = 0
    for ref, column, value, number, is_first in expected_cells(long_sheet):
        formula, stored, _ = cells[ref]
        assert float(stored) == value, ref
        expected = render_row(column, "ods", number, first=is_first)
        assert formula == (None if expected is None else "of:=" + expected), ref
        checked += 1
    assert checked == 600 * 32
    assert f"A{17 + long_sheet.iterations}" not in cells


def test_formula_template_matches_render_row_on_every_column():
    sheet = build_book(Config(iterations=5, plots=False).training()).sheets[0]
    for column in sheet.columns:
        template = row_templates.formula_template(column.later["ods"], lambda text: text)
        for number in (40, 99, 1_048_576):
            assert template.format(number, number - 1) == render_row(column, "ods", number, first=False)


def test_formula_template_escapes_xml_and_braces():
    # Layout templates are format strings: a literal brace is doubled there and stays literal.
    template = row_templates.formula_template('IF({r}>0;"a{{b}}";[.A{p}])', row_templates._ods_escape)
    assert template.format(7, 6) == 'IF(7&gt;0;&quot;a{b}&quot;;[.A6])'
    with pytest.raises(ValueError, match="unexpected field"):
        row_templates.formula_template("A{q}", row_templates._xlsx_escape)


def test_a_failing_ods_stream_stops_the_run_with_its_error():
    class Full:
        def write(self, data):
            raise OSError(28, "No space left on device")

    sheet = build_book(Config(learning_rates=(0.5,), iterations=2000, plots=False).training()).sheets[0]
    with pytest.raises(OSError, match="No space left"):
        row_templates.write_ods_body(sheet, Full(), ["" for _ in sheet.columns])


# --- progress bars --------------------------------------------------------------------------

class _Stream:
    def __init__(self, tty: bool) -> None:
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_bars_only_on_a_terminal_and_never_when_quiet():
    assert progress.wanted(quiet=False, stream=_Stream(True))
    assert not progress.wanted(quiet=False, stream=_Stream(False))
    assert not progress.wanted(quiet=True, stream=_Stream(True))
    assert not progress.wanted(quiet=False, stream=object())  # no isatty at all


def test_track_passes_rows_through_unchanged_with_and_without_bars():
    rows = [(1.0,), (2.0,)]
    assert progress.track(rows, 2, "x") is rows
    with progress.bars(True):
        assert list(progress.track(iter(rows), 2, "x")) == rows
    assert progress.track(rows, 2, "x") is rows  # off again after the block


def sheetgen(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sheetgen", *args], capture_output=True,
                          text=True, timeout=120)


def test_no_progress_output_when_not_on_a_terminal(tmp_path):
    result = sheetgen("generate", "--iterations", "10000", "--learning-rates", "0.5",
                      "--format", "ods", "--no-plots", "--output-dir", str(tmp_path))
    assert result.returncode == 0 and result.stderr == ""
    assert "BackPropagation.ods" in result.stdout


def test_quiet_prints_nothing(tmp_path):
    result = sheetgen("generate", "--quiet", "--iterations", "30", "--no-plots",
                      "--output-dir", str(tmp_path))
    assert result.returncode == 0 and result.stdout == "" and result.stderr == ""
    assert (tmp_path / "BackPropagation.xlsx").is_file() and (tmp_path / "BackPropagation.ods").is_file()


def _on_a_terminal(*args: str) -> tuple[int, str]:
    """Run sheetgen with stderr on a pseudo-terminal; returns (status, what the terminal got)."""
    leader, follower = pty.openpty()
    # A real terminal has a size; tqdm draws nothing on a 0-column one.
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "sheetgen", *args], stdout=subprocess.DEVNULL,
                            stderr=follower, stdin=subprocess.DEVNULL)
    os.close(follower)
    seen = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the terminal closed: the process is gone
                break
            if not chunk:
                break
            seen += chunk
        elif proc.poll() is not None:
            break
    os.close(leader)
    return proc.wait(timeout=120), seen.decode("utf-8", "replace")


def test_a_terminal_gets_a_bar_per_sheet_and_format(tmp_path):
    # Long enough to outlast the bars' delay (progress.DELAY_SECONDS) on a fast machine.
    status, shown = _on_a_terminal("generate", "--iterations", "20000", "--learning-rates", "0.5",
                                   "--format", "xlsx", "--no-plots", "--output-dir", str(tmp_path))
    assert status == 0
    assert "xlsx lr=0.5" in shown and "rows/s" in shown


@pytest.mark.parametrize("fmt", ["xlsx", "ods"])
def test_the_table_part_is_deflated_at_the_chosen_level(tmp_path, fmt):
    path = tmp_path / f"book.{fmt}"
    writer = xlsx if fmt == "xlsx" else ods
    writer.write(build_book(Config(learning_rates=(0.5,), iterations=400, plots=False).training()), path)

    def deflated_size(data: bytes, level: int) -> int:
        packer = zlib.compressobj(level, zlib.DEFLATED, -15)
        return len(packer.compress(data) + packer.flush())

    with zipfile.ZipFile(path) as zf:
        info = max(zf.infolist(), key=lambda i: i.file_size)
        data = zf.read(info)
    assert info.filename == ("xl/worksheets/sheet2.xml" if fmt == "xlsx" else "content.xml")
    assert info.compress_size == deflated_size(data, row_templates.DEFLATE_LEVEL) != deflated_size(data, 6)
    import xlsxwriter.workbook

    assert xlsxwriter.workbook.ZipFile is zipfile.ZipFile  # put back after close()
