"""Recurrent networks: every row the model computes agrees with an independent numpy
implementation (tests/core/recurrent_reference.py) at 1e-12, for random configs of every cell
kind, hidden size 1–3, sequence length 2–6, truncation, both output modes, every optimizer and
batch; every gradient column agrees with central finite differences of E_total."""

from __future__ import annotations

import random
import time

import numpy as np
import pytest

from sheetgen.config import from_mapping, validate
from sheetgen.core import presets, recurrent
from sheetgen.core.data import data_spec
from sheetgen.core.model import trace
from sheetgen.core.optimizers import OptimizerSpec, optimizer
from sheetgen.errors import ConfigError
from tests.core.recurrent_reference import Net, loss_of, run

OPTIMIZERS = {"gd": {}, "momentum": {"beta": 0.8}, "rmsprop": {"beta": 0.9, "epsilon": 1e-8},
              "adam": {"beta1": 0.9, "beta2": 0.99, "epsilon": 1e-8}}


def random_case(seed: int) -> dict:
    rng = random.Random(seed)
    cell = recurrent.CELLS[seed % 3]
    output = recurrent.OUTPUTS[(seed // 3) % 2]
    steps = rng.randint(2, 6)
    layers = 1 if rng.random() < 0.75 else 2
    hidden = [rng.randint(1, 3) for _ in range(layers)]
    inputs = rng.randint(1, 2)
    outs = rng.randint(1, 2)
    dense = [outs] if rng.random() < 0.7 else [rng.randint(1, 3), outs]
    loss = rng.choice(["half_sse", "sse", "mse", "binary_cross_entropy"])
    acts = [rng.choice(["tanh", "sigmoid", "identity"]) for _ in dense[:-1]]
    acts.append("sigmoid" if loss == "binary_cross_entropy" else rng.choice(["identity", "sigmoid", "tanh"]))
    bptt = rng.choice([0, 0, rng.randint(1, steps)])
    opt = list(OPTIMIZERS)[seed % 4]
    n = rng.randint(1, 4)
    batch = rng.choice(["full", 1, rng.randint(1, n)])
    samples = []
    for _ in range(n):
        x = [[round(rng.uniform(-1, 1), 3) for _ in range(inputs)] for _ in range(steps)]
        if output == "last":
            y = [round(rng.uniform(0.05, 0.95), 3) for _ in range(outs)]
        else:
            y = [[round(rng.uniform(0.05, 0.95), 3) for _ in range(outs)] for _ in range(steps)]
        samples.append({"x": x, "y": y})
    network = {"cell": cell, "hidden": hidden, "output": output, "layers": dense,
               "activations": acts, "loss": loss, "bptt": bptt, "seed": seed,
               "activation": rng.choice(["tanh", "sigmoid", "relu", "identity"])}
    if rng.random() < 0.5:
        network["h0"] = [[round(rng.uniform(-0.5, 0.5), 3) for _ in range(h)] for h in hidden]
        if cell == "lstm":
            network["c0"] = [[round(rng.uniform(-0.5, 0.5), 3) for _ in range(h)] for h in hidden]
    return {"learning_rates": [0.3], "iterations": 4, "network": network,
            "data": {"samples": samples, "batch": batch, "reduction": rng.choice(["mean", "sum"]),
                     "order": rng.choice(["cycle", "epochs"])},
            "optimizer": {"name": opt, **OPTIMIZERS[opt]}}


def reference_net(config) -> Net:
    s = config.network
    return Net(s.cell, s.inputs_per_step, s.hidden, s.steps, s.output, s.dense, s.activations,
               s.activation, s.loss, s.bptt)


def check_rows(case: dict) -> int:
    config = from_mapping(case)
    validate(config)
    training = config.training()
    rate = case["learning_rates"][0]
    model = trace(training.network, training.setup, rate, config.iterations)
    data = config.data
    samples = [dict(zip(data.names, row, strict=True)) for row in data.rows]
    values = config.setup.values()
    opt = config.optimizer
    optimizer = {"name": opt.name, "beta": opt.beta, "beta1": opt.beta1, "beta2": opt.beta2,
                 "epsilon": opt.epsilon}
    rows = run(reference_net(config), values, samples, data.batch, data.reduction, optimizer, rate,
               config.iterations, data.order)
    compared = 0
    for k, want in enumerate(rows):
        got = model.row(k)
        assert set(got) == set(want), (set(got) ^ set(want))
        for name, value in want.items():
            assert abs(got[name] - value) <= 1e-12 * max(1.0, abs(value)), (k, name, got[name], value)
            compared += 1
    return compared


FAST = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]


@pytest.mark.parametrize("seed", FAST)
def test_rows_agree_with_numpy(seed):
    assert check_rows(random_case(seed)) > 0


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(12, 60))
def test_rows_agree_with_numpy_many(seed):
    assert check_rows(random_case(seed)) > 0


