#!/bin/sh
# See the default workbooks as a user would: generate them, print both to PDF with LibreOffice
# (headless, a throw-away profile) and turn every PDF page into a PNG with pdftoppm.
# Usage: scripts/screenshots.sh [OUT_DIR]    (default outputs/screenshots)
set -eu
OUT=${1:-outputs/screenshots}
BIN=${BIN:-.venv/bin}
DPI=${DPI:-110}

command -v soffice >/dev/null 2>&1 || {
    echo "error: soffice not found (Debian: apt-get install libreoffice-calc-nogui)" >&2; exit 2; }
command -v pdftoppm >/dev/null 2>&1 || {
    echo "error: pdftoppm not found (Debian: apt-get install poppler-utils)" >&2; exit 2; }

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT INT TERM
"$BIN/sheetgen" generate --output-dir "$WORK/book" --no-plots >/dev/null
mkdir -p "$OUT"
for fmt in ods xlsx; do
    soffice --headless --norestore "-env:UserInstallation=file://$WORK/profile" \
        --convert-to pdf --outdir "$WORK/$fmt" "$WORK/book/BackPropagation.$fmt" >/dev/null 2>&1
    cp "$WORK/$fmt/BackPropagation.pdf" "$OUT/BackPropagation-$fmt.pdf"
    rm -f "$OUT/$fmt"-*.png
    pdftoppm -png -r "$DPI" "$OUT/BackPropagation-$fmt.pdf" "$OUT/$fmt"
    echo "wrote $OUT/BackPropagation-$fmt.pdf and $(ls "$OUT/$fmt"-*.png | wc -l) pages as $OUT/$fmt-*.png"
done
