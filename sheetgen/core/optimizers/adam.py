"""`adam`: torch.optim.Adam. m ← β1·m + (1 − β1)·g; s ← β2·s + (1 − β2)·g² (amsgrad: smax ←
max(smax, s), read in its place); w ← w − lr·m̂ / (√ŝ + ε), with m̂ = m / (1 − β1ᵗ) and
ŝ = s / (1 − β2ᵗ) (t the step), or m̂ = m, ŝ = s without bias correction (the course form)."""

from sheetgen.core.optimizers.base import BETA1, BETA2, EPSILON, Optimizer, register


@register
class Adam(Optimizer):
    name = "adam"
    hypers = (BETA1, BETA2, EPSILON)

    @property
    def states(self):
        return ("m", "s") + (("smax",) if self.spec.amsgrad else ())

    def rules(self):
        rules = [("m", "beta1 * m + (1 - beta1) * g"), ("s", "beta2 * s + (1 - beta2) * g ** 2")]
        if self.spec.amsgrad:
            rules.append(("smax", "max(smax, cur(s))"))
        start = "w * (1 - learning_rate * weight_decay)" if self.decoupled and self.weight_decay else "w"
        return rules + [("w", f"{start} - learning_rate * m_hat / (sqrt(s_hat){self.eps})")]

    def definitions(self):
        second = "cur(smax)" if self.spec.amsgrad else "cur(s)"
        if self.spec.bias_correction:
            return [("m_hat", "cur(m) / (1 - beta1 ** iteration)"),
                    ("s_hat", f"{second} / (1 - beta2 ** iteration)")]
        return [("m_hat", "cur(m)"), ("s_hat", second)]

    def definitions_note(self) -> str:
        return ", t the step" if self.spec.bias_correction else " (no bias correction)"

    def describe_more(self) -> list[str]:
        return (["amsgrad"] if self.spec.amsgrad else []) + [
            "bias correction" if self.spec.bias_correction else "no bias correction"]
