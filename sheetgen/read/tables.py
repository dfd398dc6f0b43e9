"""Read the training tables of .xlsx and .ods workbooks into pandas DataFrames.

A table is found by its header row, not by its position: the row whose cells name the most of
the template's quantities, spelled in any of the ways `canonical_name` accepts. Columns are
keyed by quantity name (`w1`, `a_h1`, `E_total`, `dE_dw1`, ...), rows are in iteration order.
Values are what the cells store (cached values of formulas; nothing is recalculated), read
with calamine, which returns sheetgen's float64 values exactly from both formats.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from sheetgen.core.cells import a1
from sheetgen.core.model import BIAS_MODES
from sheetgen.core.recurrent import GATES
from sheetgen.core.schedules import LABELS as SCHEDULE_LABELS
from sheetgen.core.template import column_specs
from sheetgen.errors import WorkbookError
from sheetgen.read.workbook import Workbook

# A header row must name at least this many quantities: fewer is more likely a stray label.
MIN_HEADERS = 3


def _template_columns() -> dict[str, str]:
    """Quantity name -> default header, for every column of every bias mode, in sheet order."""
    headers: dict[str, str] = {}
    for biases in BIAS_MODES:
        for spec in column_specs(biases):
            headers.setdefault(spec["quantity"], spec["header"])
    return headers


DEFAULT_HEADERS: dict[str, str] = _template_columns()
QUANTITIES: tuple[str, ...] = tuple(DEFAULT_HEADERS)
OPTIONAL = frozenset({"iteration"})  # bookkeeping, not maths: a table may leave it out

# --- header spellings: every rule lives here --------------------------------------------------
#
# Rules, not a list of seen spellings: each quantity name of the network says what kind of
# thing it is (a gradient dE_dX, an activation a_N, a neuron's net input N, an error E<k>, the
# total error, a target t<k>, an input i<k>, a weight w<k>, a bias b<k>), and each kind has its
# human spellings. A name the network gains later (a δ column, a third output) is read by its
# own name and by the rule of its kind.

# The total error's spellings (squashed, see _squash) and those of the error of output k.
_TOTAL_ERROR = ("e", "etotal", "etot", "et", "error", "loss", "totalerror", "totalloss", "cost")
_GRADIENT_OF = r"(?:d?(?:" + "|".join(_TOTAL_ERROR) + r")d|d|grad|gradient|∇|gradofe?)"
# Words that name a kind of state quantity before its number: "target 1", "weight5".
_WORDS = {"t": ("target", "targ"), "i": ("input", "x", "in"), "w": ("weight",),
          "b": ("bias",)}
_OUT_PREFIXES = ("a", "out", "output", "sigmoid", "σ", "sigma", "act", "activation")
_NET_PREFIXES = ("net", "netinput", "in", "z", "sum")
_SERIAL = ("iteration", "iter", "iterations", "step", "epoch", "#", "no", "n", "sno", "srno",
           "slno", "serial", "serialno", "sr", "count", "iterationno", "epochno", "row")
_ALIASES = {"a01": "a_o1", "a02": "a_o2"}  # the reference's own typo, a zero for the letter o
# A remark after the name: "t1 (target for o1)", "w5: hidden to output", "w5 – hidden to output".
_REMARK = re.compile(r"^(?P<head>.+?)\s*(?:\((?P<paren>[^()]*)\)|\[(?P<bracket>[^\[\]]*)\]"
                     r"|:\s*(?P<colon>.*)|\s[-–—−]\s*(?P<dash>.*))\s*$")
_WORD = re.compile(r"[^\W\d_]{3,}")
# The columns of any dense network's sheet (sheetgen.core.network) beyond the reference's names,
# as sheetgen writes them, read when no network is named: i3, t3, w9, b3, e3, h3, h2_1, a_h2_1,
# exp_o1, δ_o1.
_GENERAL = re.compile(r"[itwbe][0-9]+|(?:a_|exp_|δ_)?(?:h[0-9]+(?:_[0-9]+)?|o[0-9]+)")
_GENERAL_GRADIENT = re.compile(r"E∂(W[0-9]+|b[0-9]+)")
# The names of image and recurrent networks (core/conv.py, core/recurrent.py), read by their
# shape: parameters (kernels k1_r1c2 and k2_1_r1c2, map biases b_c1, recurrent weights Wxh_1_1,
# Whf2_1_2 and biases bh_1, bxn_1) and the other quantities (pixels i1_2_3, maps c1_3_4 and
# a_c1_3_4, pooled p1_2_2, steps x1_t2, h_t3_2, c2_t1_1, f_t1_1, zh_t1_1, targets y1 and y1_t2,
# per-step outputs o1_t2, a_o1_t2, and dense layers after a recurrent one d1_2, a_d1_2).
_GATE = "[" + "".join(sorted({g for gates in GATES.values() for g in gates})) + "]"
_PARAMETER = re.compile(rf"[wb][0-9]+|k[0-9]+(?:_[0-9]+)?_r[0-9]+c[0-9]+|b_c[0-9]+"
                        rf"|W[xh]{_GATE}[0-9]*_[0-9]+_[0-9]+|b(?:[xh]n|{_GATE})[0-9]*_[0-9]+")
_QUANTITY = re.compile(rf"(?:z?{_GATE}|c)[0-9]*_t[0-9]+_[0-9]+|i[0-9]+_[0-9]+_[0-9]+"
                       r"|(?:a_)?c[0-9]+_[0-9]+_[0-9]+|p[0-9]+_[0-9]+_[0-9]+|x[0-9]+_t[0-9]+"
                       r"|y[0-9]+(?:_t[0-9]+)?|(?:a_|exp_)?(?:o[0-9]+|h[0-9]+(?:_[0-9]+)?|d[0-9]+_[0-9]+)"
                       r"(?:_t[0-9]+)?")
# The merged label over one time step's columns ("t = 2", "t = 2, s1"): a step, not target t2.
_STEP_LABEL = re.compile(r"t\s*=\s*[0-9]+(?:\s*,\s*s[0-9]+)?")
# The columns of image and recurrent networks (core/layers/conv.py, recurrent.py): kernels
# k1_r1c2 and their biases b_c1, pixels i1_2_3, maps c1_2_3 (a_c1_2_3), pooled p1_2_3; the
# recurrent weights Wxh_1_1, Whf_2_1, their biases bh_1, bxn_2, each step's states and gates
# h_t2_1, c_t2_1, zf_t2_1, the sequence x1_t2, y1_t2 and the outputs o1_t2, a_o1_t2.
_WIDE_PARAMETER = r"k[0-9]+_r[0-9]+c[0-9]+|b_c[0-9]+|W[xh][a-z]{1,2}_[0-9]+_[0-9]+|b[a-z]{1,3}_[0-9]+"
_WIDE = re.compile(_WIDE_PARAMETER + r"|(?:a_|δ_)?[cp][0-9]+_[0-9]+_[0-9]+|i[0-9]+_[0-9]+_[0-9]+"
                   r"|(?:δ_)?z?[a-z]_t[0-9]+_[0-9]+|[xy][0-9]+(?:_t[0-9]+)?"
                   r"|(?:a_|δ_|exp_)?o[0-9]+_t[0-9]+")
_WIDE_STATE = re.compile(r"[mvs]_(?:" + _WIDE_PARAMETER + r"|[wb][0-9]+)")
# A gradient of any parameter, written by hand: ∂E/∂w9, dE_total/dk1_r1c1, δE/δWxh_1_1, ∇w9,
# E∂W9, δw9 (δ, ∂, d or ∇ for the derivative).
_ANY_GRADIENT = re.compile(r"(?:[∂dDδ]\s*\(?\s*(?:[Ee]|E_?[Tt]otal|E_?tot|Error|Loss)\s*\)?\s*/\s*[∂dDδ]"
                           r"|E\s*[∂δ]|[∂δ∇]|∇\s*E\s*/?\s*|[Gg]rad\s*)\s*\(?\s*(?P<p>"
                           + _WIDE_PARAMETER + r"|[wWbB][0-9]+)\s*\)?")
# A neuron's δ written by hand: δo1, δ o1, δ_o1, delta o1, Delta_h1 (Δ is a change, not a δ).
_ANY_DELTA = re.compile(r"(?:δ|[Dd]elta)\s*_?\s*(?P<n>(?:[hH][0-9]+(?:_[0-9]+)?|[oO][0-9]+))")
# A training sheet's columns (sheetgen.core.optim): one sample's copy of a column (`a_h1_s2`,
# `E_s2`), the sample a row takes, the optimizer state per parameter (m_w1, s_b1, v_w2) and the
# gradient check beside a gradient, headed `(E(w1+h)−E)/h`.
_PER_SAMPLE = re.compile(r"(?P<base>.+?)_s(?P<k>[0-9]+)")
_STATE = re.compile(rf"[mvs]_(?:{_PARAMETER.pattern})")
_CHECK = re.compile(rf"\(E\((?P<p>{_PARAMETER.pattern})\s*\+\s*h\)\s*[−-]\s*E\)\s*/\s*h")
# The optimizer's hyper-parameters, as their cells are labelled (squashed).
HYPER_LABELS = {"β": "beta", "beta": "beta", "β1": "beta1", "beta1": "beta1", "β2": "beta2",
                "beta2": "beta2", "ε": "epsilon", "epsilon": "epsilon", "eps": "epsilon",
                "hgradientcheck": "h", "hgradcheck": "h",   # the label before and now
                "α": "alpha", "alpha": "alpha"} | \
    {label: key for key, shown in SCHEDULE_LABELS.items() for label in (key, shown)}


def _squash(text: str) -> str:
    """Lower case, ∂ as d, subscripts as digits, and no spaces or punctuation between parts."""
    text = unicodedata.normalize("NFKC", text).lower().replace("∂", "d")
    return re.sub(r"[\s_\-–—−/()\[\]{}.,:;*·'’\"=]+", "", text)


@cache
def _rules(names: tuple[str, ...]) -> tuple[dict[str, str], re.Pattern | None, dict[str, str]]:
    """(squashed spelling -> quantity, the gradient pattern, squashed parameter -> gradient)."""
    keys: dict[str, str] = {}

    def add(key: str, quantity: str) -> None:
        keys.setdefault(_squash(key), quantity)

    for name in names:
        add(name, name)
    for name in names:
        if name in DEFAULT_HEADERS:
            add(DEFAULT_HEADERS[name], name)
        if name == "E_total":
            for key in _TOTAL_ERROR:
                add(key, name)
        elif m := re.fullmatch(r"a_(\w+)", name):
            neuron = m.group(1)
            for prefix in _OUT_PREFIXES:
                add(prefix + neuron, name)
            for prefix in _NET_PREFIXES:
                if neuron in names:
                    add(prefix + neuron, neuron)
        elif m := re.fullmatch(r"E(\d+)", name):
            for word in ("e", "eo", "error", "erroro", "loss", "losso"):
                add(word + m.group(1), name)
        elif m := re.fullmatch(r"([tiwb])(\d+)", name):
            for word in _WORDS[m.group(1)]:
                add(word + m.group(2), name)
                add(word + name, name)
        elif name == "iteration":
            for key in _SERIAL:
                add(key, name)
    for key, quantity in _ALIASES.items():
        if quantity in names:
            keys.setdefault(key, quantity)
    # Keyed by the parameter's squashed name (k1_r1c2 -> k1r1c2), as the header is squashed.
    of: dict[str, str] = {}
    for n in names:
        if m := re.fullmatch(r"dE_d(\w+)", n):
            of.setdefault(_squash(m.group(1)), n)
    gradient = None
    if of:
        gradient = re.compile(_GRADIENT_OF + "(" + "|".join(map(re.escape, of)) + ")")
    return keys, gradient, of


def _lookup(key: str, names: tuple[str, ...]) -> str | None:
    keys, gradient, of = _rules(names)
    found = keys.get(key)
    if found is None and gradient is not None and (m := gradient.fullmatch(key)):
        found = of[m.group(1)]
    return found


def _is_remark(text: str, names: tuple[str, ...]) -> bool:
    """Words, not maths: 'target for o1' is a remark, 'a_o1' (as in 't1 − a_o1') is not."""
    return any(_lookup(_squash(word), names) is None for word in _WORD.findall(text))


def canonical_name(header: object, names: Iterable[str] | None = None) -> str | None:
    """The quantity a header names (`'dE/dw1'` -> `'dE_dw1'`, `'t1 (target)'` -> `'t1'`), or None.
    `names`: the network's quantity names (default: every template column, and the columns
    sheetgen writes for any dense network)."""
    if not isinstance(header, str) or _STEP_LABEL.fullmatch(header.strip()):
        return None
    if names is not None:
        return _canonical(header, tuple(names))
    found = _canonical(header, QUANTITIES)
    return found if found is not None else general_name(header)


@cache
def general_name(header: str) -> str | None:
    """The quantity a header names in any network sheetgen can write (w9, h2_1, δ_h2_1, E∂W9,
    a_h1_s2, E_s1, sample, m_w1, the gradient check), without the template's spellings."""
    text = unicodedata.normalize("NFKC", header).strip()
    if not text:
        return None
    if match := _CHECK.fullmatch(text):
        return "fd_" + match.group("p")
    # lr: a schedule's rate of the row (core/schedules.py).
    if text in ("sample", "iteration", "lr") or _STATE.fullmatch(text) or _WIDE_STATE.fullmatch(text):
        return text
    if (match := _PER_SAMPLE.fullmatch(text)) and not _STATE.fullmatch(text) \
            and not _WIDE_STATE.fullmatch(text):
        base = match.group("base")
        if base in ("E", "E_total"):
            return f"E_s{match.group('k')}"
        if base != "iteration" and (quantity := canonical_name(base)) not in (None, "iteration", "E_total"):
            if not (_STATE.fullmatch(quantity) or quantity.startswith(("dE_d", "fd_"))):
                return f"{quantity}_s{match.group('k')}"
    if match := _GENERAL_GRADIENT.fullmatch(text):
        return "dE_d" + match.group(1).lower()
    if _GENERAL.fullmatch(text) or _WIDE.fullmatch(text):
        return "E" + text[1:] if text[1:].isdigit() and text[0] == "e" else text.replace("δ_", "delta_")
    greek = "δ_" + text[6:]
    if text.startswith("delta_") and (_GENERAL.fullmatch(greek) or _WIDE.fullmatch(greek)):
        return text
    if _PARAMETER.fullmatch(text) or _QUANTITY.fullmatch(text):
        return text
    if text.startswith("E∂") and _PARAMETER.fullmatch(text[2:]):
        return "dE_d" + text[2:]
    for prefix in ("δ_", "delta_"):
        if text.startswith(prefix) and _QUANTITY.fullmatch(text[len(prefix):]):
            return "delta_" + text[len(prefix):]
    if match := _ANY_GRADIENT.fullmatch(text):
        p = match.group("p")
        return "dE_d" + (p.lower() if re.fullmatch(r"[wWbB][0-9]+", p) else p)
    if match := _ANY_DELTA.fullmatch(text):
        return "delta_" + match.group("n").lower()
    return _HYPER.get(_squash(text))


