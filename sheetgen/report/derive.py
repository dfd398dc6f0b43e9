"""The chain rule read off the network's own expressions.

Which quantity feeds which comes from the names each formula uses; each local derivative
(dE1/da_o1, da_o1/do1, do1/dw5, ...) is the symbolic derivative of one formula
(`Expression.derivative`), simplified the way a worked example writes it (a_o1 - t1, not
0.5 * 2 * (t1 - a_o1) * -1). Nothing here knows the 2-2-2 network: any layer sizes and any
formulas in the small expression language work.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import cached_property

from sheetgen.core.expressions import Expression
from sheetgen.core.model import Network, Quantity


@dataclass(frozen=True)
class Term:
    """One product of the chain rule: dLoss/d`lead` (None when the chain reaches the loss)
    times the local derivatives d`top`/d`bottom`, listed from the loss side down."""

    lead: str | None
    factors: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Trained:
    """A quantity updated by gradient descent: its name and its gradient column."""

    name: str
    gradient: str
    depth: int          # longest path to the loss: the last layer's weights are nearest


class Chain:
    def __init__(self, network: Network, loss: str):
        self.network = network
        self.loss = loss
        self.forward = [q for q in network.quantities if q.formula is not None and not q.gradient]

    @cached_property
    def trained(self) -> list[Trained]:
        """Each state quantity whose update uses a gradient column, in network order."""
        gradients = {q.name for q in self.network.quantities if q.gradient}
        found = []
        for q in self.network.quantities:
            if q.is_state and q.next is not None:
                used = sorted(q.next.names & gradients)
                if len(used) == 1:
                    found.append(Trained(q.name, used[0], self.depth(q.name)))
        return found

    def consumers(self, name: str) -> list[Quantity]:
        return [q for q in self.forward if name in q.formula.names]

    def depth(self, name: str) -> int:
        if name == self.loss:
            return 0
        return max((1 + self.depth(c.name) for c in self.consumers(name)), default=0)

    def local(self, top: str, bottom: str) -> Expression:
        """d top / d bottom, from top's formula alone (other names held fixed)."""
        formula = self.network.quantity(top).formula
        # The one differentiator (core.expressions), its result read with top's own column:
        # d sigmoid(o1)/d o1 as a_o1 * (1 - a_o1).
        return formula.derivative(bottom).replace({formula.text: top})

    def is_one(self, top: str, bottom: str) -> bool:
        tree = self.local(top, bottom).tree
        return isinstance(tree, ast.Constant) and tree.value == 1

    def walk(self, name: str) -> Term:
        """Up from `name` while each quantity feeds exactly one other; stops at the loss or at
        a quantity that feeds several (whose derivative then gets a line of its own)."""
        factors = []
        node = name
        while node != self.loss:
            consumers = self.consumers(node)
            if len(consumers) != 1:
                break
            if not self.is_one(consumers[0].name, node):
                factors.append((consumers[0].name, node))
            node = consumers[0].name
        return Term(None if node == self.loss else node, tuple(reversed(factors)))

    def expand(self, name: str) -> list[Term]:
        """dLoss/d`name` as a sum of chain-rule products."""
        consumers = self.consumers(name)
        if len(consumers) == 1 or name == self.loss:
            return [self.walk(name)]
        terms = []
        for c in consumers:
            if self._reaches_loss(c.name):
                up = self.walk(c.name)
                factors = up.factors if self.is_one(c.name, name) else up.factors + ((c.name, name),)
                terms.append(Term(up.lead, factors))
        return terms

    def _reaches_loss(self, name: str) -> bool:
        return name == self.loss or any(self._reaches_loss(c.name) for c in self.consumers(name))

    def leads(self, name: str) -> list[str]:
        """The quantities whose dLoss/d(.) the expansion of `name` refers to, nearest the loss
        last, each once (they are written out after the line that needs them)."""
        found: list[str] = []
        for term in self.expand(name):
            if term.lead is not None and term.lead != name:
                for deeper in [term.lead, *self.leads(term.lead)]:
                    if deeper not in found:
                        found.append(deeper)
        return found
