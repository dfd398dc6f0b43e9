"""The network a table should compute: from the exercise's config, or read off the sheet.

With a config (`audit --config EXERCISE.toml`), the equations are the ones the generator writes
from (`Config.equations()`), with the config's hyper-parameters and data. Without one, the
network is inferred from the table's headers and values: the layers and their sizes from the
neuron names (h1, h2_3, o1), each layer's activation and the loss from the columns that hold
them, the biases (none, per layer, per neuron; trained when their gradients are columns), the
samples and batches (`_s2` columns, a `sample` column, the data sheet), the optimizer from its
state columns (m_, s_, v_) and its hyper-parameters from their labelled cells. The inferred
description is built by the same constructors as a config's, so audit and generator share one
model. A table naming only the 2-2-2 exercise's columns keeps the template's equations (its
fixed biases may sit in labelled cells).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace

import numpy as np

from sheetgen.core import optimizers, presets, schedules
from sheetgen.core.data import DataSpec, data_name
from sheetgen.core.expressions import Expression
from sheetgen.core.model import Network
from sheetgen.core.network import NetworkSpec
from sheetgen.core.ops import OPS, activation_params
from sheetgen.core.presets import reference_network as network
from sheetgen.errors import ConfigError

# The names of the reference exercise's table (both bias modes): such a table keeps the template.
TEMPLATE_NAMES = frozenset(network("none").names) | frozenset(network("trained").names)
_SAMPLE = re.compile(r"(.+)_s([0-9]+)")
_FIT = 1e-6   # relative: a column 'fits' an equation on a row within this


@dataclass
class Expected:
    """What a table should compute."""

    net: Network | None             # None: the template's, chosen by the audit (bias mode)
    description: str = ""
    parameters: dict[str, object] = field(default_factory=dict)   # hyper-parameters, data columns
    source: str = "headers"         # headers | config FILE
    biases: str = "none"            # what the report shows
    headers: dict[str, str] = field(default_factory=dict)   # header as written -> quantity


def base_name(name: str) -> str:
    """a_h1_s2 -> a_h1: the quantity a per-sample column is a copy of."""
    m = _SAMPLE.fullmatch(name)
    return m.group(1) if m and not name.startswith(("m_", "v_", "s_")) else name


def sample_of(name: str) -> int:
    m = _SAMPLE.fullmatch(name)
    return int(m.group(2)) if m and not name.startswith(("m_", "v_", "s_")) else 0


def is_template(names) -> bool:
    return set(names) <= TEMPLATE_NAMES


# --- from a config ------------------------------------------------------------------------------

def from_training(training, source: str) -> Expected:
    """The exercise a config sets, as its `Training` compiles it (sheetgen.core.training)."""
    if training.design == "reference":
        return Expected(None, "the 2-2-2 exercise", {}, source, training.setup.biases)
    net = training.network
    values = training.setup.values()
    params = {p: values[p] for p in net.parameters if p != "learning_rate" and p in values}
    opt = training.optimizer.spec if training.data is not None else None
    headers = {c.header: c.quantity for c in training.columns if c.header}
    return Expected(net, describe(training.spec, training.data, opt), params, source,
                    _bias_text(training.spec), headers)


def _bias_text(spec: NetworkSpec) -> str:
    trained = spec.train_biases and spec.biases != "none"
    return spec.biases + (" (trained)" if trained else "")


def describe(spec, data=None, opt=None) -> str:
    if spec.images or spec.unrolled:   # an image or recurrent network's own words for its layers
        text = spec.describe() if spec.unrolled else spec.shape_text + '; ' + spec.loss
        shown = [activation_text(spec, name) for name in ("leaky_relu", "elu") if name in text]
        text += "".join(f", {s}" for s in shown if "(" in s) + f", biases {_bias_text(spec)}"
    else:
        acts = ", ".join(activation_text(spec, a) for a in spec.activations)
        text = f"{'-'.join(map(str, spec.layers))} ({acts}), {spec.loss}, biases {_bias_text(spec)}"
    if data is not None:
        batch = "full batch" if data.batch is None else f"batches of {data.batch}"
        if data.batch is not None:
            batch += "".join(f", {word}" for word, shown in (
                ("cycled", data.order == "cycle"), ("shuffled", data.shuffle and data.order == "epochs"),
                ("drop_last", data.drop_last and data.order == "epochs")) if shown)
        text += f"; {data.n} samples, {batch} ({data.reduction})"
    if opt is not None:
        text += f"; {optimizers.optimizer(opt).describe()}"
    return text


# --- inferred from the sheet ---------------------------------------------------------------------

def _numbers(names, prefix: str) -> list[int]:
    return sorted({int(m.group(1)) for n in names if (m := re.fullmatch(prefix + r"([0-9]+)", n))})


def layers_of(bases: set[str]) -> list[int] | None:
    """[inputs, hidden..., outputs] from the neuron names (h1, h2_3, o1) and i, t, w counts."""
    neurons = {re.sub(r"^(a_|exp_|delta_)", "", n) for n in bases}
    deep = {(int(m.group(1)), int(m.group(2))) for n in neurons
            if (m := re.fullmatch(r"h([0-9]+)_([0-9]+)", n))}
    shallow = _numbers(neurons, "h")
    outputs = _numbers(neurons, "o") or _numbers(bases, "t") or _numbers(bases, "E")
    inputs = _numbers(bases, "i")
    if deep:
        hidden = [max(j for l2, j in deep if l2 == layer) for layer in range(1, max(deep)[0] + 1)
                  if any(l2 == layer for l2, _ in deep)]
    elif shallow:
        hidden = [max(shallow)]
    else:
        hidden = []
    if not outputs:
        return None
    n_out = max(outputs)
    if not inputs:  # inputs in labelled cells: from the weights' count
        weights = _numbers(bases, "w")
        first = (hidden or [n_out])[0]
        rest = sum(a * b for a, b in zip(hidden + [n_out], (hidden + [n_out])[1:], strict=False))
        if not weights or (max(weights) - rest) % first:
            return None
        inputs = [(max(weights) - rest) // first]
    return [max(inputs), *hidden, n_out]


def fits(values: np.ndarray, target: np.ndarray, quantum: float = 0.0) -> float:
    """The share of rows (where both are numbers) on which values match target."""
    ok = np.isfinite(values) & np.isfinite(target)
    if not ok.any():
        return 0.0
    close = np.abs(values[ok] - target[ok]) <= _FIT * np.abs(target[ok]) + 2 * quantum + 1e-12
    return float(close.mean())


def activation_functions(params: Mapping[str, float] | None = None) -> dict:
    """Each one-argument activation of the registry over arrays, its constants (leaky_relu_slope,
    elu_alpha) from `params` or at their defaults."""
    given = dict(params or {})
    out = {"identity": lambda z: z}
    constants = {name: (key, default) for key, (name, _, default) in activation_params().items()}
    for name in ("sigmoid", "tanh", "relu", "softplus", "elu", "leaky_relu"):
        op = OPS.get(name)
        if op is None:
            continue
        if name in constants:
            key, default = constants[name]
            constant = given.get(key, default)
            out[name] = lambda z, f=op.array, c=constant: f(z, c)
        else:
            out[name] = op.array
    return out


def activation_constants(pairs) -> dict[str, float]:
    """The constants (leaky_relu_slope, elu_alpha) that (pre-activation, activation) column
    pairs imply where the pre-activation is negative: a / z and a / (e^z − 1), at their median
    (a slip in one cell leaves the rest to decide). Empty where no pre-activation is negative."""
    zs, acts = [], []
    for z, a in pairs:
        if z is None or a is None:
            continue
        ok = np.isfinite(z) & np.isfinite(a) & (z < -1e-9)
        zs.append(z[ok])
        acts.append(a[ok])
    if not zs or not sum(len(z) for z in zs):
        return {}
    z, a = np.concatenate(zs), np.concatenate(acts)
    with np.errstate(all="ignore"):
        found = {"leaky_relu_slope": np.median(a / z), "elu_alpha": np.median(a / np.expm1(z))}
    # Read back as the number a config would give (0.2, not 0.19999999999999998).
    return {key: float(f"{v:.10g}") for key, v in found.items() if np.isfinite(v) and v > 0}


def activation_text(spec, name: str) -> str:
    """'leaky_relu(0.2)' where a constant is not its default; else the name."""
    default = {n: d for _, (n, _, d) in activation_params().items()}
    constants = spec.params_of(name) if hasattr(spec, "params_of") else {}
    shown = [f"{v:g}" for v in constants.values() if name in default and v != default[name]]
    return f"{name}({', '.join(shown)})" if shown else name


def spec_constants(found: Mapping[str, float], used) -> dict:
    """NetworkSpec/ConvSpec keyword arguments for the constants of the activations `used`."""
    out: dict = {}
    if "leaky_relu" in used and "leaky_relu_slope" in found:
        out["leaky_relu_slope"] = found["leaky_relu_slope"]
    if "elu" in used and "elu_alpha" in found and found["elu_alpha"] != 1.0:
        out["activation_params"] = (("elu_alpha", found["elu_alpha"]),)
    return out


def _column(cols: Mapping[str, np.ndarray], name: str, k: int) -> np.ndarray | None:
    return cols.get(name if k == 1 and name in cols else f"{name}_s1", cols.get(name))


def _activation(cols, spec_neurons: tuple[str, ...], k: int, softmax: bool, quantum: float
                ) -> tuple[str, dict[str, float]]:
    """The layer's activation, and the constants its values imply (leaky_relu_slope, …)."""
    if softmax:
        return "softmax", {}
    pairs = [(_column(cols, z, k), _column(cols, "a_" + z, k)) for z in spec_neurons]
    pairs = [(pre, act) for pre, act in pairs if pre is not None and act is not None]
    constants = activation_constants(pairs)
    best, score = "sigmoid", -1.0
    for kind, f in activation_functions(constants).items():
        shares = [fits(f(pre), act, quantum) for pre, act in pairs]
        share = float(np.mean(shares)) if shares else 0.0
        if share > score + 1e-9:
            best, score = kind, share
    return best, constants


