"""PNG loss plots beside the workbooks: one per learning rate and one with all rates.

matplotlib is imported here only, and this module only when plots are asked for, so a run
with `--no-plots` does not pay its start-up time. The Agg backend needs no display.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from sheetgen.core.model import Trace
from sheetgen.core.template import format_rate, template
from sheetgen.core.training import Training

MAX_POINTS = 5000  # longer runs are thinned to every k-th iteration (the last one always kept)


def loss_curve(run: Trace) -> tuple[list[int], list[float]]:
    """(iterations, E_total) of one rate's run, at most about MAX_POINTS of them."""
    n = run.iterations
    stride = max(1, -(-n // MAX_POINTS))  # ceiling: at most MAX_POINTS + 1
    picked = list(range(0, n, stride))
    if picked[-1] != n - 1:
        picked.append(n - 1)
    e_total = run.column("E_total")
    return [k + 1 for k in picked], e_total[picked].tolist()


MAX_LEGEND = 12  # rates named in the all-rates plot's legend; beyond, it would cover the curves


def plot_path(directory: Path, basename: str, rate: float | None) -> Path:
    """<basename>_loss_lr_<rate>.png, or <basename>_loss_all.png when `rate` is None: two
    configurations with their own basenames can share a folder."""
    suffix = "loss_all" if rate is None else f"loss_lr_{format_rate(rate)}"
    return directory / f"{basename}_{suffix}.png"


def epoch_curve(training: Training, run: Trace) -> tuple[list[int], list[float]]:
    """(epochs, loss per epoch) of a data set's run: the mean or sum of E_total over each epoch."""
    from sheetgen.layout.training_book import epoch_losses

    losses = epoch_losses(training, run.column("E_total"))
    return list(range(1, len(losses) + 1)), losses


def plot_paths(training: Training, directory: Path) -> list[Path]:
    """The plots `write_plots` writes into `directory`, in order."""
    return [plot_path(directory, training.basename, rate) for rate in training.learning_rates] + \
        [plot_path(directory, training.basename, None)]


def write_plots(training: Training, runs: Mapping[float, Trace], directory: Path | None = None,
                titled: bool = True) -> list[Path]:
    """Write plots/<basename>_loss_lr_<rate>.png per rate and plots/<basename>_loss_all.png (in
    `directory` if given: the report puts them beside its pages, under its own captions, so
    untitled: `titled` False); returns their paths. A data set's plots show the loss per epoch."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from sheetgen.write.atomic import atomic_path

    spec = template()["chart"]
    directory = directory or training.output_dir / "plots"
    per_epoch = training.data is not None
    curves = {rate: epoch_curve(training, runs[rate]) if per_epoch else loss_curve(runs[rate])
              for rate in training.learning_rates}
    x_title = "epoch" if per_epoch else spec["x_title"]
    y_title = (f"{training.data.reduction} of E_total per epoch" if per_epoch else spec["y_title"])
    written = []

    def save(fig: Figure, target: Path) -> None:
        with atomic_path(target) as tmp:
            fig.savefig(tmp, format="png", dpi=100)
        written.append(target)

    for rate, (xs, ys) in curves.items():
        fig = Figure(figsize=(6, 3.6), layout="constrained")
        ax = fig.add_subplot()
        ax.plot(xs, ys, color="#4a7ebb", linewidth=2)
        if titled:
            ax.set_title(spec["title"].format(rate=format_rate(rate)))
        ax.set_xlabel(x_title)
        ax.set_ylabel(y_title)
        ax.grid(axis="y", color="#d9d9d9")
        if "lr" in runs[rate].names:  # a schedule: each step's rate on a second axis
            lr = runs[rate].column("lr")[[x - 1 for x in xs]].tolist()
            right = ax.twinx()
            right.plot(xs, lr, color="#be4b48", linewidth=1.5)
            right.set_ylabel("learning rate (lr)", color="#be4b48")
        save(fig, plot_path(directory, training.basename, rate))

    summary = template()["summary"]["chart"]
    fig = Figure(figsize=(7, 4.2), layout="constrained")
    ax = fig.add_subplot()
    for rate, (xs, ys) in curves.items():
        ax.plot(xs, ys, linewidth=2, label=f"lr={format_rate(rate)}")
    if titled:
        ax.set_title(summary["title"])
    ax.set_xlabel(x_title)
    ax.set_ylabel(y_title)
    ax.grid(axis="y", color="#d9d9d9")
    if len(curves) <= MAX_LEGEND:
        ax.legend(title="learning rate", loc="upper right", fontsize="small")
    else:  # a legend of hundreds of rates would cover the plot (the summary sheet names them)
        ax.set_title(f"{summary['title']} ({len(curves)} learning rates)")
    save(fig, plot_path(directory, training.basename, None))
    return written