def check_finite_differences(case: dict) -> int:
    """Every gradient column of the first row against (E(p + h) − E(p − h)) / 2h of the numpy
    model (steps before the truncation held at the unperturbed values)."""
    config = from_mapping(case)
    training = config.training()
    net = training.network
    model = trace(net, training.setup, 0.1, 1).row(0)
    data = config.data
    samples = [dict(zip(data.names, row, strict=True)) for row in data.rows]
    k = data.batch_size
    used = samples[:k]
    ref = reference_net(config)
    values = config.setup.values()
    h = 1e-6
    checked = 0
    for q in net.quantities:
        if not q.gradient:
            continue
        p = q.name[len("dE_d"):]

        def total(shift: float, p: str = p) -> float:
            moved = {**values, p: values[p] + shift}
            losses = [loss_of(ref, moved, s, values if ref.bptt else None) for s in used]
            return sum(losses) / len(losses) if data.reduction == "mean" else sum(losses)

        fd = (total(h) - total(-h)) / (2 * h)
        assert abs(model[q.name] - fd) <= 1e-6 * max(1.0, abs(fd)), (p, model[q.name], fd)
        checked += 1
    return checked


@pytest.mark.parametrize("seed", FAST)
def test_gradients_agree_with_finite_differences(seed):
    assert check_finite_differences(random_case(seed)) > 0


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(12, 36))
def test_gradients_agree_with_finite_differences_many(seed):
    assert check_finite_differences(random_case(seed)) > 0


def test_truncation_leaves_out_the_early_steps():
    case = {"network": {"cell": "rnn", "hidden": [1], "bptt": 1},
            "data": {"samples": [{"x": [[0.5], [0.1], [-0.3]], "y": [0.2]}]}}
    config = from_mapping(case)
    names = {c.quantity for c in config.training().columns}
    assert "delta_zh_t3_1" in names and "delta_zh_t2_1" not in names
    full = from_mapping({**case, "network": {**case["network"], "bptt": 0}})
    row_t = trace(config.training().network, config.training().setup, 0.1, 1).row(0)
    row_f = trace(full.training().network, full.training().setup, 0.1, 1).row(0)
    assert row_t["dE_dWxh_1_1"] == row_t["delta_zh_t3_1"] * -0.3
    assert row_t["dE_dWxh_1_1"] != row_f["dE_dWxh_1_1"]
    assert row_t["E_total"] == row_f["E_total"]


def test_gradient_is_the_sum_over_steps():
    case = {"learning_rates": [0.1], "network": {"cell": "rnn", "hidden": [1]},
            "data": {"samples": [{"x": [[0.5], [0.1], [-0.3]], "y": 0.2}]}}
    net = from_mapping(case).training().network
    g = net.quantity("dE_dWxh_1_1").formula.text
    assert g == "delta_zh_t1_1 * x1_t1 + delta_zh_t2_1 * x1_t2 + delta_zh_t3_1 * x1_t3"


@pytest.mark.parametrize("cell", recurrent.CELLS)
def test_column_count_by_arithmetic(cell):
    cases = [((2,), 3, "last", 1, 2, "gd"), ((1, 3), 4, "every", 2, 3, "adam"),
             ((3,), 2, "every", 3, 3, "momentum")]
    for hidden, steps, out, batch, n, opt in cases:
        spec = recurrent.RecurrentSpec(cell=cell, hidden=hidden, steps=steps, output=out, bptt=1)
        samples = [{n_: 0.1 for n_ in spec.inputs + spec.targets} for _ in range(n)]
        training = presets.training(spec, recurrent.draw_values(spec, {}),
                                    data=data_spec(spec, samples, batch, "mean", "inline"),
                                    optimizer=OptimizerSpec(name=opt))
        states = len(optimizer(OptimizerSpec(name=opt)).states)
        short = training.data.short_last
        assert spec.n_columns(batch, n, states, short=short) == len(training.columns)