def _loss(cols, n_out: int, k: int, quantum: float) -> str:
    t, a, e = _column(cols, "t1", k), _column(cols, "a_o1", k), _column(cols, "E1", k)
    if t is None or a is None or e is None:
        return "half_sse"
    with np.errstate(all="ignore"):
        terms = {"half_sse": 0.5 * (t - a) ** 2, "sse": (t - a) ** 2, "cross_entropy": -t * np.log(a),
                 "binary_cross_entropy": -(t * np.log(a) + (1 - t) * np.log(1 - a))}
    best = max(terms, key=lambda name: fits(terms[name], e, quantum))
    if best == "sse" and n_out > 1:
        errors = [_column(cols, f"E{j}", k) for j in range(1, n_out + 1)]
        # A sample's own loss (E_s1 beside a torch reduction's E_total = E_s1 / outputs).
        total = cols.get("E_s1", cols.get("E_total"))
        if total is not None and all(x is not None for x in errors):
            mean = sum(errors) / n_out
            if fits(mean, total, quantum) > fits(sum(errors), total, quantum):
                return "mse"
    return best


def _bias_mode(bases: set[str], layers: list[int]) -> str:
    count = len(_numbers(bases, "b"))
    if count == 0:
        return "none"
    return "per_neuron" if count == sum(layers[1:]) else "per_layer"


