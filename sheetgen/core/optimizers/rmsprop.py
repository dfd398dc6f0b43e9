"""`rmsprop`: torch.optim.RMSprop. s ← α·s + (1 − α)·g²; centered: m ← α·m + (1 − α)·g and
D = √(s − m²) + ε, else D = √s + ε; with momentum μ: v ← μ·v + g / D, w ← w − lr·v; without:
w ← w − lr·g / D."""

from sheetgen.core.optimizers.base import ALPHA, EPSILON, MOMENTUM, Optimizer, register


@register
class RMSprop(Optimizer):
    name = "rmsprop"

    @property
    def hypers(self):
        return (ALPHA, EPSILON) + ((MOMENTUM,) if self.spec.momentum else ())

    @property
    def states(self):
        return ("s",) + (("m",) if self.spec.centered else ()) + (("v",) if self.spec.momentum else ())

    def rules(self):
        rules = [("s", "alpha * s + (1 - alpha) * g ** 2")]
        if self.spec.centered:
            rules.append(("m", "alpha * m + (1 - alpha) * g"))
        if self.spec.momentum:
            return rules + [("v", "momentum * v + g / denominator"), ("w", "w - learning_rate * cur(v)")]
        if not self.spec.centered:  # the plain form, as courses write it
            return rules + [("w", f"w - learning_rate * g / (sqrt(cur(s)){self.eps})")]
        return rules + [("w", "w - learning_rate * g / denominator")]

    def definitions(self):
        if not self.spec.centered and not self.spec.momentum:
            return []
        root = "sqrt(cur(s) - cur(m) ** 2)" if self.spec.centered else "sqrt(cur(s))"
        return [("denominator", f"{root}{self.eps}")]

    def describe_more(self):
        return ["centered"] if self.spec.centered else []
