"""Data sets: the samples a training steps through, and how a step takes them.

A `DataSpec` (the config's ``[data]`` table) holds the samples and how a step takes them: all of
them (``batch = "full"``), one at a time (``batch = 1``), or k at a time; an epoch is one pass, as
torch's DataLoader (a short last batch, or none with drop_last; shuffled per epoch from the seed),
or the steps cycle through the samples (``order = "cycle"``). The samples live
on a ``data`` sheet: each sample column of the table picks its value there with INDEX
(``index(data_i1, k)``), so editing a sample recomputes everything.
"""

from __future__ import annotations

import csv
import errno
import io
import math
import os
import random
import re
import stat
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sheetgen.errors import ConfigError

if TYPE_CHECKING:
    from sheetgen.core.network import NetworkSpec

REDUCTIONS = ("mean", "sum", "torch")
ORDER_LIMIT = 1_048_576 - 2   # the data sheet's rows below its title and header


@dataclass(frozen=True)
class DataSpec:
    """Samples, as columns named i1…, t1…, and how a step takes them."""

    names: tuple[str, ...]                   # inputs then targets, in the network's order
    rows: tuple[tuple[float, ...], ...]      # one per sample
    batch: int | None = None                 # None: the full batch
    reduction: str = "mean"
    source: str = "inline"                   # or the CSV file's name, for the settings block
    order: str = "epochs"                    # epochs: one pass each, as DataLoader; cycle: wrap
    shuffle: bool = False                    # a permutation per epoch, drawn from `seed`
    drop_last: bool = False
    seed: int = 0
    epochs: int = 1                          # permutations stored (shuffle): enough for the run
    # The stored permutations as given (one after another, 1-based), in place of the seed's: the
    # order a data sheet holds, read back by the audit.
    given_order: tuple[int, ...] = ()

    @property
    def n(self) -> int:
        return len(self.rows)

    @property
    def batch_size(self) -> int:
        return self.n if self.batch is None else self.batch

    @property
    def batch_text(self) -> str:
        return "full" if self.batch is None else str(self.batch)

    def column(self, name: str) -> tuple[float, ...]:
        k = self.names.index(name)
        return tuple(row[k] for row in self.rows)

    def steps_per_epoch(self) -> int:
        """Rows of one pass over the data: ⌈n / k⌉, or ⌊n / k⌋ dropping a short last batch (and
        with order = "cycle", ⌈n / k⌉ rows that use every sample at least once)."""
        if self.drop_last and self.order == "epochs":
            return self.n // self.batch_size
        return math.ceil(self.n / self.batch_size)

    @property
    def short_last(self) -> int:
        """Samples in an epoch's short last batch (0: none)."""
        if self.order != "epochs" or self.drop_last or self.batch is None:
            return 0
        return self.n % self.batch_size

    def permutation(self, epoch: int) -> list[int]:
        """Epoch `epoch`'s order of the samples (1-based numbers), from `seed`: the same every run."""
        if self.given_order:
            return list(self.given_order[epoch * self.n:(epoch + 1) * self.n])
        rng = random.Random(f"sheetgen-shuffle-{self.seed}-{epoch}")
        order = list(range(1, self.n + 1))
        rng.shuffle(order)
        return order

    def order_fits(self) -> bool:
        return not self.shuffle or self.n * self.epochs <= ORDER_LIMIT

    def order_column(self) -> tuple[int, ...]:
        """Every stored epoch's permutation, one after another (the data sheet's `order`)."""
        if self.given_order:
            return self.given_order
        return tuple(k for e in range(self.epochs) for k in self.permutation(e))

    def divisor(self, spec: NetworkSpec) -> int:
        """What a step's summed loss is divided by per sample: 1 (mean), or the outputs too
        (torch: its mean over every element for the element-wise losses)."""
        if self.reduction == "torch" and spec.loss in ("half_sse", "sse", "binary_cross_entropy"):
            last = spec.layers[-1]
            # An image network's last layer is a layer object (flatten, dense): its outputs.
            return last if isinstance(last, int) else len(spec.targets)
        return 1

    def picks(self, iterations: int) -> list[list[int]]:
        """The samples (0-based) of each step: what the sample columns compute."""
        k, n, per = self.batch_size, self.n, self.steps_per_epoch()
        out = []
        for t in range(iterations):
            if self.batch is None:
                out.append(list(range(n)))
            elif self.order == "cycle":
                out.append([(t * k + j) % n for j in range(k)])
            else:
                e, s = divmod(t, per)
                positions = [s * k + j for j in range(k) if s * k + j < n]
                perm = self.permutation(e % self.epochs) if self.shuffle else None
                out.append([perm[p] - 1 if perm else p for p in positions])
        return out


