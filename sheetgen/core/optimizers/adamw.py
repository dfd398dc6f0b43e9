"""`adamw`: torch.optim.AdamW, adam with decoupled weight decay: w ← w·(1 − lr·λ) − lr·m̂ / (√ŝ + ε),
λ = weight_decay (default 0.01, as torch)."""

from sheetgen.core.optimizers.adam import Adam
from sheetgen.core.optimizers.base import register


@register
class AdamW(Adam):
    name = "adamw"
    decoupled = True

    @property
    def weight_decay(self) -> float:
        return self.spec.weight_decay if self.spec.weight_decay is not None else 0.01
