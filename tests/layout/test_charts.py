"""Charts and the summary sheet in both files, read back from the files' own XML.

A chart is checked by what it plots: each series' x and y ranges must be the iteration and
E_total columns of the right sheet over the table's rows, never text categories.
"""

from __future__ import annotations

import math
import zipfile
from xml.etree import ElementTree

import openpyxl
import pytest
from parts import NS, ods_cells, xlsx_drawings

from sheetgen.config import DEFAULT_ITERATIONS, DEFAULT_LEARNING_RATES, Config
from sheetgen.core import model
from sheetgen.core.cells import column_letter
from sheetgen.core.model import Setup
from sheetgen.core.presets import reference_network as network
from sheetgen.core.template import sheet_name
from sheetgen.layout.book import build_sheet

SHEETS = [sheet_name(r) for r in DEFAULT_LEARNING_RATES]
LAST = 16 + DEFAULT_ITERATIONS  # last table row, 1-based
X_RANGE = f"$AF$17:$AF${LAST}"   # iteration
Y_RANGE = f"$W$17:$W${LAST}"     # E_total


def xlsx_series(chart) -> list[tuple[str, str, str]]:
    """(name reference or text, x reference, y reference) of each series of a scatter chart."""
    out = []
    for ser in chart.iter(f"{{{NS['c']}}}ser"):
        name = ser.find("c:tx//c:f", NS)
        name = name.text if name is not None else "".join(t.text for t in ser.iterfind("c:tx//c:v", NS))
        out.append((name, ser.find("c:xVal//c:f", NS).text, ser.find("c:yVal//c:f", NS).text))
    return out


def ods_charts(path) -> dict[str, list[dict]]:
    """table name -> its chart frames: x position (mm), and each series' ranges and label cell."""
    out = {}
    with zipfile.ZipFile(path) as zf:
        content = ElementTree.fromstring(zf.read("content.xml"))
        manifest = zf.read("META-INF/manifest.xml").decode()
        for table in content.iter(f"{{{NS['table']}}}table"):
            frames = []
            for frame in table.findall("table:shapes/draw:frame", NS):
                obj = frame.find("draw:object", NS)
                if obj is None:
                    continue
                folder = obj.get(f"{{{NS['xlink']}}}href").removeprefix("./")
                assert f'manifest:full-path="{folder}/"' in manifest
                chart = ElementTree.fromstring(zf.read(f"{folder}/content.xml"))
                series = [{"y": s.get(f"{{{NS['chart']}}}values-cell-range-address"),
                           "x": s.find("chart:domain", NS).get(f"{{{NS['table']}}}cell-range-address"),
                           "label": s.get(f"{{{NS['chart']}}}label-cell-address")}
                          for s in chart.iter(f"{{{NS['chart']}}}series")]
                title = "".join(chart.find(".//chart:chart/chart:title", NS).itertext())
                frames.append({"x_mm": float(frame.get(f"{{{NS['svg']}}}x").removesuffix("mm")),
                               "class": chart.find(".//chart:chart", NS).get(f"{{{NS['chart']}}}class"),
                               "title": title, "series": series})
            out[table.get(f"{{{NS['table']}}}name")] = frames
    return out


def test_xlsx_one_loss_chart_per_sheet_plotting_its_own_columns(default_books):
    drawings = xlsx_drawings(default_books["xlsx"])
    assert list(drawings) == ["summary", *SHEETS]
    for name in SHEETS:
        charts = drawings[name]["charts"]
        assert len(charts) == 1, name
        (col, row), chart = charts[0]
        assert (col, row) == (7, 1)  # H2, in the frozen rows: right of the equations in G
        assert chart.find(".//c:scatterChart", NS) is not None  # numeric x, not categories
        assert chart.find(".//c:cat", NS) is None
        # The chart's own title names no rate (LibreOffice shows a cell-linked title as fixed
        # text); the live cell above the chart does (tests/write/test_view.py).
        assert chart.find("c:chart/c:title/c:tx/c:strRef", NS) is None
        title = "".join(t.text for t in chart.find("c:chart/c:title", NS).iter(f"{{{NS['a']}}}t"))
        assert title == "E_total per iteration"
        axis_titles = ["".join(t.text for t in ax.iter(f"{{{NS['a']}}}t"))
                       for ax in chart.findall(".//c:valAx/c:title", NS)]
        assert axis_titles == ["iteration", "E_total"]
        assert chart.find(".//c:legend", NS) is None
        [(_, x, y)] = xlsx_series(chart)
        assert (x, y) == (f"'{name}'!{X_RANGE}", f"'{name}'!{Y_RANGE}")


