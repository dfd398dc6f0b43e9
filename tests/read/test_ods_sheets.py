"""An .ods's sheets apart, one file each: every sheet reads as it does from the whole file."""

from __future__ import annotations

import zipfile

import pytest

from sheetgen.read import safety
from sheetgen.read.ods_sheets import Unsplittable, sheet_files, sheet_grid
from sheetgen.read.workbook import Workbook


def _rewritten(source, target, change) -> None:
    """A copy of the .ods `source` whose content.xml is change(content.xml)."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            zout.writestr(info, change(data) if info.filename == "content.xml" else data)


def test_each_sheet_apart_reads_as_in_the_whole_file(default_books, tmp_path):
    book = Workbook(default_books["ods"])
    files = list(sheet_files(book.path, tmp_path))
    assert len(files) == len(book.sheet_names) == 7
    for path, name in zip(files, book.sheet_names, strict=True):
        assert sheet_grid(path) == (name, book.grid(name))
    assert not list(tmp_path.iterdir())  # each file goes once read


def test_sheets_apart_come_one_by_one_as_content_streams(default_books, tmp_path):
    """Each file is complete when yielded, before the next sheet is read."""
    made = sheet_files(default_books["ods"], tmp_path)
    first = next(made)
    assert [p.name for p in tmp_path.iterdir()] == [first.name]
    assert sheet_grid(first)[0] == "summary"
    made.close()


def test_a_table_inside_a_table_is_not_split(default_books, tmp_path):
    """The inner table's end closes the sheet's file early; the sheet's own end then comes
    between sheets, and the split is refused there (the caller reads the whole file)."""
    def nest(content: bytes) -> bytes:
        cell = b'<table:table-cell office:value-type="float" office:value="1">'
        inner = b'<table:table table:name="inner"><table:table-row><table:table-cell/>' \
                b'</table:table-row></table:table>'
        at = content.index(b"<table:table-row", content.index(b'table:name="lr=0.2"'))
        return content[:at] + b"<table:table-row>" + cell + inner + b"</table:table-cell>" \
            b"</table:table-row>" + content[at:]

    nested = tmp_path / "nested.ods"
    _rewritten(default_books["ods"], nested, nest)
    folder = tmp_path / "apart"
    folder.mkdir()
    made = []
    with pytest.raises(Unsplittable, match="inside a table"):
        made.extend(sheet_files(nested, folder))
    assert [p.name for p in made] == ["sheet-1.ods", "sheet-2.ods", "sheet-3.ods"]
    with pytest.raises(Exception, match="ill-formed"):  # the third, cut at the inner table's end
        sheet_grid(made[2])


def test_content_cut_inside_a_sheet_is_not_split(default_books, tmp_path):
    cut = tmp_path / "cut.ods"
    _rewritten(default_books["ods"], cut, lambda c: c[:c.index(b'table:name="lr=0.5"') + 500])
    folder = tmp_path / "apart"
    folder.mkdir()
    with pytest.raises(Unsplittable, match="ends inside a sheet"):
        list(sheet_files(cut, folder))
    assert len(list(folder.iterdir())) == 3  # the sheets before it, whole; the cut one removed


def test_a_workbook_of_one_sheet_is_read_whole(reference_ods, tmp_path, monkeypatch):
    monkeypatch.setattr(safety, "_PASSED", {})  # checked anew: its first rows kept, as in one command
    book = Workbook(reference_ods)
    with pytest.raises(Unsplittable):
        book.sheets_apart(tmp_path)


def test_a_self_closed_sheet_is_not_read_as_its_neighbour(default_books, tmp_path):
    """An empty <table:table .../> has no end of its own: its file runs on to the next sheet's,
    and reading it refuses rather than give the empty sheet and lose the next."""
    def empty_sheet_first(content: bytes) -> bytes:
        at = content.index(b"<table:table ")
        return content[:at] + b'<table:table table:name="empty"/>' + content[at:]

    odd = tmp_path / "odd.ods"
    _rewritten(default_books["ods"], odd, empty_sheet_first)
    folder = tmp_path / "apart"
    folder.mkdir()
    first = next(sheet_files(odd, folder))
    with pytest.raises(Unsplittable, match="2 sheets"):
        sheet_grid(first)