def test_too_long_refused_by_arithmetic_in_one_line():
    x = [[0.1]] * 3000
    case = {"network": {"cell": "lstm", "hidden": [2]}, "data": {"samples": [{"x": x, "y": 0.5}]}}
    start = time.process_time()  # CPU time: the machine may be shared
    with pytest.raises(ConfigError) as err:
        from_mapping(case)
    assert time.process_time() - start < 1.0
    assert "too big for a sheet" in str(err.value) and "\n" not in str(err.value)


def test_sequences_inline_and_by_column_name_agree():
    a = from_mapping({"network": {"cell": "gru", "hidden": [2], "output": "every"},
                      "data": {"samples": [{"x": [[0.1, 0.2], [0.3, 0.4]], "y": [[0.5], [0.6]]}]}})
    b = from_mapping({"network": {"cell": "gru", "hidden": [2], "output": "every"},
                      "data": {"samples": [{"x1_t1": 0.1, "x2_t1": 0.2, "x1_t2": 0.3, "x2_t2": 0.4,
                                            "y1_t1": 0.5, "y1_t2": 0.6}]}})
    assert a.data == b.data and a.network == b.network
    assert a.data.names == ("x1_t1", "x2_t1", "x1_t2", "x2_t2", "y1_t1", "y1_t2")


@pytest.mark.parametrize("bad, message", [
    ({"x": [[0.1], [0.2, 0.3]], "y": 0.5}, "as many values as the first"),
    ({"x": [[0.1], ["a"]], "y": 0.5}, "not a finite number"),
    ({"y": 0.5}, "no inputs"),
])
def test_bad_sequences_are_refused(bad, message):
    with pytest.raises(ConfigError, match=message):
        from_mapping({"network": {"cell": "rnn"}, "data": {"samples": [bad]}})


@pytest.mark.parametrize("network, samples, message", [
    ({"cell": "rnn"}, [{"x": [0.1, 0.2], "y": 0.5}, {"x": [0.1, 0.2, 0.3], "y": 0.5}],
     "sample 2 has 3 steps, sample 1 has 2"),
    ({"cell": "rnn", "output": "all"}, [{"x": [0.1, 0.2], "y": 0.5}], "network.output: must be last"),
    ({"cell": "gru", "c0": [0.1, 0.2]}, [{"x": [0.1, 0.2], "y": 0.5}], "only an lstm has a cell state"),
    ({"cell": "rnn", "bptt": 3}, [{"x": [0.1, 0.2], "y": 0.5}], "more than the 2 steps"),
    ({"cell": "elman"}, [{"x": [0.1, 0.2], "y": 0.5}], "network.cell: unknown cell"),
])
def test_bad_recurrent_settings_are_one_line(network, samples, message):
    with pytest.raises(ConfigError, match=message) as err:
        from_mapping({"network": network, "data": {"samples": samples}})
    assert "\n" not in str(err.value)


def test_initial_state_given():
    config = from_mapping({"network": {"cell": "lstm", "hidden": [2], "h0": [0.1, 0.2], "c0": [0.3, 0.4]},
                           "data": {"samples": [{"x": [[0.1], [0.2]], "y": 0.5}]}})
    values = config.setup.values()
    assert (values["h_t0_1"], values["h_t0_2"], values["c_t0_1"], values["c_t0_2"]) == (0.1, 0.2, 0.3, 0.4)
    training = config.training()
    assert np.isfinite(trace(training.network, training.setup, 0.1, 2).values).all()


RECURRENT_EXAMPLES = ["rnn-sum", "rnn-sine", "lstm-memory", "gru-memory"]


