"""GAN losses and the sets D's labels may lie in, written again from their definitions.

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
(b, a, c). Then each trick's rule, in the scenario's order, changes the ``LabelSet`` of each
batch (``trick_rules``: label_smoothing, noisy_labels), so every recorded label lies in a set
the verifier derives, and with fixed values the number of flipped labels is known exactly.
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
