"""The report of a recurrent network: one step of BPTT worked with iteration 1's numbers, every
number that ends an equation being the independent numpy model's (tests/core/recurrent_reference.py)."""

from __future__ import annotations

import re
import tomllib

import pytest
from test_report_numbers import equations, rounded

from sheetgen.config import example_text, from_mapping
from sheetgen.report import write_report
from sheetgen.report.latex import partial, symbol
from tests.core.recurrent_reference import run
from tests.core.test_recurrent import reference_net


@pytest.mark.parametrize("name, batch", [("rnn-sum", 1), ("lstm-memory", "full"), ("gru-memory", 2)])
def test_bptt_worked_with_the_models_numbers(tmp_path, name, batch):
    case = tomllib.loads(example_text(name))
    case.update(iterations=3, learning_rates=case["learning_rates"][:1], output_dir=str(tmp_path),
                plots=True)
    case["data"]["batch"] = batch
    config = from_mapping(case)
    write_report(config.training())
    markdown = (tmp_path / "report" / "README.md").read_text("utf-8")
    assert "## Backpropagation through time, one step worked" in markdown
    data, opt = config.data, config.optimizer
    samples = [dict(zip(data.names, r, strict=True)) for r in data.rows]
    rows = run(reference_net(config), config.setup.values(), samples, data.batch, data.reduction,
               {"name": opt.name, "beta": opt.beta, "beta1": opt.beta1, "beta2": opt.beta2,
                "epsilon": opt.epsilon}, config.learning_rates[0], 3)
    k = data.batch_size
    first = rows[0]
    truth = {}
    for key, value in first.items():  # sample 1's quantities by their own names
        base = re.sub(r"_s1$", "", key) if k > 1 else key
        if k == 1 or key.endswith("_s1") or key.startswith(("dE_d", "W", "b", "w", "h_t0", "c_t0")):
            truth.setdefault(symbol(base), value)
    truth[symbol("E_total" if k == 1 else "E_s1")] = first["E_total" if k == 1 else "E_s1"]
    truth |= {partial("E_total", n[4:]): v for n, v in first.items() if n.startswith("dE_d")}
    truth |= {f"{symbol(n)}^{{+}}": v for n, v in rows[1].items()}
    found, _ = equations(markdown)
    checked = 0
    for latex in found:
        if " = " not in latex:
            continue
        lhs, *_, last = latex.split(" = ")
        number = r"-?[0-9.]+(?: \\times 10\^\{-?\d+\})?"
        if lhs.strip() not in truth or not re.fullmatch(number, last.strip()):
            continue
        text = last.strip()
        m = re.fullmatch(r"(-?[0-9.]+) \\times 10\^\{(-?\d+)\}", text)
        printed = float(m.group(1)) * 10 ** int(m.group(2)) if m else float(text)
        digits = len(re.sub(r"[^0-9]", "", (m.group(1) if m else text).lstrip("-0.")))
        assert rounded(printed, truth[lhs.strip()], max(digits, 1)), (lhs, printed, truth[lhs.strip()])
        checked += 1
    assert checked > 20, checked
    deltas = [latex for latex in found if latex.startswith(r"\delta")]
    steps = {int(s) for latex in deltas for s in re.findall(r"_\{[a-z]+,t(\d+)", latex.split(" = ")[0])}
    assert steps == {config.network.steps, config.network.steps - 1}
