"""LibreOffice and Gnumeric recalculate a small book of each new optimizer and schedule (and the
shuffled, short-last-batch, logit-loss and torch-reduction forms they run with) to the values
sheetgen caches."""

from __future__ import annotations

import pytest

import sheetgen

SAMPLES = [{"i1": 0.0, "i2": 1.0, "t1": 1.0, "t2": 0.0}, {"i1": 1.0, "i2": 0.0, "t1": 0.0, "t2": 1.0},
           {"i1": 1.0, "i2": 1.0, "t1": 0.7, "t2": 0.3}, {"i1": 0.2, "i2": 0.4, "t1": 0.4, "t2": 0.6},
           {"i1": 0.5, "i2": 0.9, "t1": 0.1, "t2": 0.9}]
BOOKS = {
    "sgd-nesterov-step": ({"name": "sgd", "momentum": 0.9, "nesterov": True, "weight_decay": 0.01},
                          {"name": "step", "step_size": 3, "gamma": 0.5}),
    "sgd-dampening-exponential": ({"name": "sgd", "momentum": 0.8, "dampening": 0.2},
                                  {"name": "exponential", "gamma": 0.9}),
    "rmsprop-centered-cosine": ({"name": "rmsprop", "centered": True, "momentum": 0.5},
                                {"name": "cosine", "T_max": 8, "eta_min": 0.01}),
    "adam-amsgrad-warmup": ({"name": "adam", "amsgrad": True, "weight_decay": 0.01},
                            {"name": "linear_warmup", "start_factor": 0.25, "total_iters": 4}),
    "adamw-one-cycle": ({"name": "adamw", "amsgrad": True}, {"name": "one_cycle", "total_steps": 12}),
}


def config(tmp_path, name):
    optimizer, schedule = BOOKS[name]
    return {
        "learning_rates": [0.05], "iterations": 12, "output_dir": str(tmp_path / name),
        "plots": False, "formats": ["xlsx", "ods"],
        "network": {"layers": [2, 3, 2], "activations": ["tanh", "softmax"], "loss": "cross_entropy",
                    "biases": "per_neuron", "train_biases": True, "init": "torch", "seed": 3},
        "data": {"samples": SAMPLES, "batch": 2, "shuffle": True, "reduction": "torch"},
        "optimizer": optimizer, "schedule": schedule,
    }


@pytest.mark.libreoffice
@pytest.mark.gnumeric
@pytest.mark.slow
@pytest.mark.parametrize("name", list(BOOKS))
def test_both_engines_recalculate_the_cached_values(tmp_path, name):
    from sheetgen.config import from_mapping

    paths = sheetgen.generate(from_mapping(config(tmp_path, name), name))
    for path in paths:
        engines = ["libreoffice", "gnumeric"] if path.suffix == ".xlsx" else ["libreoffice"]
        for engine in engines:
            # Gnumeric's EXP, LN and COS differ from the C library's in the last bit; a state that
            # cancels (m ← β·m + (1 − β)·g near 0) turns that into ~1e-12 of its own size.
            report = sheetgen.verify(path, engine=engine, rtol=1e-10 if engine == "gnumeric" else None)
            assert report.ok, (name, path.suffix, engine, report.largest)
            assert report.checked > 500
