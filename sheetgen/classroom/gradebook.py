"""The gradebook as files: gradebook.csv (a row per submission) and gradebook.html (an offline
page: a chart of the mistakes by kind, inline SVG, and a row per student linking to the details).

Ids, names, file names and sentences come from files: every CSV cell goes through `csv_text`
(nothing starts with = + - @), every piece of the page through html.escape."""

from __future__ import annotations

import csv
import io
from html import escape

from sheetgen.check.compare import csv_text
from sheetgen.classroom.grade import Entry, Gradebook

STATUS_COLOURS = {"right": "#c6efce", "follows": "#ddebf7", "mistake": "#ffc7ce", "pasted": "#ffeb9c",
                  "missing": "#e7e6e6"}


def _score(entry: Entry) -> str:
    return "" if entry.score is None else f"{entry.score:.1f}"


def to_csv(book: Gradebook) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student", "name", "file", "matched_by", "score", "marks", "out_of",
                     *book.blank, "first_mistake", "problem"])
    for e in book.entries:
        row = [e.student, e.name, e.file, e.matched_by, _score(e), f"{e.marks:g}", f"{e.out_of:g}",
               *[e.status.get(q, "") for q in book.blank], _one_line(e.first_mistake), _one_line(e.problem)]
        writer.writerow([csv_text(str(cell)) for cell in row])
    return buffer.getvalue()


def _one_line(text: str) -> str:
    return " ".join(text.split())


def slip_chart(counts: dict[str, int]) -> str:
    """Horizontal bars, one per kind of mistake, as inline SVG."""
    if not counts:
        return '<p class="none">No mistakes found.</p>'
    bar, gap, label_w, width = 22, 8, 190, 360
    top = max(counts.values())
    height = len(counts) * (bar + gap) + gap
    parts = [f'<svg class="chart" role="img" aria-label="mistakes by kind" width="{label_w + width + 60}" '
             f'height="{height}" viewBox="0 0 {label_w + width + 60} {height}">']
    for k, (kind, n) in enumerate(counts.items()):
        y = gap + k * (bar + gap)
        w = max(2, round(width * n / top))
        baseline = f"{y + bar * 0.7:.1f}"
        parts.append(f'<text x="{label_w - 8}" y="{baseline}" text-anchor="end">{escape(kind)}</text>'
                     f'<rect x="{label_w}" y="{y}" width="{w}" height="{bar}" fill="#4472c4">'
                     f"<title>{escape(kind)}: {n}</title></rect>"
                     f'<text x="{label_w + w + 6}" y="{baseline}">{n}</text>')
    parts.append("</svg>")
    return "".join(parts)


def to_html(book: Gradebook, title: str = "Gradebook") -> str:
    graded = [e.score for e in book.entries if e.score is not None]
    mean = f"{sum(graded) / len(graded):.1f}" if graded else "–"
    rows, details = [], []
    for k, e in enumerate(book.entries, start=1):
        anchor = f"s{k}"
        who = escape(e.student or "(not matched)")
        rows.append(f'<tr><td><a href="#{anchor}">{who}</a></td><td>{escape(e.name)}</td>'
                    f"<td><code>{escape(e.file)}</code></td>"
                    f'<td class="num">{_score(e) or "–"}</td>'
                    f"<td>{escape(_one_line(e.first_mistake or e.problem))}</td></tr>")
        cells = "".join(f'<tr><td>{escape(q)}</td><td style="background:'
                        f'{STATUS_COLOURS.get(s, "#fff")}">{escape(s)}</td></tr>'
                        for q, s in e.status.items())
        found = "".join(f"<li><b>{escape(kind)}</b>: {escape(text)}</li>" for kind, _, text in e.mistakes)
        marked = (f'<p>Marked copy: <a href="{escape(e.marked)}">{escape(e.marked)}</a></p>'
                  if e.marked else "")
        details.append(
            f'<section id="{anchor}"><h3>{who}{" – " + escape(e.name) if e.name else ""}</h3>'
            f"<p>File <code>{escape(e.file)}</code>"
            f"{', matched by ' + escape(e.matched_by) if e.matched_by else ''}; score "
            f"{_score(e) or '–'} ({e.marks:g} of {e.out_of:g} marks).</p>"
            + (f'<p class="problem">{escape(e.problem)}</p>' if e.problem else "")
            + (f'<table class="status"><tr><th>column</th><th>status</th></tr>{cells}</table>'
               if cells else "")
            + (f"<ul>{found}</ul>" if found else "") + marked + '<p><a href="#top">back to the list</a></p>'
            + "</section>")
    style = ("body{font-family:sans-serif;margin:1.5em;max-width:70em}table{border-collapse:collapse}"
             "td,th{border:1px solid #bbb;padding:.25em .6em;text-align:left;vertical-align:top}"
             "td.num{text-align:right}.problem{color:#9c0006}"
             ".chart text{font-size:13px;font-family:sans-serif}"
             "section{border-top:1px solid #ddd;margin-top:1em}")
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f"<style>{style}</style></head><body><h1 id=\"top\">{escape(title)}</h1>"
            f"<p>{len(book.entries)} submissions, {len(graded)} graded; mean score {mean}%. A column "
            "earns its marks when it is right or only follows from an earlier mistake, with "
            "formulas in its cells.</p>"
            f"<h2>Submissions with each kind of mistake</h2>{slip_chart(book.slip_counts())}"
            '<h2>Students</h2><table class="students"><tr><th>student</th><th>name</th><th>file</th>'
            "<th>score %</th>"
            f"<th>first mistake</th></tr>{''.join(rows)}</table><h2>Details</h2>{''.join(details)}"
            "</body></html>\n")


__all__ = ["slip_chart", "to_csv", "to_html"]
