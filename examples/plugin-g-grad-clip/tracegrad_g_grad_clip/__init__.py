"""A GAN trick on G's side: G's gradient, rescaled to a norm of at most c before G's update.

After G's backward pass (the gradient D hands G, through G's layers) every gradient of G is
scaled by one number,

    ‖g‖ = √(Σ_θ Σ g_θ²)   over all of G's parameters
    g  <- g · c / (‖g‖ + 1e-6)   when ‖g‖ > c,   else unchanged

so a step of G never follows one sharp gradient of D too far (gradient clipping, on G only:
D keeps its full gradient). The trick acts in ``tracegrad_gan_g_gradients`` and edits the
gradients in place; the trace records them after the hook in the trick's note, and
``tracegrad_g_grad_clip.rules`` checks the change.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field

import engine
from engine.components import ComponentConfig
from plugins.gan.components import GanTrick

#: Added to the norm before dividing, as torch.nn.utils.clip_grad_norm_.
EPS = 1e-6


class GGradClipConfig(ComponentConfig):
    type: Literal["g_grad_clip"] = "g_grad_clip"
    max_norm: float = Field(
        1.0,
        gt=0,
        description="c: the largest norm ‖g‖ of G's gradient (over all of G's "
        "parameters) an update of G follows, e.g. 1.0.",
    )


class GGradClip(GanTrick):
    """Rescale G's gradient to a norm of at most ``max_norm`` before G's update."""

    @engine.hookimpl
    def tracegrad_gan_g_gradients(self, batch, generator, step):
        norm = math.sqrt(sum(float((p.grad * p.grad).sum()) for p in generator.parameters))
        c = self.config.max_norm
        if norm <= c:
            return None
        scale = c / (norm + EPS)
        for p in generator.parameters:
            p.grad = p.grad * scale
        return self.change(f"G's gradient norm {norm:.4g} -> {c:g}")


@engine.hookimpl
def tracegrad_register_gan_tricks(register):
    register("g_grad_clip", GGradClip, GGradClipConfig)
