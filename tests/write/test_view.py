"""What a student sees on opening a workbook, read back from the files: where each sheet opens
and what stays frozen, number formats, chart titles and axes, the summary's chart and
highlight, and plain numbers that read back exactly. `make screenshots` shows the same in
LibreOffice's window; one test here renders a small book's numbers with LibreOffice."""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
import zipfile
from xml.etree import ElementTree

import openpyxl
import pytest

from sheetgen.config import from_file
from sheetgen.generation import generate

SHEETS = ["lr=0.1", "lr=0.2", "lr=0.5", "lr=0.8", "lr=1", "lr=2"]
HEADER_ROW = 16        # 1-based; the rows down to it are frozen
MAX_FROZEN_ROWS = 20   # more than a laptop screen keeps in view beside some table rows
NS = {
    "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "c": "http://schemas.openxmlformats.org/drawingml/2006/chart",
    "config": "urn:oasis:names:tc:opendocument:xmlns:config:1.0",
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
    "style": "urn:oasis:names:tc:opendocument:xmlns:style:1.0",
    "number": "urn:oasis:names:tc:opendocument:xmlns:datastyle:1.0",
    "number13": "urn:oasis:names:tc:opendocument:xmlns:datastyle:1.3",   # the optional decimals' maximum
    "style13": "urn:oasis:names:tc:opendocument:xmlns:style:1.3",        # conditions Gnumeric skips
    "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
    "draw": "urn:oasis:names:tc:opendocument:xmlns:drawing:1.0",
    "svg": "urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0",
    "chart": "urn:oasis:names:tc:opendocument:xmlns:chart:1.0",
}


def q(prefix: str, name: str) -> str:
    return f"{{{NS[prefix]}}}{name}"


def xlsx_part(path, name: str) -> ElementTree.Element:
    with zipfile.ZipFile(path) as zf:
        return ElementTree.fromstring(zf.read(name))


# --- view: opens at A1, header frozen in view ---------------------------------------------

def test_xlsx_every_sheet_opens_at_a1_and_freezes_at_most_20_rows(default_books):
    names = openpyxl.load_workbook(default_books["xlsx"], read_only=True).sheetnames
    assert names == ["summary", *SHEETS]
    for k, name in enumerate(names, start=1):
        view = xlsx_part(default_books["xlsx"], f"xl/worksheets/sheet{k}.xml").find(
            "m:sheetViews/m:sheetView", NS)
        assert view.get("topLeftCell", "A1") == "A1", name
        pane = view.find("m:pane", NS)
        if name == "summary":
            assert pane is None
            continue
        assert pane.get("state") == "frozen" and pane.get("xSplit") is None, name
        rows = int(pane.get("ySplit"))
        assert rows == HEADER_ROW <= MAX_FROZEN_ROWS, name
        assert pane.get("topLeftCell") == f"A{rows + 1}"  # the table scrolls below the header


def test_ods_every_sheet_opens_at_a1_and_freezes_at_most_20_rows(default_books):
    with zipfile.ZipFile(default_books["ods"]) as zf:
        text = zf.read("settings.xml").decode()
    # The set is named "ooo:view-settings": LibreOffice ignores it unless the prefix is declared.
    assert 'xmlns:ooo="http://openoffice.org/2004/office"' in text
    root = ElementTree.fromstring(text)
    [views] = [s for s in root.iter(q("config", "config-item-set"))
               if s.get(q("config", "name")) == "ooo:view-settings"]
    tables = next(m for m in views.iter(q("config", "config-item-map-named"))
                  if m.get(q("config", "name")) == "Tables")
    settings = {}
    for entry in tables:
        items = {i.get(q("config", "name")): int(i.text) for i in entry.iter(q("config", "config-item"))}
        settings[entry.get(q("config", "name"))] = items
    assert list(settings) == ["summary", *SHEETS]
    for name, items in settings.items():
        assert items["CursorPositionX"] == items["CursorPositionY"] == 0, name
        assert items["PositionLeft"] == items["PositionTop"] == 0, name
        if name == "summary":
            assert items["HorizontalSplitMode"] == items["VerticalSplitMode"] == 0

            continue
        # Frozen; both modes 2, or Gnumeric ignores the freeze (tests/write/test_gnumeric_view.py).
        assert items["HorizontalSplitMode"] == items["VerticalSplitMode"] == 2, name
        assert items["HorizontalSplitPosition"] == 0, name
        assert items["VerticalSplitPosition"] == HEADER_ROW <= MAX_FROZEN_ROWS, name
        assert items["PositionBottom"] == HEADER_ROW, name
    active = next(i for i in views.iter(q("config", "config-item"))
                  if i.get(q("config", "name")) == "ActiveTable")
    assert active.text == "summary"


