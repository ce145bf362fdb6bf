"""One contract over every registered scenario kind, and a throwaway third kind registered
from this test exactly as an outside plugin would: what the run lifecycle (engine/lifecycle.py)
gives each kind for free."""

from __future__ import annotations

import math
import os
import signal
import sys
import types
from typing import Literal

import numpy as np
import pytest
from pydantic import Field

import engine
from engine.build import new_context
from engine.components import ScenarioKind, StepLoop
from engine.limits import LimitError, check_steps, check_trace
from engine.report import write_report
from engine.result import RunResult
from engine.scenario import ScenarioBase, TraceConfig, TrainBase
from engine.trace import read_trace, record
from engine.verify import verify_trace
from engine.verify.order import RecordOrder, Slot
from tests.test_gan import tiny

# --- a third kind: one number θ learns a target by gradient descent ---------------------------


class CounterTrain(TrainBase):
    lr: float = Field(0.1, gt=0, description="Step size.")


class CounterFields(ScenarioBase):
    kind: Literal["counter"] = Field(description="One number learns a target.")
    train: CounterTrain
    trace: TraceConfig = Field(default_factory=TraceConfig)
    target: float = Field(description="What θ learns; L = (θ − target)².")


class CounterBuilt:
    def __init__(self, scenario):
        self.scenario = scenario
        self.ctx = new_context(scenario)
        self.theta = np.zeros(1, dtype=self.ctx.dtype)

    def state(self):
        return {"theta": self.theta.copy()}

    def describe(self):
        return "counter: θ learns a number"


class CounterLoop(StepLoop):
    def __init__(self, built, run):
        self.built, self.writer = built, run.writer
        self.metrics = {}

    def step(self, step, traced):
        spec, theta = self.built.scenario.spec, self.built.theta
        loss = float((theta[0] - spec.target) ** 2)
        grad = 2 * (theta[0] - spec.target)
        before = float(theta[0])
        theta -= spec.train.lr * grad
        if traced:
            self.writer.write(
                {"type": "counter", "step": step, "before": before, "after": theta[0]}
            )
        return {"step": step, "loss": loss}

    def failed(self, scalars):
        return not math.isfinite(scalars["loss"])

    def diverged(self, step, scalars):
        return f"θ overshot at step {step}: the loss is {scalars['loss']}"

    def end(self, status):
        return {"theta": float(self.built.theta[0])}


class CounterKind(ScenarioKind):
    def scenario_model(self, registry):
        return CounterFields

    def build(self, scenario, limits=None, precision=None, with_data=True):
        check_steps(scenario.spec, limits, scenario.where)
        check_trace(scenario.spec, [[1, 1]], limits, scenario.where)
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
    from engine.verify.report import Place

    lr = trace.header["scenario"]["train"]["lr"]
    target = trace.header["scenario"]["target"]
    steps = []
    for r in trace.records:
        if r["type"] == "counter":
            expected = r["before"] - lr * 2 * (r["before"] - target)
            checker.compare(Place(r["step"], "θ"), "after", r["after"], expected, "θ − lr·2(θ−t)")
            steps.append(r["step"])
    return steps


counter_plugin = types.ModuleType("tracegrad_counter_kind")
counter_plugin.tracegrad_register_scenario_kinds = engine.hookimpl(
    lambda register: register("counter", CounterKind, CounterFields)
)
counter_plugin.tracegrad_register_trace_checks = engine.hookimpl(
    lambda register: register("counter", check_counter)
)
counter_plugin.tracegrad_register_rules = engine.hookimpl(
    lambda register: register(
        "record_order", "counter", RecordOrder([Slot("counter", required=True)])
    )
)
sys.modules["tracegrad_counter_kind"] = counter_plugin

COUNTER = {
    "name": "counter",
    "kind": "counter",
    "plugins": ["tracegrad_counter_kind"],
    "target": 3.0,
    "train": {"steps": 20, "lr": 0.1},
}
SUPERVISED = {
    "name": "tiny-xor",
    "data": {"type": "xor"},
    "model": {
        "layers": [
            {"type": "dense", "units": 4, "activation": "tanh"},
            {"type": "dense", "units": 1},
        ]
    },
    "loss": {"type": "mse"},
    "optimizer": {"type": "sgd", "lr": 0.5},
    "train": {"steps": 20},
}
KINDS = {
    "supervised": SUPERVISED,
    "gan": tiny(train={"steps": 20, "batch_size": 8}),
    "counter": COUNTER,
}
#: What makes each kind diverge.
DIVERGE = {
    "supervised": {"optimizer.lr": 1e300},
    "gan": {"optimizer.generator.lr": 1e300, "optimizer.discriminator.lr": 1e300},
    "counter": {"train.lr": 1e300},
}


