"""Optimizers explain their updates through their contract: ``update_rule`` for the report's
rule, ``worked_update`` for one entry with its numbers. Every built-in optimizer's worked
value is the value its own step produced, and a report shows the lines only when they are."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

import engine
from engine.components import Parameter, UpdateEntry, WorkedUpdate
from engine.plugins import load_registry
from engine.report import write_report
from engine.report.numbers import fmt, sub

#: Every built-in optimizer with the options that change its worked form.
CONFIGS = [
    {"type": "sgd", "lr": 0.1},
    {"type": "sgd", "lr": 0.1, "weight_decay": 0.3},
    {"type": "sgd", "lr": 0.1, "momentum": 0.9, "dampening": 0.2},
    {"type": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1},
    {"type": "rmsprop", "lr": 0.01},
    {"type": "rmsprop", "lr": 0.01, "centered": True, "weight_decay": 0.2},
    {"type": "rmsprop", "lr": 0.01, "momentum": 0.5},
    {"type": "adagrad", "lr": 0.1, "lr_decay": 0.5, "weight_decay": 0.1},
    {"type": "adam", "lr": 0.01},
    {"type": "adam", "lr": 0.01, "amsgrad": True, "weight_decay": 0.1},
    {"type": "adamw", "lr": 0.01, "weight_decay": 0.3},
]


def _optimizer(config: dict):
    component = load_registry(autoload=False).get("optimizers", config["type"])
    return component.create(component.config.model_validate(config))


def _entries(name, before, grad, state, lr):
    for index in np.ndindex(before.shape):
        cut = {
            k: float(v[index]) if isinstance(v, np.ndarray) and v.shape == before.shape else v
            for k, v in state.items()
        }
        yield index, UpdateEntry(f"{name}{sub(*index)}", before[index], grad[index], lr, cut)


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: "-".join(map(str, c.values())))
def test_every_builtin_worked_update_is_its_own_step(config):
    optimizer = _optimizer(config)
    assert optimizer.update_rule and "←" in optimizer.update_rule
    assert "<-" not in optimizer.update_rule
    rng = np.random.default_rng(3)
    p = Parameter("hidden.W", rng.normal(size=(2, 3)))
    for _ in range(3):  # later steps start from a state that is not the initial one
        p.grad = rng.normal(size=p.value.shape)
        before = p.value.copy()
        optimizer.step([p], config["lr"])
        state = optimizer.state("hidden.W")
        for index, entry in _entries("W", before, p.grad, state, config["lr"]):
            worked = optimizer.worked_update(entry)
            assert isinstance(worked, WorkedUpdate), config
            np.testing.assert_allclose(worked.value, p.value[index], rtol=1e-12, atol=1e-15)
            assert worked.text.startswith(f"{entry.name} ← {entry.name} − ")
            assert worked.text.endswith(f"= {fmt(p.value[index])}")


def test_the_momentum_buffer_is_not_the_bias_letter():
    """v for the velocity, since b is the bias (b₁ ← b₁ − lr·g)."""
    rule = _optimizer({"type": "sgd", "lr": 0.1, "momentum": 0.9}).update_rule
    assert "v ← g at t = 1, else μ·v" in rule and "b" not in rule.replace("(", " ").split()


PLUGIN = """
from typing import Literal
import numpy as np
import engine
from engine.components import WorkedUpdate


class HalfConfig(engine.OptimizerConfig):
    type: Literal["half_step"] = "half_step"


class HalfStep(engine.Optimizer):
    update_rule = "p ← p − lr·g/2"

    def step(self, params, lr):
        for p in params:
            p.value -= lr * p.grad / 2

    def worked_update(self, entry):
        value = entry.p - entry.lr * entry.g / 2 + OFFSET
        text = f"{entry.name} ← {entry.name} − lr·g/2 = {entry.number(value)}"
        return WorkedUpdate(text, value)


@engine.hookimpl
def tracegrad_register_optimizers(register):
    register("half_step", HalfStep, HalfConfig)
"""

SCENARIO = """
name: half
seed: 0
plugins: [half.py]
data: {type: xor}
model:
  layers:
    - {type: dense, name: out, units: 1, activation: sigmoid}
loss: {type: bce}
optimizer: {type: half_step, lr: 0.5}
train: {steps: 2}
trace: {every: 1}
"""


def _report(tmp_path, offset: float) -> str:
    (tmp_path / "half.py").write_text(PLUGIN.replace("OFFSET", repr(offset)))
    scenario = tmp_path / "half.yaml"
    scenario.write_text(textwrap.dedent(SCENARIO))
    result = engine.run(scenario, run_dir=tmp_path / "run")
    output = tmp_path / "report.md"  # the report loads the plugin as `tracegrad report --plugin`
    write_report(result.run_dir, output, plugins=[str(tmp_path / "half.py")])
    return output.read_text(encoding="utf-8")


def test_a_plugin_optimizers_rule_and_worked_update_reach_the_report(tmp_path):
    text = _report(tmp_path, 0.0)
    assert "p ← p − lr·g/2" in text
    assert "W₁₁ ← W₁₁ − lr·g/2 = " in text and "b₁ ← b₁ − lr·g/2 = " in text


def test_a_worked_update_the_numbers_do_not_follow_is_not_shown(tmp_path):
    text = _report(tmp_path, 1e-3)
    assert "p ← p − lr·g/2" in text  # the rule still stands above the numbers
    assert "W₁₁ ← W₁₁ − lr·g/2 = " not in text  # but the wrong lines give way to the table
    assert "applied" in text


def test_the_optimizer_docs_show_each_builtin_rule_as_the_report_does():
    from tests.conftest import ROOT

    docs = (ROOT / "docs" / "components" / "optimizers.md").read_text(encoding="utf-8")
    registry = load_registry(autoload=False)
    for name in ("sgd", "rmsprop", "adagrad", "adam", "adamw"):
        rule = registry.get("optimizers", name).implementation.update_rule
        assert f"```\n{rule}\n```" in docs, name