def without_remark(header: str, names: Iterable[str] | None = None) -> str:
    """The header without a remark that its reading ignores: 't1 (target for o1)' -> 't1'."""
    names = tuple(names) if names is not None else QUANTITIES
    text = header.strip()
    m = _REMARK.match(text)
    if m is None or _lookup(_squash(text), names) is not None:
        return text
    head = m.group("head")
    return head if _canonical(text, names) == _lookup(_squash(head), names) is not None else text


_HYPER = {_squash(k): v for k, v in HYPER_LABELS.items()}


@cache
def _canonical(header: str, names: tuple[str, ...]) -> str | None:
    key = _squash(header)
    if not key:
        return None
    found = _lookup(key, names)
    if found is None and "δe" in key:
        # δ written for ∂ (δE_total/δw1); a lone δ (Δw1, δ_o1) is not a gradient's
        found = _lookup(key.replace("δ", "d"), names)
    if found is not None:
        return found
    m = _REMARK.match(header.strip())
    if m is None:
        return None
    remark = next(v for k, v in m.groupdict().items() if k != "head" and v is not None)
    if not _is_remark(remark, names):
        return None
    return _lookup(_squash(m.group("head")), names)


# --- tables ---------------------------------------------------------------------------------

@dataclass
class Table:
    """One sheet's training table. `frame`: a float64 column per quantity found, one row per
    iteration (index 1..n); cells that hold no number are NaN."""

    sheet: str
    header_row: int                       # 0-based
    first_row: int                        # 0-based
    headers: dict[str, str]               # quantity -> header text as written
    columns: dict[str, int]               # quantity -> 0-based column
    frame: pd.DataFrame
    ignored: dict[int, str] = field(default_factory=dict)  # column -> header not used

    def __len__(self) -> int:
        return len(self.frame)

    def cell(self, quantity: str, iteration: int) -> str:
        """The spreadsheet address of one value, e.g. `cell('w1', 1)` -> 'E39'."""
        return a1(self.columns[quantity], self.first_row + iteration)


