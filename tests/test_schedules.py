"""Built-in learning-rate schedules against their closed forms (and recurrences), their
composition, and the lr the training loop actually uses."""

from __future__ import annotations

import math

import pytest

import engine
from engine.components import BuildContext
from engine.errors import TracegradError
from engine.plugins import load_registry
from engine.refs import validate_component
from engine.seeds import SeedTree

BASE = 0.2
TOTAL = 40


@pytest.fixture(scope="module")
def registry():
    return load_registry(autoload=False)


def make(registry, spec: dict):
    """Validate ``spec`` as a scenario would and build the schedule as the engine does."""
    config = validate_component("schedules", spec, registry, {"registry": registry})
    schedule = registry.create("schedules", config)
    if hasattr(schedule, "build"):
        schedule.build(BuildContext(SeedTree(0), registry))
    return schedule


def lrs(schedule, total=TOTAL, base=BASE):
    return [schedule.lr(t, base, total) for t in range(total)]


def test_constant(registry):
    assert lrs(make(registry, {"type": "constant"})) == [BASE] * TOTAL


def test_step_multiplies_by_gamma_every_step_size_steps(registry):
    got = lrs(make(registry, {"type": "step", "step_size": 7, "gamma": 0.5}))
    expected, lr = [], BASE
    for t in range(TOTAL):  # the recurrence: lr_t = γ·lr_{t-1} when t is a multiple of 7
        if t > 0 and t % 7 == 0:
            lr *= 0.5
        expected.append(lr)
    assert got == pytest.approx(expected, rel=1e-14)
    assert got[6] == BASE and got[7] == BASE / 2 and got[39] == BASE / 32


def test_step_default_gamma_is_a_tenth(registry):
    schedule = make(registry, {"type": "step", "step_size": 3})
    assert schedule.lr(3, 1.0, 10) == pytest.approx(0.1)


def test_exponential(registry):
    got = lrs(make(registry, {"type": "exponential", "gamma": 0.9}))
    expected, lr = [], BASE
    for _ in range(TOTAL):
        expected.append(lr)
        lr *= 0.9
    assert got == pytest.approx(expected, rel=1e-13)


