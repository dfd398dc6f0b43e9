#!/bin/sh
# See the default workbooks as a user would.
# 1. Printed: both formats to PDF with LibreOffice (headless, a throw-away profile), every page
#    turned into a PNG with pdftoppm: BackPropagation-<fmt>.pdf, <fmt>-<page>.png.
# 2. On screen: every shipped example in LibreOffice's and Gnumeric's windows (below).
# Usage: scripts/screenshots.sh [OUT_DIR]    (default outputs/screenshots)
set -eu
OUT=${1:-outputs/screenshots}
BIN=${BIN:-.venv/bin}
DPI=${DPI:-110}

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

# On screen, every shipped example with 1,000 iterations (scrolling shows whether the header
# stays), each format, in LibreOffice Calc's window and in Gnumeric's, under a virtual display
# (Xvfb) at 1366x768: the summary, the first learning-rate sheet on opening and scrolled about
# 1,000 rows, and an image network's `maps` (scripts/example_shots.py):
# window/<book>-<fmt>-<app>-<view>.png. A book over a million cells keeps fewer rate sheets or
# rows (scripts/shot_books.py; window/BOOKS.txt says which).
# The LibreOffice window needs a LibreOffice with a GUI: the -nogui packages have none.
missing=""
command -v Xvfb >/dev/null 2>&1 || missing="$missing xvfb"
command -v xdotool >/dev/null 2>&1 || missing="$missing xdotool"
if [ -n "$missing" ]; then
    echo "error: window screenshots need:$missing (Debian: apt-get install$missing)" >&2
    exit 2
fi
apps=""
program=$(dirname "$(readlink -f "$(command -v soffice)")")
if ls "$program"/libvclplug_gtk3lo.so "$program"/libvclplug_genlo.so >/dev/null 2>&1; then
    apps="libreoffice"
else
    echo "note: no LibreOffice window shots: this LibreOffice has no GUI (Debian: apt-get install" \
         "libreoffice-calc libreoffice-gtk3, which keep soffice --headless and python3-uno)" >&2
fi
command -v gnumeric >/dev/null 2>&1 && apps="$apps gnumeric" \
    || echo "note: no Gnumeric window shots: gnumeric not found (Debian: apt-get install gnumeric)" >&2
VCL=gen
[ -e "$program/libvclplug_gtk3lo.so" ] && VCL=gtk3
rm -rf "$OUT/window"
mkdir -p "$OUT/window"
"$BIN/python" scripts/shot_books.py "$WORK/long" >/dev/null
cp "$WORK/long/BOOKS.txt" "$OUT/window/BOOKS.txt"
failed=0
for app in $apps; do
    for book in "$WORK"/long/*.ods "$WORK"/long/*.xlsx; do
        VCL=$VCL "$BIN/python" scripts/example_shots.py "$app" "$OUT/window" 1366x768 "$book" \
            >/dev/null || failed=$((failed + 1))
    done
done
echo "wrote $(ls "$OUT/window"/*.png 2>/dev/null | wc -l) window screenshots as $OUT/window/*.png" \
     "($failed books not shown: see $OUT/window/*-failed.png)"
