"""Built-in optimizers against hand-written references of their published update rules.

Each reference below is written from the formula in the torch.optim documentation, one
plain numpy line per line of the formula, and never calls plugin code. The optimizers run
on two parameters (a matrix and a vector) whose gradients change every step and depend on
the parameter itself, with a learning rate that changes every step (as under a schedule).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
import yaml
from pydantic import ValidationError

import engine
from engine.components import Parameter
from engine.errors import TracegradError
from engine.trace import read_trace
from plugins.optimizers import (
    Adagrad,
    AdagradConfig,
    Adam,
    AdamConfig,
    Adamw,
    AdamwConfig,
    Rmsprop,
    RmspropConfig,
    Sgd,
    SgdConfig,
)

STEPS = 6
START = {
    "layer.W": np.array([[0.5, -1.2, 0.3], [2.0, -0.1, 0.0]]),
    "layer.b": np.array([0.05, -0.4, 1.5]),
}


def gradient(key: str, t: int, p: np.ndarray) -> np.ndarray:
    """A gradient that varies with the step t (1-based) and with the parameter p."""
    phase = 0.0 if key.endswith("W") else 1.0
    k = np.arange(p.size, dtype=np.float64).reshape(p.shape)
    return np.sin(1.3 * t + k + phase) + 0.4 * p - 0.1 * k


def learning_rate(t: int, base: float) -> float:
    return base * (1.0 + 0.1 * math.cos(t))


def run_optimizer(optimizer, base_lr, steps=STEPS):
    """Parameter values after every step, and the optimizer's state after the last one."""
    params = [Parameter(key, value.copy()) for key, value in START.items()]
    trajectory = []
    for t in range(1, steps + 1):
        for p in params:
            p.grad = gradient(p.key, t, p.value)
        optimizer.step(params, learning_rate(t, base_lr))
        trajectory.append({p.key: p.value.copy() for p in params})
    return trajectory, {p.key: optimizer.state(p.key) for p in params}


def run_reference(update, base_lr, steps=STEPS):
    """The same loop for a reference ``update(p, g, lr, t, state) -> new p``."""
    values = {key: value.copy() for key, value in START.items()}
    states = {key: {} for key in START}
    trajectory = []
    for t in range(1, steps + 1):
        for key in values:
            g = gradient(key, t, values[key])
            values[key] = update(values[key], g, learning_rate(t, base_lr), t, states[key])
        trajectory.append({key: value.copy() for key, value in values.items()})
    return trajectory, states


def assert_same_trajectory(ours, expected):
    assert len(ours) == len(expected)
    for step, (mine, theirs) in enumerate(zip(ours, expected)):
        for key in theirs:
            np.testing.assert_allclose(
                mine[key], theirs[key], rtol=0, atol=1e-12, err_msg=f"{key} after step {step + 1}"
            )
    # the parameters really moved, so the comparison says something
    assert not np.allclose(ours[-1]["layer.W"], START["layer.W"])


# --- references, from the published formulas ------------------------------------------------


def sgd_reference(momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0):
    def update(p, g, lr, t, state):
        if weight_decay != 0:
            g = g + weight_decay * p
        if momentum != 0:
            if t > 1:
                state["velocity"] = momentum * state["velocity"] + (1 - dampening) * g
            else:
                state["velocity"] = g
            g = g + momentum * state["velocity"] if nesterov else state["velocity"]
        return p - lr * g

    return update


def rmsprop_reference(alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False):
    def update(p, g, lr, t, state):
        if weight_decay != 0:
            g = g + weight_decay * p
        state["square_avg"] = alpha * state.get("square_avg", 0.0) + (1 - alpha) * g**2
        v_tilde = state["square_avg"]
        if centered:
            state["grad_avg"] = state.get("grad_avg", 0.0) * alpha + (1 - alpha) * g
            v_tilde = v_tilde - state["grad_avg"] ** 2
        if momentum > 0:
            state["momentum_buffer"] = momentum * state.get("momentum_buffer", 0.0) + g / (
                np.sqrt(v_tilde) + eps
            )
            return p - lr * state["momentum_buffer"]
        return p - lr * g / (np.sqrt(v_tilde) + eps)

    return update


