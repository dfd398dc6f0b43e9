"""`rmsprop`: s ← β·s + (1 − β)·g², then w ← w − lr·g / (√s + ε)."""

from sheetgen.core.optimizers.base import BETA, EPSILON, Optimizer, register


@register
class RMSprop(Optimizer):
    name = "rmsprop"
    hypers = (BETA, EPSILON)
    states = ("s",)

    def rules(self):
        return [("s", "beta * s + (1 - beta) * g ** 2"),
                ("w", f"w - learning_rate * g / (sqrt(cur(s)){self.eps})")]
