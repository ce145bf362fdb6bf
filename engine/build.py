"""Build the pieces of a supervised run from a validated scenario: data, network, loss,
optimizer and schedule. Shared by training, gradcheck and (later) other loops."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from engine.components import Activation, BuildContext, Data, Loss, Optimizer, Schedule
from engine.errors import BuildError
from engine.limits import Limits, check_parameters, check_samples, check_steps, check_trace
from engine.network import Network, build_network, input_shape
from engine.network import layer_widths as _layer_widths
from engine.scenario import Scenario
from engine.seeds import SeedTree


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

    def lr(self, step: int) -> float:
        base = self.scenario.spec.optimizer.lr
        if self.schedule is None:
            return base
        return float(self.schedule.lr(step, base, self.scenario.spec.train.steps))


def new_context(scenario: Scenario, precision: str | None = None) -> BuildContext:
    """The build context; its ``dtype`` is ``precision``, by default the scenario's."""
    spec = scenario.spec
    return BuildContext(
        SeedTree(spec.seed),
        scenario.registry,
        scenario.base_dir,
        total_steps=spec.train.steps,
        dtype=np.dtype(precision or getattr(spec, "precision", "float64")).type,
    )


def in_precision(data: Data, dtype) -> Data:
    """The data's float arrays as ``dtype`` (no copy when they already are): a float32 run
    computes in float32 from its inputs on."""

    def cast(array):
        if array is None or not np.issubdtype(np.asarray(array).dtype, np.floating):
            return array
        return np.asarray(array, dtype=dtype)

    return dataclasses.replace(
        data, x=cast(data.x), y=cast(data.y), x_val=cast(data.x_val), y_val=cast(data.y_val)
    )


def load_dataset(scenario: Scenario, ctx: BuildContext) -> Data:
    """The scenario's data set, its errors pointed at the ``data:`` key of the file."""
    config = scenario.spec.data
    try:
        data = scenario.registry.create("datasets", config).load(ctx)
    except (ValueError, OSError) as error:
        raise BuildError(
            f"cannot load data set '{config.type}': {error}", scenario.where(("data",))
        ) from None
    except BuildError as error:
        error.where = error.where or scenario.where(("data",))
        raise
    if data.x.ndim not in (2, 4) or len(data.x) == 0:
        raise BuildError(
            f"data set '{config.type}' gave inputs of shape "
            f"{data.x.shape}; expected (samples, features) or (samples, channels, height, "
            f"width)",
            scenario.where(("data",)),
        )
    return data


def load_data(scenario: Scenario, ctx: BuildContext) -> Data:
    """Load the scenario's data set and hold out ``train.validation_split`` of it."""
    spec = scenario.spec
    data = load_dataset(scenario, ctx)
    if data.y is None and getattr(spec, "kind", "supervised") == "supervised":
        raise BuildError(
            f"data set '{spec.data.type}' has no targets (it is a distribution to sample, "
            f"for a GAN), so there is nothing to learn with a loss",
            scenario.where(("data",)),
            hint="use a labeled data set such as moons, spirals, sine or csv",
        )
    data = in_precision(data, ctx.dtype)
    fraction = spec.train.validation_split
    if fraction:
        if data.x_val is not None:
            raise BuildError(
                f"data set '{spec.data.type}' brings its own validation data",
                scenario.where(("train", "validation_split")),
                hint="leave out train.validation_split",
            )
        try:
            data = hold_out(data, fraction, ctx.rng("split"))
        except ValueError as error:
            raise BuildError(
                str(error),
                scenario.where(("train", "validation_split")),
                hint="use more samples or a different fraction",
            ) from None
    return data


def hold_out(data: Data, fraction: float, rng: np.random.Generator) -> Data:
    """Move round(fraction·N) samples, chosen at random, to ``x_val``/``y_val``.

    Both parts keep the order the samples had in the data set.
    """
    n = len(data.x)
    n_val = round(fraction * n)
    if not 0 < n_val < n:
        raise ValueError(
            f"a validation split of {fraction:g} of {n} samples leaves {n_val} for "
            f"validation and {n - n_val} for training; both need at least one"
        )
    order = rng.permutation(n)
    val, train = np.sort(order[:n_val]), np.sort(order[n_val:])
    y, y_val = (None, None) if data.y is None else (data.y[train], data.y[val])
    return dataclasses.replace(data, x=data.x[train], y=y, x_val=data.x[val], y_val=y_val)


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


def layer_widths(layer_specs, in_features, path: tuple) -> list[tuple[tuple, int, int]]:
    """(path, inputs, units) per layer with weights, before anything is allocated."""
    return _layer_widths(layer_specs, in_features, path)


def traced_sizes(network: Network, batch: int) -> list[list[int]]:
    """Sizes of the arrays one traced step writes per layer (for the trace-size estimate)."""
    return network.traced_sizes(batch)


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
    check_trace(spec, traced_sizes(network, batch), limits, scenario.where)
    loss = scenario.registry.create("losses", spec.loss)
    try:
        targets = loss.prepare_target(data.y, network.out_features)
    except ValueError as error:
        last = network.layers[-1]
        raise BuildError(
            f"the last layer '{last.name}' gives {network.out_features} outputs per "
            f"sample, which does not fit the data's targets for loss "
            f"'{spec.loss.type}': {error}",
            scenario.where(("model", "layers", len(network.layers) - 1)),
            hint="make the last layer's units match the targets",
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
    return Built(scenario, ctx, data, targets, network, loss, optimizer, schedule)
