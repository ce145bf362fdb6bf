"""Built-in optimizers, in order of increasing complexity (as tinygrad's optim.py).

Each follows torch.optim's update rule exactly (same defaults, same eps placement, same bias
correction), written out in its docstring. ``g`` is the gradient, ``p`` the parameter, ``t``
the 1-based step count of that parameter. Updates happen in place.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from engine import hookimpl
from engine.components import Optimizer, OptimizerConfig


class SgdConfig(OptimizerConfig):
    type: Literal["sgd"] = "sgd"
    momentum: float = Field(0.0, ge=0, description="Momentum factor μ (0: plain gradient descent).")
    dampening: float = Field(0.0, ge=0, le=1, description="Dampening τ of the momentum term.")
    nesterov: bool = Field(
        False, description="Use Nesterov momentum (needs momentum > 0 and dampening 0)."
    )
    weight_decay: float = Field(0.0, ge=0, description="L2 penalty λ: g <- g + λ·p.")

    @model_validator(mode="after")
    def _nesterov_needs_momentum(self):
        if self.nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise ValueError("nesterov momentum requires momentum > 0 and dampening = 0")
        return self


class Sgd(Optimizer):
    """Stochastic gradient descent (torch.optim.SGD):

        g <- g + λ·p                                  (weight_decay λ)
        b <- g at t = 1, else μ·b + (1 - τ)·g           (momentum μ, dampening τ)
        g <- g + μ·b if nesterov else b               (when μ > 0)
        p <- p - lr·g

    State: ``velocity`` b (when momentum > 0).
    """

    def step(self, params, lr):
        config = self.config
        for p in params:
            g = p.grad
            if config.weight_decay:
                g = g + config.weight_decay * p.value
            if config.momentum:
                state = self.states.get(p.key)
                if state is None:
                    velocity = np.array(g, copy=True)
                    self.states[p.key] = {"velocity": velocity}
                else:
                    velocity = state["velocity"]
                    velocity *= config.momentum
                    velocity += (1.0 - config.dampening) * g
                g = g + config.momentum * velocity if config.nesterov else velocity
            p.value -= lr * g


@hookimpl
def tracegrad_register_optimizers(register):
    register("sgd", Sgd, SgdConfig)