class NeedsConfig(ConfigError):
    """The headers name a network the audit checks only against its config."""


def infer(cols: Mapping[str, np.ndarray], labelled: Mapping[str, float],
          data: Mapping[str, tuple] | None, quantum: float = 0.0) -> Expected:
    """The dense network, samples and optimizer a table of `cols` computes (ConfigError when
    the headers describe none sheetgen knows; image and recurrent ones: wide.py)."""
    names = set(cols)
    bases = {base_name(n) for n in names}
    layers = layers_of(bases)
    if layers is None:
        raise ConfigError("no output neurons or targets among the headers")
    k = max([sample_of(n) for n in names] + [1])
    softmax = any(n.startswith("exp_o") for n in bases)
    probe = NetworkSpec(tuple(layers), ("sigmoid",) * (len(layers) - 1))
    chosen = [_activation(cols, probe.neurons(layer), k, softmax and layer == len(layers) - 1, quantum)
              for layer in range(1, len(layers))]
    activations = tuple(kind for kind, _ in chosen)
    constants: dict[str, float] = {}
    for kind, found in chosen:   # one slope (one α) per network: the first layer that has it
        for key, value in spec_constants(found, {kind}).items():
            constants.setdefault(key, value)
    loss = "cross_entropy" if softmax else _loss(cols, layers[-1], k, quantum)
    biases = _bias_mode(bases, layers)
    trained = any(re.fullmatch(r"dE_db[0-9]+", n) for n in bases)
    gradients = "delta" if any(n.startswith("delta_") for n in bases) else "expanded"
    spec = NetworkSpec(tuple(layers), activations, loss, biases, trained and biases != "none",
                       gradients=gradients, **constants)
    spec.check()
    states = {n for n in names if re.fullmatch(r"[mvs]_[wb][0-9]+", n)}
    has_sample = "sample" in names or "sample_s1" in names
    checks = any(n.startswith("fd_") for n in names)
    training = k > 1 or has_sample or bool(states) or checks or bool(data)
    if not training:
        net = presets.training(spec, {}).network
        return Expected(net, describe(spec), {}, "headers", _bias_text(spec))
    data_spec, have_data = samples_of(cols, spec.inputs + spec.targets, data, quantum, spec)
    opt, training = choose_optimizer(
        lambda o: presets.training(spec, {}, data=data_spec, optimizer=o), cols, labelled,
        lambda n: re.fullmatch(r"[wb][0-9]+", n) is not None, checks, quantum)
    rule = optimizers.optimizer(opt)
    params: dict[str, object] = {key: rule.value(key) for key in rule.hyper}
    if have_data:
        params |= {data_name(c): tuple(data[c]) for c in data_spec.names}
        if data_spec.shuffle:
            params[data_name("order")] = data_spec.given_order
    return Expected(training.network, describe(spec, data_spec if have_data else None, opt), params,
                    "headers", _bias_text(spec))


