"""The settings block's values: what a sheet says of its run beside each label (iterations, the
network, biases, maths; a data set's samples, batches, reduction and optimizer)."""

from __future__ import annotations

from sheetgen.core.training import Training

DATA_SHEET = "data"


def batch_text(data) -> str:
    if data.batch is None:
        return "full: every sample in every step"
    each = "1: one sample per step" if data.batch == 1 else f"{data.batch}: {data.batch} samples per step"
    if data.order == "cycle":
        return f"{each}, in order, cycling"
    how = "shuffled each epoch (data sheet, order)" if data.shuffle else "in order"
    last = ("; a short last batch dropped" if data.drop_last and data.n % data.batch
            else f"; a last batch of {data.short_last}" if data.short_last else "")
    return f"{each}, {how}, an epoch = one pass{last}"


def settings_value(key: str, training: Training) -> str:
    data, opt = training.data, training.optimizer
    return {"data": f"{data.n} samples ({data.source}), on sheet {DATA_SHEET}",
            "batch": batch_text(data),
            "reduction": data.reduction, "optimizer": opt.describe()}[key]


def setting_value(key: str, training: Training) -> str | float:
    """What the settings block shows beside the label of `key`."""
    if key in ("data", "batch", "reduction", "optimizer"):
        return settings_value(key, training)
    return {
        "iterations": training.iterations,
        "network": training.describe(),
        "biases": training.setup.biases,
        "maths": "reference errata" if training.reference_errata else "correct",
    }[key]


__all__ = ["DATA_SHEET", "batch_text", "setting_value", "settings_value"]
