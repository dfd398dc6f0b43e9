#!/bin/sh
# See the default workbooks as a user would.
# 1. Printed: both formats to PDF with LibreOffice (headless, a throw-away profile), every page
#    turned into a PNG with pdftoppm: BackPropagation-<fmt>.pdf, <fmt>-<page>.png.
# 2. On screen: LibreOffice Calc's own window under a virtual display (Xvfb) at 1366x768 and
#    1920x1080, one PNG per sheet, plus the last sheet scrolled to its table's end, its last
#    columns and its chart: window/<fmt>-<size>-<k>-<sheet>.png (scripts/window_shots.py). These books have
#    1,000 iterations, so that scrolling shows whether the header stays in view.
# Usage: scripts/screenshots.sh [OUT_DIR]    (default outputs/screenshots)
set -eu
OUT=${1:-outputs/screenshots}
BIN=${BIN:-.venv/bin}
DPI=${DPI:-110}
SIZES=${SIZES:-"1366x768 1920x1080"}

command -v soffice >/dev/null 2>&1 || {
    echo "error: soffice not found (Debian: apt-get install libreoffice-calc)" >&2; exit 2; }
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

# The window needs a LibreOffice with a GUI: the -nogui packages have none.
missing=""
command -v Xvfb >/dev/null 2>&1 || missing="$missing xvfb"
command -v xdotool >/dev/null 2>&1 || missing="$missing xdotool"
program=$(dirname "$(readlink -f "$(command -v soffice)")")
ls "$program"/libvclplug_gtk3lo.so "$program"/libvclplug_genlo.so >/dev/null 2>&1 \
    || missing="$missing libreoffice-calc libreoffice-gtk3"
if [ -n "$missing" ]; then
    echo "error: window screenshots need:$missing (Debian: apt-get install$missing;" \
         "libreoffice-calc replaces libreoffice-calc-nogui and keeps soffice --headless and python3-uno)" >&2
    exit 2
fi
VCL=gen
[ -e "$program/libvclplug_gtk3lo.so" ] && VCL=gtk3
"$BIN/sheetgen" generate --output-dir "$WORK/long" --iterations 1000 --no-plots >/dev/null
rm -rf "$OUT/window"
for size in $SIZES; do
    VCL=$VCL "$BIN/python" scripts/window_shots.py "$OUT/window" "$size" \
        "$WORK/long/BackPropagation.ods" "$WORK/long/BackPropagation.xlsx" >/dev/null
done
echo "wrote $(ls "$OUT/window" | wc -l) window screenshots as $OUT/window/*.png"
