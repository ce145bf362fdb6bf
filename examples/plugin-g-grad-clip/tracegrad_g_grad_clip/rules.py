"""The verification rule of ``g_grad_clip``, written again from its definition: this module
does not import the trick, so ``tracegrad verify`` re-derives the change independently
(docs/plugins.md, "Verify your trick").

The trick's note of each traced G update holds G's gradients after the hook; the verifier
hands the rule the gradients before it (those of G's backward pass, with any edit of an
earlier trick) and compares what the rule returns with the recorded ones:

    ‖g‖ = √(Σ_θ Σ g_θ²),   g <- g · c / (‖g‖ + 1e-6) when ‖g‖ > c
"""

from __future__ import annotations

import math

import numpy as np

import engine
from plugins.rules.gan.tricks import TrickRule


class GGradClipRule(TrickRule):
    """How g_grad_clip changes G's gradients (and nothing else)."""

    hooks = frozenset({"g_gradients"})

    def gradients(self, config, network, before):
        if network != "G":
            return before
        if any(not isinstance(g, np.ndarray) for g in before.values()):
            return None  # a summarized gradient: the norm cannot be recomputed
        c = config.get("max_norm", 1.0)
        norm = math.sqrt(sum(float(np.sum(g * g)) for g in before.values()))
        scale = c / (norm + 1e-6) if norm > c else 1.0
        return {key: g * scale for key, g in before.items()}


@engine.hookimpl
def tracegrad_register_rules(register):
    register("tricks", "g_grad_clip", GGradClipRule())
