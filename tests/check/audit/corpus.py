"""The audit's corpus: every shipped example with each slip class injected (sheetgen.check.audit.
slips), written small (one learning rate, a few rows) in either format, and what the audit must
say about it. `python tests/check/audit/corpus.py OUT_DIR` writes it all, for a look by hand."""

from __future__ import annotations

import re
import sys
import zipfile
from dataclasses import replace
from pathlib import Path
from xml.sax.saxutils import escape

from sheetgen.check.audit.slips import PASTED_FROM, SLIPS, Slip, inject
from sheetgen.config import EXAMPLES, example_text, from_mapping
from sheetgen.core.model import trace
from sheetgen.layout.assemble import build_book
from sheetgen.write import ods, xlsx
from sheetgen.write.row_templates import render_row

WRITERS = {"xlsx": xlsx.write, "ods": ods.write}
# The examples of dense networks, and those of image and recurrent networks (conv-*, rnn-*,
# lstm-*, gru-*): all audited from their headers and values alone.
WIDE = tuple(e for e in EXAMPLES if e.startswith(("conv", "rnn", "lstm", "gru")))
DENSE = tuple(e for e in EXAMPLES if e not in WIDE)
ROWS = 6
# A data set of 30 samples one per row needs a few rows to use some; XOR's full batch fewer;
# the wide networks (up to 1,500 columns) as few as a pasted column needs.
ROWS_OF = {"linear-sgd": 8, "linear-momentum": 8, "linear-adam": 8} | dict.fromkeys(WIDE, 4)


def example_config(name: str, rows: int | None = None, rate: float | None = None):
    import tomllib
    from importlib import resources

    data = tomllib.loads(example_text(name))
    # The examples' folder as the source: conv-digits reads its CSV beside it.
    config = from_mapping(data, str(resources.files("sheetgen.examples") / f"{name}.toml"))
    rate = rate if rate is not None else config.learning_rates[0]
    return replace(config, learning_rates=(rate,), iterations=rows or ROWS_OF.get(name, ROWS),
                   plots=False)


def variant(name: str, *edits: tuple[str, str]) -> str:
    """The example's config text with each (old, new) edit made (old must be in it)."""
    text = example_text(name)
    for old, new in edits:
        assert old in text
        text = text.replace(old, new)
    return text


def expected_of(name: str):
    """What `audit --config` of an image or recurrent example checks against: its Training
    (None for the dense examples)."""
    from sheetgen.check.audit import expected_from

    return expected_from(example_config(name).training()) if name in WIDE else None


def write_book(name: str, fmt: str, path: Path, slip: str | None = None, rows: int | None = None
               ) -> Slip | None:
    """The example `name` as a small workbook at `path`, with one slip of class `slip` (None: the
    correct sheet). Returns the slip, or None (also when the class does not apply: no file)."""
    training = example_config(name, rows).training()
    net = training.network
    rate = training.learning_rates[0]
    injected = inject(net, slip, rate) if slip else None
    if slip and injected is None:
        return None
    values = injected.net if injected else net
    runs = {rate: trace(values, training.setup, rate, training.iterations)}
    formulas = net if injected and injected.paste else values
    book = build_book(training, runs, net=formulas)
    WRITERS[fmt](book, path)
    if injected and injected.paste:
        _strip_formulas(path, fmt, book.sheets[0], injected.quantity)
    return injected


def _strip_formulas(path: Path, fmt: str, sheet, quantity: str) -> None:
    """The column's cells from PASTED_FROM on keep their numbers and lose their formulas."""
    column = next(c for c in sheet.columns if c.quantity == quantity)
    rows = range(sheet.first_row + PASTED_FROM, sheet.first_row + sheet.iterations + 1)
    texts = [render_row(column, fmt, r, first=False) for r in rows]
    members = {}
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            members[info.filename] = (info, zf.read(info.filename))
    if fmt == "xlsx":
        part = next(n for n in members if n.startswith("xl/worksheets/sheet") and
                    all(f"<f>{escape(t.lstrip('='))}</f>".encode() in members[n][1] for t in texts[:1]))
        data = members[part][1]
        for t in texts:
            data = data.replace(f"<f>{escape(t.lstrip('='))}</f>".encode(), b"", 1)
    else:
        part = "content.xml"
        data = members[part][1]
        for t in texts:
            shown = "of:=" + escape(t, {'"': "&quot;"})
            data = re.sub(rb' table:formula="' + re.escape(shown.encode()) + rb'"', b"", data, count=1)
    members[part] = (members[part][0], data)
    with zipfile.ZipFile(path, "w") as out:
        for info, content in members.values():
            out.writestr(info, content)


def with_screenshot(path: Path, size: int = 1024**2) -> int:
    """The .xlsx at `path` with its picture (xl/media/) replaced by a PNG of about `size` bytes
    of noise, as a student's pasted screenshot; returns the picture's size in bytes."""
    import io

    import numpy as np
    from PIL import Image

    side = int((size / 3) ** 0.5) + 1
    pixels = np.random.default_rng(0).integers(0, 256, (side, side, 3), dtype=np.uint8)
    png = io.BytesIO()
    Image.fromarray(pixels).save(png, format="PNG")
    with zipfile.ZipFile(path) as zf:
        members = [(info, zf.read(info)) for info in zf.infolist()]
    pictures = [info for info, _ in members if info.filename.startswith("xl/media/")]
    assert pictures, f"{path} holds no picture to replace"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info, content in members:
            out.writestr(info, png.getvalue() if info in pictures else content)
    return len(png.getvalue())


# What the audit must name for each slip class: (the kind of its first mistake, words in it).
EXPECTED_KIND = {
    "substitution": ("substitution",), "two substitutions": ("substitution",),
    "other row": ("other row",), "other gradient": ("other gradient", "substitution"),
    "sequential update": ("one after another",), "sign": ("sign",),
    "missing factor": ("missing factor", "substitution"), "pasted constant": ("constant",),
    "wrong rate": ("learning-rate cell",), "β1 for β2": ("substitution",),
    "no bias correction": ("missing bias correction",),
    "state from the wrong row": ("other row",),
}


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name in DENSE + WIDE:
        for fmt in WRITERS:
            write_book(name, fmt, out / f"{name}.{fmt}")
            for slip in SLIPS:
                target = out / f"{name}--{slip.replace(' ', '-')}.{fmt}"
                if write_book(name, fmt, target, slip) is None:
                    target.unlink(missing_ok=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
