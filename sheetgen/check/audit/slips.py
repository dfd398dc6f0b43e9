"""The slips students make, injected into any network's equations: each class of mistake the
audit names, as an edit of the network the generator writes from.

`inject(net, kind)` gives the network with that one slip (or None where the class does not
apply: no optimizer state to take from the wrong row in plain gradient descent, say), so that
a workbook written from it holds the slip in its formulas and its values alike. Used to build
the audit's corpus (every example × every slip class) and its bench.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from sheetgen.check.audit.diagnose import dependents, family
from sheetgen.core.expressions import Expression
from sheetgen.core.model import Network, Quantity

SLIPS = ("substitution", "two substitutions", "other row", "other gradient", "sequential update",
         "sign", "missing factor", "pasted constant", "wrong rate", "β1 for β2",
         "no bias correction", "state from the wrong row")
# The row from which a pasted column holds the number of the row above it (1-based).
PASTED_FROM = 3


@dataclass(frozen=True)
class Slip:
    kind: str
    quantity: str          # the column that holds it
    net: Network           # the equations with the slip (a pasted column: the values' equations)
    was: str               # the equation as it should be
    now: str               # as the slip has it
    paste: bool = False    # the column holds numbers from PASTED_FROM on, no formulas

    @property
    def words(self) -> str:
        return f"{self.quantity}: {self.was}  ->  {self.now}"


def _replace(net: Network, name: str, text: str) -> Network:
    out = []
    for q in net.quantities:
        if q.name == name:
            e = Expression.parse(text)
            q = Quantity(q.name, None, e, q.gradient) if q.is_state else \
                Quantity(q.name, e, q.next, q.gradient)
        out.append(q)
    return Network(tuple(out), net.parameters)


def _expression(q: Quantity) -> Expression:
    return q.next if q.is_state else q.formula


def _make(kind: str, net: Network, q: Quantity, text: str, paste: bool = False) -> Slip | None:
    try:
        slipped = _replace(net, q.name, text)
    except ValueError:  # it would use a column before it is computed: not a slip of this kind
        return None
    return Slip(kind, q.name, slipped, _expression(q).text, Expression.parse(text).text, paste)


def _siblings(net: Network, q: Quantity, name: str) -> list[str]:
    """Names of `name`'s family the formula of q could use instead (no circle)."""
    mine = family(net, name)
    below = dependents(net, q.name)   # what q's row computes from q: using one makes a circle
    return [m for m in net.names if m != name and m not in below and family(net, m) == mine
            and "iteration" not in (m, name)]


def _gradients(net: Network) -> list[Quantity]:
    """The formulas a slip goes into: gradients and δ's, output layer first."""
    grads = [q for q in net.quantities if not q.is_state and
             (q.gradient or q.name.startswith("delta_"))]
    return sorted(grads, key=lambda q: (not q.name.startswith("delta_o"), not q.gradient))


def _updates(net: Network) -> list[Quantity]:
    return [q for q in net.quantities if q.is_state and q.next is not None
            and q.next.names - {q.name}]


def substitution(net: Network, count: int = 1) -> Slip | None:
    for q in _gradients(net):
        e = q.formula
        names = [n for n in sorted(e.names, key=e.text.index) if n in net.names]
        pairs = []
        for name in names:
            options = [m for m in _siblings(net, q, name) if m not in e.names]
            if options:
                pairs.append((name, options[0]))
        if len(pairs) >= count:
            mapping = dict(pairs[:count]) if count == 1 else dict(pairs[-count:])
            kind = "substitution" if count == 1 else "two substitutions"
            return _make(kind, net, q, e.substitute(mapping).text)
    return None


def other_row(net: Network) -> Slip | None:
    for q in _gradients(net):
        changing = [n for n in sorted(q.formula.names, key=q.formula.text.index)
                    if n in net.names and family(net, n) not in ("data",)]
        if changing:
            name = changing[-1]
            return _make("other row", net, q, q.formula.substitute({name: f"prev({name})"}).text)
    return None


