"""Losses, written again from their definitions: the value L and dL/dŷ from the recorded
prediction ŷ and target y (both (N, K)).

Per-entry losses ℓ are reduced as PyTorch does: "mean" divides the sum by N·K, "sum" does
not; cross_entropy has one ℓ per sample, so its mean divides by N. With d = ŷ - y:

    mse              ℓ = s·d²                                 dL/dŷ = 2·s·d
    mae              ℓ = |d|                                  dL/dŷ = sign(d)
    huber            ℓ = ½d² if |d| < δ else δ(|d| - ½δ)      dL/dŷ = clamp(d, -δ, δ)
    bce              ℓ = -[y log p + (1-y) log(1-p)],  p = clamp(ŷ, ε, 1-ε)
                                                              dL/dŷ = (p - y) / (p(1 - p))
    bce_with_logits  ℓ = log(1 + e^ŷ) - ŷ·y                   dL/dŷ = σ(ŷ) - y
    hinge            ℓ = max(0, m - t·ŷ),  t = -1 for y = 0   dL/dŷ = -t where m - t·ŷ > 0
    cross_entropy    ℓ_n = -Σ_k ỹ_nk log p_nk,  ỹ = (1-ε)y + ε/K,  p = softmax(ŷ)
                                                              dL/dŷ = p·Σ_k ỹ_k - ỹ
(each gradient times the reduction factor). When the last layer is a softmax, cross_entropy
is fused with it: ŷ is already p (log 0 taken as the log of the smallest positive float64)
and the recorded gradient is dL/dz of that layer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.verify.activations import sigmoid

#: The smallest positive float64; the fused cross_entropy takes log(max(p, TINY)).
TINY = np.finfo(np.float64).tiny


@dataclass(frozen=True)
class LossValue:
    value: float
    grad: np.ndarray


def _reduce(per_entry: np.ndarray, reduction: str, count: int) -> tuple[float, float]:
    """(L, factor of the gradient) for a reduction over ``count`` items."""
    if reduction == "mean":
        return float(per_entry.sum()) / count, 1.0 / count
    return float(per_entry.sum()), 1.0


def mse(config, y_hat, y, fused=False):
    d = y_hat - y
    scale = config.get("scale", 1.0)
    value, factor = _reduce(d * d, config.get("reduction", "mean"), d.size)
    return LossValue(scale * value, 2.0 * scale * factor * d)


def mae(config, y_hat, y, fused=False):
    d = y_hat - y
    value, factor = _reduce(np.abs(d), config.get("reduction", "mean"), d.size)
    return LossValue(value, factor * np.sign(d))


def huber(config, y_hat, y, fused=False):
    d = y_hat - y
    delta = config.get("delta", 1.0)
    size = np.abs(d)
    per_entry = np.where(size < delta, 0.5 * d * d, delta * (size - 0.5 * delta))
    value, factor = _reduce(per_entry, config.get("reduction", "mean"), d.size)
    return LossValue(value, factor * np.where(size < delta, d, delta * np.sign(d)))


def bce(config, y_hat, y, fused=False):
    eps = config.get("eps", 1e-12)
    p = np.clip(y_hat, eps, 1.0 - eps)
    per_entry = -(y * np.log(p) + (1.0 - y) * np.log(1.0 - p))
    value, factor = _reduce(per_entry, config.get("reduction", "mean"), p.size)
    return LossValue(value, factor * (p - y) / (p * (1.0 - p)))


def bce_with_logits(config, y_hat, y, fused=False):
    per_entry = np.logaddexp(0.0, y_hat) - y_hat * y
    value, factor = _reduce(per_entry, config.get("reduction", "mean"), y_hat.size)
    return LossValue(value, factor * (sigmoid(y_hat) - y))


def hinge(config, y_hat, y, fused=False):
    margin = config.get("margin", 1.0)
    t = np.where(y == 0, -1.0, y)
    gap = margin - t * y_hat
    value, factor = _reduce(np.maximum(gap, 0.0), config.get("reduction", "mean"), y_hat.size)
    return LossValue(value, factor * np.where(gap > 0, -t, 0.0))


def cross_entropy(config, y_hat, y, fused=False):
    classes = y_hat.shape[1]
    eps = config.get("label_smoothing", 0.0)
    smooth = (1.0 - eps) * y + eps / classes
    if fused:
        p = y_hat
        log_p = np.log(np.maximum(p, TINY))
    else:
        shifted = y_hat - y_hat.max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        p = np.exp(log_p)
    per_sample = -(smooth * log_p).sum(axis=1)
    value, factor = _reduce(per_sample, config.get("reduction", "mean"), len(per_sample))
    return LossValue(value, factor * (p * smooth.sum(axis=1, keepdims=True) - smooth))


LOSSES = {
    "mse": mse,
    "mae": mae,
    "huber": huber,
    "bce": bce,
    "bce_with_logits": bce_with_logits,
    "hinge": hinge,
    "cross_entropy": cross_entropy,
}

#: Losses that take over the backward pass of a last layer with this activation.
FUSES_WITH = {"cross_entropy": "softmax"}


def recompute(config: dict, y_hat: np.ndarray, y: np.ndarray, fused: bool = False):
    """L and dL/dŷ, or None when the loss kind is unknown to the verifier."""
    rule = LOSSES.get(config.get("type"))
    return None if rule is None else rule(config, y_hat, y, fused)
