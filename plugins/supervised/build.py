"""Build the pieces of a supervised run from a validated scenario: data, network, loss,
optimizer and schedule (training and gradcheck use the same)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.build import (
    hold_out,
    in_precision,
    layer_widths,
    load_dataset,
    new_context,
    traced_sizes,
)
from engine.components import Activation, BuildContext, Data, Loss, Optimizer, Schedule, TargetError
from engine.errors import BuildError
from engine.i18n import _
from engine.limits import Limits, check_parameters, check_samples, check_steps, check_trace
from engine.network import Network, build_network, input_shape
from engine.scenario import Scenario
from engine.steps import offered_step_plugins
from plugins.supervised import learned


@dataclass
class Built:
    scenario: Scenario
    ctx: BuildContext
    data: Data
    targets: np.ndarray
    network: Network
    loss: Loss
    optimizer: Optimizer
    schedule: Schedule | None
    #: (provider, object) of each step plugin acting on the run (``tracegrad_step_plugins``).
    step_plugins: list = field(default_factory=list)

    def state(self) -> dict[str, np.ndarray]:
        """Copies of the network's parameters and buffers ("hidden.W", ...)."""
        return self.network.state()

    def describe(self) -> str:
        """One line (for ``tracegrad validate``): the layers and the parameter count."""
        layers = ", ".join(layer.describe() for layer in self.network.layers)
        return f"supervised: {layers}; {self.network.parameter_count} parameters"

    def lr(self, step: int) -> float:
        base = self.scenario.spec.optimizer.lr
        if self.schedule is None:
            return base
        return float(self.schedule.lr(step, base, self.scenario.spec.train.steps))


def load_data(scenario: Scenario, ctx: BuildContext) -> Data:
    """Load the scenario's data set and hold out ``train.validation_split`` of it."""
    spec = scenario.spec
    data = load_dataset(scenario, ctx)
    if data.y is None:
        raise BuildError(
            _(
                "data set '{type}' has no targets (it is a distribution to sample, for a GAN), so "
                "there is nothing to learn with a loss"
            ).format(type=spec.data.type),
            scenario.where(("data",)),
            hint=_("use a labeled data set such as moons, spirals, sine or csv"),
        )
    data = in_precision(data, ctx.dtype)
    fraction = spec.train.validation_split
    if fraction:
        if data.x_val is not None:
            raise BuildError(
                _("data set '{type}' brings its own validation data").format(type=spec.data.type),
                scenario.where(("train", "validation_split")),
                hint=_("leave out train.validation_split"),
            )
        try:
            data = hold_out(data, fraction, ctx.rng("split"))
        except ValueError as error:
            raise BuildError(
                str(error),
                scenario.where(("train", "validation_split")),
                hint=_("use more samples or a different fraction"),
            ) from None
    return data


class FusedActivation(Activation):
    """The last layer's activation once the loss has taken over its backward (see
    ``Loss.fuse``): forward is unchanged, backward passes the loss's dL/dz straight on."""

    def __init__(self, activation: Activation):
        super().__init__(activation.config)
        self.activation = activation
        self.formula = activation.formula
        self.derivative_formula = "skipped: the loss gives dL/dz"

    def forward(self, z):
        return self.activation.forward(z)

    def derivative(self, z, a):
        return None  # nothing to show: f'(z) is never multiplied

    def backward(self, z, a, grad_a):
        return grad_a  # already dL/dz


def fuse_output(network: Network, loss: Loss) -> None:
    """Offer the last layer's activation to the loss; if the loss fuses with it, the layer's
    backward passes dL/dz on unchanged and its ``note`` explains why in the trace."""
    last = network.layers[-1]
    activation = getattr(last, "activation", None)
    if activation is not None and loss.fuse(activation):
        last.activation = FusedActivation(activation)
        last.note = loss.fused_note


def build(scenario: Scenario, limits: Limits | None = None, precision: str | None = None) -> Built:
    """Build everything, refusing (LimitError) what would exceed ``limits`` before allocating.

    ``precision`` ("float64" or "float32") overrides the scenario's (gradcheck needs float64).
    """
    spec = scenario.spec
    limits = limits or Limits.from_settings()
    check_steps(spec, limits, scenario.where)
    ctx = new_context(scenario, precision)
    data = load_data(scenario, ctx)
    check_samples(data.x.size, limits, scenario.where)
    check_parameters(
        layer_widths(spec.model.layers, input_shape(data.x), ("model", "layers")),
        limits,
        scenario.where,
    )
    network = build_network(spec.model.layers, input_shape(data.x), ctx, scenario.where)
    batch = min(spec.train.batch_size or len(data.x), len(data.x))
    pictures = learned.picture_size(data, network)
    check_trace(spec, traced_sizes(network, batch), limits, scenario.where, whole=pictures)
    loss = scenario.registry.create("losses", spec.loss)
    try:
        if data.y_val is not None:  # the validation targets must fit too (used mid-run)
            loss.prepare_target(data.y_val, network.out_features)
        targets = loss.prepare_target(data.y, network.out_features)
    except TargetError as error:
        raise BuildError(
            _("loss '{type}' cannot take the data's targets: {error}").format(
                type=spec.loss.type, error=error
            ),
            scenario.where(("loss",)),
            hint=_("choose a loss that fits the targets (see `tracegrad plugins --kind losses`)"),
        ) from None
    except ValueError as error:
        last = network.layers[-1]
        raise BuildError(
            _(
                "the last layer '{name}' gives {out_features} outputs per sample, which does not "
                "fit the data's targets for loss '{type}': {error}"
            ).format(
                name=last.name, out_features=network.out_features, type=spec.loss.type, error=error
            ),
            scenario.where(("model", "layers", len(network.layers) - 1)),
            hint=_("make the last layer's units match the targets"),
        ) from None
    if np.issubdtype(targets.dtype, np.floating):
        targets = targets.astype(ctx.dtype, copy=False)
    fuse_output(network, loss)
    optimizer = scenario.registry.create("optimizers", spec.optimizer)
    schedule = (
        scenario.registry.create("schedules", spec.optimizer.schedule)
        if spec.optimizer.schedule is not None
        else None
    )
    if schedule is not None:
        schedule.build(ctx)
    offered = offered_step_plugins(scenario)
    return Built(scenario, ctx, data, targets, network, loss, optimizer, schedule, offered)
