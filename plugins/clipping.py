"""Gradient clipping, a step plugin of supervised runs (``train.clip_value``,
``train.clip_norm``), written on the supervised step hooks like any outside plugin:

    by value:        g <- clamp(g, -c, c)                 every entry, c = clip_value
    by global norm:  g <- g · c / ‖g‖   when ‖g‖ > c       all gradients together, c = clip_norm

Value clipping comes first; the norm is then the norm of the clamped gradients.
"""

from __future__ import annotations

import math

import numpy as np

import engine


def clip_gradients(params, clip_norm, clip_value, total_norm: float) -> float:
    """Clip by value, then by global norm; returns the scale norm clipping applied (1.0 when
    none)."""
    if clip_value is not None:
        for p in params:
            np.clip(p.grad, -clip_value, clip_value, out=p.grad)
        total_norm = math.sqrt(sum(float(np.dot(p.grad.ravel(), p.grad.ravel())) for p in params))
    scale = 1.0
    if clip_norm is not None and total_norm > clip_norm:
        scale = clip_norm / (total_norm + 1e-6)
        for p in params:
            p.grad *= scale
    return scale


class GradientClipping:
    """Clips a supervised run's gradients before each update; traces a ``clip`` record when
    norm clipping rescaled them. Its verification rule is ``plugins.rules.clipping``."""

    name = "gradient_clipping"

    def __init__(self, clip_norm: float | None, clip_value: float | None):
        self.clip_norm, self.clip_value = clip_norm, clip_value

    @engine.hookimpl
    def tracegrad_supervised_gradients(self, batch, network, step):
        scale = clip_gradients(network.parameters, self.clip_norm, self.clip_value, batch.grad_norm)
        if scale != 1.0:
            return {"type": "clip", "norm": batch.grad_norm, "scale": scale}
        return None


@engine.hookimpl
def tracegrad_step_plugins(scenario):
    spec = scenario.spec
    if spec.kind != "supervised":
        return []
    train = spec.train
    if train.clip_norm is None and train.clip_value is None:
        return []
    return [GradientClipping(train.clip_norm, train.clip_value)]
