"""The results of an audit: one file (Audit) and several files (ClassAudit)."""

from __future__ import annotations

from dataclasses import dataclass

from sheetgen.check.audit.sheet import SheetAudit


@dataclass
class Audit:
    """One file: a SheetAudit per table found."""

    path: str
    sheets: list[SheetAudit]
    unreadable: dict[str, str]         # sheet (and table) -> why its table could not be audited

    @property
    def exit_status(self) -> int:
        """0: every table is right; 1: mistakes found; 2: no table could be read."""
        if not self.sheets:
            return 2
        return 0 if all(s.correct for s in self.sheets) else 1

    @property
    def ok(self) -> bool:
        """Every table was read and is right."""
        return self.exit_status == 0

    def to_frame(self):
        """One row per mistake: sheet, table, quantity, header, first wrong cell and iteration,
        how many rows are wrong, the correct equation, the kind and the diagnosis in words."""
        import pandas as pd

        columns = ["sheet", "table", "quantity", "header", "cell", "iteration", "wrong_rows",
                   "equation", "kind", "diagnosis"]
        rows = [{"sheet": s.sheet, "table": s.table, "quantity": m.quantity, "header": m.header,
                 "cell": m.cell, "iteration": m.iteration, "wrong_rows": m.wrong_rows,
                 "equation": m.equation, "kind": m.kind, "diagnosis": m.diagnosis}
                for s in self.sheets for m in s.mistakes]
        return pd.DataFrame(rows, columns=columns)


@dataclass
class ClassAudit:
    """Several files, e.g. a class's submissions."""

    audits: list[Audit]
    failures: dict[str, str]           # file -> why it could not be audited

    @property
    def exit_status(self) -> int:
        """1 if any file has a mistake; else 2 if any could not be audited; else 0."""
        statuses = [a.exit_status for a in self.audits] + [2] * len(self.failures)
        if 1 in statuses:
            return 1
        return 2 if 2 in statuses or not statuses else 0


__all__ = ["Audit", "ClassAudit"]