def other_gradient(net: Network) -> Slip | None:
    grads = [q.name for q in net.quantities if q.gradient]
    for q in _updates(net):
        used = [n for n in q.next.names if n in grads]
        if used:
            other = next(g for g in grads if g != used[0])
            return _make("other gradient", net, q, q.next.substitute({used[0]: other}).text)
    return None


def sequential_update(net: Network) -> Slip | None:
    for q in _gradients(net):
        for name in sorted(q.formula.names, key=q.formula.text.index):
            if name in net.names and family(net, name) == "w":
                nxt = net.quantity(name).next
                if nxt is None or "cur(" in nxt.text:
                    continue
                # The gradient the update reads, written out when its column comes later.
                grads = {g: f"({net.quantity(g).formula.text})" for g in nxt.names
                         if g in net.names and net.quantity(g).gradient}
                slip = _make("sequential update", net, q, q.formula.substitute(
                    {name: f"({nxt.substitute(grads).text})"}).text)
                if slip is not None:
                    return slip
    return None


def sign(net: Network) -> Slip | None:
    for q in _gradients(net):
        tree = ast.parse(q.formula.text, mode="eval")
        for node in ast.walk(tree):
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Sub) and \
                    not isinstance(node.left, ast.Constant):
                node.left, node.right = node.right, node.left
                return _make("sign", net, q, ast.unparse(tree))
    return None


def missing_factor(net: Network) -> Slip | None:
    for q in reversed(_gradients(net)):
        tree = ast.parse(q.formula.text, mode="eval").body
        if isinstance(tree, ast.BinOp) and isinstance(tree.op, ast.Mult):
            return _make("missing factor", net, q, ast.unparse(tree.left))
    return None


def pasted_constant(net: Network) -> Slip | None:
    q = next((q for q in _updates(net) if family(net, q.name) == "w"), None)
    if q is None:
        return None
    # The values: the row above's number from PASTED_FROM on (the formulas stay the true ones).
    text = f"if_positive(iteration - {PASTED_FROM - 1.5}, {q.name}, {q.next.text})"
    return _make("pasted constant", net, q, text, paste=True)


def wrong_rate(net: Network, rate: float) -> Slip | None:
    """Every update holds another rate as a number: the labelled cell does nothing."""
    out, first = [], None
    for q in net.quantities:
        if q.is_state and q.next is not None and "learning_rate" in q.next.names:
            q = Quantity(q.name, None, q.next.substitute({"learning_rate": repr(rate * 2)}), q.gradient)
            first = first or q
        out.append(q)
    if first is None:
        return None
    return Slip("wrong rate", first.name, Network(tuple(out), net.parameters),
                "… learning_rate …", first.next.text)


def beta_swap(net: Network) -> Slip | None:
    for q in net.quantities:
        if q.is_state and q.next is not None and "beta2" in q.next.names:
            return _make("β1 for β2", net, q, q.next.substitute({"beta2": "beta1"}).text)
    return None


def no_bias_correction(net: Network) -> Slip | None:
    for q in _updates(net):
        text = q.next.text
        new = re.sub(r"\(?cur\((m_\w+)\) / \(1 - beta1 \*\* iteration\)\)?", r"cur(\1)", text)
        if new != text:
            return _make("no bias correction", net, q, new)
    return None


def state_wrong_row(net: Network) -> Slip | None:
    for q in _updates(net):
        if "cur(" in q.next.text:
            return _make("state from the wrong row", net, q,
                         re.sub(r"cur\((\w+)\)", r"\1", q.next.text, count=1))
    return None


# The classes a class exercise's numbers must make visible (sheetgen class), in every blank column.
CATALOGUE = ("substitution", "other row", "sign", "missing factor", "sequential update")


def _same_kind(name: str, other: str, net: Network) -> bool:
    """Names one may be written for the other: same family (a target for a target, not for an
    input), not the iteration count."""
    if "iteration" in (name, other) or family(net, name) != family(net, other):
        return False
    return family(net, name) != "data" or name.rstrip("0123456789_s") == other.rstrip("0123456789_s")


