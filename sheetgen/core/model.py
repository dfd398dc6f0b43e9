"""The model: a `Network` of named quantities run row by row, in float64. Pure: no files, no I/O.

The equations are data (a `Network` of named expressions, compiled by core/training.py), so
the same text that computes a value here becomes that cell's formula in the workbook.
Every iteration is one table row: the state (targets, inputs, weights, trained biases, the
iteration number) and every quantity computed from it. The next row's state comes from the
previous row only, all weights updated at once, as in the reference sheet.
"""

from __future__ import annotations

import ast
import contextlib
import math
import mmap
import os
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from functools import cached_property

import numpy as np

from sheetgen.core.expressions import PYTHON_FUNCTIONS, Expression
from sheetgen.errors import ModelError

BIAS_MODES = ("none", "fixed", "trained")


@dataclass(frozen=True)
class Setup:
    """Initial values of one experiment: the reference exercise by default."""

    i1: float = 0.05
    i2: float = 0.1
    t1: float = 0.01
    t2: float = 0.99
    w1: float = 0.15
    w2: float = 0.2
    w3: float = 0.25
    w4: float = 0.3
    w5: float = 0.4
    w6: float = 0.45
    w7: float = 0.5
    w8: float = 0.55
    b1: float = 0.0
    b2: float = 0.0
    biases: str = "none"  # none | fixed | trained

    def values(self) -> dict[str, float]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "biases"}


@dataclass(frozen=True)
class Values:
    """Initial values by name (parameters, inputs, targets, optimizer state, hyper-parameters,
    data columns) and the bias mode the settings block shows; hashable, like `Setup`."""

    items: tuple[tuple[str, object], ...]
    biases: str = "none"

    def values(self) -> dict:
        return dict(self.items)


@dataclass(frozen=True)
class Quantity:
    """One table column: computed from its own row (`formula`) or carried from the row above
    (`next`, with the setup's value in the first row)."""

    name: str
    formula: Expression | None = None
    next: Expression | None = None
    gradient: bool = False

    @property
    def is_state(self) -> bool:
        return self.formula is None


@dataclass(frozen=True)
class Gradient:
    name: str
    expression: Expression
    value: float


@dataclass(frozen=True)
class Network:
    """Quantities in table-column order; computed ones in an order where each only uses
    quantities before it (checked on construction)."""

    quantities: tuple[Quantity, ...]
    parameters: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        known = {q.name for q in self.quantities if q.is_state} | set(self.parameters)
        for q in self.quantities:
            if q.formula is not None:
                missing = q.formula.names - known
                if missing:
                    raise ValueError(f"{q.name} uses {sorted(missing)} before they are known")
                known.add(q.name)
        names = {q.name for q in self.quantities} | set(self.parameters)
        for q in self.quantities:
            if q.next is not None and q.next.names - names:
                raise ValueError(f"next {q.name} uses unknown {sorted(q.next.names - names)}")

    @cached_property
    def names(self) -> tuple[str, ...]:
        return tuple(q.name for q in self.quantities)

    @cached_property
    def _positions(self) -> dict[str, int]:
        # A wide network (an LSTM's 1,500 columns) looks names up often: once, not per call.
        return {n: k for k, n in reversed(list(enumerate(self.names)))}

    def index(self, name: str) -> int:
        try:
            return self._positions[name]
        except KeyError:
            raise ValueError(f"{name!r} is not in the network") from None

    def quantity(self, name: str) -> Quantity:
        return self.quantities[self.index(name)]

    def substitute(self, substitutions: Mapping[str, Mapping[str, str | float]]) -> Network:
        """The same network with names replaced inside the named quantities' formulas."""
        unknown = set(substitutions) - set(self.names)
        if unknown:
            raise ValueError(f"no such quantity: {sorted(unknown)}")
        quantities = []
        for q in self.quantities:
            mapping = substitutions.get(q.name)
            if mapping and q.formula is not None:
                q = Quantity(q.name, q.formula.substitute(mapping), q.next, q.gradient)
            elif mapping:
                q = Quantity(q.name, None, q.next.substitute(mapping), q.gradient)
            quantities.append(q)
        return Network(tuple(quantities), self.parameters)

    def compile(self):
        """One Python function per network: state and parameters in, (row, next state) out.
        Generated once per network, so that long runs cost one call per row."""
        if "_compiled" in self.__dict__:
            return self.__dict__["_compiled"]
        state = [q.name for q in self.quantities if q.is_state]
        params = sorted(self.parameters)
        # _prev: the row above as a dict, for prev(x) references; None in the first row.
        lines = [f"def step({', '.join(state + params)}, _prev=None):"]
        for q in self.quantities:
            if q.formula is not None:
                lines.append(f"    {q.name} = {q.formula.to_python()}")
        lines.append(f"    row = ({', '.join(self.names)},)")
        if any("cur" in self.quantity(s).next.text for s in state):
            # A next value that reads another's new value (cur(v_w1)) comes after it.
            later = [s for s in state if "cur(" in self.quantity(s).next.text]
            order = [s for s in state if s not in later]
            while later:  # each after the new values it reads (amsgrad's smax before w)
                ready = [s for s in later if not (_current(self.quantity(s).next) & set(later))]
                if not ready:
                    raise ValueError(f"next values read each other's new values: {later}")
                order += ready
                later = [s for s in later if s not in ready]
            for s in order:
                lines.append(f"    _next_{s} = {self.quantity(s).next.to_python()}")
            lines.append(f"    return row, ({', '.join('_next_' + s for s in state)},)")
        else:
            nexts = ", ".join(self.quantity(s).next.to_python() for s in state)
            lines.append(f"    return row, ({nexts},)")
        namespace: dict = dict(PYTHON_FUNCTIONS)
        exec(compile("\n".join(lines), "<network>", "exec"), namespace)  # noqa: S102
        compiled = namespace["step"], state, params
        object.__setattr__(self, "_compiled", compiled)  # a cache, not state: frozen otherwise
        return compiled


