"""Built-in stochastic layers: ``dropout`` and ``gaussian_noise``.

Both change the data only while training (unless told otherwise) and have no parameters.
Their random draws come from the scenario seed: ``ctx.rng("dropout")`` and
``ctx.rng("noise")``, so a run is reproducible and the gradient check can replay a mask or
a noise draw exactly. The mask or noise of a traced step is in its forward record.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from engine import hookimpl
from engine.components import Layer, LayerConfig
from engine.i18n import _


class DropoutConfig(LayerConfig):
    type: Literal["dropout"] = "dropout"
    rate: float = Field(
        0.5,
        ge=0,
        lt=1,
        description="Probability p that an entry is dropped (set to 0) while training, 0 <= p < 1.",
    )
    keep_in_eval: bool = Field(
        False,
        description="Keep dropping in evaluation too (a GAN trick: dropout as the "
        "generator's noise at generation time); default: identity in evaluation.",
    )


class Dropout(Layer):
    """Inverted dropout (Srivastava et al. 2014), as torch.nn.Dropout.

    Forward, for x of shape (N, D), drop probability p:
        m ~ Bernoulli(1 - p)       (N, D)  one draw per entry: 1 keeps, 0 drops
        a = x ⊙ m / (1 - p)        (N, D)  scaled so that E[a] = x
    In evaluation a = x (no mask, no scaling), unless ``keep_in_eval``.
    Backward, given dL/da (N, D):
        dL/dx = dL/da ⊙ m / (1 - p)
    """

    formula = "a = x ⊙ m / (1 - p),  m ~ Bernoulli(1 - p)"
    takes_images = True  # elementwise: any sample shape

    def forward(self, x, training):
        if not (training or self.config.keep_in_eval):
            self.cache = {"x": x, "a": x}
            return x
        keep = 1.0 - self.config.rate
        # Evaluation draws from its own generator, so how often a run evaluates does not
        # change the masks drawn for training.
        rng = self.ctx.rng("dropout" if training else "dropout.eval")
        mask = (rng.random(x.shape) < keep).astype(x.dtype)
        a = x * mask / keep
        self.cache = {"x": x, "mask": mask, "a": a}
        return a

    def backward(self, grad_a):
        mask = self.cache.get("mask")
        grad_x = grad_a if mask is None else grad_a * mask / (1.0 - self.config.rate)
        self.grad_cache = {"dL/da": grad_a, "dL/dx": grad_x}
        return grad_x

    def backward_values(self):
        return dict(self.grad_cache)

    def describe(self):
        return f"dropout p={self.config.rate:g}"


class GaussianNoiseConfig(LayerConfig):
    type: Literal["gaussian_noise"] = "gaussian_noise"
    std: float = Field(
        ge=0, description="Standard deviation σ of the added noise N(0, σ²) (at the start)."
    )
    end_std: float | None = Field(
        None,
        ge=0,
        description="Standard deviation reached at the last step when annealing "
        "(schedule linear, cosine or exponential); default: none (constant σ).",
    )
    schedule: Literal["constant", "linear", "cosine", "exponential"] = Field(
        "constant",
        description="How σ moves from std to end_std over the training steps: constant, "
        "linear, cosine or exponential (geometric; both std and end_std > 0).",
    )

    @model_validator(mode="after")
    def _annealing_is_complete(self):
        if self.schedule == "constant" and self.end_std is not None:
            raise ValueError(
                _(
                    "end_std is set but schedule is constant; choose schedule linear, cosine "
                    "or exponential to anneal, or remove end_std"
                )
            )
        if self.schedule != "constant" and self.end_std is None:
            raise ValueError(
                _("schedule {schedule} needs end_std, the σ of the last step").format(
                    schedule=self.schedule
                )
            )
        if self.schedule == "exponential" and (self.std == 0 or self.end_std == 0):
            raise ValueError(
                _(
                    "schedule exponential multiplies σ by a constant factor each step, so std "
                    "and end_std must both be > 0; use linear or cosine to reach 0"
                )
            )
        return self


def annealed_std(config: GaussianNoiseConfig, step: int, total_steps: int) -> float:
    """σ(t) at step t of T, with progress r = t / (T - 1) (clamped to [0, 1]):

    constant:     σ(t) = σ₀
    linear:       σ(t) = σ₀ + (σ₁ - σ₀)·r
    cosine:       σ(t) = σ₁ + (σ₀ - σ₁)·(1 + cos(π·r)) / 2
    exponential:  σ(t) = σ₀·(σ₁ / σ₀)^r
    where σ₀ = std and σ₁ = end_std; σ(0) = σ₀ and σ(T - 1) = σ₁.
    """
    start, end = config.std, config.end_std
    if config.schedule == "constant":
        return start
    r = min(max(step / max(total_steps - 1, 1), 0.0), 1.0)
    if config.schedule == "linear":
        return start + (end - start) * r
    if config.schedule == "cosine":
        return end + (start - end) * (1.0 + math.cos(math.pi * r)) / 2.0
    return start * (end / start) ** r


class GaussianNoise(Layer):
    """Additive Gaussian noise while training (e.g. "instance noise" for a GAN discriminator).

    Forward, for x of shape (N, D), at training step t:
        ε ~ N(0, σ(t)²)            (N, D)  one draw per entry (σ(t): see ``annealed_std``)
        a = x + ε                  (N, D)
    In evaluation a = x.
    Backward, given dL/da (N, D):
        dL/dx = dL/da              (the noise does not depend on x)
    """

    formula = "a = x + ε,  ε ~ N(0, σ²)"
    takes_images = True  # elementwise: any sample shape

    def std(self) -> float:
        """σ for the step in progress (``ctx.step`` of ``ctx.total_steps``)."""
        return annealed_std(self.config, self.ctx.step, self.ctx.total_steps)

    def forward(self, x, training):
        if not training:
            self.cache = {"x": x, "a": x}
            return x
        std = self.std()
        noise = self.ctx.rng("noise").normal(0.0, 1.0, size=x.shape) * std
        a = x + noise
        self.cache = {"x": x, "std": np.float64(std), "noise": noise, "a": a}
        return a

    def backward(self, grad_a):
        self.grad_cache = {"dL/da": grad_a, "dL/dx": grad_a}
        return grad_a

    def backward_values(self):
        return dict(self.grad_cache)

    def describe(self):
        config = self.config
        if config.schedule == "constant":
            return f"gaussian_noise σ={config.std:g}"
        return f"gaussian_noise σ={config.std:g}→{config.end_std:g} ({config.schedule})"


@hookimpl
def tracegrad_register_layers(register):
    register("dropout", Dropout, DropoutConfig)
    register("gaussian_noise", GaussianNoise, GaussianNoiseConfig)
