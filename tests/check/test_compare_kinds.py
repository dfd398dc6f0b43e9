"""`sheetgen compare` and the table reader on every kind of book sheetgen writes (dense, conv,
rnn, lstm, gru), in both formats, on small books: every header reads as its quantity, the
`maps` and `summary` sheets are no tables, and two runs (another seed, another learning rate)
differ in the quantities the maths names."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from sheetgen.check.compare import compare_workbooks, report
from sheetgen.cli import main
from sheetgen.config import from_file, from_mapping
from sheetgen.generation import generate
from sheetgen.read.tables import canonical_name, find_table, read_tables
from sheetgen.read.workbook import Workbook

EXAMPLES = Path(__file__).resolve().parents[2] / "sheetgen" / "examples"

NETWORKS = {
    "dense": """
[network]
layers = [2, 2, 2]
activations = ["sigmoid", "sigmoid"]
""",
    "conv": """
[network]
layers = [{ input = [1, 5, 5] }, { conv2d = 2, kernel = 2, activation = "tanh" }, { maxpool = 2 },
          "flatten", { dense = 2, activation = "softmax" }]
loss = "cross_entropy"
[data]
batch = "full"
samples = [
  { image = [[0.1, 0.9, 0.2, 0.8, 0.0], [0.3, 1, 0, 0.7, 0.2], [0, 0.6, 0.1, 1, 0.4],
             [0.5, 0.2, 0.9, 0.3, 0.1], [0.7, 0, 0.4, 0.6, 1]], target = [1, 0] },
  { image = [[0.2, 0.1, 0.4, 0, 0.3], [1, 0.8, 0.9, 0.6, 0.7], [0, 0.3, 0.1, 0.2, 0],
             [0.9, 1, 0.5, 0.8, 0.6], [0.1, 0, 0.3, 0.2, 0.4]], target = [0, 1] },
]
""",
    "rnn": """
[network]
cell = "rnn"
hidden = [2]
output = "last"
layers = [1]
activations = ["identity"]
[data]
batch = "full"
samples = [{ x = [[0.1], [0.2], [0.0]], y = 0.3 }, { x = [[0.5], [0.3], [0.3]], y = 1.1 }]
""",
    "lstm": """
[network]
cell = "lstm"
hidden = [1]
output = "every"
layers = [1]
activations = ["sigmoid"]
loss = "mse"
[data]
batch = "full"
samples = [{ x = [[1], [0.4]], y = [[1], [0]] }, { x = [[0], [-0.3]], y = [[0], [1]] }]
[optimizer]
name = "adam"
""",
    "gru": """