def samples_of(cols: Mapping[str, np.ndarray], columns: tuple[str, ...],
               data: Mapping[str, tuple] | None, quantum: float = 0.0,
               spec=None) -> tuple[DataSpec, bool]:
    """The samples a table trains on, (DataSpec, whether the data sheet gave them): the data
    sheet's `columns` when it holds them all, else as many blank samples as the `sample` column
    counts; batches from the `_sN` copies beside a `sample` column, the order the batches take
    them in (epochs or cycle, shuffled by the data sheet's `order`, a short last batch dropped)
    from the sample columns, the reduction from E_total (torch's, over the outputs of the
    network `spec` too, where its loss is element-wise)."""
    names = set(cols)
    k = max([sample_of(n) for n in names] + [1])
    has_sample = "sample" in names or "sample_s1" in names
    have_data = bool(data) and all(c in data for c in columns) and \
        len({len(data[c]) for c in columns}) == 1
    if have_data:
        rows = tuple(zip(*(data[c] for c in columns), strict=True))
    else:
        samples = cols.get("sample", cols.get("sample_s1"))
        n = int(np.nanmax(samples)) + (k - 1) if has_sample and samples is not None and \
            np.isfinite(samples).any() else k
        rows = ((0.0,) * len(columns),) * max(n, k)
    batch = k if has_sample and k < len(rows) else None
    reduction = "mean"
    parts = [cols.get(f"E_s{j}") for j in range(1, k + 1)]
    total = cols.get("E_total")
    if total is not None and all(p is not None for p in parts):
        step = sum(parts)
        # torch: the mean over every output too (the element-wise losses); equal to mean for one.
        outputs = DataSpec(columns, rows, reduction="torch").divisor(spec) if spec is not None else 1
        options = {"mean": step / k, "sum": step, "torch": step / (k * outputs)}
        reduction = max(options, key=lambda r: fits(options[r], total, quantum))
    spec = DataSpec(tuple(columns), rows, batch, reduction, "sheet")
    if batch is not None:
        spec = _order_of(spec, cols, (data or {}).get("order"))
    return spec, have_data


