"""What audit infers from a sheet without its config (check/audit/expected.py, wide.py): settings
beyond the shipped examples' (an activation's constant, a learning-rate schedule, shuffled or
cycled samples, torch's reduction), read off books sheetgen writes, which audit clean; and a
slip in what was inferred is still named."""

from __future__ import annotations

import tomllib
from dataclasses import replace
from importlib import resources

import numpy as np
import pytest

from sheetgen.check.audit import audit
from sheetgen.check.audit.expected import activation_constants, schedule_of
from sheetgen.config import from_mapping
from sheetgen.core.expressions import Expression
from sheetgen.core.model import Network, Quantity
from sheetgen.layout.assemble import build_book
from sheetgen.write import ods, xlsx

WRITERS = {"xlsx": xlsx.write, "ods": ods.write}

DENSE = """
learning_rates = [0.5, 1]
iterations = 12
[network]
layers = [2, 2, {outputs}]
activations = [{activations}]
loss = "{loss}"
biases = "per_neuron"
train_biases = true
seed = 1
{network}
[data]
samples = [ {{ i1 = 0, i2 = 0, {t0} }}, {{ i1 = 0, i2 = 1, {t1} }},
            {{ i1 = 1, i2 = 0, {t1} }}, {{ i1 = 1, i2 = 1, {t0} }} ]
{data}
[optimizer]
name = "sgd"
{schedule}
"""


def dense(network: str = "", data: str = 'batch = "full"', schedule: str = "",
          activations: str = '"sigmoid", "sigmoid"', loss: str = "half_sse", outputs: int = 1) -> str:
    t0 = ", ".join(f"t{j} = {j % 2}" for j in range(1, outputs + 1))
    t1 = ", ".join(f"t{j} = {(j + 1) % 2}" for j in range(1, outputs + 1))
    return DENSE.format(network=network, data=data, schedule=schedule, activations=activations,
                        loss=loss, outputs=outputs, t0=t0, t1=t1)


# Each: (config text, what the network line must say).
CASES = {
    "leaky_relu slope": (dense("leaky_relu_slope = 0.2", activations='"leaky_relu", "sigmoid"'),
                         "leaky_relu(0.2)"),
    "elu alpha": (dense("elu_alpha = 0.5", activations='"elu", "sigmoid"'), "elu(0.5)"),
    "step schedule": (dense(schedule='[schedule]\nname = "step"\nstep_size = 5\ngamma = 0.5'),
                      "schedule step (step_size = 5, γ = 0.5)"),
    "exponential schedule": (dense(schedule='[schedule]\nname = "exponential"\ngamma = 0.9'),
                             "schedule exponential (γ = 0.9)"),
    "cosine schedule": (dense(schedule='[schedule]\nname = "cosine"\nT_max = 8\neta_min = 0.05'),
                        "schedule cosine (T_max = 8, η_min = 0.05)"),
    "linear warmup": (dense(schedule='[schedule]\nname = "linear_warmup"\nstart_factor = 0.25\n'
                                     'total_iters = 4'), "schedule linear_warmup"),
    "one cycle": (dense(schedule='[schedule]\nname = "one_cycle"\ntotal_steps = 12\npct_start = 0.25'),
                  "schedule one_cycle (total_steps = 12"),
    "adam without bias correction, scheduled": (
        dense(schedule='[schedule]\nname = "step"\nstep_size = 4\ngamma = 0.5').replace(
            'name = "sgd"', 'name = "adam"\nbias_correction = false'), "no bias correction"),
    # rmsprop's α labelled beside the learning rate: a setting, not the rate.
    "rmsprop": (dense().replace('name = "sgd"', 'name = "rmsprop"'), "rmsprop (α = 0.99"),
    "shuffled": (dense(data="batch = 2\nshuffle = true"), "shuffled"),
    "shuffled, short last batch": (dense(data="batch = 3\nshuffle = true"), "shuffled"),
    "shuffled, drop_last": (dense(data="batch = 3\nshuffle = true\ndrop_last = true"),
                            "shuffled, drop_last"),
    "cycled": (dense(data='batch = 3\norder = "cycle"'), "cycled"),
    "torch reduction": (dense(data='batch = 2\nreduction = "torch"', outputs=2), "(torch)"),
    "torch reduction, sse": (dense(data='batch = 1\nreduction = "torch"', loss="sse", outputs=2),
                             "(torch)"),
}


