"""The PNG loss plots written beside the workbooks, and `--no-plots`."""

from __future__ import annotations

import subprocess
import sys

from PIL import Image

from sheetgen.cli import main
from sheetgen.config import DEFAULT_ITERATIONS, DEFAULT_LEARNING_RATES, Config
from sheetgen.core.template import format_rate
from sheetgen.layout.assemble import traces
from sheetgen.write.plots import loss_curve, write_plots

NAMES = [f"BackPropagation_loss_lr_{format_rate(r)}.png" for r in DEFAULT_LEARNING_RATES] \
    + ["BackPropagation_loss_all.png"]


def test_generate_writes_one_plot_per_rate_and_a_combined_one(default_books):
    plots = default_books["xlsx"].parent / "plots"
    assert sorted(p.name for p in plots.iterdir()) == sorted(NAMES)
    pixels = {}
    for name in NAMES:
        with Image.open(plots / name) as image:
            assert image.format == "PNG"
            assert 400 <= image.size[0] <= 2000 and 250 <= image.size[1] <= 1500, image.size
            pixels[name] = image.convert("RGB").tobytes()
    assert len(set(pixels.values())) == len(NAMES)  # every rate's picture differs


def test_loss_curve_is_the_models_falling_e_total():
    xs, ys = loss_curve(traces(Config().training())[0.8])
    assert xs == list(range(1, DEFAULT_ITERATIONS + 1))
    assert abs(ys[0] - 0.2425198573) < 1e-10 and abs(ys[-1] - 0.0915726) < 1e-7
    assert all(a > b for a, b in zip(ys, ys[1:], strict=False))


def test_long_runs_are_thinned_but_keep_the_last_iteration():
    xs, ys = loss_curve(traces(Config(learning_rates=(0.5,), iterations=12_345).training())[0.5])
    assert len(xs) <= 5000 + 1 and xs[0] == 1 and xs[-1] == 12_345
    assert len(xs) == len(ys)


def test_no_plots_writes_none(tmp_path, capsys):
    assert main(["generate", "--output-dir", str(tmp_path), "--no-plots", "--format", "ods",
                 "--learning-rates", "0.5", "--iterations", "3"]) == 0
    assert not (tmp_path / "plots").exists()
    assert "png" not in capsys.readouterr().out


def test_no_plots_run_does_not_import_matplotlib(tmp_path):
    code = ("import sys; from sheetgen.cli import main; "
            f"main(['generate', '--output-dir', {str(tmp_path)!r}, '--no-plots', '--iterations', '2']); "
            "print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False"


def test_plot_names_carry_the_basename_so_two_configurations_share_a_folder(tmp_path):
    for basename in ("first", "second"):
        config = Config(learning_rates=(0.5,), iterations=3, output_dir=tmp_path, basename=basename)
        write_plots(config.training(), traces(config.training()))
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == [
        "first_loss_all.png", "first_loss_lr_0.5.png", "second_loss_all.png", "second_loss_lr_0.5.png"]


def test_many_rates_plot_without_a_warning_or_a_legend_over_the_curves(tmp_path):
    import warnings

    from sheetgen.write.plots import MAX_LEGEND

    config = Config(learning_rates=tuple(k / 100 for k in range(1, 41)), iterations=3, output_dir=tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a matplotlib warning fails the test
        paths = write_plots(config.training(), traces(config.training()))
    assert len(paths) == 41 and len(config.learning_rates) > MAX_LEGEND
