"""The network picture as a PNG, for formats without native drawing shapes (.xlsx).

Pillow, not matplotlib: it imports in a tenth of the time, and the picture is only ellipses,
lines and text. The PNG records its resolution, so it is placed at the picture's size in mm.
"""

from __future__ import annotations

import io

from PIL import Image, ImageDraw, ImageFont

from sheetgen.layout.picture import Picture, label_box

PX_PER_MM = 8                      # 203.2 dpi: crisp when zoomed
FILL = (207, 226, 243)             # the reference's light blue
INK = (0, 0, 0)
FONT_MM = 3.6                      # about 10 pt
# Pillow's own font has no "×", "δ" or "…" (a conv picture's "1×8×8" came out as boxes): the
# font LibreOffice draws the .ods picture with, where installed.
FONTS = ("LiberationSans-Regular.ttf", "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
         "DejaVuSans.ttf")


def _font(size: int):
    for name in FONTS:
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default(size=size)


def render_png(picture: Picture, compress_level: int = 6) -> bytes:
    """The picture as PNG bytes; `compress_level` 1 for hundreds of small books (a class's):
    twice as fast to encode, a third larger. Drawn at the picture's scale, text included."""
    scale = PX_PER_MM * picture.scale
    image = Image.new("RGB", (round(picture.width * scale), round(picture.height * scale)), "white")
    draw = ImageDraw.Draw(image)
    font = _font(round(FONT_MM * scale))
    line = max(1, round(0.3 * scale))
    for edge in picture.edges:
        draw.line([(edge.x1 * scale, edge.y1 * scale), (edge.x2 * scale, edge.y2 * scale)],
                  fill=INK, width=line)
    for node in picture.nodes:
        box = [(node.x - node.width / 2) * scale, (node.y - node.height / 2) * scale,
               (node.x + node.width / 2) * scale, (node.y + node.height / 2) * scale]
        if node.shape == "rect":
            draw.rectangle(box, fill=FILL, outline=INK, width=line)
        else:
            draw.ellipse(box, fill=FILL, outline=INK, width=line)
        draw.multiline_text((node.x * scale, node.y * scale), node.shown, fill=INK, font=font,
                            anchor="mm", align="center")
    for edge in picture.edges:
        if not edge.label:  # e.g. a bias node's edges
            continue
        at = (edge.label_x * scale, edge.label_y * scale)
        # A white backing keeps a label readable on its own line; the box is the layout's.
        box = label_box(edge.label, edge.label_x, edge.label_y)
        draw.rectangle([v * scale for v in box], fill="white")
        draw.text(at, edge.label, fill=INK, font=font, anchor="mm")
    out = io.BytesIO()
    dpi = PX_PER_MM * 25.4
    image.save(out, format="PNG", dpi=(dpi, dpi), compress_level=compress_level)
    return out.getvalue()