def adagrad_reference(lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10):
    def update(p, g, lr, t, state):
        lr_t = lr / (1 + (t - 1) * lr_decay)
        if weight_decay != 0:
            g = g + weight_decay * p
        state["sum"] = state.get("sum", initial_accumulator_value) + g**2
        state["t"] = t
        return p - lr_t * g / (np.sqrt(state["sum"]) + eps)

    return update


def adam_reference(betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, decoupled=False):
    beta1, beta2 = betas

    def update(p, g, lr, t, state):
        if decoupled:
            p = p - lr * weight_decay * p
        elif weight_decay != 0:
            g = g + weight_decay * p
        state["t"] = t
        state["m"] = beta1 * state.get("m", 0.0) + (1 - beta1) * g
        state["v"] = beta2 * state.get("v", 0.0) + (1 - beta2) * g**2
        state["m_hat"] = state["m"] / (1 - beta1**t)
        if amsgrad:
            state["v_max"] = np.maximum(state.get("v_max", 0.0), state["v"])
            state["v_hat"] = state["v_max"] / (1 - beta2**t)
        else:
            state["v_hat"] = state["v"] / (1 - beta2**t)
        return p - lr * state["m_hat"] / (np.sqrt(state["v_hat"]) + eps)

    return update


CASES = {
    "sgd": (Sgd, SgdConfig, sgd_reference, 0.1, {}),
    "sgd momentum": (Sgd, SgdConfig, sgd_reference, 0.1, {"momentum": 0.9}),
    "sgd dampening": (
        Sgd,
        SgdConfig,
        sgd_reference,
        0.1,
        {"momentum": 0.8, "dampening": 0.3, "weight_decay": 0.05},
    ),
    "sgd nesterov": (Sgd, SgdConfig, sgd_reference, 0.1, {"momentum": 0.9, "nesterov": True}),
    "sgd nesterov weight_decay": (
        Sgd,
        SgdConfig,
        sgd_reference,
        0.1,
        {"momentum": 0.5, "nesterov": True, "weight_decay": 0.1},
    ),
    "sgd weight_decay": (Sgd, SgdConfig, sgd_reference, 0.1, {"weight_decay": 0.2}),
    "rmsprop": (Rmsprop, RmspropConfig, rmsprop_reference, 0.01, {}),
    "rmsprop centered": (Rmsprop, RmspropConfig, rmsprop_reference, 0.01, {"centered": True}),
    "rmsprop momentum": (Rmsprop, RmspropConfig, rmsprop_reference, 0.01, {"momentum": 0.9}),
    "rmsprop all": (
        Rmsprop,
        RmspropConfig,
        rmsprop_reference,
        0.02,
        {"centered": True, "momentum": 0.7, "alpha": 0.9, "weight_decay": 0.1, "eps": 1e-3},
    ),
    "adagrad": (Adagrad, AdagradConfig, adagrad_reference, 0.1, {}),
    "adagrad lr_decay": (
        Adagrad,
        AdagradConfig,
        adagrad_reference,
        0.1,
        {"lr_decay": 0.3, "weight_decay": 0.1, "initial_accumulator_value": 0.5},
    ),
    "adam": (Adam, AdamConfig, adam_reference, 0.01, {}),
    "adam amsgrad": (Adam, AdamConfig, adam_reference, 0.01, {"amsgrad": True}),
    "adam weight_decay": (
        Adam,
        AdamConfig,
        adam_reference,
        0.01,
        {"weight_decay": 0.1, "betas": (0.8, 0.9), "eps": 1e-6},
    ),
    "adamw": (Adamw, AdamwConfig, adam_reference, 0.01, {}),
    "adamw amsgrad": (
        Adamw,
        AdamwConfig,
        adam_reference,
        0.05,
        {"amsgrad": True, "weight_decay": 0.3},
    ),
}


