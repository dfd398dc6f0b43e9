"""`sgd`: torch.optim.SGD. With momentum μ its buffer is a plain sum whose first step stores g
undamped: v ← μ·v + (1 − d)·g (step 1: v ← g), then w ← w − lr·v, or w ← w − lr·(g + μ·v) with
nesterov; without momentum w ← w − lr·g."""

from sheetgen.core.optimizers.base import DAMPENING, MOMENTUM, Optimizer, register
from sheetgen.errors import ConfigError


@register
class SGD(Optimizer):
    name = "sgd"

    @property
    def hypers(self):
        if not self.spec.momentum:
            return ()
        return (MOMENTUM,) + ((DAMPENING,) if self.spec.dampening else ())

    @property
    def states(self):
        return ("v",) if self.spec.momentum else ()

    def rules(self):
        if not self.spec.momentum:
            return [("w", "w - learning_rate * g")]
        if self.spec.dampening:  # torch's first step: the buffer is g itself
            v = "if_positive(iteration - 1, momentum * v + (1 - dampening) * g, g)"
        else:
            v = "momentum * v + g"
        step = "(g + momentum * cur(v))" if self.spec.nesterov else "cur(v)"
        return [("v", v), ("w", f"w - learning_rate * {step}")]

    def describe_more(self):
        return ["nesterov"] if self.spec.nesterov else []

    def check(self, parameters):
        super().check(parameters)
        if self.spec.nesterov and (self.spec.momentum <= 0 or self.spec.dampening != 0):
            raise ConfigError("optimizer.nesterov: needs momentum > 0 and dampening = 0 (as torch)")
