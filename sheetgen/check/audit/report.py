"""Audit reports: text for a person, JSON for a program, CSV for a class (one line per sheet
and mistake)."""

from __future__ import annotations

import csv
import io
import json
import textwrap
from dataclasses import asdict

from sheetgen.check.audit.result import Audit, ClassAudit
from sheetgen.check.compare import csv_text, json_ready

REPORT_FORMATS = ("text", "json", "csv")
CSV_FIELDS = ("file", "sheet", "table", "column", "header", "first_cell", "kind", "diagnosis")


def _g(value: float) -> str:
    return f"{value:.10g}"


def _sheet_lines(s) -> list[str]:
    lines = []
    rate = "unknown" if s.learning_rate is None else _g(s.learning_rate)
    lines.append(f"sheet {s.sheet!r}, table {s.table}: {s.rows} rows, learning rate {rate} "
                 f"(from {s.learning_rate_source}), biases {s.setup['biases']}")
    if s.network:
        lines.append(f"  network: {s.network} (from the {s.network_source})")
    if s.values_only:
        lines.append("  values only (no formulas): audited by its values")
    setup = ", ".join(f"{k}={_g(v)}" for k, v in s.setup.items() if k != "biases")
    lines.append(f"  first row: {setup}")
    if s.unknown_headers:
        shown = ", ".join(f"{h!r} ({c})" for c, h in s.unknown_headers)
        lines.append(f"  headers not placed (use --map \"HEADER=quantity\" if one is maths): {shown}")
    for note in s.notes:
        lines.append(f"  note: {note}")
    if s.correct:
        lines.append(f"  RIGHT: every column follows its equation ({len(s.columns)} columns)")
        return lines
    lines.append(f"  {len(s.mistakes)} mistake(s):")
    for m in s.mistakes:
        lines.append(f"  - {m.header} ({m.stage}): wrong from {m.cell} (iteration {m.iteration}), "
                     f"{m.wrong_rows} of {m.rows_checked} rows")
        lines.append(f"      {m.diagnosis}")
        lines.append(f"      sheet {_g(m.sheet_value)}, its correct equation gives "
                     f"{_g(m.correct_value)} (difference {m.difference:.3g})")
        lines.append(f"      correct: {m.equation}; in {m.cell}: {m.correct_formula}")
        if m.formula:
            lines.append(f"      {m.cell} holds {m.formula}" +
                         (f"  =  {m.formula_in_names}" if m.formula_in_names else ""))
        for e in m.explanations[1:]:
            lines.append(f"      or: {e.words}")
    lines.append("  in short:")
    lines.extend(f"    {line}" for line in s.summary)
    follows = sorted((c.first_wrong_iteration, k, c.header) for k, c in enumerate(s.columns)
                     if c.status == "follows")
    if follows:
        lines.append("  off the true maths only through these mistakes (column: from iteration):")
        items = [f"{h}:\u00a0{k}" for k, _, h in follows]  # no break inside an item
        lines.extend(line.replace("\u00a0", " ") for line in textwrap.wrap(
            ", ".join(items), width=96, initial_indent="    ", subsequent_indent="    "))
    if s.reproduced is True:
        lines.append("  with these mistakes reproduced, the model gives every other value of the sheet")
    elif s.reproduced is False:
        lines.append("  with these mistakes reproduced, the model still differs somewhere: "
                     "there may be more than these mistakes")
    return lines


VERDICT = {0: "no mistakes found", 1: "mistakes found", 2: "no table could be audited"}


def to_text(result) -> str:
    out = []
    for audit in result.audits:
        out.append(f"audit of {audit.path}")
        for s in audit.sheets:
            out.append("")
            out.extend(_sheet_lines(s))
        for name, why in audit.unreadable.items():
            out.append("")
            out.append(f"sheet {name!r}: not audited: {why}")
        out.append("")
        out.append(f"result: {VERDICT[audit.exit_status]}")
        out.append("")
    for path, why in result.failures.items():
        out.append(f"{path}: not audited: {why}")
    if len(result.audits) + len(result.failures) > 1:
        wrong = sum(1 for a in result.audits if a.exit_status == 1)
        out.append(f"{len(result.audits) + len(result.failures)} files: {wrong} with mistakes, "
                   f"{sum(1 for a in result.audits if a.exit_status == 0)} right, "
                   f"{len(result.failures) + sum(1 for a in result.audits if a.exit_status == 2)} "
                   f"not audited")
    return "\n".join(out).rstrip("\n") + "\n"


def to_json(result) -> str:
    data = {"files": [], "failures": dict(result.failures), "exit_status": result.exit_status}
    for audit in result.audits:
        item = asdict(audit)
        item["exit_status"] = audit.exit_status
        for s_out, s in zip(item["sheets"], audit.sheets, strict=True):
            s_out["correct"] = s.correct
            s_out.pop("values", None)
        data["files"].append(item)
    return json.dumps(json_ready(data), indent=2, ensure_ascii=False) + "\n"


class _SafeWriter:
    """Every cell through csv_text: a sheet name, header or file name may start a formula."""

    def __init__(self, writer) -> None:
        self.writer = writer

    def writerow(self, row) -> None:
        self.writer.writerow([csv_text(str(cell)) for cell in row])


def to_csv(result) -> str:
    """One line per sheet and mistake; a right sheet has one line with an empty column."""
    buffer = io.StringIO()
    writer = _SafeWriter(csv.writer(buffer, lineterminator="\n"))
    writer.writerow(CSV_FIELDS)
    for audit in result.audits:
        for s in audit.sheets:
            if s.correct:
                writer.writerow([audit.path, s.sheet, s.table, "", "", "", "right", "no mistakes"])
            for m in s.mistakes:
                writer.writerow([audit.path, s.sheet, s.table, m.column, m.header, m.cell, m.kind,
                                 m.diagnosis])
        for name, why in audit.unreadable.items():
            writer.writerow([audit.path, name, "", "", "", "", "not audited", why])
    for path, why in result.failures.items():
        writer.writerow([path, "", "", "", "", "", "not audited", why])
    return buffer.getvalue()


def report(result, fmt: str = "text") -> str:
    """The report of a ClassAudit (or of one file's Audit) in `fmt`: text, json or csv."""
    if isinstance(result, Audit):
        result = ClassAudit([result], {})
    if fmt not in REPORT_FORMATS:
        raise ValueError(f"unknown report format {fmt!r}")
    return {"text": to_text, "json": to_json, "csv": to_csv}[fmt](result)


__all__ = ["CSV_FIELDS", "REPORT_FORMATS", "report", "to_csv", "to_json", "to_text"]