# --- reading and checking --------------------------------------------------------------------

# The data sheet holds a title row and a header row, then one row per sample, down to the last
# row of a sheet (1,048,576 in both formats).
MAX_SAMPLES = ORDER_LIMIT
# Room per number in a CSV line: a float written out in full takes at most 24 characters.
CSV_CELL_BYTES = 32
CSV_CHUNK = 4 * 1024**2
ECHO = 80  # characters of a file's text shown in a message
_CSV_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_BLANK_LINE = re.compile(rb"^[ \t\r,]*$", re.M)


def echo(text: str, limit: int = ECHO) -> str:
    """`text` from a file as a message shows it: repr'd, cut to about `limit` characters."""
    return repr(text) if len(text) <= limit else f"{text[:limit - 12]!r}... ({len(text):,} characters)"


def csv_number(cell: str) -> float:
    """A CSV cell as a number, in the config's syntax: decimal digits, a point, an exponent;
    ValueError for anything else (1_0, 0x1, inf) and for a number that underflows to 0."""
    text = cell.strip()
    if not _CSV_NUMBER.fullmatch(text):
        raise ValueError("is not a number")
    value = float(text)
    if value == 0 and any(c in "123456789" for c in text.lower().partition("e")[0]):
        raise ValueError("underflows to 0 (the smallest float is about 5e-324)")
    if not math.isfinite(value):
        raise ValueError("is beyond the largest float (about 1.8e308)")
    return value


def open_regular(path: Path, fail) -> int:
    """A file descriptor of `path`, a regular file and not a symbolic link; `fail(message)`'s
    error for anything else (a FIFO would block, /dev/zero never ends)."""
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; fstat then refuses it.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        raise fail("file not found") from None
    except IsADirectoryError:
        raise fail("is a folder, not a CSV file") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise fail("is a symbolic link; give the file itself") from None
        raise fail(f"cannot read: {exc.strerror or exc}") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        if stat.S_ISDIR(info.st_mode):
            raise fail("is a folder, not a CSV file")
        kinds = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"),
                 (stat.S_ISSOCK, "a socket"))
        kind = next((name for test, name in kinds if test(info.st_mode)), "a special file")
        raise fail(f"not a regular file ({kind}), not a CSV file")
    return fd


def read_csv(path: Path, key: str = "data.file", columns: int | None = None,
             fits=None) -> tuple[tuple[str, ...], list[tuple[float, ...]]]:
    """Header row of names, then one row of numbers per sample. Only a regular file, not a
    symbolic link, is opened (a FIFO would block, /dev/zero never ends); with `columns`, the
    names the network needs, its size and line count are bounded by what the data sheet holds
    before it is parsed; `fits(samples)`, if given, may refuse the count before parsing too."""
    path = Path(path)

    def fail(message: str) -> ConfigError:
        return ConfigError(f"{key}: {path}: {message}")

    fd = open_regular(path, fail)
    info = os.fstat(fd)
    with os.fdopen(fd, "rb") as stream:
        width = max(columns or 0, 1) * CSV_CELL_BYTES + 2
        if columns is not None and info.st_size > (MAX_SAMPLES + 1) * width:
            raise fail(f"too large for a data set of {columns} columns ({info.st_size:,} bytes; "
                       f"at most {(MAX_SAMPLES + 1) * width:,}: {MAX_SAMPLES:,} samples of at most "
                       f"{CSV_CELL_BYTES} characters a number)")
        lines = _count_lines(stream, fail, width if columns is not None else None)
        if lines > MAX_SAMPLES + 1:
            raise fail(f"{lines - 1:,} samples; at most {MAX_SAMPLES:,} samples fit on the data sheet")
        if fits is not None and lines > 1:
            fits(lines - 1)
        stream.seek(0)
        text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
        header, values = _parse_csv(text, fail)
    if header is None:
        raise fail("empty (give a header row i1,i2,…,t1,… and one row per sample)")
    if not values:
        raise fail("no rows (only the header row)")
    n = len(header)
    return header, [tuple(values[k:k + n]) for k in range(0, len(values), n)]