def reference_options(name: str, options: dict) -> dict:
    if name.startswith("adamw"):
        return {"weight_decay": 0.01, **options, "decoupled": True}
    return dict(options)


@pytest.mark.parametrize("name", list(CASES))
def test_trajectory_matches_the_published_rule(name):
    implementation, config, reference, lr, options = CASES[name]
    ours, _ = run_optimizer(implementation(config(lr=lr, **options)), lr)
    expected, _ = run_reference(reference(**reference_options(name, options)), lr)
    assert_same_trajectory(ours, expected)


EXPECTED_STATE = {
    "sgd": set(),
    "sgd momentum": {"velocity"},
    "sgd dampening": {"velocity"},
    "sgd nesterov": {"velocity"},
    "sgd nesterov weight_decay": {"velocity"},
    "sgd weight_decay": set(),
    "rmsprop": {"square_avg"},
    "rmsprop centered": {"square_avg", "grad_avg"},
    "rmsprop momentum": {"square_avg", "momentum_buffer"},
    "rmsprop all": {"square_avg", "grad_avg", "momentum_buffer"},
    "adagrad": {"t", "sum"},
    "adagrad lr_decay": {"t", "sum"},
    "adam": {"t", "m", "v", "m_hat", "v_hat"},
    "adam amsgrad": {"t", "m", "v", "m_hat", "v_hat", "v_max"},
    "adam weight_decay": {"t", "m", "v", "m_hat", "v_hat"},
    "adamw": {"t", "m", "v", "m_hat", "v_hat"},
    "adamw amsgrad": {"t", "m", "v", "m_hat", "v_hat", "v_max"},
}


@pytest.mark.parametrize("name", list(CASES))
def test_state_names_and_values(name):
    implementation, config, reference, lr, options = CASES[name]
    _, states = run_optimizer(implementation(config(lr=lr, **options)), lr)
    _, expected = run_reference(reference(**reference_options(name, options)), lr)
    for key in START:
        assert set(states[key]) == EXPECTED_STATE[name]
        for state_name, value in states[key].items():
            if state_name == "t":
                assert value == STEPS and isinstance(value, int)
            else:
                np.testing.assert_allclose(
                    value, expected[key][state_name], rtol=0, atol=1e-12, err_msg=state_name
                )
                assert value.shape == START[key].shape


def test_state_is_a_snapshot_of_the_last_step():
    optimizer = Adam(AdamConfig(lr=0.1))
    p = Parameter("layer.b", np.array([1.0, -1.0]))
    p.grad = np.array([0.5, 0.25])
    optimizer.step([p], 0.1)
    first = optimizer.state("layer.b")
    p.grad = np.array([-3.0, 2.0])
    optimizer.step([p], 0.1)
    second = optimizer.state("layer.b")
    np.testing.assert_allclose(first["m"], [0.05, 0.025], rtol=1e-14)  # (1 - 0.9)·g
    assert first["t"] == 1 and second["t"] == 2
    assert not np.allclose(first["m"], second["m"])
    # after one step the bias correction gives back g exactly: m̂ = g, v̂ = g²
    np.testing.assert_allclose(first["m_hat"], [0.5, 0.25], rtol=1e-14)
    np.testing.assert_allclose(first["v_hat"], [0.25, 0.0625], rtol=1e-12)
    assert optimizer.state("unknown.W") == {}


def test_first_adam_step_moves_each_weight_by_about_lr():
    # with m̂ = g and v̂ = g² after one step, the step is lr·g/(|g| + ε) ≈ lr·sign(g)
    optimizer = Adam(AdamConfig(lr=0.01))
    p = Parameter("layer.W", np.array([[0.0, 1.0, 2.0]]))
    p.grad = np.array([[3.0, -0.002, 40.0]])
    optimizer.step([p], 0.01)
    np.testing.assert_allclose(p.value, [[-0.01, 1.01, 1.99]], rtol=0, atol=1e-7)


