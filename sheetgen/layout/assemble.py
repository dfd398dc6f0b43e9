"""The whole Book of one configuration: a sheet per learning rate, then the summary over them."""

from __future__ import annotations

from collections.abc import Mapping

from sheetgen.config import Config
from sheetgen.core.model import Network, Trace, trace
from sheetgen.core.template import template
from sheetgen.layout.book import Book, build_sheet, sheet_template
from sheetgen.layout.summary import build_summary


def equations(config: Config, mistakes: Mapping[str, Mapping[str, str]] | None = None) -> Network:
    """The network a configuration's sheets compute. `mistakes` (tests only: {quantity: {name:
    replacement}}) injects wrong formulas, so that a file's values and formulas hold the same mistake."""
    net = config.equations()
    return net.substitute(mistakes) if mistakes else net


def traces(config: Config, net: Network | None = None) -> dict[float, Trace]:
    """The model's one run per learning rate (ModelError as soon as one leaves floating point)."""
    net = net or equations(config)
    return {rate: trace(net, config.setup, rate, config.iterations) for rate in config.learning_rates}


def build_book(config: Config, runs: Mapping[float, Trace] | None = None,
               mistakes: Mapping[str, Mapping[str, str]] | None = None) -> Book:
    """Plain data, written by any writer any number of times. `runs`: the traces of
    `traces(config)` (computed here when None)."""
    net = equations(config, mistakes)
    runs = runs if runs is not None else traces(config, net)
    sheets = [build_sheet(config, rate, net, runs[rate]) for rate in config.learning_rates]
    summary = build_summary(sheets, sheet_template(config))
    if config.data is not None:
        # A data set: the loss per epoch in the summary, the samples' sheet last.
        from sheetgen.layout.training_book import add_epochs, data_sheet, judge_by_epochs

        summary = judge_by_epochs(add_epochs(summary, config, sheets), config, sheets)
        sheets.append(data_sheet(config, sheets[0].column_width, sheets[0].number_format))
    return Book(sheets, config, summary, template()["print"]["scale_percent"])
