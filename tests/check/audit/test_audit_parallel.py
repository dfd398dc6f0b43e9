"""A big workbook's sheets are read in worker processes: the audit is the same as read here."""

from __future__ import annotations

import pytest

import sheetgen.check.audit as audit_module
from sheetgen.check.audit import audit, audit_files, report
from sheetgen.core.workers import can_fork

pytestmark = pytest.mark.skipif(not can_fork(), reason="needs fork")


@pytest.mark.parametrize("which", ["reference", "xlsx", "ods"])
def test_sheets_read_in_workers_give_the_same_audit(monkeypatch, reference_ods, default_books, which):
    path = reference_ods if which == "reference" else default_books[which]
    here = report(audit(path), "json")
    calls = []
    original = audit_module.map_in_processes

    def spy(function, items, jobs, **options):
        calls.append(len(items))
        return original(function, items, jobs, **options)

    monkeypatch.setattr(audit_module, "PARALLEL_BYTES", 0)
    monkeypatch.setattr(audit_module, "map_in_processes", spy)
    assert report(audit(path), "json") == here
    if which == "reference":  # its one sheet is read here
        assert not calls
    else:
        assert calls and calls[0] > 1  # every sheet, in workers


def test_files_audited_in_workers_read_their_sheets_there_without_nesting(monkeypatch, reference_ods,
                                                                         default_books):
    """A worker of `audit --jobs` cannot start workers of its own: it reads its sheets itself."""
    paths = [reference_ods, default_books["xlsx"]]
    alone = [report(audit(p), "json") for p in paths]
    monkeypatch.setattr(audit_module, "PARALLEL_BYTES", 0)
    together = audit_files(paths, jobs=2)
    assert not together.failures
    assert [report(a, "json") for a in together.audits] == alone
