"""The 2-2-2 network written out by hand, apart from sheetgen's template and expressions, so
that the report's numbers are checked against a second, independent computation."""

from __future__ import annotations

import math


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def step(s: dict[str, float], lr: float, errata: bool, biases: str) -> tuple[dict, dict]:
    """One iteration: every quantity of the row, and the next row's weights (and biases)."""
    i1, i2, t1, t2 = s["i1"], s["i2"], s["t1"], s["t2"]
    b1 = s["b1"] if biases != "none" else 0.0
    b2 = s["b2"] if biases != "none" else 0.0
    r = dict(s)
    r["h1"] = s["w1"] * i1 + s["w2"] * i2 + b1
    r["h2"] = s["w3"] * i1 + s["w4"] * i2 + b1
    r["a_h1"], r["a_h2"] = sigmoid(r["h1"]), sigmoid(r["h2"])
    r["o1"] = s["w5"] * r["a_h1"] + s["w6"] * r["a_h2"] + b2
    r["o2"] = s["w7"] * r["a_h1"] + s["w8"] * r["a_h2"] + b2
    r["a_o1"], r["a_o2"] = sigmoid(r["o1"]), sigmoid(r["o2"])
    r["E1"] = 0.5 * (t1 - r["a_o1"]) ** 2
    r["E2"] = 0.5 * (t2 - r["a_o2"]) ** 2
    r["E_total"] = r["E1"] + r["E2"]
    a_h1, a_h2, a_o1, a_o2 = r["a_h1"], r["a_h2"], r["a_o1"], r["a_o2"]
    delta_o1 = (a_o1 - t1) * a_o1 * (1 - a_o1)
    delta_o2 = (a_o2 - t2) * a_o2 * (1 - a_o2)
    # The original sheet's two mistakes: i1 for t1 (w5, w6), a_h1 for a_h2 (w3, w4).
    wrong_o1 = (a_o1 - i1) * a_o1 * (1 - a_o1) if errata else delta_o1
    back_h1 = delta_o1 * s["w5"] + delta_o2 * s["w7"]
    back_h2 = delta_o1 * s["w6"] + delta_o2 * s["w8"]
    slope_h2 = a_h1 * (1 - a_h1) if errata else a_h2 * (1 - a_h2)
    r["dE_dw1"] = back_h1 * a_h1 * (1 - a_h1) * i1
    r["dE_dw2"] = back_h1 * a_h1 * (1 - a_h1) * i2
    r["dE_dw3"] = back_h2 * slope_h2 * i1
    r["dE_dw4"] = back_h2 * slope_h2 * i2
    r["dE_dw5"] = wrong_o1 * a_h1
    r["dE_dw6"] = wrong_o1 * a_h2
    r["dE_dw7"] = delta_o2 * a_h1
    r["dE_dw8"] = delta_o2 * a_h2
    trained = [f"w{k}" for k in range(1, 9)]
    if biases == "trained":
        r["dE_db1"] = back_h1 * a_h1 * (1 - a_h1) + back_h2 * a_h2 * (1 - a_h2)
        r["dE_db2"] = delta_o1 + delta_o2
        trained += ["b1", "b2"]
    nxt = dict(s)
    for name in trained:
        nxt[name] = s[name] - lr * r[f"dE_d{name}"]
    return r, nxt


def run(setup: dict[str, float], lr: float, iterations: int, errata: bool = False,
        biases: str = "none") -> list[dict[str, float]]:
    """Rows of one learning rate; each row also holds `next_<name>`, the next weights."""
    rows = []
    state = dict(setup)
    for _ in range(iterations):
        row, state = step(state, lr, errata, biases)
        row.update({f"next_{k}": v for k, v in state.items()})
        rows.append(row)
    return rows
