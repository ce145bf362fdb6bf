"""Tracegrad's optimizers and schedules against torch.optim, on the same network and data.

Skipped when torch is not installed. Both sides start from the same explicit parameters
(passed to Tracegrad as nested lists in ``init:``), train full batch in float64, and must
agree to 1e-9 after 20 steps.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import engine

torch = pytest.importorskip("torch")

STEPS = 20
SIZES = [2, 8, 8, 1]
NAMES = ["hidden1", "hidden2", "output"]
ACTIVATIONS = ["tanh", "tanh", None]


def problem():
    """Inputs, targets and initial (W, b) per layer, W of shape (inputs, units)."""
    rng = np.random.default_rng(2024)
    x = rng.uniform(-1.0, 1.0, size=(12, 2))
    y = np.sin(2.0 * x[:, :1]) * x[:, 1:]
    weights = [
        (rng.normal(0.0, 0.8, size=(n_in, n_out)), rng.normal(0.0, 0.3, size=n_out))
        for n_in, n_out in zip(SIZES, SIZES[1:])
    ]
    return x, y, weights


def tracegrad_params(optimizer: dict) -> dict[str, np.ndarray]:
    x, y, weights = problem()
    layers = []
    for name, activation, (W, b) in zip(NAMES, ACTIVATIONS, weights):
        layer = {"type": "dense", "name": name, "units": W.shape[1]}
        layer["init"] = {"W": W.tolist(), "b": b.tolist()}
        if activation is not None:
            layer["activation"] = activation
        layers.append(layer)
    scenario = {
        "name": "parity",
        "data": {"type": "inline", "x": x.tolist(), "y": y.tolist()},
        "model": {"layers": layers},
        "loss": {"type": "mse"},
        "optimizer": optimizer,
        "train": {"steps": STEPS},
    }
    result = engine.run(scenario, trace=False)
    assert result.status == "completed"
    return result.params


def torch_params(make_optimizer, make_schedule=None) -> dict[str, np.ndarray]:
    x, y, weights = problem()
    x, y = torch.tensor(x), torch.tensor(y)
    params = {}
    for name, (W, b) in zip(NAMES, weights):
        params[f"{name}.W"] = torch.tensor(W, requires_grad=True)
        params[f"{name}.b"] = torch.tensor(b, requires_grad=True)
    optimizer = make_optimizer(list(params.values()))
    schedule = make_schedule(optimizer) if make_schedule is not None else None
    for _ in range(STEPS):
        optimizer.zero_grad()
        a = x
        for name, activation in zip(NAMES, ACTIVATIONS):
            a = a @ params[f"{name}.W"] + params[f"{name}.b"]
            if activation == "tanh":
                a = torch.tanh(a)
        loss = torch.mean((a - y) ** 2)
        loss.backward()
        optimizer.step()
        if schedule is not None:
            schedule.step()
    return {key: value.detach().numpy() for key, value in params.items()}


optim = torch.optim
OPTIMIZERS = [
    ({"type": "sgd", "lr": 0.1}, lambda p: optim.SGD(p, lr=0.1)),
    (
        {"type": "sgd", "lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01},
        lambda p: optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
    ),
    (
        {"type": "sgd", "lr": 0.05, "momentum": 0.8, "dampening": 0.2},
        lambda p: optim.SGD(p, lr=0.05, momentum=0.8, dampening=0.2),
    ),
    ({"type": "rmsprop"}, lambda p: optim.RMSprop(p)),
    (
        {"type": "rmsprop", "lr": 0.005, "centered": True, "momentum": 0.5, "weight_decay": 0.1},
        lambda p: optim.RMSprop(p, lr=0.005, centered=True, momentum=0.5, weight_decay=0.1),
    ),
    ({"type": "adagrad", "lr": 0.05}, lambda p: optim.Adagrad(p, lr=0.05)),
    (
        {
            "type": "adagrad",
            "lr": 0.05,
            "lr_decay": 0.1,
            "weight_decay": 0.05,
            "initial_accumulator_value": 0.1,
        },
        lambda p: optim.Adagrad(
            p, lr=0.05, lr_decay=0.1, weight_decay=0.05, initial_accumulator_value=0.1
        ),
    ),
    ({"type": "adam", "lr": 0.01}, lambda p: optim.Adam(p, lr=0.01)),
    (
        {"type": "adam", "lr": 0.01, "amsgrad": True, "weight_decay": 0.1, "betas": [0.8, 0.99]},
        lambda p: optim.Adam(p, lr=0.01, amsgrad=True, weight_decay=0.1, betas=(0.8, 0.99)),
    ),
    ({"type": "adamw", "lr": 0.01}, lambda p: optim.AdamW(p, lr=0.01)),
    (
        {"type": "adamw", "lr": 0.02, "weight_decay": 0.5, "amsgrad": True, "eps": 1e-6},
        lambda p: optim.AdamW(p, lr=0.02, weight_decay=0.5, amsgrad=True, eps=1e-6),
    ),
]


def assert_same(ours: dict, theirs: dict, initial: dict):
    assert set(ours) == set(theirs)
    for key in theirs:
        np.testing.assert_allclose(ours[key], theirs[key], rtol=0, atol=1e-9, err_msg=key)
    moved = max(np.abs(theirs[k] - initial[k]).max() for k in theirs)
    assert moved > 1e-3  # training really changed the parameters


def initial_params() -> dict[str, np.ndarray]:
    _, _, weights = problem()
    initial = {}
    for name, (W, b) in zip(NAMES, weights):
        initial[f"{name}.W"], initial[f"{name}.b"] = W, b
    return initial


@pytest.mark.parametrize("ours, theirs", OPTIMIZERS, ids=[str(ours) for ours, _ in OPTIMIZERS])
def test_optimizer_matches_torch(ours, theirs):
    assert_same(tracegrad_params(ours), torch_params(theirs), initial_params())


def test_adam_with_warmup_and_cosine_matches_torch():
    lr = torch.optim.lr_scheduler

    def schedule(optimizer):
        warmup = lr.LinearLR(optimizer, start_factor=0.25, total_iters=5)
        cosine = lr.CosineAnnealingLR(optimizer, T_max=STEPS - 5, eta_min=0.001)
        return lr.SequentialLR(optimizer, [warmup, cosine], milestones=[5])

    ours = {
        "type": "adam",
        "lr": 0.02,
        "schedule": {
            "type": "linear_warmup",
            "warmup_steps": 5,
            "start_factor": 0.25,
            "after": {"type": "cosine", "eta_min": 0.001},
        },
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = torch_params(lambda p: torch.optim.Adam(p, lr=0.02), schedule)
    assert_same(tracegrad_params(ours), theirs, initial_params())


# --- schedules alone -------------------------------------------------------------------------

SCHEDULE_STEPS = 40
lr_scheduler = torch.optim.lr_scheduler
SCHEDULES = [
    ({"type": "step", "step_size": 7, "gamma": 0.3}, lambda o: lr_scheduler.StepLR(o, 7, 0.3)),
    ({"type": "exponential", "gamma": 0.93}, lambda o: lr_scheduler.ExponentialLR(o, 0.93)),
    ({"type": "cosine"}, lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=SCHEDULE_STEPS)),
    (
        {"type": "cosine", "T_max": 15, "eta_min": 0.01},
        lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=15, eta_min=0.01),
    ),
    (
        {"type": "linear_warmup", "warmup_steps": 6},
        lambda o: lr_scheduler.LinearLR(o, total_iters=6),
    ),
    (
        {
            "type": "linear_warmup",
            "warmup_steps": 10,
            "start_factor": 0.1,
            "after": {"type": "exponential", "gamma": 0.9},
        },
        lambda o: lr_scheduler.SequentialLR(
            o,
            [lr_scheduler.LinearLR(o, 0.1, total_iters=10), lr_scheduler.ExponentialLR(o, 0.9)],
            milestones=[10],
        ),
    ),
]


@pytest.mark.parametrize("ours, theirs", SCHEDULES, ids=[str(ours) for ours, _ in SCHEDULES])
def test_schedule_matches_torch(ours, theirs):
    scenario = {
        "data": {"type": "xor"},
        "model": {"layers": [{"type": "dense", "units": 1, "activation": "sigmoid"}]},
        "loss": {"type": "bce"},
        "optimizer": {"type": "sgd", "lr": 0.5, "schedule": ours},
        "train": {"steps": SCHEDULE_STEPS},
    }
    got = [row["lr"] for row in engine.run(scenario, trace=False).history]
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns about scheduler.step() before optimizer
        schedule = theirs(optimizer)
        expected = []
        for _ in range(SCHEDULE_STEPS):
            expected.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            schedule.step()
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)
