"""Built-in losses, simplest first.

Each takes the network's prediction ŷ (N, K) and the target y (N, K) and reduces the
per-entry losses ℓ as PyTorch does:

    reduction "mean":  L = (1 / (N·K)) Σ ℓ        reduction "sum":  L = Σ ℓ

``cross_entropy`` has one ℓ per sample (a sum over the K classes), so its mean is over the N
samples. ``backward`` returns dL/dŷ, the array that starts the chain rule; when a loss is
fused with the last layer's activation (softmax + cross_entropy) it returns dL/dz instead.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from engine import hookimpl
from engine.components import ComponentConfig, Loss, TargetError
from engine.i18n import _
from plugins.activations import Softmax, sigmoid

#: The smallest positive float64: log(TINY) ≈ -708 stands in for log(0).
TINY = np.finfo(np.float64).tiny
#: ... and of float32 (``precision: float32``): log ≈ -87.
TINY_FLOAT32 = np.finfo(np.float32).tiny


class ReducedLossConfig(ComponentConfig):
    reduction: Literal["mean", "sum"] = Field(
        "mean",
        description="How the per-entry losses are combined into one number: mean (the "
        "average, PyTorch's default) or sum (the total).",
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
    """Mean squared error (torch.nn.MSELoss), shapes ŷ, y: (N, K):

    ℓ = scale·(ŷ - y)²;   dL/dŷ = 2·scale·(ŷ - y)  (/ N·K for mean)
    """

    formula = "L = scale · reduce((ŷ - y)²)"

    def forward(self, prediction, target):
        diff = prediction - target
        self.cache = {"diff": diff}
        return self.config.scale * self.reduce(diff * diff)

    def backward(self):
        diff = self.cache["diff"]
        return (2.0 * self.config.scale * self.reduction_factor(diff.size)) * diff


class MaeConfig(ReducedLossConfig):
    type: Literal["mae"] = "mae"


class Mae(ReducedLoss):
    """Mean absolute error (torch.nn.L1Loss), shapes ŷ, y: (N, K):

    ℓ = |ŷ - y|;   dL/dŷ = sign(ŷ - y)  (/ N·K for mean; 0 where ŷ = y, as PyTorch)
    """

    formula = "L = reduce(|ŷ - y|)"

    def forward(self, prediction, target):
        diff = prediction - target
        self.cache = {"diff": diff}
        return self.reduce(np.abs(diff))

    def backward(self):
        diff = self.cache["diff"]
        return self.reduction_factor(diff.size) * np.sign(diff)


class HuberConfig(ReducedLossConfig):
    type: Literal["huber"] = "huber"
    delta: float = Field(
        1.0,
        gt=0,
        description="δ: errors smaller than δ are squared (like mse), larger ones count "
        "linearly (like mae), so outliers pull less. PyTorch's default: 1.0.",
    )


class Huber(ReducedLoss):
    """Huber loss (torch.nn.HuberLoss), with d = ŷ - y, shapes (N, K):

    ℓ = ½ d²             if |d| < δ
        δ (|d| - ½ δ)    otherwise
    dL/dŷ = d if |d| < δ else δ·sign(d)   (/ N·K for mean)
    """

    formula = "L = reduce(½d² if |d| < δ else δ(|d| - ½δ)),  d = ŷ - y"

    def forward(self, prediction, target):
        delta = self.config.delta
        diff = prediction - target
        size = np.abs(diff)
        self.cache = {"diff": diff}
        return self.reduce(np.where(size < delta, 0.5 * diff * diff, delta * (size - 0.5 * delta)))

    def backward(self):
        diff, delta = self.cache["diff"], self.config.delta
        return self.reduction_factor(diff.size) * np.clip(diff, -delta, delta)


def check_probabilities(loss: str, target: np.ndarray) -> None:
    """Targets of a binary cross-entropy are probabilities: 0/1 labels or values in [0, 1]."""
    bad = target[~((target >= 0.0) & (target <= 1.0))]
    if bad.size:
        raise TargetError(
            _(
                "{loss} needs targets in [0, 1] (0/1 labels or probabilities), found {bad:g}; for "
                "class indices 0..K-1 use cross_entropy with one output per class"
            ).format(loss=loss, bad=bad[0])
        )


class BceConfig(ReducedLossConfig):
    type: Literal["bce"] = "bce"
    eps: float = Field(
        1e-12,
        gt=0,
        lt=0.5,
        description="Probabilities are clipped to [eps, 1 - eps] so log never sees 0.",
    )


class Bce(ReducedLoss):
    """Binary cross-entropy (torch.nn.BCELoss) on probabilities p = ŷ (clipped to
    [eps, 1 - eps]), shapes (N, K), y in [0, 1]:

    ℓ = -[y log p + (1 - y) log(1 - p)];   dL/dp = (p - y) / (p (1 - p))  (· reduction)

    In float32 (``precision: float32``) eps is at least 2⁻²⁴ ≈ 6e-8, so 1 - eps < 1 there too.
    """

    formula = "L = -reduce(y·log ŷ + (1 - y)·log(1 - ŷ))"

    def prepare_target(self, target, out_features):
        target = super().prepare_target(target, out_features)
        check_probabilities("bce", target)
        return target

    def forward(self, prediction, target):
        eps = self.config.eps
        if prediction.dtype == np.float32:
            eps = max(eps, float(np.finfo(np.float32).epsneg))
        p = np.clip(prediction, eps, 1.0 - eps)
        self.cache = {"p": p, "y": target}
        return self.reduce(-(target * np.log(p) + (1.0 - target) * np.log1p(-p)))

    def backward(self):
        p, y = self.cache["p"], self.cache["y"]
        return self.reduction_factor(p.size) * (p - y) / (p * (1.0 - p))


class BceWithLogitsConfig(ReducedLossConfig):
    type: Literal["bce_with_logits"] = "bce_with_logits"


class BceWithLogits(ReducedLoss):
    """Binary cross-entropy (torch.nn.BCEWithLogitsLoss) on logits z = ŷ (sigmoid folded in,
    numerically stable), shapes (N, K), y in [0, 1]:

    ℓ = max(z, 0) - z·y + log(1 + e^(-|z|));   dL/dz = σ(z) - y  (· reduction)
    """

    formula = "L = reduce(max(z, 0) - z·y + log(1 + e^(-|z|)))"
    threshold = 0.0  # a logit of 0 is a probability of ½

    def prepare_target(self, target, out_features):
        target = super().prepare_target(target, out_features)
        check_probabilities("bce_with_logits", target)
        return target

    def forward(self, prediction, target):
        z = prediction
        self.cache = {"z": z, "y": target}
        return self.reduce(np.maximum(z, 0.0) - z * target + np.log1p(np.exp(-np.abs(z))))

    def backward(self):
        z, y = self.cache["z"], self.cache["y"]
        return self.reduction_factor(z.size) * (sigmoid(z) - y)


class HingeConfig(ReducedLossConfig):
    type: Literal["hinge"] = "hinge"
    margin: float = Field(
        1.0,
        gt=0,
        description="m: a sample costs nothing once its score is on the right side of 0 by "
        "at least m (t·ŷ >= m); closer or wrong, it costs m - t·ŷ.",
    )


class Hinge(ReducedLoss):
    """Hinge loss of a linear classifier (the SVM loss), shapes ŷ, y: (N, K), usually K = 1.

    Labels y are 0/1 or -1/+1; t = 2y - 1 for 0/1 labels (0 → -1, 1 → +1), t = y otherwise:

    ℓ = max(0, m - t·ŷ);   dL/dŷ = -t where m - t·ŷ > 0, else 0  (· reduction)

    A score ŷ >= 0 is class 1 (threshold 0); ``classify`` answers in the data's own labels
    (0/1, or -1/+1 when the targets held -1).
    """

    formula = "L = reduce(max(0, m - t·ŷ)),  t = 2y - 1 ∈ {-1, +1}"
    threshold = 0.0

    def __init__(self, config):
        super().__init__(config)
        self.negative_label = 0

    def prepare_target(self, target, out_features):
        target = super().prepare_target(target, out_features)
        bad = target[~np.isin(target, (-1.0, 0.0, 1.0))]
        if bad.size:
            raise TargetError(
                _(
                    "hinge needs labels 0/1 or -1/+1, found {bad:g}; for class indices of more "
                    "than two classes use cross_entropy"
                ).format(bad=bad[0])
            )
        if np.any(target == -1.0):
            self.negative_label = -1
        elif np.any(target == 0.0):
            self.negative_label = 0
        return np.where(target == 0.0, -1.0, target)

    def forward(self, prediction, target):
        t = np.where(target == 0.0, -1.0, target)  # 0/1 labels → -1/+1; -1/+1 unchanged
        gap = self.config.margin - t * prediction
        self.cache = {"t": t, "active": gap > 0}
        return self.reduce(np.maximum(gap, 0.0))

    def backward(self):
        t, active = self.cache["t"], self.cache["active"]
        return self.reduction_factor(t.size) * np.where(active, -t, 0.0)

    def classify(self, prediction):
        predicted = super().classify(prediction)
        if prediction.shape[1] == 1 and self.negative_label == -1:
            return np.where(predicted == 1, 1, -1)
        return predicted


class CrossEntropyConfig(ComponentConfig):
    type: Literal["cross_entropy"] = "cross_entropy"
    reduction: Literal["mean", "sum"] = Field(
        "mean",
        description="How the per-sample losses are combined: mean (the average over the "
        "samples, PyTorch's default) or sum (the total).",
    )
    label_smoothing: float = Field(
        0.0,
        ge=0,
        le=1,
        description="ε: aim at (1 - ε) for the true class plus ε/K spread over all K "
        "classes instead of a hard one-hot target, so the network is not pushed to "
        "infinite confidence. 0 (default) = no smoothing.",
    )


class CrossEntropy(ReducedLoss):
    """Cross-entropy over K classes (torch.nn.CrossEntropyLoss), on logits z = ŷ (N, K).

    Targets: one column of class indices (N, 1), turned into one-hot rows, or rows of class
    probabilities (N, K). With label smoothing ε, ỹ = (1 - ε)·y + ε/K. Then

        log p = z - max z - log Σ_k e^(z_k - max z)      (log-softmax, numerically stable)
        ℓ_n = -Σ_k ỹ_nk log p_nk                          (one loss per sample)
        L = (1/N) Σ_n ℓ_n  (mean)   or   Σ_n ℓ_n  (sum)
        dL/dz = (p - ỹ) / N  (mean; no /N for sum)

    (dL/dz = p·Σ_k ỹ_k - ỹ in general, which is p - ỹ when each target row sums to 1.)

    Fused with a softmax last layer (see ``fuse``), ŷ is already p = softmax(z): forward
    takes log p directly and backward still returns dL/dz = (p - ỹ) / N, so the softmax
    Jacobian is never multiplied.
    """

    formula = "L = -reduce_n(Σ_k ỹ_k·log softmax(z)_k)"

    def __init__(self, config):
        super().__init__(config)
        self.fused = False

    def fuse(self, activation):
        if not isinstance(activation, Softmax):
            return False
        self.fused = True
        per_sample = " / N" if self.config.reduction == "mean" else ""
        target = "ỹ" if self.config.label_smoothing else "y"
        smoothed = ", ỹ = (1 - ε)·y + ε/K" if self.config.label_smoothing else ""
        self.formula = "L = -reduce_n(Σ_k ỹ_k·log a_k),  a = softmax(z) from the last layer"
        self.fused_note = (
            f"softmax and cross_entropy fused: dL/dz = (a - {target}){per_sample}{smoothed}"
        )
        return True

    def prepare_target(self, target, out_features):
        if out_features < 2:
            raise ValueError(
                _(
                    "cross_entropy needs one output per class (at least 2), found {out_features}; "
                    "for two classes with a single output use bce_with_logits"
                ).format(out_features=out_features)
            )
        if target.shape[1] == 1:
            return self._one_hot(target[:, 0], out_features)
        if target.shape[1] != out_features:
            raise ValueError(
                _(
                    "cross_entropy takes one column of class indices or {out_features} columns of "
                    "class probabilities (one per output); the data has {shape} target columns"
                ).format(out_features=out_features, shape=target.shape[1])
            )
        if np.any(target < 0) or np.any(target > 1):
            raise TargetError(_("class probabilities must lie in [0, 1]"))
        sums = target.sum(axis=1)
        off = np.flatnonzero(np.abs(sums - 1.0) > 1e-6)
        if off.size:
            raise TargetError(
                _(
                    "each target row must hold class probabilities summing to 1; row {off} sums "
                    "to {sums:g}"
                ).format(off=off[0], sums=sums[off[0]])
            )
        return target

    @staticmethod
    def _one_hot(classes: np.ndarray, out_features: int) -> np.ndarray:
        whole = np.all(classes == np.round(classes)) and np.all(classes >= 0)
        if not whole:
            bad = classes[(classes != np.round(classes)) | (classes < 0)][0]
            raise TargetError(
                _("class indices must be whole numbers 0, 1, 2, ...; found {bad:g}").format(bad=bad)
            )
        largest = int(classes.max())
        if largest >= out_features:
            raise ValueError(
                _(
                    "class index {largest} needs at least {value} outputs (classes are numbered "
                    "from 0), but there are {out_features}"
                ).format(largest=largest, value=largest + 1, out_features=out_features)
            )
        return np.eye(out_features, dtype=np.float64)[classes.astype(np.int64)]

    def forward(self, prediction, target):
        classes = prediction.shape[1]
        if target.shape != prediction.shape:
            target = self.prepare_target(target, classes)
        eps = self.config.label_smoothing
        smooth = (1.0 - eps) * target + eps / classes if eps else target
        if self.fused:
            p = prediction
            log_p = np.log(np.maximum(p, TINY_FLOAT32 if p.dtype == np.float32 else TINY))
        else:
            shifted = prediction - prediction.max(axis=1, keepdims=True)
            log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
            p = np.exp(log_p)
        self.cache = {"p": p, "y": smooth}
        return self.reduce(-(smooth * log_p).sum(axis=1))

    def backward(self):
        p, y = self.cache["p"], self.cache["y"]
        return self.reduction_factor(len(p)) * (p * y.sum(axis=1, keepdims=True) - y)


@hookimpl
def tracegrad_register_losses(register):
    register("mse", Mse, MseConfig)
    register("mae", Mae, MaeConfig)
    register("huber", Huber, HuberConfig)
    register("bce", Bce, BceConfig)
    register("bce_with_logits", BceWithLogits, BceWithLogitsConfig)
    register("hinge", Hinge, HingeConfig)
    register("cross_entropy", CrossEntropy, CrossEntropyConfig)