def _number(value: object) -> float:
    if isinstance(value, bool):
        return math.nan
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and value.strip():
        try:
            return float(value.strip())
        except ValueError:
            return math.nan
    return math.nan


def _numbers(values: list) -> np.ndarray:
    return np.fromiter(map(_number, values), dtype=np.float64, count=len(values))


def _padded(rows: Sequence[Sequence], width: int) -> Sequence[Sequence]:
    """Rows at least `width` cells long (calamine's are; a hand-built grid may be ragged)."""
    if all(len(row) >= width for row in rows):
        return rows
    return [row if len(row) >= width else list(row) + [None] * (width - len(row)) for row in rows]


def _rows_before_blank(columns: list[list]) -> int:
    for i in range(len(columns[0])):
        if all(_blank(column[i]) for column in columns):
            return i
    return len(columns[0])


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _header_columns(row: Sequence) -> tuple[dict[str, int], dict[int, str]]:
    found: dict[str, int] = {}
    ignored: dict[int, str] = {}
    for col, value in enumerate(row):
        if _blank(value):
            continue
        quantity = canonical_name(value)
        if quantity is None or quantity in found:
            ignored[col] = str(value).strip()
        else:
            found[quantity] = col
    return found, ignored


def find_table(grid: Sequence[Sequence], sheet: str = "") -> Table | None:
    """The training table in a grid of cell values (rows of cells), or None.

    The header row is the one naming the most quantities (the first such row on a tie, and at
    least MIN_HEADERS); the table runs down to the first row with no value in its columns."""
    best, best_row = 0, -1
    for r, row in enumerate(grid):
        if sum(map(str.__instancecheck__, row)) < MIN_HEADERS:
            continue  # a fast skip over number rows
        names = {q for v in row if (q := canonical_name(v)) is not None}
        if len(names) > best:
            best, best_row = len(names), r
    if best < MIN_HEADERS:
        return None
    columns, ignored = _header_columns(grid[best_row])
    first = best_row + 1
    rest = _padded(grid[first:], max(columns.values()) + 1)
    raw = {q: [row[c] for row in rest] for q, c in columns.items()}
    numeric = {q: set(map(type, values)) <= {float, int} for q, values in raw.items()}
    # A column of numbers only has no blank cell, so no row below the header is blank.
    n = len(rest) if any(numeric.values()) else _rows_before_blank(list(raw.values()))
    data = {q: np.array(values[:n], dtype=np.float64) if numeric[q] else _numbers(values[:n])
            for q, values in raw.items()}
    frame = pd.DataFrame(data, index=pd.RangeIndex(1, n + 1, name="iteration_order"))
    headers = {q: str(grid[best_row][c]).strip() for q, c in columns.items()}
    return Table(sheet, best_row, first, headers, columns, frame, ignored)