def test_xlsx_combined_chart_has_one_named_series_per_rate(default_books):
    drawings = xlsx_drawings(default_books["xlsx"])
    [((col, row), chart)] = drawings["summary"]["charts"]
    assert (col, row) == (6, 3)  # G4: beside the compact table A4:F10, in view on opening
    series = xlsx_series(chart)
    assert [(x, y) for _, x, y in series] == [(f"'{n}'!{X_RANGE}", f"'{n}'!{Y_RANGE}") for n in SHEETS]
    # Each series is named by the summary cell holding its sheet's learning rate, a live formula.
    wb = openpyxl.load_workbook(default_books["xlsx"], read_only=True)
    names = [wb["summary"][ref.split("!")[1].replace("$", "")].value for ref, _, _ in series]
    assert names == [f'="lr="&IF(\'{name}\'!$G$13=INT(\'{name}\'!$G$13),TEXT(\'{name}\'!$G$13,"0"),'
                     f'TEXT(\'{name}\'!$G$13,"0.############"))' for name in SHEETS]
    assert chart.find(".//c:legend", NS) is not None


def test_ods_one_loss_chart_per_sheet_plotting_its_own_columns(default_books):
    charts = ods_charts(default_books["ods"])
    assert list(charts) == ["summary", *SHEETS]
    column_mm = 16 * 0.085 * 25.4  # the .ods columns: 16 characters of 0.085 in
    for name in SHEETS:
        [frame] = charts[name]
        assert frame["class"] == "chart:scatter"
        assert frame["title"] == "E_total per iteration"   # no rate to go stale
        # In H (the upper block, clear of the equations in G), not right of the table.
        assert 7 * column_mm < frame["x_mm"] < 8 * column_mm
        [series] = frame["series"]
        assert series["x"] == f"'{name}'.AF17:'{name}'.AF{LAST}"
        assert series["y"] == f"'{name}'.W17:'{name}'.W{LAST}"
    [combined] = charts["summary"]
    assert [(s["x"], s["y"]) for s in combined["series"]] == [
        (f"'{n}'.AF17:'{n}'.AF{LAST}", f"'{n}'.W17:'{n}'.W{LAST}") for n in SHEETS]
    # Named by each row's live "curve" cell (lr= and the rate as typed): an edited rate renames it.
    assert [s["label"] for s in combined["series"]] == [f"'summary'.F{5 + k}" for k in range(6)]


def test_chart_plots_iteration_and_e_total_with_trained_bias_columns():
    sheet = build_sheet(Config(setup=Setup(biases="trained")).training(), 0.5)
    assert [c.header for c in sheet.columns][-4:] == ["b1", "b2", "E∂b1", "E∂b2"]  # up to AJ
    assert sheet.chart.row < sheet.header_row    # in the frozen rows, whatever the columns
    (series,) = sheet.chart.series
    headers = {c.index: c.header for c in sheet.columns}
    assert (headers[series.x.col], headers[series.y.col]) == ("iteration", "E_total")


# --- the summary sheet -------------------------------------------------------------------------

WEIGHTS = ["w1", "w2", "w3", "w4", "w5", "w6", "w7", "w8"]
WEIGHT_COLUMNS = dict(zip(WEIGHTS, "EFGHMNOP", strict=True))


def expected_summary() -> list[list]:
    rows = []
    for rate in DEFAULT_LEARNING_RATES:
        run = model.run(network(), Setup(), rate, DEFAULT_ITERATIONS)
        rows.append([sheet_name(rate), rate, run[0]["E_total"], run[-1]["E_total"],
                     *(run[-1][w] for w in WEIGHTS)])
    lowest = min(r[3] for r in rows)
    return [r + ["best" if r[3] == lowest else ""] for r in rows]


def expected_formulas(name: str) -> list[str]:
    """The cells each summary column must refer to, written out by hand."""
    return ["$G$13", "$W$17", f"$W${LAST}", *(f"${WEIGHT_COLUMNS[w]}${LAST}" for w in WEIGHTS)]


def close(a, b) -> bool:
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-300)


# 1-based columns of the summary's rate, initial and final E_total, then final w1..w8: the
# compact table A:E (with "best" in E) beside the chart, the weights right of it from L.
VALUE_COLUMNS = [2, 3, 4, *range(12, 20)]