def _without_products(text: str) -> list[str]:
    """The expression with one factor left out, for each factor of each product in it."""
    out = []
    count = sum(isinstance(n, ast.BinOp) and isinstance(n.op, ast.Mult)
                for n in ast.walk(ast.parse(text, mode="eval")))
    for k in range(count):
        for side in ("left", "right"):
            tree = ast.parse(text, mode="eval")
            products = [n for n in ast.walk(tree) if isinstance(n, ast.BinOp) and isinstance(n.op, ast.Mult)]
            target = products[k]
            kept = getattr(target, side)
            for parent in ast.walk(tree):
                for field, value in ast.iter_fields(parent):
                    if value is target:
                        setattr(parent, field, kept)
            out.append(ast.unparse(kept if tree.body is target else tree.body))
    return out


def catalogue(net: Network, quantities, layer_of=None) -> list[Slip]:
    """Every slip of the CATALOGUE classes in the formulas of `quantities` (names): each name
    written for every other of its kind, each name read from the row above, each subtraction
    turned round (an update's − made +), each factor of each product left out, each weight read
    already updated. Slips that would use a column before it is computed are left out.
    `layer_of` (name -> layer: weights, biases and their gradients): substitutions only within
    a layer."""
    layer_of = layer_of or {}
    slips: dict[tuple[str, str], Slip] = {}

    def add(kind: str, q: Quantity, text: str) -> None:
        slip = _make(kind, net, q, text)
        if slip is not None and slip.now != slip.was and (q.name, slip.now) not in slips:
            slips[(q.name, slip.now)] = slip

    for name in quantities:
        q = net.quantity(name)
        e = _expression(q)
        if e is None or e.text.strip() == q.name:   # a carried input or target: nothing to write
            continue
        used = [n for n in sorted(e.names, key=e.text.index) if n in net.names]
        for n in used:
            others = _siblings(net, q, n) if not q.is_state else [m for m in net.names if m != n]
            for m in others:
                if m not in e.names and _same_kind(n, m, net) and \
                        layer_of.get(n, -1) == layer_of.get(m, -1):
                    add("substitution", q, e.substitute({n: m}).text)
            if not q.is_state and family(net, n) != "data":
                add("other row", q, e.substitute({n: f"prev({n})"}).text)
            nxt = net.quantity(n).next
            if not q.is_state and family(net, n) == "w" and nxt is not None and "cur(" not in nxt.text:
                grads = {g: f"({net.quantity(g).formula.text})" for g in nxt.names
                         if g in net.names and net.quantity(g).gradient}
                add("sequential update", q, e.substitute({n: f"({nxt.substitute(grads).text})"}).text)
        tree = ast.parse(e.text, mode="eval")
        subtractions = [node for node in ast.walk(tree) if isinstance(node, ast.BinOp)
                        and isinstance(node.op, ast.Sub) and not isinstance(node.left, ast.Constant)]
        for k in range(len(subtractions)):
            tree = ast.parse(e.text, mode="eval")
            node = [node for node in ast.walk(tree) if isinstance(node, ast.BinOp)
                    and isinstance(node.op, ast.Sub) and not isinstance(node.left, ast.Constant)][k]
            if q.is_state:
                node.op = ast.Add()
            else:
                node.left, node.right = node.right, node.left
            add("sign", q, ast.unparse(tree))
        for text in _without_products(e.text):
            add("missing factor", q, text)
    return list(slips.values())


def inject(net: Network, kind: str, rate: float = 0.5) -> Slip | None:
    """`net` with one slip of class `kind` (SLIPS), or None where the class does not apply."""
    makers = {"substitution": lambda: substitution(net), "two substitutions": lambda: substitution(net, 2),
              "other row": lambda: other_row(net), "other gradient": lambda: other_gradient(net),
              "sequential update": lambda: sequential_update(net), "sign": lambda: sign(net),
              "missing factor": lambda: missing_factor(net),
              "pasted constant": lambda: pasted_constant(net), "wrong rate": lambda: wrong_rate(net, rate),
              "β1 for β2": lambda: beta_swap(net), "no bias correction": lambda: no_bias_correction(net),
              "state from the wrong row": lambda: state_wrong_row(net)}
    return makers[kind]()


__all__ = ["CATALOGUE", "PASTED_FROM", "SLIPS", "Slip", "catalogue", "inject"]