@pytest.fixture(params=sorted(KINDS))
def kind(request):
    return request.param


def test_the_third_kind_is_registered_like_the_built_ins():
    scenario = engine.load_scenario(COUNTER)
    assert sorted(scenario.registry.kinds) == ["counter", "gan", "supervised"]
    assert scenario.kind.name == "counter"


def test_a_run_completes_and_its_trace_verifies(kind, tmp_path):
    result = engine.run(KINDS[kind], run_dir=tmp_path / "run")
    assert result.status == "completed" and result.steps_completed == 20
    assert len(result.history) == 20 and all("step" in row for row in result.history)
    files = sorted(p.name for p in (tmp_path / "run").iterdir())
    assert files == ["params.npz", "scenario.yaml", "trace.jsonl"]
    report = verify_trace(tmp_path / "run" / "trace.jsonl")
    assert report.ok and report.steps, report.format()
    assert report.complete, report.format()  # the kind gave the order of its records too
    page = write_report(tmp_path / "run" / "trace.jsonl", tmp_path / "report.html")
    assert "</html>" in page.read_text(encoding="utf-8")


def test_tracing_off_does_no_record_work(kind, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a record was built with tracing off")

    for name in ("forward_records", "backward_records", "loss_record", "update_records"):
        monkeypatch.setattr(record, name, refuse)
    monkeypatch.setattr("engine.trace.writer.TraceWriter.tensor", refuse)
    result = engine.run(KINDS[kind], trace=False, overrides={"trace.every": 1})
    assert result.status == "completed" and result.trace_path is None


def test_float32_reaches_data_latent_and_parameters(kind):
    result = engine.run(KINDS[kind], trace=False, overrides={"precision": "float32"})
    assert all(v.dtype == np.float32 for v in result.built.state().values())
    data = getattr(result.built, "data", None)
    if data is not None:
        assert data.x.dtype == np.float32
    if kind == "gan":
        assert result.built.latent(4, np.random.default_rng(0)).dtype == np.float32
        assert result.generate(4).dtype == np.float32


def test_limits_are_refused_before_the_start(kind, tmp_path):
    with pytest.raises(LimitError):
        engine.run(KINDS[kind], run_dir=tmp_path / "run", limits={"trace_bytes": 100})
    with pytest.raises(LimitError):
        engine.run(KINDS[kind], run_dir=tmp_path / "run", limits={"steps": 5})
    assert not (tmp_path / "run").exists()


def test_sigint_ends_the_run_as_interrupted(kind, tmp_path):
    def progress(step, total, value):
        if step == 3:
            os.kill(os.getpid(), signal.SIGINT)

    result = engine.run(KINDS[kind], run_dir=tmp_path / "run", progress=progress)
    assert result.status == "interrupted" and result.steps_completed == 3
    trace = read_trace(tmp_path / "run" / "trace.jsonl")
    assert trace.end["status"] == "interrupted" and trace.end["steps_completed"] == 3
    assert (tmp_path / "run" / "params.npz").is_file()


def test_nan_ends_the_run_as_failed_naming_the_step(kind, tmp_path):
    result = engine.run(KINDS[kind], run_dir=tmp_path / "run", overrides=DIVERGE[kind])
    assert result.status == "failed"
    step = result.steps_completed
    assert f"at step {step}" in result.message
    trace = read_trace(tmp_path / "run" / "trace.jsonl")
    assert trace.end["status"] == "failed" and trace.end["message"] == result.message


@pytest.mark.parametrize("scenario", ["xor.yaml", "gan/ring8.yaml"])
def test_validate_refuses_a_trace_beyond_the_limit_for_every_kind(cli, scenario):
    from tests.conftest import SCENARIOS

    result = cli("validate", SCENARIOS / scenario, "--limit", "trace_bytes=1000")
    assert result.code == 2 and "estimated trace size" in result.err, result
