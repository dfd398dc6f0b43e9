"""Layers: one class per kind, each in its own module of this package, registered by kind.

The protocol (`Layer`, in base.py) that a new kind (conv2d, maxpool, avgpool, flatten, rnn,
lstm, gru) implements in a module of its own, found and imported here, touching no other file:

- ``kind``: the registry name (``"dense"``); ``index``: the layer's number (1 = first after
  the inputs); ``activation``: the name of its output function (the loss checks it).
- ``parameters()``: its `Parameter`s in order (name, block "weights" or "biases", fan_in and
  fan_out for the Glorot draw of the values not given, trained or not). A weight shared across
  the cells of a map or the steps of a sequence is one parameter named in several formulas;
  its gradient then sums over every use by itself.
- ``forward(graph, sources)``: adds its parameter columns (`Graph.weight`) and its forward
  quantities (`Graph.add(name, expression, block=..., header=..., layer=self.index)`), in the
  maths' own names, reading `sources` (the previous layer's output names: i1…, a_h1…). A map
  of cells is just more names (c1_2_3), a sequence the names of every time step (h_t1, h_t2);
  the functions are core/ops.py's. It returns its output names, in order, for the next layer.
- ``deltas()``: the quantities whose ∂E_total/∂x get a δ column (``delta_<x>``, header
  ``δ_<x>``), nearest the loss first (a dense layer's pre-activations; an unrolled layer's, its
  last step first), so that each δ reads the ones after it. Everything else of the backward
  pass (the δ expressions, every parameter's gradient) is derived from the forward expressions
  by the one differentiator (core/backward.py): a layer writes no derivative by hand. A
  function without a derivative rule (max, for max pooling) needs one in core/ops.py. The last
  layer may give its δs in closed form (`output_deltas`, as softmax with cross-entropy does).
- ``held()``: quantities held constant in the gradient (their adjoint 0): a recurrent layer's
  steps before its truncated backward pass (``bptt``). Default none.
- ``equation_lines()`` / ``derivation_lines(deltas, next_layer)``: the text beside the table.

core/training.py calls each layer in turn, then the loss, the backward pass, the data
arrangement and the optimizer; layout, writers and report read only the resulting `Training`.
Today a config's [network] table describes dense layers by their sizes (core/network.py:
`layers`); another kind needs its keys there, and a picture (layout/picture.py) to be drawn.
"""

from __future__ import annotations

import importlib
import pkgutil

from sheetgen.core.layers.base import LAYERS, Layer, Parameter, register

# Every module of this package is a layer kind: each registers its class on import (a module
# named _… is shared code, such as _recurrent.py for rnn, lstm and gru).
for _module in pkgutil.iter_modules(__path__):
    if _module.name != "base" and not _module.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["LAYERS", "Layer", "Parameter", "register"]
