"""The one run lifecycle every scenario kind shares: ``engine.run``.

    scenario -> kind.build -> run folder, trace header -> step 0, 1, ... -> end record,
    params.npz -> RunResult

The lifecycle owns what no kind should write twice: the run folder and its files, the trace
header and end record, interrupts and signals (between steps), limits, tracing off meaning no
per-step record work, divergence (a watched scalar not finite ends the run as failed, the
kind says where), the per-step scalars and their history, the progress callback. A kind
(``engine.components.ScenarioKind``) builds the run and trains one step at a time
(``StepLoop``).
"""

from __future__ import annotations

import math
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np

import engine
from engine import interrupt, run_folder
from engine.files import save_arrays
from engine.history import StepHistory
from engine.i18n import _
from engine.limits import Limits
from engine.limits import applied as limits_applied
from engine.result import RunResult
from engine.scenario import Scenario, load_scenario
from engine.trace import SCHEMA_VERSION, TraceWriter


def run(
    scenario: str | Path | dict | Scenario,
    trace: str | Path | bool | None = None,
    overrides: dict | list | None = None,
    *,
    run_dir: str | Path | None = None,
    progress=None,
    plugins=(),
    limits: dict | None = None,
    overwrite: bool = False,
) -> RunResult:
    """Train a scenario of any kind and return its ``RunResult``.

    ``trace``: None writes a run folder ``runs/<name>-<time>/`` (or ``run_dir``) holding
    ``trace.jsonl``, ``scenario.yaml`` and ``params.npz``; a path writes the trace there (the
    other files beside it); False writes nothing. ``overrides`` are dotted keys, as ``--set``.
    ``progress(step, total, value)`` is called as training goes. ``limits`` raises the limits
    that refuse oversized scenarios (``engine.limits.Limits``), e.g. ``{"steps": 10**8}``.
    ``overwrite`` lets the run replace an earlier run's files (``engine.run_folder``).
    """
    with run_folder.overwriting(overwrite), limits_applied(limits):
        return _run(scenario, trace, overrides, run_dir, progress, plugins, limits)


def _run(scenario, trace, overrides, run_dir, progress, plugins, limits) -> RunResult:
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario, overrides, plugins=plugins)
    elif overrides:
        raise ValueError(_("overrides apply when loading: pass a path or dict, not a Scenario"))
    kind = scenario.kind
    with interrupt.deferred():
        built = kind.build(scenario, Limits.from_settings(limits))
        lifecycle = Run(scenario, built, trace, run_dir)
        try:
            # NaN/inf are detected and explained by the lifecycle and the kind; numpy's
            # warnings would only repeat it less clearly
            with np.errstate(all="ignore"):
                loop = kind.loop(built, lifecycle)
                return lifecycle.train(loop, progress)
        except BaseException as error:
            lifecycle.abort(error)
            raise


def run_header(scenario: Scenario, ctx) -> dict[str, Any]:
    """What every trace header says about how to reproduce it: versions, seed, scenario."""
    return {
        "type": "header",
        "schema_version": SCHEMA_VERSION,
        "tracegrad_version": engine.__version__,
        "numpy_version": np.__version__,
        "python_version": platform.python_version(),
        "seed": scenario.spec.seed,
        "seed_entropy": ctx.seeds.entropy,
        "scenario_hash": scenario.digest(),
        "scenario": scenario.resolved(),
        "providers": providers(scenario),
    }


def providers(scenario: Scenario) -> dict[str, str]:
    """Which distribution (and version) provides each component the scenario uses, as
    {"optimizers.adam": "tracegrad 0.1.0"}: a trace says what to install to re-run or check it."""
    from engine.plugins import provider_of

    names: set[str] = set()

    def walk(node) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("type"), str):
                names.add(node["type"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(scenario.resolved())
    found = {}
    for kind, components in scenario.registry.components.items():
        for name in sorted(names & set(components)):
            component = components[name]
            found[f"{kind}.{name}"] = provider_of(component.plugin)
    return found


class Run:
    """One run in progress: its folder, trace writer and history; ``train`` drives a kind's
    ``StepLoop`` from the first step to the end record."""

    def __init__(self, scenario: Scenario, built, trace, run_dir):
        self.scenario, self.built, self.kind = scenario, built, scenario.kind
        self.history = StepHistory()
        self.run_dir, self.trace_path = run_folder.prepare(scenario, trace, run_dir)
        self.writer = TraceWriter(self.trace_path, scenario.spec.trace.max_values)
        header, own = run_header(scenario, built.ctx), dict(self.kind.header(built))
        header["providers"].update(own.pop("providers", {}))  # a kind's step plugins, say
        self.writer.write({**header, **own})
        self.completed, self.seconds = 0, 0.0
        self.loop = None

    def train(self, loop, progress=None) -> RunResult:
        self.loop = loop
        spec = self.built.scenario.spec
        total, policy = spec.train.steps, spec.trace
        ctx, history, writer = self.built.ctx, self.history, self.writer
        tracing = writer.enabled  # tracing off: no step builds or encodes a record
        started = time.perf_counter()
        status, message = "completed", None
        try:
            for step in range(total):
                interrupt.check()
                ctx.step = step
                scalars = loop.step(step, tracing and policy.traces(step, total))
                if loop.failed(scalars):
                    status, message = "failed", loop.diverged(step, scalars)
                    break
                if loop.measures(step, total):
                    scalars.update(loop.measure(step))
                history.append(scalars)
                writer.scalars(step, scalars)
                if progress is not None:
                    progress(step + 1, total, loop.progress_value(scalars))
        except KeyboardInterrupt:
            status, message = "interrupted", f"interrupted after {len(history)} of {total} steps"
        self.seconds = time.perf_counter() - started
        return self.finish(loop, status, message)

    def finish(self, loop, status: str, message: str | None) -> RunResult:
        self.completed = len(self.history)
        end = {"status": status, "steps_completed": self.completed, **loop.end(status)}
        if message:
            end["message"] = message
        self.writer.close(end)
        if self.run_dir is not None:
            save_arrays(self.run_dir / "params.npz", self.built.state())
        return self.kind.result(self.built, self, status, message)

    def abort(self, error: BaseException) -> None:
        """Close the trace with status failed when something unexpected stops the run."""
        if self.writer.enabled:
            self.writer.close(
                {
                    "status": "failed",
                    "steps_completed": len(self.history),
                    "message": f"{type(error).__name__}: {error}",
                }
            )


def all_finite(scalars: dict, keys) -> bool:
    """True when every one of ``keys`` in ``scalars`` is a finite number."""
    return all(math.isfinite(scalars[key]) for key in keys)