def test_cosine_defaults_to_the_whole_run(registry):
    got = lrs(make(registry, {"type": "cosine"}))
    assert got[0] == BASE
    assert got[TOTAL // 2] == pytest.approx(BASE / 2, rel=1e-14)  # cos(π/2) = 0
    assert got[TOTAL // 4] == pytest.approx(BASE * (1 + math.sqrt(0.5)) / 2, rel=1e-14)
    assert all(a > b > 0 for a, b in zip(got, got[1:]))


def test_cosine_with_t_max_and_eta_min(registry):
    schedule = make(registry, {"type": "cosine", "T_max": 10, "eta_min": 0.01})
    for t in range(TOTAL):
        expected = 0.01 + (BASE - 0.01) * (1 + math.cos(math.pi * t / 10)) / 2
        assert schedule.lr(t, BASE, TOTAL) == pytest.approx(expected, rel=1e-14)
    assert schedule.lr(10, BASE, TOTAL) == pytest.approx(0.01)
    assert schedule.lr(20, BASE, TOTAL) == pytest.approx(BASE)  # the wave rises again


def test_linear_warmup_alone(registry):
    schedule = make(registry, {"type": "linear_warmup", "warmup_steps": 4, "start_factor": 0.2})
    got = lrs(schedule)
    assert got[:5] == pytest.approx([0.2 * BASE, 0.4 * BASE, 0.6 * BASE, 0.8 * BASE, BASE])
    assert got[4:] == [BASE] * (TOTAL - 4)


def test_linear_warmup_default_start_factor_is_a_third(registry):
    schedule = make(registry, {"type": "linear_warmup", "warmup_steps": 2})
    assert schedule.lr(0, 0.3, 10) == pytest.approx(0.1)
    assert schedule.lr(1, 0.3, 10) == pytest.approx(0.2)


def test_linear_warmup_then_cosine(registry):
    warmup = 8
    schedule = make(
        registry,
        {
            "type": "linear_warmup",
            "warmup_steps": warmup,
            "start_factor": 0.5,
            "after": {"type": "cosine", "eta_min": 0.02},
        },
    )
    got = lrs(schedule)
    for t in range(warmup):
        assert got[t] == pytest.approx(BASE * (0.5 + 0.5 * t / warmup), rel=1e-14)
    rest = TOTAL - warmup  # the cosine sees the 32 steps after the warm-up as its whole run
    for t in range(warmup, TOTAL):
        u = t - warmup
        expected = 0.02 + (BASE - 0.02) * (1 + math.cos(math.pi * u / rest)) / 2
        assert got[t] == pytest.approx(expected, rel=1e-14)
    assert got[warmup] == BASE
    assert got[warmup + rest // 2] == pytest.approx((BASE + 0.02) / 2)


def test_warmups_nest(registry):
    schedule = make(
        registry,
        {
            "type": "linear_warmup",
            "warmup_steps": 2,
            "start_factor": 0.5,
            "after": {
                "type": "linear_warmup",
                "warmup_steps": 2,
                "start_factor": 0.1,
                "after": {"type": "exponential", "gamma": 0.5},
            },
        },
    )
    got = lrs(schedule, total=7, base=1.0)
    assert got == pytest.approx([0.5, 0.75, 0.1, 0.55, 1.0, 0.5, 0.25])


def test_after_used_without_build_says_so(registry):
    config = validate_component(
        "schedules",
        {"type": "linear_warmup", "warmup_steps": 1, "after": "cosine"},
        registry,
        {"registry": registry},
    )
    schedule = registry.create("schedules", config)
    assert schedule.lr(0, 1.0, 10) == pytest.approx(1 / 3)
    with pytest.raises(RuntimeError, match="build"):
        schedule.lr(1, 1.0, 10)


# --- in a run --------------------------------------------------------------------------------


def scenario(schedule: dict, steps: int = 30) -> dict:
    return {
        "data": {"type": "xor"},
        "model": {
            "layers": [
                {"type": "dense", "units": 3, "activation": "tanh"},
                {"type": "dense", "units": 1, "activation": "sigmoid"},
            ]
        },
        "loss": {"type": "bce"},
        "optimizer": {"type": "sgd", "lr": 0.4, "schedule": schedule},
        "train": {"steps": steps},
    }


def test_history_lr_follows_the_schedule():
    spec = {"type": "linear_warmup", "warmup_steps": 5, "after": {"type": "cosine"}}
    result = engine.run(scenario(spec), trace=False)
    history = [row["lr"] for row in result.history]
    assert len(history) == 30
    for t in range(5):
        assert history[t] == pytest.approx(0.4 * (1 / 3 + (2 / 3) * t / 5), rel=1e-14)
    for t in range(5, 30):
        assert history[t] == pytest.approx(0.4 * (1 + math.cos(math.pi * (t - 5) / 25)) / 2)


def test_history_lr_for_step_decay():
    result = engine.run(scenario({"type": "step", "step_size": 10, "gamma": 0.5}), trace=False)
    assert [row["lr"] for row in result.history] == pytest.approx(
        [0.4] * 10 + [0.2] * 10 + [0.1] * 10
    )


def test_traced_update_uses_the_scheduled_lr(tmp_path):
    spec = {"type": "exponential", "gamma": 0.5}
    trace_path = tmp_path / "t.jsonl"
    data = {**scenario(spec, steps=3), "trace": {"steps": [0, 1, 2]}}
    engine.run(data, trace=trace_path)
    updates = [r for r in engine.trace.read_trace(trace_path).records if r["type"] == "update"]
    assert {(r["step"], r["lr"]) for r in updates} == {(0, 0.4), (1, 0.2), (2, 0.1)}


@pytest.mark.parametrize(
    "schedule, message",
    [
        ({"type": "linear_warmup", "warmup_steps": 3, "after": {"type": "cosin"}}, "cosin"),
        ({"type": "linear_warmup", "warmup_steps": 3, "after": {"type": "step"}}, "step_size"),
        ({"type": "linear_warmup", "warmup_steps": 0}, "warmup_steps"),
        ({"type": "exponential"}, "gamma"),
        ({"type": "cosine", "T_max": 0}, "T_max"),
    ],
)
def test_bad_schedules_are_scenario_errors(schedule, message):
    with pytest.raises(TracegradError, match=message):
        engine.load_scenario(scenario(schedule))
