"""Image and recurrent networks read off a sheet (check/audit/wide.py), and the structural check's
test points and focus (check/audit/structure.py) that find their slips quickly."""

from __future__ import annotations

import tomllib
from dataclasses import replace
from importlib import resources

import numpy as np
import pytest
from corpus import variant, write_book

import sheetgen.check.audit.structure as structure
from sheetgen.check.audit import audit
from sheetgen.check.audit.expected import NeedsConfig, from_training
from sheetgen.check.audit.wide import infer_wide
from sheetgen.config import from_mapping
from sheetgen.core.expressions import Expression
from sheetgen.layout.assemble import build_book
from sheetgen.write import ods, xlsx


def test_a_dense_table_is_left_to_the_dense_reader():
    cols = {name: np.array([0.1, 0.2]) for name in ("w1", "h1", "a_h1", "o1", "a_o1", "t1", "E1")}
    assert infer_wide(cols, {}, None) is None


def test_an_image_table_that_cannot_be_read_asks_for_its_config_in_one_line():
    # A kernel, but no input pixels in the table nor on a data sheet.
    cols = {name: np.array([0.1, 0.2]) for name in ("k1_r1c1", "c1_1_1", "a_c1_1_1", "t1", "E1")}
    with pytest.raises(NeedsConfig) as caught:
        infer_wide(cols, {}, None)
    why = str(caught.value)
    assert "--config" in why and "input pixels" in why and "\n" not in why


# Shapes beyond the shipped examples: stacked recurrent layers with a dense layer between, an
# rnn of relu units; an lstm backpropagated over its last 2 steps; a conv layer with an activation,
# and a dense layer after flatten.
SHAPES = [
    ("stacked rnn", variant("rnn-sum", ("hidden = [2]", "hidden = [3, 2]"),
                             ('activation = "tanh"', 'activation = "relu"'),
                             ("layers = [1]", "layers = [2, 1]"),
                             ('activations = ["identity"]', 'activations = ["tanh", "identity"]'))),
    ("lstm over the last 2 steps", variant("rnn-sum", ('cell = "rnn"', 'cell = "lstm"\nbptt = 2'))),
    ("conv then dense", variant("conv-edge", ('{ conv2d = 1, kernel = 3 }',
                                               '{ conv2d = 1, kernel = 3, activation = "tanh" }'),
                                 ('"flatten",', '"flatten", { dense = 16, activation = "sigmoid" },'))),
]


@pytest.mark.slow
@pytest.mark.parametrize(("label", "text"), SHAPES, ids=[s[0] for s in SHAPES])
def test_other_shapes_are_read_off_the_sheet_as_their_config_has_them(tmp_path, label, text):
    config = from_mapping(tomllib.loads(text), str(resources.files("sheetgen.examples") / "x.toml"))
    config = replace(config, learning_rates=config.learning_rates[:1], iterations=4, plots=False)
    path = tmp_path / "shape.xlsx"
    training = config.training()
    xlsx.write(build_book(training), path)
    result = audit(path)
    assert result.exit_status == 0, [s.summary for s in result.sheets] or result.unreadable
    assert result.sheets[0].network == from_training(training, "x").description


def test_points_of_either_sign_show_a_left_out_step():
    # δ = δ_p · relu′(z) written as δ_p: equal wherever z > 0, as at the positive points.
    python = "V['delta_p', 0]"
    equation = Expression.parse("delta_p * if_positive(z, 1, 0)")
    assert structure.same(python, equation, 0, {}, {}) is True
    assert structure.same(python, equation, 0, {}, {}, signed=True) is False
    # ln of a negative number is no point to compare at: the others decide.
    assert structure.same("LN(V['a', 0])", Expression.parse("ln(a)"), 0, {}, {}, signed=True) is True


