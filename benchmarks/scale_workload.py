"""Networks of any width, depth and batch for the scale table: the engine, PyTorch and JAX.

``features → depth × (hidden, tanh) → outputs``, MSE, Adam lr 1e-3, the ``teacher`` data;
the same initial parameters and data on every side (taken from the engine's build).
"""

from __future__ import annotations

import time
import tracemalloc

from workloads import BETAS, EPS, LR, TEACHER

import engine
from plugins.supervised.build import build


def scenario(features: int, hidden: int, depth: int, batch: int, steps: int):
    layers = [
        {"type": "dense", "name": f"hidden{i + 1}", "units": hidden, "activation": "tanh"}
        for i in range(depth)
    ]
    layers.append({"type": "dense", "name": "output", "units": 1})
    return engine.load_scenario(
        {
            "name": f"scale-{hidden}x{depth}-{batch}",
            "seed": 0,
            "plugins": [TEACHER],
            "data": {
                "type": "teacher",
                "samples": max(2048, 2 * batch),
                "features": features,
                "outputs": 1,
            },
            "model": {"layers": layers},
            "loss": {"type": "mse"},
            "optimizer": {"type": "adam", "lr": LR},
            "train": {"steps": steps, "batch_size": batch},
        }
    )


def starting_point(loaded):
    built = build(loaded)
    return built.data.x, built.targets, [p.value.copy() for p in built.network.parameters]


def engine_peak_mb(loaded) -> float:
    """Peak bytes numpy and Python allocate during a short run (``tracemalloc``), in MB."""
    tracemalloc.start()
    try:
        engine.run(loaded, trace=False)
        return tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


def torch_seconds(x, y, params, batch: int, steps: int, dtype: str = "float64") -> float:
    """Any depth of Linear + Tanh in PyTorch eager, from ``params`` [W1, b1, ...]."""
    import torch

    torch_dtype = getattr(torch, dtype)
    modules = []
    for i in range(0, len(params), 2):
        linear = torch.nn.Linear(*params[i].shape).to(torch_dtype)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(params[i].T.copy()))
            linear.bias.copy_(torch.from_numpy(params[i + 1]))
        modules += [linear, torch.nn.Tanh()] if i < len(params) - 2 else [linear]
    model = torch.nn.Sequential(*modules)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR, betas=BETAS, eps=EPS)
    mse = torch.nn.MSELoss()
    x, y = torch.from_numpy(x).to(torch_dtype), torch.from_numpy(y).to(torch_dtype)
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
        loss = mse(model(x[rows]), y[rows])
        loss.backward()
        optimizer.step()
        loss.item()
    return time.perf_counter() - began
