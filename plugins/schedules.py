"""Built-in learning-rate schedules: lr(t) for step t = 0, 1, ..., T - 1 from the base lr.

The learning rate used at every step is in the trace's per-step scalars.
"""

from __future__ import annotations

from typing import Literal

from engine import hookimpl
from engine.components import ComponentConfig, Schedule


class ConstantConfig(ComponentConfig):
    type: Literal["constant"] = "constant"


class Constant(Schedule):
    """lr(t) = lr."""

    formula = "lr(t) = lr"

    def lr(self, step, base_lr, total_steps):
        return base_lr


@hookimpl
def tracegrad_register_schedules(register):
    register("constant", Constant, ConstantConfig)
