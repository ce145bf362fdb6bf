"""A third kind of scenario: one number θ learns a target by gradient descent,
L = (θ − target)², θ ← θ − lr·2(θ − target). Its trace check re-derives every traced step.

Use it in a scenario (the whole file)::

    kind: counter
    name: counter
    seed: 0
    target: 3.0
    train: {steps: 3, lr: 0.1}
    trace: {every: 1}
"""

from typing import Literal

import numpy as np
from pydantic import Field

import engine
from engine.build import new_context
from engine.result import RunResult
from engine.scenario import ScenarioBase, TraceConfig, TrainBase


class CounterTrain(TrainBase):
    lr: float = Field(0.1, gt=0, description="Step size.")


class CounterFields(ScenarioBase):  # the kind's part of a scenario file
    kind: Literal["counter"] = Field(description="One number learns a target.")
    train: CounterTrain
    trace: TraceConfig = Field(default_factory=TraceConfig)
    target: float = Field(description="What θ learns; L = (θ − target)².")


class CounterBuilt:  # what build() returns: ctx, state() and describe()
    def __init__(self, scenario):
        self.scenario, self.ctx = scenario, new_context(scenario)
        self.theta = np.zeros(1)

    def state(self):
        return {"theta": self.theta.copy()}

    def describe(self):
        return "counter: θ learns a number"


class CounterLoop(engine.StepLoop):
    def __init__(self, built, run):
        self.built, self.writer = built, run.writer

    def step(self, step, traced):
        spec, theta = self.built.scenario.spec, self.built.theta
        before = float(theta[0])
        theta -= spec.train.lr * 2 * (before - spec.target)
        if traced:
            self.writer.write(
                {"type": "counter", "step": step, "before": before, "after": theta[0]}
            )
        return {"step": step, "loss": (before - spec.target) ** 2}


class CounterKind(engine.ScenarioKind):
    def scenario_model(self, registry):
        return CounterFields

    def build(self, scenario, limits=None, precision=None, with_data=True):
        return CounterBuilt(scenario)

    def header(self, built):
        return {"network": []}

    def loop(self, built, run):
        return CounterLoop(built, run)

    def result(self, built, run, status, message):
        return RunResult(
            built.scenario, None, built, run.history, status, message, run.completed,
            run.seconds, {}, run.trace_path, run.run_dir,
        )  # fmt: skip


def check_counter(trace, checker):
    """θ_after = θ_before − lr·2(θ_before − target), for every traced step."""
    from engine.verify.report import Place

    spec = trace.header["scenario"]
    lr, target = spec["train"]["lr"], spec["target"]
    steps = []
    for r in trace.records:
        if r["type"] == "counter":
            expected = r["before"] - lr * 2 * (r["before"] - target)
            checker.compare(Place(r["step"], "θ"), "after", r["after"], expected, "θ − lr·2(θ − t)")
            steps.append(r["step"])
    return steps


@engine.hookimpl
def tracegrad_register_scenario_kinds(register):
    register("counter", CounterKind, CounterFields)


@engine.hookimpl
def tracegrad_register_trace_checks(register):
    register("counter", check_counter)


@engine.hookimpl
def tracegrad_register_rules(register):
    """The documented order of a traced step's records: here one ``counter`` record."""
    from engine.verify.order import RecordOrder, Slot

    register("record_order", "counter", RecordOrder([Slot("counter", required=True)]))
