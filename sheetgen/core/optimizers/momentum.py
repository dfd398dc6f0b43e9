"""`momentum`: an exponential average of the gradients, v ← β·v + (1 − β)·g, then w ← w − lr·v."""

from sheetgen.core.optimizers.base import BETA, Optimizer, register


@register
class Momentum(Optimizer):
    name = "momentum"
    hypers = (BETA,)
    states = ("v",)

    def rules(self):
        return [("v", "beta * v + (1 - beta) * g"), ("w", "w - learning_rate * cur(v)")]
