"""Layers: one class per kind, each in its own module of this package, registered by kind.

The protocol (`Layer`), which a new kind (conv2d, maxpool, avgpool, flatten, rnn, lstm, gru)
implements in a module of its own (found and imported here), touching no other file:

- ``kind``: the registry name (``"dense"``), ``index``: the layer's number (1 = first after
  the inputs), ``activation``: the name of its output function (for the loss's checks).
- ``parameters()``: its `Parameter`s (name, block "weights" or "biases", fan_in and fan_out
  for the Glorot draw, trained or not). Weights are shared across cells or time steps by
  naming the same parameter in several formulas.
- ``forward(graph, sources)``: adds its parameter columns (`Graph.weight`) and its forward
  quantities (`Graph.add(name, expression, block=..., header=..., layer=self.index)`), in the
  maths' own names, reading `sources` (the previous layer's output names: i1…, a_h1…; a map of
  cells is just more names, a sequence is the names of every time step); returns its output
  names, in order, for the next layer.
- ``deltas()``: the quantities whose ∂E_total/∂x get a δ column (``delta_<x>``, header
  ``δ_<x>``): a dense layer's pre-activations. Everything else of the backward pass (the δ
  expressions, every parameter's gradient) is derived from the forward expressions by the one
  differentiator (`core/backward.py`); a layer writes no derivative by hand. A layer whose
  outputs feed the loss may give its output δ in closed form (`output_deltas`).
- ``equation_lines()`` / ``derivation_lines(deltas, next_layer)``: the text beside the table.

`core/training.py` calls each layer in turn, then the loss, the backward pass, the data
arrangement and the optimizer; layout, writers and report read only the resulting `Training`.
"""

from __future__ import annotations

import importlib
import pkgutil

from sheetgen.core.layers.base import LAYERS, Layer, Parameter, register

# Every module of this package is a layer kind: each registers its class on import.
for _module in pkgutil.iter_modules(__path__):
    if _module.name != "base":
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["LAYERS", "Layer", "Parameter", "register"]
