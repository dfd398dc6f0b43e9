"""The write-up as one web page that needs nothing outside its folder: math as MathML (which
browsers draw natively, so no script and no web font), styles inline, images relative."""

from __future__ import annotations

from html import escape
from urllib.parse import quote

from latex2mathml.converter import convert

from sheetgen.report.document import Document, Equation, Heading, Image, Math, Paragraph, Table

STYLE = """
body { font-family: "DejaVu Sans", "Segoe UI", Helvetica, Arial, sans-serif; color: #1f2328;
       margin: 0; background: #fff; line-height: 1.5; }
main { max-width: 1060px; margin: 0 auto; padding: 24px 32px 64px; }
h1 { font-size: 2em; border-bottom: 1px solid #d1d9e0; padding-bottom: .3em; }
h2 { font-size: 1.5em; border-bottom: 1px solid #d1d9e0; padding-bottom: .3em; margin-top: 1.6em; }
.equation { overflow-x: auto; padding: 6px 0; font-size: 1.1em; }
.lines { width: fit-content; margin: 0 auto; }
.lines math { math-style: normal; }
.lines .line { margin: 2px 0; }
.lines .next { padding-left: 3em; }
math { font-family: "Latin Modern Math", "STIX Two Math", "DejaVu Serif", serif; }
figure { margin: 12px 0; text-align: center; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #59636e; font-size: .9em; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(440px, 1fr)); gap: 8px 16px; }
table { border-collapse: collapse; margin: 12px 0; }
th, td { border: 1px solid #d1d9e0; padding: 4px 12px; }
td { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f6f8fa; }
"""


def _math(latex: str, display: str) -> str:
    return convert(latex, display=display)


def _figure(image: Image) -> str:
    return (f'<figure><img src="{escape(quote(image.src))}" alt="{escape(image.alt)}">'
            f"<figcaption>{escape(image.alt)}</figcaption></figure>")


def to_html(doc: Document) -> str:
    body = [f"<h1>{escape(doc.title)}</h1>"]
    group = ""
    for block in doc.blocks:
        in_group = isinstance(block, Image) and block.group
        if group and (not in_group or block.group != group):
            body.append("</div>")
            group = ""
        match block:
            case Heading(level=level, text=text):
                body.append(f"<h{level}>{escape(text)}</h{level}>")
            case Paragraph(parts=parts):
                body.append("<p>" + "".join(_math(p.latex, "inline") if isinstance(p, Math)
                                            else escape(p) for p in parts) + "</p>")
            case Equation(lines=lines) if len(lines) == 1:
                body.append(f'<div class="equation">{_math(lines[0], "block")}</div>')
            case Equation(lines=lines):
                # MathML does not break lines: each line is its own, continuations indented.
                body.append('<div class="equation lines">' + "".join(
                    f'<div class="{"line" if k == 0 else "line next"}">{_math(line, "inline")}</div>'
                    for k, line in enumerate(lines)) + "</div>")
            case Image():
                if in_group and not group:
                    body.append('<div class="grid">')
                    group = block.group
                body.append(_figure(block))
            case Table(header=header, rows=rows):
                head = "".join(f"<th>{escape(h)}</th>" for h in header)
                lines = "".join("<tr>" + "".join(f"<td>{escape(v)}</td>" for v in row) + "</tr>"
                                for row in rows)
                body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{lines}</tbody></table>")
    if group:
        body.append("</div>")
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{escape(doc.title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n"
            + "\n".join(body) + "\n</main>\n</body>\n</html>\n")