def test_parameters_without_gradient_are_left_alone():
    for implementation, config in ((Sgd, SgdConfig), (Adam, AdamConfig), (Rmsprop, RmspropConfig)):
        optimizer = implementation(config(lr=0.1))
        p = Parameter("layer.W", np.array([1.0, 2.0]))
        optimizer.step([p], 0.1)
        np.testing.assert_array_equal(p.value, [1.0, 2.0])


def test_the_gradient_array_is_not_modified():
    for implementation, config in ((Sgd, SgdConfig), (Adam, AdamConfig), (Adagrad, AdagradConfig)):
        optimizer = implementation(config(lr=0.1, weight_decay=0.5))
        p = Parameter("layer.W", np.array([1.0, 2.0]))
        p.grad = np.array([0.3, -0.7])
        optimizer.step([p], 0.1)
        optimizer.step([p], 0.1)
        np.testing.assert_array_equal(p.grad, [0.3, -0.7])


def test_defaults_are_torchs():
    # the defaults of torch.optim's signatures
    assert SgdConfig().lr == 1e-3 and SgdConfig().momentum == 0
    rmsprop = RmspropConfig()
    assert (rmsprop.lr, rmsprop.alpha, rmsprop.eps, rmsprop.momentum) == (0.01, 0.99, 1e-8, 0)
    assert rmsprop.centered is False and rmsprop.weight_decay == 0
    adam = AdamConfig()
    assert (adam.lr, tuple(adam.betas), adam.eps, adam.weight_decay) == (
        1e-3,
        (0.9, 0.999),
        1e-8,
        0,
    )
    assert adam.amsgrad is False
    assert AdamwConfig().weight_decay == 0.01 and AdamwConfig().lr == 1e-3
    adagrad = AdagradConfig()
    assert (adagrad.lr, adagrad.lr_decay, adagrad.weight_decay) == (0.01, 0, 0)
    assert (adagrad.initial_accumulator_value, adagrad.eps) == (0, 1e-10)


@pytest.mark.parametrize(
    "config, options",
    [
        (AdamConfig, {"betas": [0.9, 1.0]}),
        (AdamConfig, {"betas": [-0.1, 0.9]}),
        (AdamConfig, {"betas": [0.9]}),
        (AdamwConfig, {"eps": -1.0}),
        (SgdConfig, {"nesterov": True}),
        (SgdConfig, {"momentum": 0.9, "dampening": 0.1, "nesterov": True}),
        (RmspropConfig, {"alpha": 1.5}),
        (AdagradConfig, {"lr_decay": -0.1}),
        (AdagradConfig, {"lr": 0}),
        (AdamConfig, {"beta": 0.9}),
    ],
)
def test_bad_options_are_refused(config, options):
    with pytest.raises(ValidationError):
        config(**options)


def test_betas_accept_a_yaml_list():
    assert AdamConfig(betas=[0.5, 0.75]).betas == (0.5, 0.75)


# --- end to end ------------------------------------------------------------------------------


def xor_scenario(optimizer: dict, steps: int = 150) -> dict:
    return {
        "name": "xor",
        "seed": 3,
        "data": {"type": "xor"},
        "model": {
            "layers": [
                {"type": "dense", "name": "hidden", "units": 4, "activation": "tanh"},
                {"type": "dense", "name": "output", "units": 1, "activation": "sigmoid"},
            ]
        },
        "loss": {"type": "bce"},
        "optimizer": optimizer,
        "train": {"steps": steps},
        "trace": {"steps": [0, 1]},
    }


END_TO_END = [
    ({"type": "sgd", "lr": 0.5}, set()),
    ({"type": "sgd", "lr": 0.3, "momentum": 0.9, "nesterov": True}, {"velocity"}),
    (
        {"type": "rmsprop", "centered": True, "momentum": 0.5},
        {"square_avg", "grad_avg", "momentum_buffer"},
    ),
    ({"type": "rmsprop"}, {"square_avg"}),
    ({"type": "adagrad", "lr": 0.1}, {"t", "sum"}),
    ({"type": "adam", "lr": 0.02}, {"t", "m", "v", "m_hat", "v_hat"}),
    ({"type": "adam", "lr": 0.02, "amsgrad": True}, {"t", "m", "v", "m_hat", "v_hat", "v_max"}),
    ({"type": "adamw", "lr": 0.02}, {"t", "m", "v", "m_hat", "v_hat"}),
]


