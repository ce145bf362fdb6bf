"""Built-in losses. Each takes the network's prediction ŷ (N, K) and the target y (N, K) and
reduces the per-entry losses ℓ as PyTorch does:

    reduction "mean":  L = (1 / (N·K)) Σ ℓ        reduction "sum":  L = Σ ℓ

``backward`` returns dL/dŷ, the array that starts the chain rule.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from engine import hookimpl
from engine.components import ComponentConfig, Loss


class ReducedLossConfig(ComponentConfig):
    reduction: Literal["mean", "sum"] = Field(
        "mean", description="How entries are combined: mean (PyTorch's default) or sum."
    )


class ReducedLoss(Loss):
    """Shared reduction: ``reduce(ℓ)`` and the matching factor for the gradient."""

    def reduce(self, per_entry: np.ndarray) -> float:
        total = float(per_entry.sum())
        return total / per_entry.size if self.config.reduction == "mean" else total

    def reduction_factor(self, size: int) -> float:
        return 1.0 / size if self.config.reduction == "mean" else 1.0


class MseConfig(ReducedLossConfig):
    type: Literal["mse"] = "mse"
    scale: float = Field(
        1.0,
        gt=0,
        description="Multiplies the loss; 0.5 gives the textbook "
        "E = ½ Σ (y - ŷ)² with reduction sum.",
    )


class Mse(ReducedLoss):
    """Mean squared error: ℓ = scale·(ŷ - y)²;  dL/dŷ = 2·scale·(ŷ - y) (/ N·K for mean)."""

    formula = "L = scale · reduce((ŷ - y)²)"

    def forward(self, prediction, target):
        diff = prediction - target
        self.cache = {"diff": diff}
        return self.config.scale * self.reduce(diff * diff)

    def backward(self):
        diff = self.cache["diff"]
        return (2.0 * self.config.scale * self.reduction_factor(diff.size)) * diff


class BceConfig(ReducedLossConfig):
    type: Literal["bce"] = "bce"
    eps: float = Field(
        1e-12,
        gt=0,
        lt=0.5,
        description="Probabilities are clipped to [eps, 1 - eps] so log never sees 0.",
    )


class Bce(ReducedLoss):
    """Binary cross-entropy on probabilities p = ŷ (clipped to [eps, 1 - eps]):

    ℓ = -[y log p + (1 - y) log(1 - p)];   dL/dp = (p - y) / (p (1 - p))  (· reduction)
    """

    formula = "L = -reduce(y·log ŷ + (1 - y)·log(1 - ŷ))"

    def forward(self, prediction, target):
        p = np.clip(prediction, self.config.eps, 1.0 - self.config.eps)
        self.cache = {"p": p, "y": target}
        return self.reduce(-(target * np.log(p) + (1.0 - target) * np.log1p(-p)))

    def backward(self):
        p, y = self.cache["p"], self.cache["y"]
        return self.reduction_factor(p.size) * (p - y) / (p * (1.0 - p))


class BceWithLogitsConfig(ReducedLossConfig):
    type: Literal["bce_with_logits"] = "bce_with_logits"


class BceWithLogits(ReducedLoss):
    """Binary cross-entropy on logits z = ŷ (sigmoid folded in, numerically stable):

    ℓ = max(z, 0) - z·y + log(1 + e^(-|z|));   dL/dz = σ(z) - y  (· reduction)
    """

    formula = "L = reduce(max(z, 0) - z·y + log(1 + e^(-|z|)))"
    threshold = 0.0  # a logit of 0 is a probability of ½

    def forward(self, prediction, target):
        z = prediction
        self.cache = {"z": z, "y": target}
        return self.reduce(np.maximum(z, 0.0) - z * target + np.log1p(np.exp(-np.abs(z))))

    def backward(self):
        z, y = self.cache["z"], self.cache["y"]
        e = np.exp(-np.abs(z))
        sigmoid = np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
        return self.reduction_factor(z.size) * (sigmoid - y)


@hookimpl
def tracegrad_register_losses(register):
    register("mse", Mse, MseConfig)
    register("bce", Bce, BceConfig)
    register("bce_with_logits", BceWithLogits, BceWithLogitsConfig)
