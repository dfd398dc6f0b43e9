"""A training graph under construction: named quantities in table-column order.

Layers, the loss, the data and the optimizer each add their quantities here (`core/training.py`
calls them in turn); `Graph.network()` then freezes them into the `Network` the model runs and
every writer renders. A quantity is either computed from its own row (`add`, a formula) or
carried from the row above (`state`, a next value; the first row holds its initial value).
Names that are neither are parameter cells (`parameter`: the learning rate, β, a fixed bias).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sheetgen.core.expressions import Expression
from sheetgen.core.model import Network, Quantity


@dataclass(frozen=True)
class Column:
    """One table column: its quantity, header, block (targets, inputs, weights, biases, pre, exp,
    act, errors, total, delta, gradient, state, check, sample, sample_total, iteration) and the
    layer it belongs to (0: none)."""

    quantity: str
    header: str
    block: str
    layer: int = 0
    integer: bool = False


def _expression(value: Expression | str | None) -> Expression | None:
    return Expression.parse(value) if isinstance(value, str) else value


@dataclass
class Graph:
    columns: list[Column] = field(default_factory=list)
    formulas: dict[str, Expression] = field(default_factory=dict)   # computed, column order
    nexts: dict[str, Expression] = field(default_factory=dict)      # carried: next row's value
    parameters: list[str] = field(default_factory=list)             # cells outside the table
    trained: list[str] = field(default_factory=list)                # updated by the optimizer
    gradients: set[str] = field(default_factory=set)                # gradient columns
    _index: dict[str, Column] = field(default_factory=dict, repr=False)

    def add(self, name: str, formula: Expression | str, *, block: str, header: str | None = None,
            layer: int = 0) -> str:
        """A quantity computed from its own row."""
        self.columns.append(Column(name, header or name, block, layer))
        self.formulas[name] = _expression(formula)
        return name

    def state(self, name: str, next: Expression | str | None = None, *, block: str,
              header: str | None = None, layer: int = 0, integer: bool = False) -> str:
        """A quantity carried from the row above; `next` None: constant (next value = itself)."""
        self.columns.append(Column(name, header or name, block, layer, integer))
        self.nexts[name] = _expression(next if next is not None else name)
        return name

    def weight(self, name: str, *, block: str, layer: int, trained: bool = True,
               header: str | None = None) -> str:
        """A parameter of a layer as a table column: trained ones get their next value from the
        optimizer, the others stay as they start."""
        self.state(name, None, block=block, header=header, layer=layer)
        if trained:
            self.trained.append(name)
        return name

    def parameter(self, name: str) -> str:
        if name not in self.parameters:
            self.parameters.append(name)
        return name

    def column(self, name: str) -> Column:
        if len(self._index) != len(self.columns):  # columns are only ever appended or reordered
            self._index = {c.quantity: c for c in self.columns}
        return self._index[name]

    def network(self) -> Network:
        quantities = tuple(Quantity(c.quantity, self.formulas.get(c.quantity), self.nexts.get(c.quantity),
                                    c.quantity in self.gradients) for c in self.columns)
        return Network(quantities, frozenset(self.parameters))