# --- number formats -------------------------------------------------------------------------

NUMBER = "[>=0.001]0.#########;[<=-0.001]-0.#########;General"


def test_xlsx_number_formats(default_books):
    ws = openpyxl.load_workbook(default_books["xlsx"])["lr=0.5"]
    assert ws["A17"].number_format == "General"             # t1, typed: as typed
    assert ws["E17"].number_format == NUMBER                # w1: up to 9 decimals, no padding
    assert ws["X17"].number_format == NUMBER                # E∂W1: scientific only below 1e-3
    assert ws["AF17"].number_format == "0"                  # iteration
    assert ws["G13"].number_format == "General"             # the learning rate, as typed
    summary = openpyxl.load_workbook(default_books["xlsx"])["summary"]
    assert summary["B5"].number_format == "General"
    assert summary["D5"].number_format == NUMBER


def test_ods_number_formats(default_books):
    with zipfile.ZipFile(default_books["ods"]) as zf:
        content = ElementTree.fromstring(zf.read("content.xml"))
    styles = {s.get(q("style", "name")): s for s in content.iter(q("number", "number-style"))}

    def places(name: str, kind: str) -> tuple[str, str]:
        element = styles[name].find(f"number:{kind}", NS)
        return (element.get(q("number", "decimal-places")) or element.get(q("number13", "decimal-places")),
                element.get(q("number", "min-decimal-places")))

    # N1 itself is General (below 1e-3 in magnitude); its maps apply the fixed sections.
    assert places("N1", "number") == (None, None)
    maps = [(m.get(q("style13", "condition")), m.get(q("style13", "apply-style-name")))
            for m in styles["N1"].findall("style13:map", NS)]
    assert maps == [("value()>=0.001", "N1P0"), ("value()<=-0.001", "N1P1")]
    assert places("N1P0", "number") == places("N1P1", "number") == ("9", "0")
    # the maximum of optional decimals where Gnumeric, which would pad to it, does not read it
    assert styles["N1P0"].find("number:number", NS).get(q("number", "decimal-places")) is None
    assert styles["N1P1"].find("number:text", NS).text == "-"
    assert places("N3", "number") == ("0", "0")                # iterations
    cells = {s.get(q("style", "name")): s.get(q("style", "data-style-name"))
             for s in content.iter(q("style", "style"))}
    assert (cells["ceV"], cells["ceG"], cells["ceI"]) == ("N1", "N2", "N3")
    assert cells["ceR"] is None  # learning rates: no data style, shown as typed


@pytest.mark.libreoffice
@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) not installed")
def test_libreoffice_shows_the_numbers_without_padding(tmp_path):
    """LibreOffice's own rendering ("as shown" CSV) of a small book, both formats."""
    config = tmp_path / "small.toml"
    config.write_text(f'learning_rates = [0.5]\niterations = 4\nplots = false\noutput_dir = "{tmp_path}"\n')
    paths = generate(from_file(config).training())
    for path in paths:
        out = tmp_path / path.suffix[1:]
        # Token 9 "true": cells as shown; token 12 "2": the second sheet, lr=0.5.
        shown_as = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true,false,false,2"
        subprocess.run(["soffice", "--headless", "--norestore", f"-env:UserInstallation=file://{tmp_path}/lo",
                        "--convert-to", shown_as, "--outdir", str(out), str(path)],
                       check=True, capture_output=True, timeout=180)
        [shown] = list(out.glob("*.csv"))
        rows = list(csv.reader(shown.open(encoding="utf-8")))
        assert rows[12][6] == "0.5", path.suffix                      # G13, the learning rate
        first = rows[16]                                              # row 17
        assert first[:4] == ["0.01", "0.99", "0.05", "0.1"], path.suffix
        assert first[4] == "0.15" and first[9] == "0.506874567", path.suffix   # no padding
        assert first[27] == "0.072157073" and first[29] == "-0.04245525", path.suffix  # not scientific
        # below 1e-3: General here; the window draws the conditional scientific format, signed
        # (headless export leaves conditions out; test_*_small_numbers_* read them from the files)
        assert first[23].startswith("0.000188255666") or first[23] == "1.88255667E-04", path.suffix
        assert first[31] == "1"


