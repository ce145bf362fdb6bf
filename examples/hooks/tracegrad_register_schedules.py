"""Halve the learning rate every ``every`` steps: lr_t = lr · 0.5^⌊t / every⌋.

Use it in a scenario::

    optimizer: {type: sgd, lr: 0.5, schedule: {type: halving, every: 2}}
"""

from typing import Literal

from pydantic import Field

import engine


class HalvingConfig(engine.ComponentConfig):
    type: Literal["halving"] = "halving"
    every: int = Field(10, ge=1, description="Steps between two halvings.")


class Halving(engine.Schedule):
    formula = "lr_t = lr · 0.5^⌊t / every⌋"

    def lr(self, step, base_lr, total_steps):
        return base_lr * 0.5 ** (step // self.config.every)


@engine.hookimpl
def tracegrad_register_schedules(register):
    register("halving", Halving, HalvingConfig)
