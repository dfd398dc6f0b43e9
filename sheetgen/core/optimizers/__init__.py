"""Optimizers: one class per rule, each in its own module of this package, registered by name.

The protocol (`Optimizer`): an optimizer declares
- ``hypers``: its hyper-parameters (`Hyper`: the [optimizer] key, the label of its cell, its
  LaTeX symbol), each a labelled parameter cell under the learning rate;
- ``states``: what it keeps per parameter (``v`` → columns v_w1, v_w2, …; 0 unless given);
- ``rules()``: its update, as expressions in generic names, in the order the sheet computes
  them: ``w`` a parameter, ``g`` its gradient in the row, each state by its own name, ``cur(v)``
  a state's new value, ``iteration`` the step t, and hyper-parameters by key;
- ``definitions()``: named parts of the rules (m_hat) written into them in the cells and shown
  on their own line in the text.
``hypers`` and ``states`` may be properties when the settings decide them (sgd's buffer only
with momentum, rmsprop's m only centered, adam's smax only with amsgrad). The base class adds
what every rule shares: L2 weight decay (g read as g + λ·w; ``decoupled`` rules such as adamw
decay w themselves) and a learning-rate schedule (core/schedules.py: the rules' learning_rate
read as the row's lr column). From these alone the base class renders the cell expressions per
parameter (`update`), the Unicode text beside the table (`text_lines`) and the LaTeX of the
report (`latex_lines`).
Adding an optimizer is one module here with `@register` (found and imported below).
"""

from __future__ import annotations

import importlib
import pkgutil

from sheetgen.core.optimizers.base import (
    BETA,
    BETA1,
    BETA2,
    EPSILON,
    LABELS,
    OPTIMIZERS,
    Hyper,
    Optimizer,
    OptimizerSpec,
    optimizer,
    register,
    to_latex,
    to_text,
)

# Every module of this package but the base is an optimizer: each registers its class on import.
for _module in pkgutil.iter_modules(__path__):
    if _module.name != "base":
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["BETA", "BETA1", "BETA2", "EPSILON", "LABELS", "OPTIMIZERS", "Hyper", "Optimizer",
           "OptimizerSpec", "optimizer", "register", "to_latex", "to_text"]