[network]
cell = "gru"
hidden = [2, 1]
output = "last"
layers = [1]
activations = ["sigmoid"]
[data]
samples = [{ x = [[1], [0.4]], y = 1 }, { x = [[0], [-0.3]], y = 0 }]
[optimizer]
name = "momentum"
""",
}


def config(kind: str, out: Path, seed: int = 1, rate: float = 0.5):
    text = NETWORKS[kind].replace("[network]", f"[network]\nseed = {seed}", 1)
    data = tomllib.loads(f"iterations = 3\nlearning_rates = [{rate}]\nplots = false\n"
                         f"output_dir = {str(out)!r}\nbasename = {kind!r}\n" + text)
    return from_mapping(data, kind)


@pytest.fixture(scope="module")
def books(tmp_path_factory) -> dict[tuple[str, str], dict[str, Path]]:
    """(kind, run) -> {"xlsx": path, "ods": path}; runs: "a", "seed" (another seed), "rate"
    (another learning rate)."""
    found = {}
    for kind in NETWORKS:
        for run, changes in (("a", {}), ("seed", {"seed": 2}), ("rate", {"rate": 0.2})):
            out = tmp_path_factory.mktemp(f"{kind}-{run}")
            paths = generate(config(kind, out, **changes).training())
            found[kind, run] = {p.suffix[1:]: p for p in paths}
    return found


def _unread(training) -> list[tuple[str, str, str | None]]:
    return [(c.header, c.quantity, canonical_name(c.header)) for c in training.columns
            if canonical_name(c.header) != c.quantity]


@pytest.mark.parametrize("kind", NETWORKS)
def test_every_header_sheetgen_writes_reads_as_its_quantity(kind, tmp_path):
    assert _unread(config(kind, tmp_path).training()) == []


@pytest.mark.slow
@pytest.mark.parametrize("example", sorted(p.stem for p in EXAMPLES.glob("*.toml")))
def test_every_example_header_reads_as_its_quantity(example):
    assert _unread(from_file(EXAMPLES / f"{example}.toml").training()) == []


@pytest.mark.parametrize(("header", "quantity"), [
    ("Wxh_1_1", "Wxh_1_1"), ("Whf2_1_2", "Whf2_1_2"), ("bh_1", "bh_1"), ("bxn_2", "bxn_2"),
    ("bhn2_1", "bhn2_1"), ("h_t3_2", "h_t3_2"), ("h_t0_1", "h_t0_1"), ("c2_t1_1", "c2_t1_1"),
    ("f_t1_1", "f_t1_1"), ("zh_t1_1_s2", "zh_t1_1_s2"), ("x1_t2", "x1_t2"), ("y1", "y1"),
    ("y2_t3_s1", "y2_t3_s1"), ("a_o1_t2", "a_o1_t2"), ("d1_2", "d1_2"), ("E∂Wxh_1_1", "dE_dWxh_1_1"),
    ("E∂bh_2", "dE_dbh_2"), ("δ_zh_t3_1_s1", "delta_zh_t3_1_s1"), ("δ_c_t2_1", "delta_c_t2_1"),
    ("m_Wxi_1_1", "m_Wxi_1_1"), ("s_bf_1", "s_bf_1"),
    ("k1_r1c2", "k1_r1c2"), ("k2_1_r3c3", "k2_1_r3c3"), ("b_c1", "b_c1"), ("i1_2_3", "i1_2_3"),
    ("c1_3_4", "c1_3_4"), ("a_c1_3_4_s2", "a_c1_3_4_s2"), ("p1_2_2", "p1_2_2"),
    ("δ_p1_2_2", "delta_p1_2_2"), ("E∂k1_r1c2", "dE_dk1_r1c2"), ("E∂b_c1", "dE_db_c1"),
    ("v_k1_r1c1", "v_k1_r1c1"),
])
def test_recurrent_and_image_names_read_as_themselves(header, quantity):
    assert canonical_name(header) == quantity


@pytest.mark.parametrize("header", ["t = 1", "t = 2, s1", "t=3", "t = 0", "Wxh", "h_t1", "k1",
                                    "c1", "δ_c1", "E∂k1", "E∂h_t1_1", "δ_Wxh_1_1", "m_h_t1_1",
                                    "input channel 1", "Wq_1_1"])
def test_step_labels_and_map_labels_name_nothing(header):
    assert canonical_name(header) is None


def test_the_step_labels_over_a_recurrent_table_are_not_its_header():
    grid = [[None, "t = 1", None, "t = 2", None, "t = 3"],
            ["x1_t1", "h_t1_1", "x1_t2", "h_t2_1", "x1_t3", "h_t3_1"],
            [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]]
    table = find_table(grid, "S")
    assert table.header_row == 1 and not table.ignored
    assert list(table.columns) == ["x1_t1", "h_t1_1", "x1_t2", "h_t2_1", "x1_t3", "h_t3_1"]


@pytest.mark.parametrize("fmt", ["xlsx", "ods"])
@pytest.mark.parametrize("kind", NETWORKS)
def test_a_book_reads_back_whole(books, kind, fmt, tmp_path):
    """Every column of the learning-rate sheet, in order, nothing left unread; the data sheet
    too when the book has one; no table in summary and maps."""
    training = config(kind, tmp_path).training()
    path = books[kind, "a"][fmt]
    tables = read_tables(path)
    sheet = tables["lr=0.5"]
    assert list(sheet.columns) == [c.quantity for c in training.columns]
    assert sheet.headers == {c.quantity: c.header for c in training.columns}
    assert not sheet.ignored and len(sheet) == 3
    names = Workbook(path).sheet_names
    assert "summary" in names and "summary" not in tables
    if kind == "conv":
        assert "maps" in names and "maps" not in tables
    if "data" in tables:
        assert not tables["data"].ignored
        assert set(tables["data"].columns) == set(training.data.names)
        assert len(tables["data"]) == training.data.n


@pytest.mark.parametrize("kind", NETWORKS)
def test_both_formats_of_a_book_compare_equal(books, kind, capsys):
    paths = books[kind, "a"]
    comparison = compare_workbooks(paths["xlsx"], paths["ods"])
    assert comparison.equal, report(comparison)
    assert {s.sheet_a for s in comparison.sheets} == ({"lr=0.5", "data"} if kind != "dense"
                                                      else {"lr=0.5"})
    assert all(s.cells > 0 and not s.ignored_a and not s.ignored_b for s in comparison.sheets)
    assert main(["compare", str(paths["xlsx"]), str(paths["ods"])]) == 0
    assert "result: equal" in capsys.readouterr().out


# The parameters each kind draws from its seed, by the names the maths gives them.
SEEDED = {"dense": {"w1", "w8"}, "conv": {"k1_r1c1", "k2_r2c2", "w1"},
          "rnn": {"Wxh_1_1", "Whh_2_2", "w1"}, "lstm": {"Wxi_1_1", "Who_1_1", "w1"},
          "gru": {"Wxr1_1_1", "Whn2_1_1", "w1"}}


@pytest.mark.parametrize("kind", NETWORKS)
def test_another_seed_differs_from_the_first_row_in_the_maths_names(books, kind, capsys):
    a, b = books[kind, "a"]["xlsx"], books[kind, "seed"]["ods"]
    comparison = compare_workbooks(a, b)
    assert not comparison.equal
    sheets = {s.sheet_a: s for s in comparison.sheets}
    if "data" in sheets:
        assert sheets["data"].equal     # the same samples
    first = {c.quantity: c.first_iteration for c in sheets["lr=0.5"].differences}
    assert SEEDED[kind] <= {q for q, it in first.items() if it == 1}
    assert first.get("iteration") is None
    status = main(["compare", str(a), str(b)])
    out = capsys.readouterr().out
    assert status == 1
    header = {c.quantity: c.header_a for c in sheets["lr=0.5"].columns}
    for quantity in SEEDED[kind]:
        assert f"\n  {header[quantity]} " in out, quantity


@pytest.mark.parametrize("kind", NETWORKS)
def test_another_learning_rate_pairs_the_two_rate_sheets(books, kind, capsys):
    """lr=0.5 against lr=0.2: the one table left on each side is paired; the first row (the
    same start) agrees, the parameters differ from the second on."""
    a, b = books[kind, "a"]["ods"], books[kind, "rate"]["xlsx"]
    comparison = compare_workbooks(a, b)
    assert not comparison.sheets_only_a and not comparison.sheets_only_b
    (rates,) = [s for s in comparison.sheets if s.sheet_a != "data"]
    assert (rates.sheet_a, rates.sheet_b) == ("lr=0.5", "lr=0.2")
    first = {c.quantity: c.first_iteration for c in rates.differences}
    assert min(first.values()) == 2
    assert SEEDED[kind] <= set(first)
    assert main(["compare", str(a), str(b), "--format", "csv"]) == 1
    assert "lr=0.5,lr=0.2" in capsys.readouterr().out
