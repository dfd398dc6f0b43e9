"""The `maps` sheet's colours for Gnumeric, which reads no colour scale: each block also carries
banded conditions (an .ods cell style's style:map, which LibreOffice ignores beside its
calcext:conditional-formats; .xlsx formula rules after the colorScale), read back from the files."""

from __future__ import annotations

import re
import zipfile
from dataclasses import replace
from pathlib import Path

from sheetgen.config import from_file
from sheetgen.generation import generate

EXAMPLE = Path(__file__).resolve().parents[2] / "sheetgen" / "examples" / "conv-edge.toml"


def test_every_map_block_has_a_colour_scale_and_bands(tmp_path):
    config = replace(from_file(EXAMPLE), iterations=2, learning_rates=(0.5,), plots=False,
                     output_dir=tmp_path)
    paths = {p.suffix: p for p in generate(config.training())}
    with zipfile.ZipFile(paths[".ods"]) as zf:
        content = zf.read("content.xml").decode()
    maps = content[content.index('table:name="maps"'):]
    scales = maps.count("<calcext:color-scale>")
    assert scales >= 3
    # One banded style per block, each holding conditions that apply the named band styles...
    banded = dict(re.findall(r'<style:style style:name="(ceM\d+)"[^>]*>(.*?)</style:style>', content))
    assert len(banded) == scales
    for name, inner in banded.items():
        conditions = re.findall(r'style:condition="is-true-formula\(([^"]*)\)" '
                                r'style:apply-style-name="Map_20_band_20_(\w+)"', inner)
        assert len(conditions) in (3, 4), name        # grey: 3 bands; signed: 2 each side
        assert {band[0] for _, band in conditions} in ({"g"}, {"r", "b"}), name
        # ...and the block's cells use it.
        assert f'table:style-name="{name}"' in maps, name
    with zipfile.ZipFile(paths[".xlsx"]) as zf:
        sheets = [zf.read(n).decode() for n in zf.namelist() if n.startswith("xl/worksheets/sheet")]
    sheet = next(s for s in sheets if "colorScale" in s)
    by_range: dict[str, list[tuple[str, int]]] = {}
    formatting = r'<conditionalFormatting sqref="([^"]+)">(.*?)</conditionalFormatting>'
    for ref, body in re.findall(formatting, sheet):
        by_range.setdefault(ref, []).extend(
            (t, int(p)) for t, p in re.findall(r'<cfRule type="(\w+)" [^>]*priority="(\d+)"', body))
    assert sum(1 for rules in by_range.values() if ("colorScale" in dict(rules))) == scales
    for ref, rules in by_range.items():
        kinds = [t for t, _ in sorted(rules, key=lambda r: r[1])]
        # The colour scale first, then its bands: Excel and LibreOffice keep showing the scale.
        assert kinds[0] == "colorScale" and set(kinds[1:]) == {"expression"} and len(kinds) in (4, 5), ref
