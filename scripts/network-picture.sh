#!/bin/sh
# Regenerates docs/network-deep.png, the README's picture of a general network's sheet: the
# `deep` example (one rate, 12 iterations) printed to PDF by LibreOffice (headless, a throw-away
# profile); its upper part and the table's first columns, cropped and stacked.
# Usage: scripts/network-picture.sh [OUT_PNG]    (default docs/network-deep.png)
set -eu
OUT=${1:-docs/network-deep.png}
BIN=${BIN:-.venv/bin}
command -v soffice >/dev/null 2>&1 || { echo "error: soffice not found" >&2; exit 2; }
command -v pdftoppm >/dev/null 2>&1 || { echo "error: pdftoppm not found" >&2; exit 2; }

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT INT TERM
"$BIN/sheetgen" init-config --example deep | sed -e 's/^learning_rates.*/learning_rates = [0.5]/' \
    -e 's/^iterations.*/iterations = 12/' > "$WORK/deep.toml"
"$BIN/sheetgen" generate --config "$WORK/deep.toml" --output-dir "$WORK/book" --format ods \
    --no-plots --quiet
soffice --headless --norestore "-env:UserInstallation=file://$WORK/profile" \
    --convert-to pdf --outdir "$WORK" "$WORK/book/BackPropagation-deep.ods" >/dev/null 2>&1
pdftoppm -png -r 300 -f 2 -l 3 "$WORK/BackPropagation-deep.pdf" "$WORK/page"
"$BIN/python" - "$WORK" "$OUT" <<'PY'
import sys
from pathlib import Path
from PIL import Image, ImageOps

work, out = Path(sys.argv[1]), Path(sys.argv[2])
parts = []
for page in sorted(work.glob("page-*.png")):  # page 2: the upper block; page 3: the table
    image = Image.open(page).convert("RGB")
    left, top, right, bottom = ImageOps.invert(image.convert("L")).getbbox()
    parts.append(image.crop((left - 15, top - 15, right + 15, bottom + 15)))
upper, table = parts
table = table.crop((0, 0, min(table.width, upper.width), table.height))
sheet = Image.new("RGB", (upper.width, upper.height + table.height + 20), "white")
sheet.paste(upper, (0, 0))
sheet.paste(table, (0, upper.height + 20))
sheet = sheet.resize((sheet.width * 3 // 4, sheet.height * 3 // 4), Image.LANCZOS)
sheet.quantize(64).save(out, optimize=True)
print(f"wrote {out}")
PY
