"""The whole Book of one training: a sheet per learning rate, then the summary over them."""

from __future__ import annotations

from collections.abc import Mapping

from sheetgen.core.model import Network, Trace, trace
from sheetgen.core.template import template
from sheetgen.core.training import Training
from sheetgen.layout.book import Book, build_sheet, sheet_template
from sheetgen.layout.summary import build_summary


def equations(training: Training, mistakes: Mapping[str, Mapping[str, str]] | None = None) -> Network:
    """The network a training's sheets compute. `mistakes` (tests only: {quantity: {name:
    replacement}}) injects wrong formulas, so that a file's values and formulas hold the same mistake."""
    net = training.network
    return net.substitute(mistakes) if mistakes else net


def traces(training: Training, net: Network | None = None) -> dict[float, Trace]:
    """The model's one run per learning rate (ModelError as soon as one leaves floating point)."""
    net = net or equations(training)
    return {rate: trace(net, training.setup, rate, training.iterations)
            for rate in training.learning_rates}


def build_book(training: Training, runs: Mapping[float, Trace] | None = None,
               mistakes: Mapping[str, Mapping[str, str]] | None = None,
               net: Network | None = None) -> Book:
    """Plain data, written by any writer any number of times. `runs`: the traces of
    `traces(training)` (computed here when None); `net` (tests only): other equations."""
    net = net or equations(training, mistakes)
    runs = runs if runs is not None else traces(training, net)
    sheets = [build_sheet(training, rate, net, runs[rate]) for rate in training.learning_rates]
    summary = build_summary(sheets, sheet_template(training))
    if training.data is not None:
        # A data set: the loss per epoch in the summary, the samples' sheet last.
        from sheetgen.layout.training_book import add_epochs, data_sheet, judge_by_epochs

        summary = judge_by_epochs(add_epochs(summary, training, sheets), training, sheets)
        sheets.append(data_sheet(training, sheets[0].column_width, sheets[0].number_format))
    maps = None
    if hasattr(training.spec, "shape_text"):  # an image network: its maps, live, on a sheet
        from sheetgen.layout.maps import build_maps

        maps = build_maps(training.spec, sheets[:len(training.learning_rates)], training.data.batch_size)
    return Book(sheets, training, summary, template()["print"]["scale_percent"], maps)