def initial_state(network: Network, setup: Setup) -> dict[str, float]:
    values = setup.values() | {"iteration": 1}
    return {q.name: values[q.name] for q in network.quantities if q.is_state}


def parameter_values(network: Network, setup: Setup, learning_rate: float) -> dict[str, float]:
    values = setup.values() | {"learning_rate": learning_rate}
    return {name: values[name] for name in network.parameters}


def iterate(network: Network, setup: Setup, learning_rate: float,
            iterations: int) -> Iterator[tuple[float, ...]]:
    """Yield one row per iteration, values in `network.names` order. Constant memory."""
    step, state_names, param_names = network.compile()
    params = parameter_values(network, setup, learning_rate)
    initial = initial_state(network, setup)
    args = [initial[s] for s in state_names]
    args += [params[p] for p in param_names]
    n_state = len(state_names)
    # Only a network with a row-above reference (prev(x)) pays for carrying the previous row.
    carry = any(q.formula is not None and q.formula.uses_previous_row for q in network.quantities)
    previous = None
    for iteration in range(1, iterations + 1):
        try:
            row, next_state = step(*args, previous) if carry else step(*args)
        except ZeroDivisionError:  # as #DIV/0! in a cell: an optimizer's √s of 0 with ε = 0, say
            raise ModelError(f"iteration {iteration}: division by zero (learning rate "
                             f"{learning_rate:g}); with epsilon = 0 a gradient of exactly 0 "
                             "leaves √s = 0") from None
        except OverflowError:  # x ** 2 raises where x * x would give inf
            raise ModelError(f"iteration {iteration}: a value is too large for floating point "
                             f"(learning rate {learning_rate:g}); the setting leaves floating point"
                             ) from None
        if carry:
            previous = dict(zip(network.names, row, strict=True))
        # One sum is cheaper than 31 checks; it is only non-finite if a value is (or all are huge).
        if not math.isfinite(sum(row)) and not all(map(math.isfinite, row)):
            bad = next(n for n, v in zip(network.names, row, strict=True) if not math.isfinite(v))
            raise ModelError(f"iteration {iteration}: {bad} is not a finite number "
                             f"(learning rate {learning_rate:g}); the setting leaves floating point")
        yield row
        args[:n_state] = next_state


# Values converted to Python floats at a time when a trace is read back (few float objects
# alive at once): 256 rows of the reference's 32 columns, fewer rows of a wider network's.
CELLS_PER_CHUNK = 256 * 32
# A longer run's values live in a temporary file, mapped, its pages released as they are written
# and read: every rate's trace is kept at once, and a wide network's would add up in memory.
IN_MEMORY_BYTES = 4 * 1024**2


