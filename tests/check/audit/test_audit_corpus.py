"""The audit's corpus (tests/check/audit/corpus.py): every shipped example, correct, audits
clean; each slip class injected into it is named, with its column and first row, in one line.
The whole matrix (both formats) is slow; a quick slice runs with the fast tests. Every network,
the image and recurrent ones (conv-*, rnn-*, lstm-*, gru-*) included, is inferred from its
headers and values (no --config), and the network inferred is the example's own."""

from __future__ import annotations

import tomllib
from dataclasses import replace
from pathlib import Path

import pytest
from corpus import DENSE, EXPECTED_KIND, WIDE, expected_of, variant, write_book

from sheetgen.check.audit import audit, expected_from
from sheetgen.check.audit.slips import SLIPS
from sheetgen.cli import main
from sheetgen.config import example_text, from_file, from_mapping
from sheetgen.layout.assemble import build_book
from sheetgen.write import xlsx

EXAMPLE_DIR = "sheetgen/examples"
QUICK = [("reference", "two substitutions"), ("deep", "sequential update"), ("xor", "sign"),
         ("softmax", "other row"), ("linear-adam", "β1 for β2"),
         ("linear-adam", "no bias correction"), ("linear-momentum", "state from the wrong row"),
         ("linear-sgd", "substitution"), ("mazur-trained-biases", "pasted constant"),
         ("era", "wrong rate"), ("biased", "missing factor"), ("deep", "other gradient"),
         ("rnn-sum", "sign"), ("conv-edge", "sign")]
# The wide examples quick enough for the fast tests (one recurrent, one image); the others slow.
QUICK_WIDE = ("rnn-sum", "conv-edge")


def check_slip(tmp_path, name: str, slip: str, fmt: str, config: bool = False):
    """The slip injected into the example is named in one line with its column and first cell,
    the network read off the sheet (`config`: checked against the example's config)."""
    path = tmp_path / f"{name}.{fmt}"
    injected = write_book(name, fmt, path, slip)
    if injected is None:
        pytest.skip(f"{slip} does not apply to {name}")
    result = audit(path, expected=expected_of(name) if config else None)
    assert result.exit_status == 1, result.unreadable
    [sheet] = result.sheets
    first = sheet.mistakes[0]
    assert first.kind in EXPECTED_KIND[slip], sheet.summary
    assert first.quantity == injected.quantity, sheet.summary
    # One line naming the column's first wrong cell.
    assert first.cell in sheet.summary[0] and "\n" not in sheet.summary[0]
    return sheet


def _slow_unless(quick):
    return [n if n in quick else pytest.param(n, marks=pytest.mark.slow) for n in WIDE]


def check_clean(tmp_path, name: str, fmt: str) -> None:
    """The example audits clean without its config, and the network read off its headers and
    values is the config's, in the same words."""
    path = tmp_path / f"{name}.{fmt}"
    write_book(name, fmt, path)
    result = audit(path)
    assert result.exit_status == 0, [s.summary for s in result.sheets] or result.unreadable
    assert not result.unreadable   # the data sheet is read as samples, not refused as a table
    [sheet] = result.sheets
    assert sheet.network_source == "headers"
    if name in WIDE:
        assert sheet.network == expected_of(name).description


@pytest.mark.parametrize("name", DENSE + tuple(_slow_unless(QUICK_WIDE)))
def test_every_example_small_audits_clean(tmp_path, name):
    check_clean(tmp_path, name, "xlsx")


@pytest.mark.parametrize(("name", "slip"), QUICK)
def test_a_slice_of_the_corpus(tmp_path, name, slip):
    check_slip(tmp_path, name, slip, "xlsx")


# The image and recurrent examples' whole slip matrix (a few seconds a slip, 60 slips) is left
# to a run by hand, `python tests/check/audit/corpus.py OUT_DIR`; WIDE_SLIPS below keeps a slip
# of each kind of sheet.
@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["xlsx", "ods"])
@pytest.mark.parametrize("slip", SLIPS)
@pytest.mark.parametrize("name", DENSE)
def test_every_slip_in_every_example(tmp_path, name, slip, fmt):
    check_slip(tmp_path, name, slip, fmt)


@pytest.mark.slow
@pytest.mark.parametrize("name", DENSE + WIDE)
def test_every_example_small_audits_clean_as_ods(tmp_path, name):
    check_clean(tmp_path, name, "ods")


# A slip in each image and recurrent example, named without its config: a kernel gradient's
# substitutions hidden by the 0/1 pixels, a relu′ left out where max-pool hides it, the optimizer
# slips of the recurrent ones (the whole matrix: `python tests/check/audit/corpus.py OUT_DIR`).
WIDE_SLIPS = [("conv-edge", "two substitutions", "xlsx"),
              ("rnn-sine", "β1 for β2", "ods"), ("lstm-memory", "no bias correction", "xlsx"),
              ("gru-memory", "state from the wrong row", "ods"), ("rnn-sum", "other row", "ods"),
              ("conv-digits", "sequential update", "ods")]
QUICK_WIDE_SLIPS = {("rnn-sum", "other row")}


@pytest.mark.parametrize(("name", "slip", "fmt"), [
    w if w[:2] in QUICK_WIDE_SLIPS else pytest.param(*w, marks=pytest.mark.slow) for w in WIDE_SLIPS])
def test_a_slip_in_each_image_and_recurrent_example_is_named_without_its_config(tmp_path, name,
                                                                                slip, fmt):
    check_slip(tmp_path, name, slip, fmt)