def _parse_csv(text, fail) -> tuple[tuple[str, ...] | None, array]:
    reader = csv.reader(text)
    header: tuple[str, ...] | None = None
    values = array("d")  # 8 bytes a number, however many samples
    try:
        for line in reader:
            if not any(c.strip() for c in line):
                continue
            if header is None:
                header = tuple(c.strip() for c in line)
                if len(set(header)) != len(header):
                    raise fail("a column name is repeated in the header row")
                continue
            r = reader.line_num
            if len(line) != len(header):
                raise fail(f"line {r} has {len(line)} values for {len(header)} columns")
            for name, cell in zip(header, line, strict=True):
                try:
                    values.append(csv_number(cell))
                except ValueError as exc:
                    raise fail(f"line {r}, column {echo(name, 40)[1:-1]}: {echo(cell.strip())} "
                               f"{exc}") from None
    except csv.Error as exc:
        raise fail(f"line {reader.line_num}: not CSV: {exc}") from None
    except UnicodeDecodeError:
        raise fail("not a text file (not UTF-8)") from None
    return header, values


def _count_lines(stream, fail, width: int | None) -> int:
    """Lines holding a value (the header's and the samples'), counted chunk by chunk at the
    regex engine's speed; with `width`, a longer line is refused before anything is parsed.
    Stops once there are more than the data sheet holds."""
    counted, seen, carry = 0, 0, b""
    while True:
        chunk = stream.read(CSV_CHUNK)
        text = carry + chunk
        cut = text.rfind(b"\n") + 1 if chunk else len(text)
        body, carry = text[:cut].removesuffix(b"\n"), text[cut:]
        if width is not None and len(carry) > width:
            at = seen + body.count(b"\n") + 2
            raise fail(f"line {at:,} is longer than a row of samples may "
                       f"be (over {width:,} characters)")
        if body or (not chunk and text):
            long = re.search(rb"[^\n]{%d}" % (width + 1), body) if width is not None else None
            if long:
                start, end = body.rfind(b"\n", 0, long.start()) + 1, body.find(b"\n", long.start())
                length = (len(body) if end < 0 else end) - start
                at = seen + body.count(b"\n", 0, start) + 1
                raise fail(f"line {at:,} is longer than a row of "
                           f"samples may be ({length:,} characters; at most {width:,})")
            lines = body.count(b"\n") + 1
            counted += lines - len(_BLANK_LINE.findall(body))
            seen += lines
        if not chunk or counted > MAX_SAMPLES + 1:
            return counted


def data_spec(spec: NetworkSpec, samples: list[dict[str, float]], batch: int | None,
              reduction: str, source: str, key: str = "data.samples") -> DataSpec:
    """The samples as the network's columns; ConfigError naming the key of a missing one."""
    names = spec.inputs + spec.targets
    if not samples:
        raise ConfigError(f"{key}: no samples")
    if len(samples) > MAX_SAMPLES:
        raise ConfigError(f"{key}: {len(samples):,} samples; at most {MAX_SAMPLES:,} samples fit on "
                          "the data sheet")
    rows = []
    for k, sample in enumerate(samples, start=1):
        for name in names:
            if name not in sample:
                what = "input" if name[0] == "i" else "target"
                raise ConfigError(f"{key}: sample {k} has no {what} {name} (the network needs "
                                  f"{', '.join(names)})")
        for name in sample:
            if name not in names:
                raise ConfigError(f"{key}: sample {k}: unknown column {echo(str(name))} (the network "
                                  f"has {', '.join(names)})")
        rows.append(tuple(float(sample[name]) for name in names))
    if reduction not in REDUCTIONS:
        raise ConfigError(f"data.reduction: must be mean, sum or torch, got {reduction!r}")
    if batch is not None and not 1 <= batch <= len(rows):
        raise ConfigError(f"data.batch: {batch} is larger than the data set ({len(rows)} samples)"
                          if batch > len(rows) else f"data.batch: must be at least 1, got {batch}")
    return DataSpec(names, tuple(rows), batch, reduction, source)


def data_name(column: str) -> str:
    """The parameter a data-sheet column is known by in formulas: data_i1."""
    return "data_" + column