def training_of(text: str, rates: int = 1):
    config = from_mapping(tomllib.loads(text), str(resources.files("sheetgen.examples") / "x.toml"))
    return replace(config, learning_rates=config.learning_rates[:rates], plots=False).training()


def write(training, path, net: Network | None = None):
    WRITERS[path.suffix[1:]](build_book(training, net=net), path)
    return path


@pytest.mark.parametrize("fmt", ["xlsx", "ods"])
@pytest.mark.parametrize("case", list(CASES))
def test_a_book_sheetgen_writes_audits_clean_without_its_config(tmp_path, case, fmt):
    text, words = CASES[case]
    result = audit(write(training_of(text, rates=2), tmp_path / f"book.{fmt}"))
    assert result.unreadable == {}
    for sheet in result.sheets:
        assert sheet.mistakes == [], sheet.summary
        assert words in sheet.network, sheet.network
    assert result.exit_status == 0


def with_formula(net: Network, name: str, text: str) -> Network:
    """The network with quantity `name` computed by `text` instead."""
    assert name in net.names
    return Network(tuple(Quantity(q.name, Expression.parse(text), q.next, q.gradient) if q.name == name
                         else q for q in net.quantities), net.parameters)


# Each: (case, quantity, its slipped formula, what the network line must still say).
SLIPS = {
    "a wrong slope in one column": ("leaky_relu slope", "a_h2_s2", "leaky_relu(h2_s2, 0.3)",
                                    "leaky_relu(0.2)"),
    "a wrong step_size in the lr formula": (
        "step schedule", "lr", "learning_rate * gamma ** ((iteration - 1 - mod(iteration - 1, 4)) / 4)",
        "schedule step (step_size = 5"),
    "a sample read from the wrong order cell": (
        "shuffled", "sample_s1",
        "index(data_order, (iteration - 1 - mod(iteration - 1, 2)) / 2 * 4 + mod(iteration - 1, 2) * 2 + 2)",
        "shuffled"),
    "a gradient averaged over the samples only": (
        "torch reduction", "dE_dw5", "(delta_o1_s1 * a_h1_s1 + delta_o1_s2 * a_h1_s2) / 2", "(torch)"),
}


@pytest.mark.parametrize("slip", list(SLIPS))
def test_a_slip_in_what_was_inferred_is_named(tmp_path, slip):
    case, quantity, formula, words = SLIPS[slip]
    training = training_of(CASES[case][0])
    path = write(training, tmp_path / "slip.xlsx", with_formula(training.network, quantity, formula))
    [sheet] = audit(path).sheets
    assert words in sheet.network, sheet.network
    assert [m.quantity for m in sheet.mistakes][:1] == [quantity], sheet.summary


def test_a_schedule_without_labelled_cells_is_read_off_its_rates():
    iteration = np.arange(1.0, 13.0)
    rate = 0.5 * 0.25 ** ((iteration - 1) // 3)
    spec = schedule_of({"lr": rate, "iteration": iteration}, {})
    assert (spec.name, spec.step_size, spec.gamma) == ("step", 3, 0.25)
    # Labelled cells win over what the rates say: a slip in the rate formula stays a slip.
    assert schedule_of({"lr": rate, "iteration": iteration}, {"step_size": 4.0}).step_size == 4
    assert schedule_of({"lr": np.full(12, 0.5), "iteration": iteration}, {}) is None


def test_leaky_relu_slope_and_elu_alpha_are_read_where_the_pre_activation_is_negative():
    z = np.array([-2.0, -0.5, 0.3, 1.0])
    leaky = np.where(z > 0, z, 0.2 * z)
    assert activation_constants([(z, leaky)])["leaky_relu_slope"] == 0.2
    elu = np.where(z > 0, z, 0.5 * np.expm1(z))
    assert activation_constants([(z, elu)])["elu_alpha"] == 0.5
    assert activation_constants([(np.array([0.3, 1.0]), np.array([0.3, 1.0]))]) == {}
