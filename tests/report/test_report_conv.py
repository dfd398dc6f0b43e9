"""The report of an image network: one convolution output, one pooled gradient and one kernel
gradient worked through with iteration 1's numbers, each equal to the workbook's value."""

from __future__ import annotations

import tomllib

from sheetgen.config import example_text, from_mapping, validate
from sheetgen.core import model
from sheetgen.report.latex import number


def test_the_conv_report_works_one_output_one_pooled_and_one_kernel_gradient(tmp_path):
    from sheetgen.report import write_report

    text = example_text("conv-digits").replace('file = "conv-digits.csv"', "")
    data = tomllib.loads(text)
    # Two digits inline, as images, for a small report.
    data["data"]["samples"] = [
        {"image": [[(r * 8 + c) % 5 / 4 for c in range(8)] for r in range(8)],
         "target": [1 if k == d else 0 for k in range(10)]} for d in (3, 7)]
    data |= {"iterations": 4, "learning_rates": [0.05], "output_dir": str(tmp_path)}
    config = from_mapping(data, str(tmp_path / "c.toml"))
    validate(config)
    training = config.training()
    paths = write_report(training)
    page = next(p for p in paths if p.name == "README.md").read_text("utf-8")
    for heading in ("## One convolution output", "## One pooled value and its gradient",
                    "## One kernel gradient", "## Update: gd"):
        assert heading in page
    row = model.run(training.network, training.setup, 0.05, 1)[0]
    for name in ("c1_1_1", "p1_1_1", "delta_p1_1_1", "dE_dk1_r1c1"):
        assert f"= {number(row[name])}" in page, name
    assert r"\operatorname{first\_max}" in page