@pytest.mark.parametrize("name", RECURRENT_EXAMPLES)
def test_every_recurrent_example_matches_numpy_and_trains(name):
    """The first rows of each example at its first rate, as the numpy model computes them, and
    its loss falling visibly over the example's run at its largest rate."""
    import tomllib

    from sheetgen.config import example_text

    case = tomllib.loads(example_text(name))
    small = {**case, "iterations": 3, "learning_rates": case["learning_rates"][:1]}
    assert check_rows(small) > 0
    training = from_mapping(case).training()
    rate = training.learning_rates[-1]
    losses = trace(training.network, training.setup, rate, training.iterations).column("E_total")
    assert losses[-1] < losses[0] / 10, (losses[0], losses[-1])


def test_each_step_is_labelled_over_its_columns():
    from sheetgen.layout.book import build_sheet

    config = from_mapping({"learning_rates": [0.1], "iterations": 2,
                           "network": {"cell": "rnn", "hidden": [2]},
                           "data": {"samples": [{"x": [[0.1], [0.2], [0.3]], "y": 0.5}]}})
    sheet = build_sheet(config.training(), 0.1)
    spans = [c for c in sheet.cells if c.style == "step"]
    headers = {c.col: c.value for c in sheet.cells if c.row == sheet.header_row}
    # h_t0 (t = 0); the inputs x1_t1, x1_t2, x1_t3; the forward steps; the backward pass from t = 3
    assert [c.value for c in spans] == ["t = 0", "t = 1", "t = 2", "t = 3", "t = 1", "t = 2", "t = 3",
                                        "t = 3", "t = 2", "t = 1"]
    for c in spans:
        assert c.row == sheet.header_row - 1
        step = int(c.value.split("= ")[1])
        assert all(f"_t{step}" in headers[k] for k in range(c.col, c.col + c.span))
        assert f"_t{step}" not in headers.get(c.col + c.span, "") or c.value == "t = 3"


def _longest_formula(training) -> int:
    """As core/training.check_fits measures: 7-digit rows, the farthest parameter cell."""
    from sheetgen.core.cells import column_letter, ref
    from sheetgen.core.network import MAX_COLUMNS, spanner

    column_of = {c.quantity: k for k, c in enumerate(training.columns)}
    row, far = "1048576", column_letter(MAX_COLUMNS - 1)
    data = set(training.data_names)

    def reference(name: str) -> str:
        if name in column_of:
            return ref("xlsx", column_of[name], row)
        if name in data:
            return f"data!${far}$2:${far}${row}"
        return f"${far}${row}"

    span = spanner(column_of, "xlsx", row)
    return max(1 + len((q.formula or q.next).to_formula(reference, ",", span))
               for q in training.network.quantities)


@pytest.mark.parametrize("seed", range(6))
def test_formula_length_by_arithmetic_is_an_upper_bound(seed):
    rng = random.Random(seed)
    cell = recurrent.CELLS[seed % 3]
    spec = recurrent.RecurrentSpec(cell=cell, hidden=(rng.randint(1, 4),), steps=rng.randint(2, 12),
                                   output=rng.choice(recurrent.OUTPUTS), bptt=rng.choice([0, 2]))
    batch = rng.randint(1, 3)
    samples = [{n: 0.1 for n in spec.inputs + spec.targets} for _ in range(batch)]
    training = presets.training(spec, recurrent.draw_values(spec, {}),
                                data=data_spec(spec, samples, None, "mean", "inline"))
    assert _longest_formula(training) <= spec.longest_formula(batch)


def test_sequences_from_a_csv_file(tmp_path):
    """The CSV convention: one column per value, x<k>_t<t> and y<k> (or y<k>_t<t>)."""
    (tmp_path / "seq.csv").write_text("x1_t1,x1_t2,x1_t3,y1\n0.1,0.2,0.3,0.6\n0.5,0.0,0.1,0.6\n", "utf-8")
    config = tmp_path / "rnn.toml"
    config.write_text('[network]\ncell = "rnn"\nhidden = [2]\n[data]\nfile = "seq.csv"\n', "utf-8")
    from sheetgen.config import from_file

    by_file = from_file(config)
    inline = from_mapping({"network": {"cell": "rnn", "hidden": [2]},
                           "data": {"samples": [{"x": [0.1, 0.2, 0.3], "y": 0.6},
                                                {"x": [[0.5], [0.0], [0.1]], "y": [0.6]}]}})
    assert by_file.data.rows == inline.data.rows and by_file.network == inline.network
    assert by_file.network.steps == 3 and by_file.data.source == "seq.csv"
