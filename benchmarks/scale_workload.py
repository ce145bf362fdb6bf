"""Networks of any width, depth and batch for the scale table: the engine, PyTorch and JAX.

``features → depth × (hidden, tanh) → outputs``, MSE, Adam lr 1e-3, the ``teacher`` data;
the same initial parameters and data on every side (taken from the engine's build).
"""

from __future__ import annotations

import tracemalloc

from workloads import LR, TEACHER

import engine


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


def engine_peak_mb(loaded) -> float:
    """Peak bytes numpy and Python allocate during a short run (``tracemalloc``), in MB."""
    tracemalloc.start()
    try:
        engine.run(loaded, trace=False)
        return tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()
