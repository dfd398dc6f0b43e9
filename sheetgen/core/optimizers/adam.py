"""`adam`: m ← β1·m + (1 − β1)·g; s ← β2·s + (1 − β2)·g²; w ← w − lr·m̂ / (√ŝ + ε), with
m̂ = m / (1 − β1ᵗ) and ŝ = s / (1 − β2ᵗ) (t the step), or m̂ = m, ŝ = s without bias correction."""

from sheetgen.core.optimizers.base import BETA1, BETA2, EPSILON, Optimizer, register


@register
class Adam(Optimizer):
    name = "adam"
    hypers = (BETA1, BETA2, EPSILON)
    states = ("m", "s")

    def rules(self):
        return [("m", "beta1 * m + (1 - beta1) * g"), ("s", "beta2 * s + (1 - beta2) * g ** 2"),
                ("w", f"w - learning_rate * m_hat / (sqrt(s_hat){self.eps})")]

    def definitions(self):
        if self.spec.bias_correction:
            return [("m_hat", "cur(m) / (1 - beta1 ** iteration)"),
                    ("s_hat", "cur(s) / (1 - beta2 ** iteration)")]
        return [("m_hat", "cur(m)"), ("s_hat", "cur(s)")]

    def definitions_note(self) -> str:
        return ", t the step" if self.spec.bias_correction else " (no bias correction)"

    def describe_more(self) -> list[str]:
        return ["bias correction" if self.spec.bias_correction else "no bias correction"]