@pytest.mark.gnumeric
@pytest.mark.skipif(shutil.which("ssconvert") is None, reason="Gnumeric (ssconvert) not installed")
def test_gnumeric_shows_the_ods_numbers_without_padding(tmp_path):
    """Gnumeric's own rendering of the .ods (format=preserve): no number padded to 9 decimals,
    whole numbers without decimals; up to 9 decimals are LibreOffice's, Gnumeric's General shows
    what its column holds (number_styles.py)."""
    config = tmp_path / "small.toml"
    config.write_text(f'learning_rates = [0.5]\niterations = 3\nplots = false\noutput_dir = "{tmp_path}"\n')
    ods = next(p for p in generate(from_file(config).training()) if p.suffix == ".ods")
    subprocess.run(["ssconvert", "-S", "--export-type=Gnumeric_stf:stf_assistant", "-O", "format=preserve",
                    str(ods), str(tmp_path / "shown_%n.csv")], check=True, capture_output=True, timeout=180)
    rows = list(csv.reader((tmp_path / "shown_1.csv").open(encoding="utf-8")))
    first = rows[16]                                                  # row 17 of sheet lr=0.5
    assert first[:8] == ["0.01", "0.99", "0.05", "0.1", "0.15", "0.2", "0.25", "0.3"]
    assert first[31] == "1"
    assert float(first[9]) == pytest.approx(0.506874567, abs=1e-9)
    numbers = [c for row in rows[16:19] for c in row if c and (c[0].isdigit() or c[0] in "-−")]
    assert numbers and not any(c.endswith("000000") for c in numbers), numbers
    # negatives signed once: Gnumeric reads only the General section (number_styles.py)
    negative = [c for c in numbers if c[0] in "-−"]
    assert negative and not any(c[1:2] in "-−" for c in negative) and float(first[29].replace("−", "-")) < 0


# --- charts ---------------------------------------------------------------------------------

def test_xlsx_chart_title_cell_follows_the_learning_rate(default_books):
    formulas = openpyxl.load_workbook(default_books["xlsx"])
    values = openpyxl.load_workbook(default_books["xlsx"], data_only=True)
    for name in SHEETS:
        # The title cell H1, just above the chart at H2 (tests/layout/test_charts.py).
        assert formulas[name]["H1"].value == ('="when learning rate is "&IF($G$13=INT($G$13),'
                                                 'TEXT($G$13,"0"),TEXT($G$13,"0.############"))')
        assert values[name]["H1"].value == f"when learning rate is {name.removeprefix('lr=')}"


def test_xlsx_chart_axes_have_few_decimals(default_books):
    for k in range(1, 8):
        chart = xlsx_part(default_books["xlsx"], f"xl/charts/chart{k}.xml")
        formats = [(f.get("formatCode"), f.get("sourceLinked")) for f in chart.iter(q("c", "numFmt"))]
        assert formats == [("0", "0"), ("0.00#", "0")], k  # iteration; E_total


