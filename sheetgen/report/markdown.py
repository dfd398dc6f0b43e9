"""The write-up as Markdown for a code-hosting site: math in $…$ and $$…$$, images relative."""

from __future__ import annotations

from urllib.parse import quote

from sheetgen.core.text import markdown_text
from sheetgen.report.document import Document, Equation, Heading, Image, Math, Paragraph, Table, Verbatim


def _cell(text: str) -> str:
    return text.replace("|", r"\|")


def to_markdown(doc: Document) -> str:
    out = [f"# {doc.title}", ""]
    for block in doc.blocks:
        match block:
            case Heading(level=level, text=text):
                out += ["#" * level + " " + text, ""]
            case Paragraph(parts=parts):
                out += ["".join(f"${p.latex}$" if isinstance(p, Math)
                                else markdown_text(p) if isinstance(p, Verbatim) else p for p in parts), ""]
            case Equation(lines=lines) if len(lines) == 1:
                out += ["$$", lines[0], "$$", ""]
            case Equation(lines=lines):
                body = [f"& {lines[0]} \\\\"] + [f"& \\qquad {line} \\\\" for line in lines[1:]]
                body[-1] = body[-1][:-3]
                out += ["$$", r"\begin{aligned}", *body, r"\end{aligned}", "$$", ""]
            case Image(src=src, alt=alt):
                out += [f"![{alt}]({quote(src)})", ""]
            case Table(header=header, rows=rows):
                out.append("| " + " | ".join(_cell(h) for h in header) + " |")
                out.append("|" + "|".join("---:" if k else "---" for k in range(len(header))) + "|")
                out += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
                out.append("")
    return "\n".join(out).rstrip("\n") + "\n"