def test_the_focus_is_the_names_read_differently():
    rendered = "V['d', 0]*V['i1', 0]+V['d', 0]*V['i2', 0]+V['w', None]"
    assert structure.focus(rendered, rendered) == frozenset()
    assert structure.focus("V['d', 0]*V['i3', 0]+V['d', 0]*V['i2', 0]+V['w', None]", rendered) == \
        {"i1", "i3"}
    assert structure.focus("V['d', -1]*V['i1', 0]+V['d', 0]*V['i2', 0]+V['w', None]", rendered) == \
        {"d"}


def test_a_kernel_gradients_hidden_slip_is_explained_from_a_few_candidates(tmp_path, monkeypatch):
    # E∂k1_r1c1 sums δ·pixel over 16 cells and 7 samples; its 0/1 pixels give the slip's values.
    # Only the changes touching the names the formula reads differently are tried (before: every
    # pixel's neighbours, 2,838 evaluations and 50 s).
    path = tmp_path / "conv-edge.xlsx"
    write_book("conv-edge", "xlsx", path, "substitution")
    tried = []
    explain, same = structure._explain, structure.same

    def counting_explain(*args, **kwargs):
        structure.same = lambda *a, **k: tried.append(1) or same(*a, **k)
        try:
            return explain(*args, **kwargs)
        finally:
            structure.same = same

    monkeypatch.setattr(structure, "_explain", counting_explain)
    [sheet] = audit(path).sheets
    assert sheet.mistakes[0].kind == "substitution" and "could not show it" in sheet.summary[0]
    assert 0 < len(tried) <= 50, len(tried)


# Settings beyond the examples', read off the sheet as for a dense table (expected.py): the
# samples' order, torch's reduction over an image's outputs, a schedule, a leaky ReLU's slope.
_STEP = '[optimizer]\nname = "gd"\n\n[schedule]\nname = "step"\nstep_size = 2\ngamma = 0.5'
SETTINGS = {
    "rnn, shuffled": (variant("rnn-sum", ('batch = "full"', "batch = 3\nshuffle = true")), "shuffled"),
    "rnn, cycled": (variant("rnn-sum", ('batch = "full"', 'batch = 3\norder = "cycle"')), "cycled"),
    "rnn, step schedule": (variant("rnn-sum", ('[optimizer]\nname = "gd"', _STEP)),
                           "schedule step (step_size = 2, γ = 0.5)"),
    "conv, shuffled": (variant("conv-edge", ('batch = "full"', "batch = 2\nshuffle = true")), "shuffled"),
    "conv, torch sse": (variant("conv-edge", ('batch = "full"', 'batch = 2\nreduction = "torch"'),
                                ('loss = "mse"', 'loss = "sse"')), "(torch)"),
    "conv, leaky_relu slope": (variant("conv-edge", ("{ conv2d = 1, kernel = 3 }",
                                                     '{ conv2d = 1, kernel = 3, activation = "leaky_relu" }'),
                                       ("seed = 0", "seed = 0\nleaky_relu_slope = 0.2"),
                                       ('batch = "full"', "batch = 1")), "leaky_relu(0.2)"),
}


@pytest.mark.parametrize("case", list(SETTINGS))
def test_settings_beyond_the_examples_are_read_off_an_image_or_recurrent_sheet(tmp_path, case):
    text, words = SETTINGS[case]
    config = from_mapping(tomllib.loads(text), str(resources.files("sheetgen.examples") / "x.toml"))
    training = replace(config, learning_rates=config.learning_rates[:1], iterations=4,
                       plots=False).training()
    fmt = "ods" if "shuffled" in case else "xlsx"   # both formats, each once
    path = tmp_path / f"book.{fmt}"
    (xlsx.write if fmt == "xlsx" else ods.write)(build_book(training), path)
    result = audit(path)
    assert result.exit_status == 0, [s.summary for s in result.sheets] or result.unreadable
    assert words in result.sheets[0].network
    assert result.sheets[0].network == from_training(training, "x").description