def test_xlsx_summary_formulas_and_cached_values(default_books):
    values = openpyxl.load_workbook(default_books["xlsx"], data_only=True)["summary"]
    formulas = openpyxl.load_workbook(default_books["xlsx"])["summary"]
    assert [c.value for c in formulas[4]][:5] == ["sheet", "learning rate", "initial E_total",
                                                    "final E_total", "best"]
    assert [formulas.cell(4, c).value for c in range(12, 20)] == [f"final {w}" for w in WEIGHTS]
    expected = expected_summary()
    assert expected[-1][-1] == "best" and sum(r[-1] == "best" for r in expected) == 1
    for k, row in enumerate(expected):
        r = 5 + k
        assert values.cell(r, 1).value == row[0]
        got = [values.cell(r, c).value for c in VALUE_COLUMNS]
        assert all(close(a, b) for a, b in zip(got, row[1:12], strict=True)), (r, got, row)
        assert (values.cell(r, 5).value or "") == row[12]
        refs = [formulas.cell(r, c).value for c in VALUE_COLUMNS]
        assert refs == [f"='{row[0]}'!{ref}" for ref in expected_formulas(row[0])]
        assert formulas.cell(r, 5).value == f'=IF(MATCH(MIN(D$5:D$10),D$5:D$10,0)={k + 1},"best","")'
    assert values.cell(5 + len(expected), 1).value is None


def test_ods_summary_formulas_and_cached_values(default_books):
    cells = ods_cells(default_books["ods"])["summary"]
    for k, row in enumerate(expected_summary()):
        r = 5 + k
        assert cells[f"A{r}"][2] == row[0]
        for c, ref, want in zip(VALUE_COLUMNS, expected_formulas(row[0]), row[1:12], strict=True):
            formula, value, _ = cells[f"{column_letter(c - 1)}{r}"]
            assert formula == f"of:=[$'{row[0]}'.{ref}]", (r, c, formula)
            assert close(float(value), want), (r, c, value, want)
        formula, _, text = cells.get(f"E{r}", (None, None, ""))
        assert formula == f'of:=IF(MATCH(MIN([.D$5:.D$10]);[.D$5:.D$10];0)={k + 1};"best";"")'
        assert text == row[12]


def test_summary_has_no_table_header_row(default_books):
    """Readers that find a table by its `t1 t2 i1 ...` header skip the summary."""
    ws = openpyxl.load_workbook(default_books["xlsx"], read_only=True)["summary"]
    texts = {v for row in ws.iter_rows(values_only=True) for v in row if isinstance(v, str)}
    assert not {"t1", "t2", "i1", "i2"} & texts


@pytest.mark.parametrize("fmt", ["xlsx", "ods"])
def test_summary_is_the_first_sheet(default_books, fmt):
    if fmt == "xlsx":
        names = openpyxl.load_workbook(default_books["xlsx"], read_only=True).sheetnames
    else:
        names = list(ods_cells(default_books["ods"]))
    assert names == ["summary", *SHEETS]


def test_a_schedule_puts_the_rate_on_a_second_axis_in_both_files(tmp_path):
    """With a schedule the loss chart plots each step's lr (its own column) against a second y
    axis, named by the header cells, in the .xlsx and the .ods alike."""
    from sheetgen import generate
    from sheetgen.config import from_mapping

    config = from_mapping({
        "learning_rates": [0.2], "iterations": 6, "output_dir": str(tmp_path), "plots": False,
        "network": {"layers": [1, 1], "activations": ["identity"]},
        "data": {"samples": [{"i1": 1.0, "t1": 2.0}]},
        "optimizer": {"name": "sgd"}, "schedule": {"name": "exponential", "gamma": 0.5}}, "case")
    generate(config)
    sheet = sheet_name(0.2)
    (_, _), chart = xlsx_drawings(tmp_path / "BackPropagation.xlsx")[sheet]["charts"][0]
    series = xlsx_series(chart)
    assert len(series) == 2 and series[0][1] == series[1][1] and series[0][2] != series[1][2]
    assert all("$" in name for name, _, _ in series)   # named by the header cells
    assert len(chart.findall(".//c:scatterChart", NS)) == 2   # the second on the secondary axis
    frames = ods_charts(tmp_path / "BackPropagation.ods")[sheet]
    content = zipfile.ZipFile(tmp_path / "BackPropagation.ods")
    charts = [n for n in content.namelist() if n.endswith("content.xml") and n != "content.xml"]
    xml = "".join(content.read(n).decode() for n in charts)
    assert 'chart:name="secondary-y"' in xml and 'chart:attached-axis="secondary-y"' in xml
    assert len(frames[0]["series"]) == 2 and all(s["label"] for s in frames[0]["series"])