def test_a_relu_derivative_left_out_where_the_values_agree_is_named(tmp_path):
    # conv-digits: δ_c2_6_6 without relu′(c2_6_6) gives the same numbers (relu′ is 1 wherever
    # max-pool routes a δ); the formula shows it, at test points of either sign.
    sheet = check_slip(tmp_path, "conv-digits", "missing factor", "xlsx")
    assert "relu′(c2_6_6)" in sheet.summary[0] and "could not show it" in sheet.summary[0], \
        sheet.summary


def test_a_rate_held_as_a_number_is_one_line_even_where_another_gradient_fits(tmp_path):
    # softmax-per-layer: i2 = 2·i1, so w1 − 0.2·∂E/∂w1 equals w1 − 0.1·∂E/∂w2 in every row; the
    # formula shows the rate typed in, and that is the one mistake.
    path = tmp_path / "softmax-per-layer.xlsx"
    write_book("softmax-per-layer", "xlsx", path, "wrong rate")
    [sheet] = audit(path).sheets
    assert len(sheet.summary) == 1 and "hold the rate as a number" in sheet.summary[0], sheet.summary


def test_a_wide_sheet_audits_through_the_cli_with_its_config(tmp_path, capsys):
    path = tmp_path / "rnn-sum.xlsx"
    write_book("rnn-sum", "xlsx", path, "sign")
    config = tmp_path / "rnn-sum.toml"
    config.write_text(example_text("rnn-sum"))
    assert main(["audit", str(path), "--config", str(config)]) == 1
    out = capsys.readouterr().out
    [sheet] = audit(path, expected=expected_of("rnn-sum")).sheets
    assert sheet.mistakes[0].cell.startswith("AH")   # δ_o1_s1's column, its first row
    assert "δ_o1_s1 has the wrong sign" in out and f"From {sheet.mistakes[0].cell} on" in out, out


def test_the_config_names_the_network_and_a_sheet_of_another_is_refused(tmp_path, capsys):
    path = tmp_path / "deep.xlsx"
    write_book("deep", "xlsx", path)
    training = from_file(Path(f"{EXAMPLE_DIR}/deep.toml")).training()
    [sheet] = audit(path, expected=expected_from(training)).sheets
    assert sheet.correct and sheet.network_source.startswith("config")
    assert main(["audit", str(path), "--config", f"{EXAMPLE_DIR}/xor.toml"]) == 2
    assert "lacks the column(s)" in capsys.readouterr().out


def test_the_network_is_inferred_from_the_headers(tmp_path):
    path = tmp_path / "softmax.xlsx"
    write_book("softmax", "xlsx", path)
    [sheet] = audit(path).sheets
    assert sheet.network == "2-3-3 (sigmoid, softmax), cross_entropy, biases per_neuron (trained)"
    path = tmp_path / "adam.xlsx"
    write_book("linear-adam", "xlsx", path)
    [sheet] = audit(path).sheets
    assert sheet.network.endswith("adam (β1 = 0.9, β2 = 0.999, ε = 1e-08, bias correction)")


def test_jobs_keep_the_order_and_the_verdicts(tmp_path, capsys):
    paths = []
    for name, slip in [("reference", None), ("deep", "sign"), ("xor", None)]:
        path = tmp_path / f"{name}.xlsx"
        write_book(name, "xlsx", path, slip)
        paths.append(str(path))
    assert main(["audit", "--jobs", "2", "--format", "csv", *paths]) == 1
    lines = capsys.readouterr().out.splitlines()[1:]
    assert [line.split(",")[0] for line in lines] == [paths[0], paths[1], paths[2]]
    assert [line.split(",")[6] for line in lines] == ["right", "sign", "right"]


# Shapes sheetgen writes beyond the shipped examples: (label, config text, what is inferred).
SHAPES = [
    ("expanded gradients", variant("deep", ("seed = 0", 'seed = 0\ngradients = "expanded"')),
     "2-3-3-2 (tanh, tanh, sigmoid), half_sse, biases none"),
    ("nesterov", variant("linear-momentum", ('name = "momentum"', 'name = "nesterov"')),
     "nesterov (β = 0.9)"),
    ("batches of 2, summed", variant("xor", ('batch = "full"', "batch = 2"),
                                      ('reduction = "mean"', 'reduction = "sum"')),
     "4 samples, batches of 2 (sum); gd"),
    ("relu layers", variant("deep", ('["tanh", "tanh", "sigmoid"]', '["relu", "leaky_relu", "sigmoid"]')),
     "2-3-3-2 (relu, leaky_relu, sigmoid)"),
    ("adam without correction", variant("xor", ('name = "gd"', 'name = "adam"\nbias_correction = false')),
     "adam (β1 = 0.9, β2 = 0.999, ε = 1e-08, no bias correction)"),
]


@pytest.mark.parametrize(("label", "text", "network"), SHAPES, ids=[s[0] for s in SHAPES])
def test_other_shapes_sheetgen_writes_audit_clean_and_name_their_network(tmp_path, label, text,
                                                                         network):
    config = from_mapping(tomllib.loads(text), "shape.toml")
    config = replace(config, learning_rates=config.learning_rates[:1], iterations=6, plots=False)
    path = tmp_path / "shape.xlsx"
    xlsx.write(build_book(config.training()), path)
    result = audit(path)
    assert result.exit_status == 0, [s.summary for s in result.sheets] or result.unreadable
    assert network in result.sheets[0].network
