"""The Lion optimizer (Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms") as
a Tracegrad plugin: an optimizer that keeps state and records it for the trace."""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field

import engine
from engine.components import WorkedUpdate

Beta = Annotated[float, Field(ge=0, lt=1)]


class LionConfig(engine.OptimizerConfig):
    type: Literal["lion"] = "lion"
    lr: float = Field(
        1e-4,
        gt=0,
        description="Learning rate: every entry moves by exactly lr per step (the sign is ±1), "
        "so it is usually 3-10 times smaller than Adam's.",
    )
    betas: tuple[Beta, Beta] = Field(
        (0.9, 0.99),
        description="(β1, β2): β1 mixes momentum and gradient for the step's direction, β2 "
        "is the momentum's own memory.",
    )
    weight_decay: float = Field(
        0.0,
        ge=0,
        description="Decoupled weight decay λ: the step adds lr·λ·θ, pulling weights towards 0.",
    )


class Lion(engine.Optimizer):
    """Lion (Chen et al. 2023): step along the sign of a mix of momentum and gradient.

    State: ``m`` (after the step) and ``c`` (the direction this step used).
    """

    #: The rule the report shows above each update's numbers.
    update_rule = (
        "c ← β1·m + (1 − β1)·g            (the direction, from the previous m)\n"
        "p ← p − lr·(sign(c) + λ·p)        (weight_decay λ)\n"
        "m ← β2·m + (1 − β2)·g            (m₀ = 0)"
    )

    def worked_update(self, entry):
        """One entry's step with its numbers, from the direction ``c`` the trace recorded:
        "W₁₁ ← W₁₁ − lr·sign(c) = 0.5 − 0.01 × sign(-0.2) = 0.51"."""
        c = entry.state.get("c")
        if c is None:
            return None
        p, lr, decay = entry.p, entry.lr, self.config.weight_decay
        value = p - lr * (np.sign(c) + decay * p)
        name, number = entry.name, entry.number
        if decay:
            rule = f"lr·(sign(c) + λ·{name})"
            numbers = f"{number(lr)} × (sign({number(c)}) + {number(decay)} × {entry.factor(p)})"
        else:
            rule, numbers = "lr·sign(c)", f"{number(lr)} × sign({number(c)})"
        text = f"{name} ← {name} − {rule} = {number(p)} − {numbers} = {number(value)}"
        return WorkedUpdate(text, float(value))

    def step(self, params, lr):
        beta1, beta2 = self.config.betas
        decay = self.config.weight_decay
        for p in params:
            if p.grad is None:
                continue
            state = self.states.setdefault(p.key, {"m": np.zeros_like(p.value)})
            m, g = state["m"], p.grad
            c = beta1 * m + (1.0 - beta1) * g
            p.value -= lr * (np.sign(c) + decay * p.value)
            state["c"] = c
            state["m"] = beta2 * m + (1.0 - beta2) * g

    def state(self, key):
        """A copy of the state after the last step (later steps do not change it)."""
        return {name: value.copy() for name, value in self.states.get(key, {}).items()}


@engine.hookimpl
def tracegrad_register_optimizers(register):
    register("lion", Lion, LionConfig)
