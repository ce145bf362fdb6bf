"""The CNN benchmark: ``scenarios/cnn_digits.yaml`` in the engine and in PyTorch eager.

Both train the same network (conv 3×3 ×8, max-pool 2, conv 3×3 ×16, max-pool 2, dense 10
softmax, cross-entropy, Adam lr 3e-3) from the same initial parameters on mini-batches of
64 digits (1, 8, 8), shuffled once per epoch, in the same dtype. The engine's time is its
training loop's own (``RunResult.seconds``), so loading the digits and building are not
counted; PyTorch's is its loop's.
"""

from __future__ import annotations

import time
from pathlib import Path

import engine
from plugins.supervised.build import build

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "cnn_digits.yaml"
LR, BETAS, EPS = 3e-3, (0.9, 0.999), 1e-8


def load(steps: int, precision: str = "float64"):
    """The validated scenario, without validation split or evaluation (not timed apart)."""
    overrides = {
        "train.steps": steps,
        "train.eval_every": 10 * steps,
        "precision": precision,
        "trace.steps": [],
        "trace.last": False,
    }
    return engine.load_scenario(SCENARIO, overrides)


def engine_seconds(scenario) -> float:
    result = engine.run(scenario, trace=False)
    if result.status != "completed":
        raise RuntimeError(f"benchmark run {result.status}: {result.message}")
    return result.seconds


def starting_point(scenario):
    """The engine's training images, class indices and initial parameters, by layer."""
    built = build(scenario)
    params = {p.key: p.value.copy() for p in built.network.parameters}
    return built.data.x, built.data.y[:, 0].astype(int), params


def torch_seconds(x, labels, params, batch: int, steps: int, dtype: str = "float64") -> float:
    import torch

    torch_dtype = getattr(torch, dtype)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 8, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(8, 16, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(64, 10),
    ).to(torch_dtype)
    with torch.no_grad():
        model[0].weight.copy_(torch.from_numpy(params["conv1.W"]))
        model[0].bias.copy_(torch.from_numpy(params["conv1.b"]))
        model[3].weight.copy_(torch.from_numpy(params["conv2.W"]))
        model[3].bias.copy_(torch.from_numpy(params["conv2.b"]))
        model[7].weight.copy_(torch.from_numpy(params["output.W"].T.copy()))  # (out, in)
        model[7].bias.copy_(torch.from_numpy(params["output.b"]))
    optimizer = torch.optim.Adam(model.parameters(), lr=LR, betas=BETAS, eps=EPS)
    x = torch.from_numpy(x).to(torch_dtype)
    y = torch.from_numpy(labels)
    generator = torch.Generator().manual_seed(0)
    n = len(x)
    order, start = torch.randperm(n, generator=generator), 0
    began = time.perf_counter()
    for _ in range(steps):
        if start + batch > n:
            order, start = torch.randperm(n, generator=generator), 0
        rows = order[start : start + batch]
        start += batch
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x[rows]), y[rows])
        loss.backward()
        optimizer.step()
        loss.item()
    return time.perf_counter() - began