def _order_of(spec: DataSpec, cols: Mapping[str, np.ndarray], order: tuple | None) -> DataSpec:
    """The order a table's batches take the samples in: the one whose picks (DataSpec.picks) its
    sample columns hold in the most cells (a slip in one column leaves the others to decide);
    epochs in order first, as among equals."""
    k = spec.batch_size
    taken = [cols.get("sample" if k == 1 and "sample" in cols else f"sample_s{j}")
             for j in range(1, k + 1)]
    iteration = cols.get("iteration")
    if any(c is None for c in taken) or iteration is None:
        return spec
    ok = np.isfinite(iteration) & np.all([np.isfinite(c) for c in taken], axis=0)
    steps = iteration[ok].astype(int) - 1
    if not len(steps) or steps.min() < 0:
        return spec
    seen = np.stack([c[ok] for c in taken], axis=1)
    given = tuple(int(v) for v in order) if order else ()
    options = [dict(order="epochs"), dict(order="epochs", drop_last=True), dict(order="cycle")]
    if given and len(given) % spec.n == 0 and sorted(given[:spec.n]) == list(range(1, spec.n + 1)):
        options += [dict(order="epochs", shuffle=True, given_order=given, epochs=len(given) // spec.n),
                    dict(order="epochs", shuffle=True, drop_last=True, given_order=given,
                         epochs=len(given) // spec.n)]
    best, score = spec, -1
    for option in options:
        candidate = replace(spec, **option)
        picks = candidate.picks(int(steps.max()) + 1)
        # An empty slot of a short last batch reads sample 1 (and weighs 0).
        hits = sum(seen[row, j] == p + 1 for row, t in enumerate(steps)
                   for j, p in enumerate(picks[t] + [0] * (k - len(picks[t]))))
        if hits > score:
            best, score = candidate, hits
    return best


def schedule_of(cols: Mapping[str, np.ndarray], labelled: Mapping[str, float],
                quantum: float = 0.0) -> schedules.ScheduleSpec | None:
    """The learning-rate schedule whose formula gives the `lr` column (each row's rate) from the
    iteration, up to the base rate: its settings from their labelled cells (step_size, γ, …)
    where the sheet has them, else read off the rates. None without an `lr` column or when its
    rate never changes."""
    rate, iteration = cols.get("lr"), cols.get("iteration")
    if rate is None or iteration is None:
        return None
    ok = np.isfinite(rate) & np.isfinite(iteration)
    rate, iteration = rate[ok], iteration[ok]
    if len(rate) < 2 or np.ptp(rate) <= 1e-12 * np.abs(rate).max():
        return None
    best, score = None, None
    for name, kind in schedules.Schedule.registry.items():
        for spec in _schedule_options(name, kind.keys, rate, iteration, labelled):
            try:
                kind(spec).check()
            except ConfigError:
                continue
            shape = Expression.parse(kind(spec).formula()).evaluate_array(
                {"iteration": iteration, "learning_rate": 1.0,
                 **{key: float(getattr(spec, key)) for key in kind.keys}})
            with np.errstate(all="ignore"):
                base = float(np.median(rate / shape))
            share = fits(base * shape, rate, quantum) if np.isfinite(base) else 0.0
            # The schedule whose settings the sheet labels (its cells say which it means; a slip
            # in its formula stays a slip), then the one that fits (a step of 1 is an exponential).
            rank = (sum(key in labelled for key in kind.keys), share, -len(kind.keys))
            if best is None or rank > score:
                best, score = spec, rank
    return best


def _schedule_options(name: str, keys, rate: np.ndarray, iteration: np.ndarray,
                      labelled: Mapping[str, float]):
    """The settings to try for schedule `name`: the labelled ones, the rest read off the rates
    (a step's size and γ, an exponential's γ) or at their defaults."""
    known = {key: labelled[key] for key in keys if key in labelled}
    ints = {f.name for f in fields(schedules.ScheduleSpec) if f.type in ("int", "int | None")}
    guesses: dict[str, float] = {}
    first = rate[np.argmin(iteration)]
    changes = np.flatnonzero(np.abs(np.diff(rate)) > 1e-12 * np.abs(rate).max())
    if name == "step" and len(changes):
        guesses = {"step_size": float(iteration[changes[0] + 1] - iteration.min()),
                   "gamma": float(rate[changes[0] + 1] / first)}
    elif name == "exponential" and first != 0:
        guesses = {"gamma": float(rate[1] / first)}
    values = {key: known.get(key, guesses.get(key)) for key in keys}
    values = {key: (int(round(v)) if key in ints else float(f"{v:.10g}"))
              for key, v in values.items() if v is not None}
    if name == "one_cycle" and "total_steps" not in values:
        values["total_steps"] = int(iteration.max())
    yield schedules.ScheduleSpec(name=name, **values)


def choose_optimizer(build, cols: Mapping[str, np.ndarray], labelled: Mapping[str, float],
                     trained, checks: bool = False, quantum: float = 0.0):
    """(OptimizerSpec, Training): the rule whose state columns (m_, v_, s_ of a parameter
    `trained(name)` says the optimizer updates) the sheet has, with its labelled
    hyper-parameters, whose updates fit the columns best; `build(spec)` gives the Training."""
    state_columns = [n for n in cols if n[:2] in ("m_", "v_", "s_") and trained(n[2:])]
    states = {n[0] for n in state_columns}
    hyper = {key: float(labelled[key]) for key in ("beta", "beta1", "beta2", "epsilon", "h", "alpha")
             if key in labelled}
    # Every rule whose state columns the sheet has (momentum and nesterov both keep v).
    names_of = [name for name in optimizers.OPTIMIZERS if set(_states(name)) == states]
    options = []
    for name in names_of or ["gd"]:
        for correction in ((True, False) if name == "adam" else (True,)):
            options.append(dict(name=name, bias_correction=correction,
                                epsilon=hyper.get("epsilon", 0.0)))
    schedule = schedule_of(cols, labelled, quantum)
    best = None
    for option in options:
        initial = tuple((n, float(cols[n][0])) for n in state_columns
                        if np.isfinite(cols[n][0]) and n[0] in _states(option["name"]))
        opt = optimizers.OptimizerSpec(**{**{k: v for k, v in hyper.items() if k != "epsilon"},
                                          **option}, initial_state=initial, check_gradients=checks,
                                          schedule=schedule)
        try:
            training = build(opt)
        except (ConfigError, ValueError):
            continue
        steady, updates = _update_fit(training.network, cols, {**hyper, **option})
        if best is None or steady > best[0] + 1e-9:
            best = (steady, opt, training)
        if updates and steady == updates:   # every update fits: no later rule can fit better
            break
    if best is None:
        raise ConfigError("no optimizer sheetgen knows keeps these state columns")
    return best[1], best[2]


def _states(name: str) -> tuple[str, ...]:
    """What an optimizer keeps per parameter, at its default settings."""
    return tuple(optimizers.optimizer(optimizers.OptimizerSpec(name=name)).states)


def _update_fit(net: Network, cols, hyper) -> tuple[int, int]:
    """(steady, updates): of the update columns, how many imply one steady learning rate row
    by row (a slip in one column leaves the others to decide)."""
    from sheetgen.check.audit.columns import Columns

    steady = updates = 0
    for q in net.quantities:
        if not (q.is_state and q.next is not None and q.next.names & {"learning_rate", "lr"}
                and q.name in cols):
            continue
        updates += 1
        ratios = rate_ratios(Columns(cols, {**hyper}), q)
        if ratios is not None and len(ratios) > 1 and \
                np.std(ratios) <= 1e-6 * (abs(np.median(ratios)) + 1e-300):
            steady += 1
    return steady, updates


def rate_ratios(columns, q) -> np.ndarray | None:
    """The learning rate each row's update of `q` implies: next = A + rate·B, linear in it
    (under a schedule, the factor on each row's lr: 1 throughout when the rule fits)."""
    expression = q.next
    if "lr" in expression.names and "learning_rate" not in expression.names:
        expression = expression.substitute({"lr": "lr * learning_rate"})
    if not expression.names - {"learning_rate"} <= columns.names():
        return None
    zero = type(columns)(columns.columns, {**columns.parameters, "learning_rate": 0.0})
    one = type(columns)(columns.columns, {**columns.parameters, "learning_rate": 1.0})
    a = zero.evaluate(expression, -1)
    b = one.evaluate(expression, -1) - a
    with np.errstate(all="ignore"):
        r = (columns.columns[q.name] - a) / b
    ok = np.isfinite(r) & (np.abs(b) > 1e-300)
    return r[ok]


__all__ = ["Expected", "NeedsConfig", "TEMPLATE_NAMES", "activation_constants", "activation_functions",
           "activation_text", "base_name", "spec_constants",
           "choose_optimizer", "describe", "schedule_of", "fits", "from_training", "infer", "is_template",
           "layers_of", "rate_ratios", "sample_of", "samples_of"]
