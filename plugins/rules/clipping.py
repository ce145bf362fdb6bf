"""The rule of gradient clipping (``train.clip_value``, ``train.clip_norm``), written again
from its definition (the step plugin itself is ``plugins.clipping``; nothing here imports it):

    by value:        g <- clamp(g, -c, c)                  every entry, c = clip_value
    by global norm:  g <- g · c / (‖g‖ + 1e-6)  when ‖g‖ > c   ‖g‖ over all θ, c = clip_norm

value clipping first. Its ``clip`` record says ‖g‖ before either and the scale.
"""

from __future__ import annotations

import math

import numpy as np

import engine
from plugins.rules.step_plugins import StepPluginRule

#: Added to the norm before dividing, as torch.nn.utils.clip_grad_norm_.
EPS = 1e-6


def norm(grads: dict) -> float:
    """‖g‖ = √(Σ_θ Σ_i g_θi²)."""
    return math.sqrt(sum(float(np.sum(g * g)) for g in grads.values()))


class GradientClippingRule(StepPluginRule):
    hooks = frozenset({"gradients"})

    def acts(self, scenario):
        train = scenario.get("train") or {}
        return train.get("clip_norm") is not None or train.get("clip_value") is not None

    def scale(self, scenario, grads: dict) -> float:
        """c / (‖g‖ + 1e-6) when ‖g‖ > c (after value clipping), else 1."""
        c = (scenario.get("train") or {}).get("clip_norm")
        size = norm(grads)
        return c / (size + EPS) if c is not None and size > c else 1.0

    def by_value(self, scenario, grads: dict) -> dict:
        c = (scenario.get("train") or {}).get("clip_value")
        return grads if c is None else {key: np.clip(g, -c, c) for key, g in grads.items()}

    def gradients(self, scenario, before, note):
        if any(not isinstance(g, np.ndarray) for g in before.values()):
            return None  # a summarized gradient: the norm cannot be recomputed
        clipped = self.by_value(scenario, before)
        scale = self.scale(scenario, clipped)
        return {key: g * scale for key, g in clipped.items()}

    def claims(self, scenario, note, before):
        if note.get("type") != "clip" or any(
            not isinstance(g, np.ndarray) for g in before.values()
        ):
            return []
        c = (scenario.get("train") or {}).get("clip_norm")
        limit = "no clip_norm" if c is None else f"{c:g}"
        return [
            ("norm", note.get("norm"), norm(before), "‖g‖ over all θ, before clipping"),
            (
                "scale",
                note.get("scale"),
                self.scale(scenario, self.by_value(scenario, before)),
                f"scale = c/(‖g‖ + 1e-6) when ‖g‖ > c ({limit}), after clipping by value",
            ),
        ]


@engine.hookimpl
def tracegrad_register_rules(register):
    register("step_plugins", "gradient_clipping", GradientClippingRule())
