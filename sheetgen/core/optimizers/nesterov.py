"""`nesterov`: momentum that looks ahead, as PyTorch's SGD(momentum=β, nesterov=True) computes it:
v ← β·v + g, then w ← w − lr·(g + β·v) with the new v."""

from sheetgen.core.optimizers.base import BETA, Optimizer, register


@register
class Nesterov(Optimizer):
    name = "nesterov"
    hypers = (BETA,)
    states = ("v",)

    def rules(self):
        return [("v", "beta * v + g"), ("w", "w - learning_rate * (g + beta * cur(v))")]
