"""Built-in learning-rate schedules: lr(t) for step t = 0, 1, ..., T - 1 from the base lr
(the optimizer's ``lr``), T the number of training steps.

Each matches the torch.optim.lr_scheduler class named in its docstring, stepped once per
training step. The learning rate used at every step is in the trace's per-step scalars.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field

from engine import hookimpl
from engine.components import BuildContext, ComponentConfig, Schedule
from engine.refs import ScheduleRef


class ConstantConfig(ComponentConfig):
    type: Literal["constant"] = "constant"


class Constant(Schedule):
    """lr(t) = lr."""

    formula = "lr(t) = lr"

    def lr(self, step, base_lr, total_steps):
        return base_lr


class StepConfig(ComponentConfig):
    type: Literal["step"] = "step"
    step_size: int = Field(
        gt=0, description="Number of steps between two decays of the learning rate."
    )
    gamma: float = Field(
        0.1, gt=0, description="Factor γ the learning rate is multiplied by every step_size steps."
    )


class Step(Schedule):
    """Step decay (torch StepLR): multiply by γ every ``step_size`` steps.

    lr(t) = lr · γ^⌊t / step_size⌋
    """

    formula = "lr(t) = lr · γ^⌊t / step_size⌋"

    def lr(self, step, base_lr, total_steps):
        return base_lr * self.config.gamma ** (step // self.config.step_size)


class ExponentialConfig(ComponentConfig):
    type: Literal["exponential"] = "exponential"
    gamma: float = Field(
        gt=0, description="Factor γ the learning rate is multiplied by every step, e.g. 0.99."
    )


class Exponential(Schedule):
    """Exponential decay (torch ExponentialLR): multiply by γ every step.

    lr(t) = lr · γ^t
    """

    formula = "lr(t) = lr · γ^t"

    def lr(self, step, base_lr, total_steps):
        return base_lr * self.config.gamma**step


class CosineConfig(ComponentConfig):
    type: Literal["cosine"] = "cosine"
    T_max: int | None = Field(  # torch's name, so the formula reads the same
        None,
        gt=0,
        description="Steps of the half cosine wave from lr down to eta_min; default: the "
        "number of training steps (after any warm-up).",
    )
    eta_min: float = Field(
        0.0, ge=0, description="The smallest learning rate, reached at step T_max."
    )


class Cosine(Schedule):
    """Cosine annealing (torch CosineAnnealingLR, its closed form): half a cosine wave from
    lr down to eta_min over T_max steps.

        lr(t) = eta_min + (lr - eta_min) · (1 + cos(π · t / T_max)) / 2

    T_max defaults to the number of steps T. Past T_max the curve rises again, as torch's.
    """

    formula = "lr(t) = eta_min + (lr - eta_min) · (1 + cos(π·t / T_max)) / 2"

    def lr(self, step, base_lr, total_steps):
        eta_min = self.config.eta_min
        period = self.config.T_max if self.config.T_max is not None else total_steps
        return eta_min + (base_lr - eta_min) * (1.0 + math.cos(math.pi * step / period)) / 2.0


class LinearWarmupConfig(ComponentConfig):
    type: Literal["linear_warmup"] = "linear_warmup"
    warmup_steps: int = Field(
        gt=0,
        description="Number of warm-up steps w, during which the learning rate grows "
        "linearly from start_factor·lr to lr.",
    )
    start_factor: float = Field(
        1.0 / 3.0,
        gt=0,
        le=1,
        description="Fraction of lr used at step 0 (torch LinearLR's default 1/3).",
    )
    after: ScheduleRef = Field(
        None,
        description="Schedule for the steps after the warm-up, e.g. {type: cosine}; it "
        "counts its steps from 0 at the end of the warm-up and sees T - w steps in all. "
        "Default: constant lr.",
    )


class LinearWarmup(Schedule):
    """Linear warm-up (torch LinearLR with end_factor 1), then optionally another schedule
    (as torch SequentialLR with milestones [w]):

        lr(t) = lr · (s + (1 - s) · t / w)          for t < w     (start_factor s, warmup_steps w)
        lr(t) = after(t - w, lr, T - w)             for t ≥ w     (lr when there is no after)

    ``after`` is a schedule config; the schedule itself is created in ``build``, which the
    engine calls with the build context right after creating this schedule.
    """

    formula = "lr(t) = lr · (s + (1 - s)·t / w) for t < w, then after(t - w)"

    def __init__(self, config):
        super().__init__(config)
        self.after: Schedule | None = None

    def build(self, ctx: BuildContext) -> None:
        """Create the ``after`` schedule (and let it build its own nested schedules)."""
        if self.config.after is None:
            return
        self.after = ctx.create("schedules", self.config.after)
        if hasattr(self.after, "build"):
            self.after.build(ctx)

    def lr(self, step, base_lr, total_steps):
        warmup, start = self.config.warmup_steps, self.config.start_factor
        if step < warmup:
            return base_lr * (start + (1.0 - start) * step / warmup)
        if self.config.after is None:
            return base_lr
        if self.after is None:
            raise RuntimeError("linear_warmup.after is used before build(ctx) created it")
        return self.after.lr(step - warmup, base_lr, max(total_steps - warmup, 1))


@hookimpl
def tracegrad_register_schedules(register):
    register("constant", Constant, ConstantConfig)
    register("step", Step, StepConfig)
    register("exponential", Exponential, ExponentialConfig)
    register("cosine", Cosine, CosineConfig)
    register("linear_warmup", LinearWarmup, LinearWarmupConfig)
