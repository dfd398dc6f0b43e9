"""Writes the image-network examples' data: sheetgen/examples/conv-digits.csv and the samples of
sheetgen/examples/conv-edge.toml. Run it again to regenerate them (the files are checked in):

    python scripts/make_conv_examples.py            # conv-edge only: needs numpy
    python scripts/make_conv_examples.py --digits   # also conv-digits.csv: needs scikit-learn

The digits are the first of each class 0–9 of scikit-learn's `load_digits`, which is the test
set of the UCI "Optical Recognition of Handwritten Digits" data (optdigits, E. Alpaydin and
C. Kaynak, 1998): 8×8 images of 4×4-pixel counts, 0–16, scaled here to 0–1. scikit-learn is
used only here, once; sheetgen does not need it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

EXAMPLES = Path(__file__).resolve().parents[1] / "sheetgen" / "examples"
# A vertical-edge detector (Sobel's x kernel, as a cross-correlation: PyTorch's conv2d).
SOBEL_X = np.array([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]])


def edge_images() -> list[np.ndarray]:
    size = 6
    step = np.zeros((size, size))
    step[:, 3:] = 1
    bar = np.zeros((size, size))
    bar[:, 2] = 1
    horizontal = np.zeros((size, size))
    horizontal[3:, :] = 1
    square = np.zeros((size, size))
    square[1:5, 1:4] = 1
    diagonal = np.triu(np.ones((size, size)))
    # Two random 0/1 images: every pixel pattern, so that all nine kernel values are pinned down.
    rng = np.random.default_rng(0)
    noise = [rng.integers(0, 2, (size, size)).astype(float) for _ in range(2)]
    return [step, bar, horizontal, square, diagonal, *noise]


def correlate(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    k = len(kernel)
    n = len(image) - k + 1
    return np.array([[np.sum(image[i:i + k, j:j + k] * kernel) for j in range(n)] for i in range(n)])


def number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def rows(array: np.ndarray) -> str:
    return "[" + ", ".join("[" + ", ".join(number(v) for v in row) + "]" for row in array) + "]"


def edge_toml() -> str:
    samples = []
    for image in edge_images():
        target = correlate(image, SOBEL_X).ravel()
        samples.append(f"  {{ image = {rows(image)}, target = [{', '.join(number(v) for v in target)}] }},")
    return EDGE_TEMPLATE.replace("SAMPLES", "\n".join(samples))


EDGE_TEMPLATE = """\
# sheetgen experiment: one 3×3 kernel learns a vertical-edge detector.
# Seven 6×6 images (a vertical step, a bar, a horizontal step, a square, a diagonal and two
# random ones); each target is the image filtered by Sobel's vertical-edge kernel
# [[1, 0, -1], [2, 0, -2], [1, 0, -1]] (a 4×4 map, flattened). From a kernel drawn from the
# seed, gradient descent on the mean squared error turns k1 into that kernel (at lr 0.1 within
# 0.05 of it by step 150): watch k1_r1c1 … k1_r3c3 and the `maps` sheet.
# (scripts/make_conv_examples.py writes the samples.)
# Run it with:  sheetgen generate --config THIS_FILE

learning_rates = [0.02, 0.05, 0.1]
iterations = 150
basename = "Conv-edge"

[network]
layers = [
  { input = [1, 6, 6] },
  { conv2d = 1, kernel = 3 },          # k1_r1c1 … k1_r3c3; no activation
  "flatten",                           # the 4×4 map c1_1_1 … c1_4_4 is the output
]
loss = "mse"
biases = "none"
seed = 0

[data]
batch = "full"
samples = [
SAMPLES
]
"""


def digits_csv() -> str:
    from sklearn.datasets import load_digits

    digits = load_digits()
    lines = [",".join([f"i1_{r}_{c}" for r in range(1, 9) for c in range(1, 9)]
                      + [f"t{k}" for k in range(1, 11)])]
    for label in range(10):
        k = int(np.flatnonzero(digits.target == label)[0])
        pixels = digits.images[k].ravel() / 16
        target = np.eye(10)[label]
        lines.append(",".join([number(v) for v in pixels] + [number(v) for v in target]))
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--digits", action="store_true", help="also write conv-digits.csv (scikit-learn)")
    args = parser.parse_args()
    (EXAMPLES / "conv-edge.toml").write_text(edge_toml(), "utf-8")
    if args.digits:
        (EXAMPLES / "conv-digits.csv").write_text(digits_csv(), "utf-8")


if __name__ == "__main__":
    main()