def test_ods_chart_axes_have_few_decimals(default_books):
    with zipfile.ZipFile(default_books["ods"]) as zf:
        chart = ElementTree.fromstring(zf.read("Object 2/content.xml"))
    styles = {s.get(q("style", "name")): s for s in chart.iter(q("style", "style"))}
    numbers = {s.get(q("style", "name")): s.find("number:number", NS)
               for s in chart.iter(q("number", "number-style"))}
    for axis in chart.iter(q("chart", "axis")):
        style = styles[axis.get(q("chart", "style-name"))]
        props = style.find("style:chart-properties", NS)
        assert props.get(q("chart", "link-data-style-to-source")) == "false"
        number = numbers[style.get(q("style", "data-style-name"))]
        decimals = (number.get(q("number", "min-decimal-places")),
                    number.get(q("number", "decimal-places")) or number.get(q("number13", "decimal-places")))
        assert decimals == (("0", "0") if axis.get(q("chart", "dimension")) == "x" else ("2", "3"))


def test_ods_summary_chart_sits_beside_the_compact_table(default_books):
    with zipfile.ZipFile(default_books["ods"]) as zf:
        content = ElementTree.fromstring(zf.read("content.xml"))
    summary = next(t for t in content.iter(q("table", "table")) if t.get(q("table", "name")) == "summary")
    [frame] = summary.iter(q("draw", "frame"))
    x_mm = float(frame.get(q("svg", "x")).removesuffix("mm"))
    y_mm = float(frame.get(q("svg", "y")).removesuffix("mm"))
    width_mm = float(frame.get(q("svg", "width")).removesuffix("mm"))
    column_mm = 16 * 0.085 * 25.4  # the summary's columns
    assert x_mm == pytest.approx(6 * column_mm, abs=0.01) and y_mm == pytest.approx(3 * 4.52)  # G4
    assert x_mm + width_mm < 330  # in view on a 1366 px wide screen (96 px an inch)


# --- the best rate, highlighted by a live conditional format ------------------------------

def test_xlsx_best_rate_row_is_highlighted_by_a_formula(default_books):
    sheet = xlsx_part(default_books["xlsx"], "xl/worksheets/sheet1.xml")
    # the row's highlight over A5:F10, besides the small numbers' scientific format (write/xlsx_drawing.py)
    [rule_block] = [b for b in sheet.findall("m:conditionalFormatting", NS) if b.get("sqref") == "A5:F10"]
    [rule] = rule_block.findall("m:cfRule", NS)
    assert rule.get("type") == "expression"
    # The first row holding the lowest final E_total: one row, even when two rates tie.
    assert rule.find("m:formula", NS).text == "MATCH(MIN($D$5:$D$10),$D$5:$D$10,0)=ROW($D5)-4"
    styles = xlsx_part(default_books["xlsx"], "xl/styles.xml")
    fill = styles.find(f"m:dxfs/m:dxf[{int(rule.get('dxfId')) + 1}]/m:fill/m:patternFill/m:bgColor", NS)
    assert fill.get("rgb") == "FFC6EFCE"


def test_xlsx_small_numbers_take_a_scientific_format(default_books):
    """Below 1e-3 in magnitude (not 0) a rate sheet's computed cells take a one-section
    scientific format by a condition, first 0 as General (LibreOffice draws the General section
    of the number format unsigned, "###" in the column)."""
    sheet = xlsx_part(default_books["xlsx"], "xl/worksheets/sheet2.xml")
    styles = xlsx_part(default_books["xlsx"], "xl/styles.xml")
    formats = {n.get("numFmtId"): n.get("formatCode") for n in styles.iter(q("m", "numFmt"))}
    rules = [(b.get("sqref"), r) for b in sheet.findall("m:conditionalFormatting", NS)
             for r in b.findall("m:cfRule", NS)]
    blocks = {sqref for sqref, _ in rules}
    assert blocks == {"E17:AE38"}, blocks  # w1 … E∂W8, every row (22 iterations)
    dxfs = styles.findall("m:dxfs/m:dxf", NS)
    between = [r for _, r in rules if r.get("operator") == "between"]
    limits = [[f.text for f in r.findall("m:formula", NS)] for r in between]
    assert limits and all(pair == ["-0.001", "0.001"] for pair in limits)
    for r in between:
        code = formats[dxfs[int(r.get("dxfId"))].find("m:numFmt", NS).get("numFmtId")]
        assert code == "0.########E+00"


