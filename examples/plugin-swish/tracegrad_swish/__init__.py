"""An example third-party Tracegrad plugin: one activation and one loss.

Install it (``pip install examples/plugin-swish``) and Tracegrad finds it through the
``tracegrad`` entry point in its pyproject.toml; then ``type: swish`` and ``type: log_cosh``
work in any scenario and show up in ``tracegrad plugins``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

import engine


class SwishConfig(engine.LayerConfig):
    type: Literal["swish"] = "swish"
    beta: float = Field(1.0, description="β in z·σ(βz); β = 1 gives SiLU, large β nears relu.")


class Swish(engine.Activation):
    """Swish (Ramachandran et al. 2017): a = z·σ(βz);  f'(z) = βa + σ(βz)(1 - βa)."""

    formula = "a = z·σ(βz)"
    derivative_formula = "f'(z) = β·a + σ(βz)(1 - β·a)"

    def forward(self, z):
        return z / (1.0 + np.exp(-self.config.beta * z))

    def derivative(self, z, a):
        beta = self.config.beta
        sigmoid = 1.0 / (1.0 + np.exp(-beta * z))
        return beta * a + sigmoid * (1.0 - beta * a)


class LogCoshConfig(engine.ComponentConfig):
    type: Literal["log_cosh"] = "log_cosh"


class LogCosh(engine.Loss):
    """Log-cosh loss: L = mean(log(cosh(ŷ - y)));  dL/dŷ = tanh(ŷ - y) / (N·K).

    Like MSE for small errors and like MAE for large ones. Computed stably as
    |d| + log1p(e^(-2|d|)) - log 2.
    """

    formula = "L = mean(log cosh(ŷ - y))"

    def forward(self, prediction, target):
        d = prediction - target
        self.cache = {"d": d}
        per_entry = np.abs(d) + np.log1p(np.exp(-2.0 * np.abs(d))) - np.log(2.0)
        return float(per_entry.mean())

    def backward(self):
        d = self.cache["d"]
        return np.tanh(d) / d.size


@engine.hookimpl
def tracegrad_register_activations(register):
    register("swish", Swish, SwishConfig)


@engine.hookimpl
def tracegrad_register_losses(register):
    register("log_cosh", LogCosh, LogCoshConfig)
