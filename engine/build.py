"""Build the pieces of a supervised run from a validated scenario: data, network, loss,
optimizer and schedule. Shared by training, gradcheck and (later) other loops."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.components import BuildContext, Data, Loss, Optimizer, Schedule
from engine.errors import BuildError
from engine.network import Network, build_network
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


def new_context(scenario: Scenario) -> BuildContext:
    spec = scenario.spec
    return BuildContext(
        SeedTree(spec.seed), scenario.registry, scenario.base_dir, total_steps=spec.train.steps
    )


def load_data(scenario: Scenario, ctx: BuildContext) -> Data:
    dataset = scenario.registry.create("datasets", scenario.spec.data)
    try:
        data = dataset.load(ctx)
    except (ValueError, OSError) as error:
        raise BuildError(
            f"cannot load data set '{scenario.spec.data.type}': {error}", scenario.where(("data",))
        ) from None
    if data.x.ndim != 2 or len(data.x) == 0:
        raise BuildError(
            f"data set '{scenario.spec.data.type}' gave inputs of shape "
            f"{data.x.shape}; expected (samples, features)",
            scenario.where(("data",)),
        )
    return data


def build(scenario: Scenario) -> Built:
    spec = scenario.spec
    ctx = new_context(scenario)
    data = load_data(scenario, ctx)
    network = build_network(spec.model.layers, data.x.shape[1], ctx, scenario.where)
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
    optimizer = scenario.registry.create("optimizers", spec.optimizer)
    schedule = (
        scenario.registry.create("schedules", spec.optimizer.schedule)
        if spec.optimizer.schedule is not None
        else None
    )
    return Built(scenario, ctx, data, targets, network, loss, optimizer, schedule)