def _rows_per_chunk(columns: int) -> int:
    return max(16, CELLS_PER_CHUNK // max(1, columns))


def _release(values: np.ndarray) -> None:
    """Drop a file-mapped trace's pages from this process (they stay in the file, read back on
    use), so that its resident memory stays flat however many traces are kept."""
    mapping = values.base
    if isinstance(mapping, mmap.mmap) and hasattr(mmap, "MADV_DONTNEED"):
        mapping.madvise(mmap.MADV_DONTNEED)


@dataclass(frozen=True, eq=False)
class Trace:
    """Every row of one run, computed once: row k is iteration k + 1, columns in `names` order.
    Sheets, summary, plots and report all read this one run; `rows()` can be read any number
    of times and gives back exactly the float64 values the model computed."""

    names: tuple[str, ...]
    learning_rate: float
    values: np.ndarray   # shape (iterations, len(names)), float64
    integers: tuple[int, ...] = ()  # columns the model counts in whole numbers (the iteration)
    first: tuple = ()               # row 1 as the model gave it: start values keep their type

    @property
    def iterations(self) -> int:
        return len(self.values)

    def rows(self) -> Iterator[list[float]]:
        step = _rows_per_chunk(len(self.names))
        for start in range(0, len(self.values), step):
            chunk = self.values[start:start + step].tolist()
            _release(self.values)
            for i in self.integers:  # 1, not 1.0: a count is written as one
                for row in chunk:
                    row[i] = int(row[i])
            if start == 0 and self.first:
                chunk[0] = list(self.first)
            yield from chunk

    def column(self, name: str) -> np.ndarray:
        """One quantity's values, copied: a file-mapped trace's pages are released after (a
        column of a wide table touches every page of the run)."""
        k = self.names.index(name)
        if not isinstance(self.values.base, mmap.mmap):
            return np.array(self.values[:, k])
        # A chunk of rows at a time, released after each: one value a row still maps every
        # page of the run, 24 MB at once for lstm-memory's 2,000 rows of 1,514 columns.
        out = np.empty(len(self.values), dtype=np.float64)
        step = _rows_per_chunk(len(self.names)) * 16
        for start in range(0, len(self.values), step):
            out[start:start + step] = self.values[start:start + step, k]
            _release(self.values)
        return out

    def row(self, k: int) -> dict[str, float]:
        """Row k (0-based; -1 is the last) as quantity name -> value."""
        return dict(zip(self.names, self.values[k].tolist(), strict=True))

    def to_frame(self):
        """A DataFrame: one row per iteration (index from 1), a column per quantity."""
        import pandas as pd

        index = pd.RangeIndex(1, self.iterations + 1, name="iteration")
        return pd.DataFrame(self.values, columns=list(self.names), index=index)


def _array(rows: int, columns: int) -> np.ndarray:
    """Room for a run's values: in memory, or past IN_MEMORY_BYTES in a temporary file that is
    unlinked at once (the mapping keeps it; nothing is left behind, whatever ends the process)."""
    if rows * columns * 8 <= IN_MEMORY_BYTES:
        return np.empty((rows, columns), dtype=np.float64)
    with tempfile.NamedTemporaryFile(prefix="sheetgen-trace-", delete=False) as file:
        path = file.name
    try:
        return np.memmap(path, dtype=np.float64, mode="w+", shape=(rows, columns))
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)


def trace(network: Network, setup: Setup, learning_rate: float, iterations: int) -> Trace:
    """Run the model once and keep every row (ModelError if a value leaves floating point)."""
    values = _array(iterations, len(network.names))
    integers: tuple[int, ...] = ()
    first: tuple = ()
    step = _rows_per_chunk(len(network.names))
    for k, row in enumerate(iterate(network, setup, learning_rate, iterations)):
        values[k] = row
        if k % step == step - 1:
            _release(values)
        if k == 0:
            first = tuple(row)
            integers = tuple(i for i, value in enumerate(row) if isinstance(value, int))
        elif k == 1:  # an int start value that training turns into a float is no count
            integers = tuple(i for i in integers if isinstance(row[i], int))
    _release(values)
    return Trace(network.names, learning_rate, values, integers, first)


def run(network: Network, setup: Setup, learning_rate: float,
        iterations: int) -> list[dict[str, float]]:
    """All rows as dicts of quantity name -> value (for tests and small runs)."""
    names = network.names
    return [dict(zip(names, row, strict=True))
            for row in iterate(network, setup, learning_rate, iterations)]


def gradients(network: Network, row: Mapping[str, float]) -> list[Gradient]:
    """The gradient columns of one row as data: name, expression and value."""
    return [Gradient(q.name, q.formula, row[q.name])
            for q in network.quantities if q.gradient and q.formula is not None]



def _current(expression: Expression) -> set[str]:
    """The names an expression reads as cur(x): new values of the same row."""
    return {node.args[0].id for node in ast.walk(expression.tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "cur"}
