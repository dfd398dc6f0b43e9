"""Each optimizer's update in plain Python, one parameter at a time, independent of sheetgen's
rules: the numpy references of tests/core/test_optim.py and tests/core/test_conv.py share it."""

from __future__ import annotations

import math


def step(opt, state, names, params, grads, lr, t):
    name, eps = opt["name"], opt.get("epsilon", 0.0)
    out = []
    for p, w, g in zip(names, params, grads, strict=True):
        if name == "gd":
            w = w - lr * g
        elif name == "momentum":
            state["v"][p] = opt["beta"] * state["v"][p] + (1 - opt["beta"]) * g
            w = w - lr * state["v"][p]
        elif name == "nesterov":  # torch.optim.SGD(momentum=β, nesterov=True)
            state["v"][p] = opt["beta"] * state["v"][p] + g
            w = w - lr * (g + opt["beta"] * state["v"][p])
        elif name == "rmsprop":
            state["s"][p] = opt["beta"] * state["s"][p] + (1 - opt["beta"]) * g ** 2
            w = w - lr * g / (math.sqrt(state["s"][p]) + eps)
        else:
            b1, b2 = opt["beta1"], opt["beta2"]
            state["m"][p] = b1 * state["m"][p] + (1 - b1) * g
            state["s"][p] = b2 * state["s"][p] + (1 - b2) * g ** 2
            m_hat, s_hat = state["m"][p], state["s"][p]
            if opt.get("bias_correction", True):
                m_hat, s_hat = m_hat / (1 - b1 ** t), s_hat / (1 - b2 ** t)
            w = w - lr * m_hat / (math.sqrt(s_hat) + eps)
        out.append(w)
    return out