# --- workbooks ------------------------------------------------------------------------------

_WHY = f"(no row names at least {MIN_HEADERS} of its columns, e.g. w1 w2 E_total)"


def read_table(source: Path | Workbook, sheet: str) -> Table:
    """The training table of one sheet; WorkbookError if the sheet or the table is missing."""
    return read_tables(source, [sheet])[sheet]


def read_tables(source: Path | Workbook, sheets: Iterable[str] | None = None) -> dict[str, Table]:
    """The training tables of the named sheets (WorkbookError if one is missing or has none),
    or of every sheet that has one, in workbook order (WorkbookError if none has)."""
    book = source if isinstance(source, Workbook) else Workbook(source)
    path = book.path
    tables = {}
    if sheets is not None:
        for name in sheets:
            table = find_table(book.grid(name), name)
            if table is None:
                raise WorkbookError(f"{path}: sheet {name!r}: no training table found {_WHY}")
            tables[name] = table
        return tables
    for name in book.sheet_names:
        table = find_table(book.grid(name), name)
        if table is not None:
            tables[name] = table
    if not tables:
        raise WorkbookError(f"{path}: no training table found in any sheet {_WHY}")
    return tables


def read_frame(source: Path | Workbook, sheet: str) -> pd.DataFrame:
    """One sheet's table as a DataFrame: a float64 column per quantity, rows in iteration order."""
    return read_table(source, sheet).frame


__all__ = ["DEFAULT_HEADERS", "HYPER_LABELS", "MIN_HEADERS", "OPTIONAL", "QUANTITIES", "Table",
           "canonical_name", "find_table", "general_name", "read_frame", "read_table", "read_tables",
           "without_remark"]
