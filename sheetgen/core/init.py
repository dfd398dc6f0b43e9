"""Initial weights and biases drawn from a seed, free of any machine-learning library.

``glorot``: Python's `random.Random(seed)`, weights and biases from U(±√(6 / (fan_in + fan_out))),
layer by layer in name order (sheetgen's own draw).

``torch``: the numbers of ``torch.manual_seed(seed)`` followed by one ``nn.Linear(fan_in, fan_out)``
per layer, in order. PyTorch's CPU generator is the 32-bit Mersenne Twister seeded with
init_genrand(seed mod 2³²) (Python's `random` runs the same engine once its state is set so).
``nn.Linear.reset_parameters`` fills the weight (out × in, row by row) with
``kaiming_uniform_(a=√5)``, a bound of √3 · √(2 / (1 + a²)) / √fan_in, then the bias with
U(±1/√fan_in). ``uniform_`` turns the engine's output into a number as torch's
``uniform_real_distribution`` does: in float32 (torch's default dtype) one 32-bit draw, its low 24
bits · 2⁻²⁴, times (to − from) plus from, with from and to rounded to float32 and the result
rounded once (a fused multiply-add); in float64 two draws make one 64-bit word (first draw high),
its low 53 bits · 2⁻⁵³, the same fused arithmetic in float64. (Checked against torch 2.13 in
tests/core/test_init.py when torch is installed.)

Every value is drawn whether the config gives it or not, so a given value shifts no other draw.
"""

from __future__ import annotations

import math
import random

import numpy as np

INITS = ("glorot", "torch", "zeros")
BIAS_INITS = ("same", "zeros")
DTYPES = ("float32", "float64")


class TorchGenerator:
    """torch's CPU generator after ``torch.manual_seed(seed)``: its uniform_ draws."""

    def __init__(self, seed: int) -> None:
        state = [seed & 0xFFFFFFFF]
        for j in range(1, 624):
            previous = state[-1]
            state.append((1812433253 * (previous ^ (previous >> 30)) + j) & 0xFFFFFFFF)
        self._engine = random.Random()
        self._engine.setstate((3, (*state, 624), None))   # 624: the next draw refills the state

    def random32(self) -> int:
        return self._engine.getrandbits(32)

    def random64(self) -> int:
        high = self.random32()
        return (high << 32) | self.random32()

    def uniform(self, count: int, low: float, high: float, dtype: str = "float32") -> list[float]:
        """`count` draws of ``tensor.uniform_(low, high)`` in torch's `dtype`, as Python floats."""
        if dtype == "float64":
            return [_fma(self.random64() & ((1 << 53) - 1), 53, high - low, low, "float64")
                    for _ in range(count)]
        lo, hi = np.float32(low), np.float32(high)
        width = float(hi - lo)
        return [_fma(self.random32() & ((1 << 24) - 1), 24, width, float(lo), "float32")
                for _ in range(count)]


def _fma(bits: int, digits: int, width: float, low: float, dtype: str) -> float:
    """bits · 2^-digits · width + low, rounded once to `dtype` (torch's CPU build fuses the
    multiply and the add), in integers: every float is an integer over a power of two."""
    wn, wd = width.as_integer_ratio()
    ln, ld = low.as_integer_ratio()
    num = bits * wn * ld + (ln * wd << digits)
    den = wd * ld << digits
    if dtype == "float64":
        return num / den   # int / int rounds correctly
    return _round(num, den, 24)


def _round(num: int, den: int, mantissa: int) -> float:
    """num / den rounded to the nearest float of `mantissa` bits, ties to even (normal range)."""
    if num == 0:
        return 0.0
    sign, num = (-1.0 if num < 0 else 1.0), abs(num)
    shift = mantissa - (num.bit_length() - den.bit_length())
    q, r = divmod(num << shift if shift >= 0 else num, den if shift >= 0 else den << -shift)
    if q >= 1 << mantissa:   # one bit too many: the estimate of the exponent was one low
        shift -= 1
        q, r = divmod(num << shift if shift >= 0 else num, den if shift >= 0 else den << -shift)
    elif q < 1 << (mantissa - 1):
        shift += 1
        q, r = divmod(num << shift if shift >= 0 else num, den if shift >= 0 else den << -shift)
    divisor = den << -shift if shift < 0 else den
    if 2 * r > divisor or (2 * r == divisor and q & 1):
        q += 1
    return sign * math.ldexp(q, -shift)


def kaiming_bound(fan_in: int) -> float:
    """``kaiming_uniform_(a=√5)``'s bound, computed as torch.nn.init computes it."""
    gain = math.sqrt(2.0 / (1 + math.sqrt(5) ** 2))
    return math.sqrt(3.0) * (gain / math.sqrt(fan_in))


def torch_linear(layers: tuple[int, ...], seed: int, bias: bool = True,
                 dtype: str = "float32") -> list[tuple[list[list[float]], list[float]]]:
    """Per layer, the weight (rows: neurons, columns: inputs) and bias of ``nn.Linear`` after
    ``torch.manual_seed(seed)``; no bias draws with ``bias=False``."""
    generator = TorchGenerator(seed)
    out = []
    for fan_in, fan_out in zip(layers[:-1], layers[1:], strict=True):
        bound = kaiming_bound(fan_in)
        flat = generator.uniform(fan_in * fan_out, -bound, bound, dtype)
        weight = [flat[j * fan_in:(j + 1) * fan_in] for j in range(fan_out)]
        b = 1 / math.sqrt(fan_in)
        out.append((weight, generator.uniform(fan_out, -b, b, dtype) if bias else []))
    return out


def draw(layers, seed: int, init: str = "glorot", bias_init: str = "same",
         dtype: str = "float32") -> dict[str, float]:
    """Initial values by name, from each layer's declared parameters (`layer.parameters()`: its
    weights in order, neuron by neuron, then its biases; a bias a layer shares is drawn as its
    first neuron's)."""
    values: dict[str, float] = {}
    if init == "torch":
        generator = TorchGenerator(seed)
        for layer in layers:
            params = layer.parameters()
            weights = [p for p in params if p.block == "weights"]
            biases = [p for p in params if p.block == "biases"]
            fan_in, fan_out = params[0].fan_in, params[0].fan_out
            bound = kaiming_bound(fan_in)
            values.update(zip((p.name for p in weights),
                              generator.uniform(len(weights), -bound, bound, dtype), strict=True))
            if biases:
                b = 1 / math.sqrt(fan_in)
                values.update(zip((p.name for p in biases), generator.uniform(fan_out, -b, b, dtype),
                                  strict=False))
    elif init == "glorot":
        rng = random.Random(seed)
        for layer in layers:
            for p in layer.parameters():
                limit = math.sqrt(6 / (p.fan_in + p.fan_out))
                values[p.name] = rng.uniform(-limit, limit)
    else:  # zeros
        values = {p.name: 0.0 for layer in layers for p in layer.parameters()}
    if bias_init == "zeros":
        values.update({p.name: 0.0 for layer in layers for p in layer.parameters()
                       if p.block == "biases"})
    return values
