"""The network picture: wired as the maths says, labelled with the workbook's own weights,
present in every learning-rate sheet of both files, and clear of the text blocks."""

from __future__ import annotations

import io
import math
import zipfile
from xml.etree import ElementTree

import pytest
from parts import NS, xlsx_drawings
from PIL import Image

from sheetgen.config import DEFAULT_LEARNING_RATES, Config
from sheetgen.core.model import Setup
from sheetgen.core.template import sheet_name
from sheetgen.generation import generate
from sheetgen.layout.book import network_picture

SHEETS = [sheet_name(r) for r in DEFAULT_LEARNING_RATES]
NODES = {"i1", "i2", "h1", "a_h1", "h2", "a_h2", "o1", "a_o1", "o2", "a_o2", "E_total"}
# Which nodes each label joins, from h1 = w1*i1 + w2*i2, o1 = w5*a_h1 + w6*a_h2, ...
WIRING = {"w1": ("i1", "h1"), "w2": ("i2", "h1"), "w3": ("i1", "h2"), "w4": ("i2", "h2"),
          "w5": ("a_h1", "o1"), "w6": ("a_h2", "o1"), "w7": ("a_h1", "o2"), "w8": ("a_h2", "o2"),
          "E1": ("a_o1", "E_total"), "E2": ("a_o2", "E_total")}
COLUMN_MM = 16 * 0.075 * 25.4   # the template's column width in the .ods
ROW_MM = 4.52                   # LibreOffice's default row height


def _on_outline(node, x: float, y: float) -> bool:
    return math.isclose(((x - node.x) / (node.width / 2)) ** 2 + ((y - node.y) / (node.height / 2)) ** 2,
                        1, rel_tol=1e-9)


def test_edges_join_the_nodes_the_equations_name():
    picture = network_picture(Config().training())
    nodes = {n.name: n for n in picture.nodes}
    assert set(nodes) == NODES
    by_label = {e.label.split(" =")[0]: e for e in picture.edges}
    assert set(by_label) == set(WIRING)
    for label, (a, b) in WIRING.items():
        e = by_label[label]
        assert _on_outline(nodes[a], e.x1, e.y1) and _on_outline(nodes[b], e.x2, e.y2), label
    assert by_label["w1"].label == "w1 = 0.15" and by_label["w8"].label == "w8 = 0.55"


def test_picture_fits_b1_f13_clear_of_the_text():
    picture = network_picture(Config().training())
    assert (picture.row, picture.col) == (0, 1)  # B1
    # Inside 5 columns (B:F, G1 holds the equations) and 13 rows (A15 the errata note, row 16
    # the header), so that a laptop screen shows it with the header below.
    assert picture.width + 1 <= 5 * COLUMN_MM and picture.height + 1 <= 13 * ROW_MM
    for n in picture.nodes:
        assert 0 <= n.x - n.width / 2 and n.x + n.width / 2 <= picture.width
        assert 0 <= n.y - n.height / 2 and n.y + n.height / 2 <= picture.height


def ods_pictures(path) -> dict[str, dict]:
    with zipfile.ZipFile(path) as zf:
        content = ElementTree.fromstring(zf.read("content.xml"))
    out = {}
    for table in content.iter(f"{{{NS['table']}}}table"):
        shapes = table.find("table:shapes", NS)
        ellipses = shapes.findall("draw:ellipse", NS) if shapes is not None else []
        if not ellipses:
            continue

        def mm(e, name: str) -> float:
            return float(e.get(f"{{{NS['svg']}}}{name}").removesuffix("mm"))
        out[table.get(f"{{{NS['table']}}}name")] = {
            "nodes": {"".join(e.itertext()) for e in ellipses},
            "lines": len(shapes.findall("draw:line", NS)),
            "labels": {"".join(f.itertext()) for f in shapes.findall("draw:rect", NS)} - {""},
            "right_mm": max(mm(e, "x") + mm(e, "width") for e in ellipses),
            "bottom_mm": max(mm(e, "y") + mm(e, "height") for e in ellipses),
        }
    return out


def test_ods_every_sheet_has_the_drawn_network(default_books):
    pictures = ods_pictures(default_books["ods"])
    assert sorted(pictures) == sorted(SHEETS)  # not on the summary
    for name in SHEETS:
        p = pictures[name]
        assert p["nodes"] == NODES and p["lines"] == 10
        assert {"w1 = 0.15", "w2 = 0.2", "w4 = 0.3", "w8 = 0.55", "E1", "E2"} <= p["labels"]
        assert p["right_mm"] < 9 * COLUMN_MM and p["bottom_mm"] < 22 * ROW_MM  # left of J, above row 23


def test_xlsx_every_sheet_has_the_network_image(default_books):
    drawings = xlsx_drawings(default_books["xlsx"])
    assert drawings["summary"]["images"] == []
    for name in SHEETS:
        [(anchor, data)] = drawings[name]["images"]
        assert anchor == (1, 0)  # B1
        image = Image.open(io.BytesIO(data))
        assert image.format == "PNG"
        # Its resolution makes it the picture's size in mm, inside B:F.
        width_mm = image.size[0] / image.info["dpi"][0] * 25.4
        assert 100 < width_mm < 5 * COLUMN_MM


@pytest.fixture(scope="module")
def other_weights(tmp_path_factory):
    out = tmp_path_factory.mktemp("weights")
    setup = Setup(w1=0.3, w8=0.05)
    generate(Config(setup=setup, output_dir=out, learning_rates=(0.5,), plots=False).training())
    return out


def test_labels_follow_the_workbooks_weights(other_weights, default_books):
    [labels] = [p["labels"] for p in ods_pictures(other_weights / "BackPropagation.ods").values()]
    assert {"w1 = 0.3", "w8 = 0.05", "w2 = 0.2"} <= labels and "w1 = 0.15" not in labels
    [(_, png)] = xlsx_drawings(other_weights / "BackPropagation.xlsx")["lr=0.5"]["images"]
    [(_, default_png)] = xlsx_drawings(default_books["xlsx"])["lr=0.5"]["images"]
    assert png != default_png
