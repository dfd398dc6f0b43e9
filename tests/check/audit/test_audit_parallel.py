"""A big workbook's sheets are read in worker processes: the audit is the same as read here."""

from __future__ import annotations

import zipfile

import pytest

import sheetgen.check.audit as audit_module
from sheetgen.check.audit import audit, audit_files, report
from sheetgen.core.workers import can_fork
from sheetgen.read import safety

pytestmark = pytest.mark.skipif(not can_fork(), reason="needs fork")


@pytest.fixture
def spied(monkeypatch):
    """The sheets each pool of workers was given: ("each", n) for a workbook's sheets by name,
    ("apart", n) for an .ods's sheets streamed apart, one file each."""
    calls = []
    by_name, as_made = audit_module.map_in_processes, audit_module.map_as_made

    def each(function, items, jobs, **options):
        calls.append(("each", len(items)))
        return by_name(function, items, jobs, **options)

    def apart(function, items, jobs, **options):
        seen = []

        def counted():
            for item in items:
                seen.append(item)
                yield item
        try:
            return as_made(function, counted(), jobs, **options)
        finally:
            calls.append(("apart", len(seen)))

    monkeypatch.setattr(audit_module, "PARALLEL_BYTES", 0)
    monkeypatch.setattr(audit_module, "map_in_processes", each)
    monkeypatch.setattr(audit_module, "map_as_made", apart)
    return calls


@pytest.mark.parametrize("which", ["reference", "xlsx", "ods"])
def test_sheets_read_in_workers_give_the_same_audit(monkeypatch, reference_ods, default_books, spied,
                                                   which):
    path = reference_ods if which == "reference" else default_books[which]
    monkeypatch.setattr(safety, "_PASSED", {})  # checked anew: its first rows kept, as in one command
    with monkeypatch.context() as alone:
        alone.setattr(audit_module, "PARALLEL_BYTES", 10**12)
        here = report(audit(path), "json")
    assert not spied
    assert report(audit(path), "json") == here
    if which == "reference":  # its one sheet is read here
        assert not spied
    elif which == "xlsx":
        assert spied == [("each", 7)]  # every sheet, in workers
    else:
        assert spied == [("apart", 7)]  # every sheet, apart, in workers


def test_an_ods_not_laid_out_for_splitting_is_read_whole(monkeypatch, default_books, tmp_path, spied):
    """A table inside a table: the sheets apart are thrown away, and the file is read whole."""
    nested = tmp_path / "nested.ods"
    with zipfile.ZipFile(default_books["ods"]) as zin, zipfile.ZipFile(nested, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "content.xml":
                at = data.index(b'table:name="lr=0.2"')
                at = data.index(b"<table:table-row", at)
                data = data[:at] + b'<table:table-row><table:table-cell><table:table table:name="x">' \
                    b'</table:table></table:table-cell></table:table-row>' + data[at:]
            zout.writestr(info, data)
    with monkeypatch.context() as alone:
        alone.setattr(audit_module, "PARALLEL_BYTES", 10**12)
        here = report(audit(nested), "json")
    assert report(audit(nested), "json") == here
    assert spied[0][0] == "apart" and spied[1:] == [("each", 7)]


def test_files_audited_in_workers_read_their_sheets_there_without_nesting(monkeypatch, reference_ods,
                                                                         default_books):
    """A worker of `audit --jobs` cannot start workers of its own: it reads its sheets itself."""
    paths = [reference_ods, default_books["xlsx"]]
    alone = [report(audit(p), "json") for p in paths]
    monkeypatch.setattr(audit_module, "PARALLEL_BYTES", 0)
    together = audit_files(paths, jobs=2)
    assert not together.failures
    assert [report(a, "json") for a in together.audits] == alone
