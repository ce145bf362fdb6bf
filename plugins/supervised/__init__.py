"""The supervised scenario kind (``kind: supervised``, the default): a network learns a data
set's targets through a loss. Registered exactly as an outside plugin would register a kind.

    scenario.py   its fields (data, model, loss, optimizer, train)
    build.py      data, network, loss, optimizer and schedule
    loop.py       one training step, and the step hooks plugins use
"""

from __future__ import annotations

import numpy as np

import engine
from engine.components import ScenarioKind
from engine.limits import Limits
from engine.result import RunResult
from engine.steps import plugin_name
from plugins.supervised.build import Built, build
from plugins.supervised.loop import SupervisedLoop, SupervisedStepSpecs
from plugins.supervised.scenario import SupervisedFields, supervised_model


class SupervisedKind(ScenarioKind):
    """A network learns a data set's targets through a loss (the default kind)."""

    step_specs = SupervisedStepSpecs

    def scenario_model(self, registry):
        return supervised_model(registry)

    def build(self, scenario, limits: Limits | None = None, precision=None, with_data=True):
        return build(scenario, limits, precision)

    def header(self, built: Built) -> dict:
        data = built.data
        return {
            "data": {
                "samples": int(len(data.x)),
                "features": int(np.prod(data.x.shape[1:])),
                **({"image_shape": list(data.x.shape[1:])} if data.x.ndim > 2 else {}),
                "task": data.task,
                "classes": data.classes,
                "validation_samples": None if data.x_val is None else int(len(data.x_val)),
            },
            "network": network_header(built.network, images=data.x.ndim > 2),
            # joins the run header's providers: what brings each step plugin of the run
            "providers": {
                f"step_plugins.{plugin_name(plugin)}": source
                for source, plugin in built.step_plugins
            },
        }

    def loop(self, built: Built, run) -> SupervisedLoop:
        return SupervisedLoop(built, run, [plugin for _, plugin in built.step_plugins])

    def result(self, built: Built, run, status: str, message: str | None) -> RunResult:
        return RunResult(
            built.scenario,
            built.network,
            built,
            run.history,
            status,
            message,
            run.completed,
            run.seconds,
            dict(run.loop.metrics),
            run.trace_path,
            run.run_dir,
        )

    def load(self, scenario, params, loaded) -> RunResult:
        built = build(scenario)
        built.network.load_state(params)
        return RunResult(
            scenario,
            built.network,
            built,
            loaded.history,
            loaded.status,
            None,
            len(loaded.history),
            0.0,
            loaded.metrics,
            loaded.trace_path,
            loaded.folder,
        )

    def gradcheck(self, scenario, max_entries: int = 200, precision="float64"):
        from engine.gradcheck import check_network

        built = build(scenario, precision=precision)
        x, target = built.data.x[:64], built.targets[:64]
        return check_network(built.network, built.loss, x, target, built.ctx, max_entries)


def network_header(network, images: bool = False) -> list[dict]:
    """The trace header's description of a network's layers; with images (or image layers),
    each layer's output shape, (C, H, W) or D."""
    images = images or any(isinstance(layer.out_shape, tuple) for layer in network.layers)
    return [
        {
            "name": layer.name,
            "index": index,
            "type": layer.config.type,
            "describe": layer.describe(),
            "formula": layer.formula,
            "params": {name: list(p.value.shape) for name, p in layer.params.items()},
            **({"out_shape": _shape_list(layer.out_shape)} if images else {}),
        }
        for index, layer in enumerate(network.layers)
    ]


@engine.hookimpl
def tracegrad_register_scenario_kinds(register):
    register("supervised", SupervisedKind, SupervisedFields)


def _shape_list(shape) -> list[int]:
    return [int(size) for size in shape] if isinstance(shape, tuple) else [int(shape)]
