"""`gd`: plain gradient descent, w ← w − lr·g."""

from sheetgen.core.optimizers.base import Optimizer, register


@register
class GD(Optimizer):
    name = "gd"

    def rules(self):
        return [("w", "w - learning_rate * g")]
