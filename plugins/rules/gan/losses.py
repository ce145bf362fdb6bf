"""GAN losses and label tricks, written again from their definitions.

Losses act on D's raw outputs l (N, 1); each term is a mean over the batch, so each
gradient carries 1/N. With BCE(l, t) = log(1 + e^l) - t·l and dBCE/dl = σ(l) - t:

    loss            D, real batch       D, fake batch       G (on D(G(z)))
    minimax         BCE(l, t)           BCE(l, t)           -BCE(l, 1 - t)
    non_saturating  BCE(l, t)           BCE(l, t)           BCE(l, t)
    least_squares   ½(l - t)²           ½(l - t)²           ½(l - t)²
    hinge           max(0, 1 - l)       max(0, 1 + l)       -l
    wasserstein     -l                  l                   -l

Labels: D's real batch starts at the loss's real label (1), its fake batch at the fake
label (0), G's target at the generator label (1); least_squares takes them from its config
(b, a, c). Then each trick, in the scenario's order:

    label_smoothing   entries equal to the real label become ``real`` (a number, or any
                      value in [low, high]); those equal to the fake label become ``fake``
    noisy_labels      round(fraction·N) entries of each chosen batch become
                      real + fake - t (flipped)

so every recorded label lies in a set the verifier derives, and with fixed values the
number of flipped labels is known exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.verify.activations import sigmoid
from engine.verify.losses import LossValue


def _bce(l, t):
    n = len(l)
    return LossValue(float(np.mean(np.logaddexp(0.0, l) - t * l)), (sigmoid(l) - t) / n)


def _half_square(l, t):
    d = l - t
    return LossValue(float(0.5 * np.mean(d * d)), d / len(l))


def _linear(l, sign):
    """L = sign·mean l, dL/dl = sign/N."""
    return LossValue(float(sign * np.mean(l)), np.full_like(l, sign / len(l)))


def _minimax_g(l, t):
    value = _bce(l, 1.0 - t)
    return LossValue(-value.value, -value.grad)


def _hinge_real(l, t):
    n = len(l)
    return LossValue(float(np.mean(np.maximum(0.0, 1.0 - l))), np.where(l < 1.0, -1.0 / n, 0.0))


def _hinge_fake(l, t):
    n = len(l)
    return LossValue(float(np.mean(np.maximum(0.0, 1.0 + l))), np.where(l > -1.0, 1.0 / n, 0.0))


#: loss -> (real term, fake term, G's loss), each f(l, t) -> LossValue.
TERMS = {
    "minimax": (_bce, _bce, _minimax_g),
    "non_saturating": (_bce, _bce, _bce),
    "least_squares": (_half_square, _half_square, _half_square),
    "hinge": (_hinge_real, _hinge_fake, lambda l, t: _linear(l, -1.0)),
    "wasserstein": (
        lambda l, t: _linear(l, -1.0),
        lambda l, t: _linear(l, 1.0),
        lambda l, t: _linear(l, -1.0),
    ),
}

USES_LABELS = {"minimax", "non_saturating", "least_squares"}
PROBABILITY = {"minimax", "non_saturating"}


def term(config: dict, which: str, logits: np.ndarray, target) -> LossValue | None:
    """``which`` is "real", "fake" or "generator"; None when the loss is unknown."""
    terms = TERMS.get(config.get("type"))
    if terms is None:
        return None
    index = {"real": 0, "fake": 1, "generator": 2}[which]
    return terms[index](logits, target)


def score(config: dict, logits: np.ndarray) -> np.ndarray:
    """What D says of a sample: σ(l) for the losses read as probabilities, else l."""
    return sigmoid(logits) if config.get("type") in PROBABILITY else logits


def base_labels(config: dict) -> dict[str, float]:
    if config.get("type") == "least_squares":
        return {
            "real": config.get("real_label", 1.0),
            "fake": config.get("fake_label", 0.0),
            "generator": config.get("generator_label", 1.0),
        }
    return {"real": 1.0, "fake": 0.0, "generator": 1.0}


# --- the label sets -------------------------------------------------------------------------


@dataclass
class LabelSet:
    """The values a batch's labels may take: a union of intervals [low, high] (a fixed
    value is [v, v]); ``flipped`` counts labels that noisy_labels moved, when known."""

    intervals: list[tuple[float, float]]
    flips: list[tuple[int, float]] = field(default_factory=list)

    def contains(self, values: np.ndarray, tolerance: float) -> np.ndarray:
        inside = np.zeros(values.shape, dtype=bool)
        for low, high in self.intervals:
            inside |= (values >= low - tolerance) & (values <= high + tolerance)
        return inside

    def describe(self) -> str:
        parts = [f"{a:g}" if a == b else f"[{a:g}, {b:g}]" for a, b in self.intervals]
        return " or ".join(parts)


def _as_interval(value) -> tuple[float, float]:
    if isinstance(value, (list, tuple)):
        return float(value[0]), float(value[1])
    return float(value), float(value)


def d_label_sets(loss: dict, tricks: list[dict], n: int) -> dict[str, LabelSet] | None:
    """The label sets of D's real and fake batches after the tricks (None when a trick
    that changes labels is unknown to the verifier)."""
    base = base_labels(loss)
    real_label, fake_label = base["real"], base["fake"]
    sets = {
        "real": LabelSet([(real_label, real_label)]),
        "fake": LabelSet([(fake_label, fake_label)]),
    }
    for trick in tricks:
        kind = trick.get("type")
        if kind == "label_smoothing":
            for label_set in sets.values():
                smoothed = [
                    _smooth(interval, real_label, fake_label, trick)
                    for interval in label_set.intervals
                ]
                if smoothed != label_set.intervals:
                    label_set.flips = []  # the flipped value itself was smoothed
                label_set.intervals = smoothed
        elif kind == "noisy_labels":
            total = real_label + fake_label
            count = round(trick.get("fraction", 0.05) * n)
            for word, label_set in sets.items():
                if trick.get("which", "both") not in ("both", word) or count == 0:
                    continue
                fixed = (
                    len(label_set.intervals) == 1
                    and label_set.intervals[0][0] == (label_set.intervals[0][1])
                )
                if fixed and not label_set.flips:
                    label_set.flips.append((count, total - label_set.intervals[0][0]))
                flipped = [(total - b, total - a) for a, b in label_set.intervals]
                label_set.intervals = label_set.intervals + flipped
        elif kind in LABEL_TRICKS_UNKNOWN_SAFE:
            continue
        else:
            return None
    return sets


def _smooth(interval, real_label, fake_label, trick):
    low, high = interval
    if low != high:
        return interval
    if low == real_label and trick.get("real") is not None:
        return _as_interval(trick["real"])
    if low == fake_label and trick.get("fake") is not None:
        return _as_interval(trick["fake"])
    return interval


#: Tricks that never change labels.
LABEL_TRICKS_UNKNOWN_SAFE = {
    "instance_noise",
    "weight_clipping",
    "gradient_penalty",
    "d_steps_schedule",
    "packing",
    "feature_matching",
    "historical_averaging",
}


def instance_noise_std(trick: dict, step: int, total_steps: int) -> float:
    """σ(t) = σ₀·max(0, 1 - t/T), T = anneal_steps or the number of steps."""
    horizon = trick.get("anneal_steps") or total_steps
    return trick.get("std", 0.1) * max(0.0, 1.0 - step / horizon)


def d_steps_at(trick: dict, step: int, d_steps: int) -> int:
    """D updates at ``step`` under a d_steps_schedule: boosted steps first, then the last
    phase that has started, else train.d_steps."""
    boost_every = trick.get("boost_every")
    if step < trick.get("boost_first", 0) or (boost_every and step % boost_every == 0):
        return trick.get("boost_d_steps", 100)
    for phase in reversed(trick.get("phases") or []):
        if step >= phase["start"]:
            return phase["d_steps"]
    return d_steps