@pytest.mark.parametrize("optimizer, state_names", END_TO_END, ids=[str(o) for o, _ in END_TO_END])
def test_training_lowers_the_loss_and_traces_the_state(tmp_path, optimizer, state_names):
    result = engine.run(xor_scenario(optimizer), trace=tmp_path / "t.jsonl")
    assert result.status == "completed"
    first, last = result.history[0]["loss"], result.final_loss
    assert last < 0.9 * first, (first, last)
    trace = read_trace(tmp_path / "t.jsonl")
    updates = [r for r in trace.records if r["type"] == "update"]
    assert {r["param"] for r in updates} == {"hidden.W", "hidden.b", "output.W", "output.b"}
    assert {r["step"] for r in updates} == {0, 1, 149}
    for record in updates:
        assert record["optimizer"] == optimizer["type"]
        assert set(record["state"]) == state_names
        if "t" in state_names:
            assert record["state"]["t"] == record["step"] + 1
        applied = np.asarray(record["after"]) - np.asarray(record["before"])
        np.testing.assert_allclose(record["applied"], applied, atol=1e-15)


def test_adam_trace_state_is_consistent_with_its_update(tmp_path):
    # from the traced state alone: applied = -lr·m̂/(√v̂ + ε), m̂ = m/(1 - β1^t)
    engine.run(xor_scenario({"type": "adam", "lr": 0.02}, steps=3), trace=tmp_path / "t.jsonl")
    trace = read_trace(tmp_path / "t.jsonl")
    for record in (r for r in trace.records if r["type"] == "update"):
        state, t = record["state"], record["state"]["t"]
        m, v = np.asarray(state["m"]), np.asarray(state["v"])
        np.testing.assert_allclose(state["m_hat"], m / (1 - 0.9**t), rtol=1e-14)
        np.testing.assert_allclose(state["v_hat"], v / (1 - 0.999**t), rtol=1e-14)
        expected = -record["lr"] * np.asarray(state["m_hat"]) / (np.sqrt(state["v_hat"]) + 1e-8)
        np.testing.assert_allclose(record["applied"], expected, rtol=1e-9, atol=1e-15)


def test_a_bad_optimizer_option_is_a_scenario_error():
    scenario = xor_scenario({"type": "adam", "betas": [0.9, 1.5]})
    with pytest.raises(TracegradError, match="betas"):
        engine.load_scenario(scenario)


# --- the documentation's examples ------------------------------------------------------------

DOCS = Path(__file__).resolve().parents[1] / "docs" / "components" / "optimizers.md"


def doc_examples() -> list[dict]:
    blocks = re.findall(r"```yaml\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.DOTALL)
    return [yaml.safe_load(block)["optimizer"] for block in blocks]


def test_every_optimizer_and_schedule_is_documented_with_an_example():
    examples = doc_examples()
    registry = engine.load_scenario(xor_scenario({"type": "sgd"})).registry
    assert {e["type"] for e in examples} == set(registry.names("optimizers"))
    schedules = set()
    for example in examples:
        schedule = example.get("schedule")
        while isinstance(schedule, dict):
            schedules.add(schedule["type"])
            schedule = schedule.get("after")
    text = DOCS.read_text(encoding="utf-8")
    for name in registry.names("schedules"):
        assert f"### `{name}`" in text
        assert name in schedules or name == "constant"


@pytest.mark.parametrize("example", doc_examples(), ids=lambda e: e["type"])
def test_documentation_examples_run(example):
    result = engine.run(xor_scenario(example, steps=20), trace=False)
    assert result.status == "completed" and len(result.history) == 20