def test_ods_small_numbers_take_a_scientific_format(default_books):
    """The computed cells' styles send 0 to General and the rest below 1e-3 in magnitude to a
    named style with a one-section scientific format (write/ods.py)."""
    with zipfile.ZipFile(default_books["ods"]) as zf:
        content = ElementTree.fromstring(zf.read("content.xml"))
        named = ElementTree.fromstring(zf.read("styles.xml"))
    cells = {s.get(q("style", "name")): s for s in content.iter(q("style", "style"))}
    for name in ("ceV", "ceG"):
        maps = [(m.get(q("style", "condition")), m.get(q("style", "apply-style-name")))
                for m in cells[name].findall("style:map", NS)]
        assert maps == [("cell-content()=0", "Zero"),
                        ("cell-content-is-between(-0.001,0.001)", "Small_20_number")]
    small = next(s for s in named.iter(q("style", "style")) if s.get(q("style", "name")) == "Small_20_number")
    data = next(s for s in named.iter(q("number", "number-style"))
                if s.get(q("style", "name")) == small.get(q("style", "data-style-name")))
    assert data.find("number:scientific-number", NS) is not None and not data.findall("style13:map", NS)


def test_ods_best_rate_row_is_highlighted_by_a_formula(default_books):
    with zipfile.ZipFile(default_books["ods"]) as zf:
        content = ElementTree.fromstring(zf.read("content.xml"))
        named = ElementTree.fromstring(zf.read("styles.xml"))
    assert "Best_20_rate" in [s.get(q("style", "name")) for s in named.iter(q("style", "style"))]
    def best(style):
        return next((m for m in style.findall("style:map", NS)
                     if m.get(q("style", "apply-style-name")) == "Best_20_rate"), None)
    maps = {s.get(q("style", "name")): best(s) for s in content.iter(q("style", "style"))}
    summary = next(t for t in content.iter(q("table", "table")) if t.get(q("table", "name")) == "summary")
    rows = list(summary.iter(q("table", "table-row")))
    for r in range(5, 11):  # every cell of A:E in the rate rows carries its row's condition
        cells = list(rows[r - 1].iter(q("table", "table-cell")))[:5]
        for cell in cells:
            condition = maps[cell.get(q("table", "style-name"))]
            assert condition.get(q("style", "apply-style-name")) == "Best_20_rate"
            assert condition.get(q("style", "condition")) == \
                f"is-true-formula(MATCH(MIN([.$D$5:.$D$10]);[.$D$5:.$D$10];0)=ROW([.$D${r}])-4)"


# --- plain numbers read back exactly ---------------------------------------------------------

def test_17_digit_inputs_round_trip_exactly(tmp_path):
    config = tmp_path / "exact.toml"
    config.write_text(f'learning_rates = [0.30000000000000004]\niterations = 2\nplots = false\n'
                      f'output_dir = "{tmp_path}"\n'
                      "weights = { w1 = 0.30000000000000004, w8 = 0.1234567890123456789 }\n"
                      "inputs = { i1 = 1e-300 }\n")
    paths = {p.suffix: p for p in generate(from_file(config).training())}
    ws = openpyxl.load_workbook(paths[".xlsx"])["lr=0.30000000000000004"]
    assert ws["G13"].value == 0.30000000000000004 != 0.3
    assert ws["E17"].value == 0.30000000000000004
    assert ws["P17"].value == 0.1234567890123456789
    assert ws["C17"].value == 1e-300
    with zipfile.ZipFile(paths[".xlsx"]) as zf:
        xml = zf.read("xl/worksheets/sheet2.xml").decode()
    assert re.search(r'<c r="E17"[^>]*><v>0\.30000000000000004</v>', xml)
    with zipfile.ZipFile(paths[".ods"]) as zf:
        content = zf.read("content.xml").decode()
    assert 'office:value="0.30000000000000004"' in content


# --- validity -----------------------------------------------------------------------------

def test_default_xlsx_validates_with_openxml_audit(default_books):
    from openxml_audit import FileFormat, OpenXmlValidator

    result = OpenXmlValidator(file_format=FileFormat.MICROSOFT_365).validate(str(default_books["xlsx"]))
    errors = [str(e) for e in result.errors if e.severity.name == "ERROR"]
    assert result.error_count == 0, errors[:5]
