"""The supervised training loop, and ``engine.run``.

Each step t:
    1. take a mini-batch (x, y)                         (shuffled per epoch from the seed)
    2. forward:   ŷ = network(x)
    3. loss:      L = loss(ŷ, y),  g = dL/dŷ
    4. backward:  every parameter's dL/dθ by the chain rule, last layer first
    5. clip gradients (optional), then update: θ <- optimizer(θ, dL/dθ, lr(t))
Traced steps write every intermediate array; every step writes its scalars.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np

from engine.build import Built, build
from engine.components import Parameter
from engine.limits import Limits
from engine.result import RunResult, open_run
from engine.scenario import Scenario, load_scenario
from engine.trace import record


def run(
    scenario: str | Path | dict | Scenario,
    trace: str | Path | bool | None = None,
    overrides: dict | list | None = None,
    *,
    run_dir: str | Path | None = None,
    progress=None,
    plugins=(),
    limits: dict | None = None,
) -> RunResult:
    """Train a scenario and return its ``RunResult``.

    ``trace``: None writes a run folder ``runs/<name>-<time>/`` (or ``run_dir``) holding
    ``trace.jsonl``, ``scenario.yaml`` and ``params.npz``; a path writes the trace there (the
    other files beside it); False writes nothing. ``overrides`` are dotted keys, as ``--set``.
    ``progress(step, total, loss)`` is called as training goes. ``limits`` raises the limits
    that refuse oversized scenarios (``engine.limits.Limits``), e.g. ``{"steps": 10**8}``.
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario, overrides, plugins=plugins)
    elif overrides:
        raise ValueError("overrides apply when loading: pass a path or dict, not a Scenario")
    if scenario.spec.kind == "gan":  # a generator and a discriminator: engine/gan.py
        from engine.gan import train_gan

        return train_gan(scenario, trace, run_dir=run_dir, progress=progress, limits=limits)
    built = build(scenario, Limits.from_settings(limits))
    # NaN/inf are detected and explained by the loop itself; numpy's warnings would only
    # repeat it less clearly
    with open_run(scenario, built, trace, run_dir) as output, np.errstate(all="ignore"):
        return _train(built, output, progress)


def _batches(built: Built, batch_size: int | None, shuffle: bool):
    """Yield index arrays (or None for the full batch), one per step, epoch after epoch."""
    n = len(built.data.x)
    if batch_size is None or batch_size >= n:
        while True:
            yield None
    rng = built.ctx.rng("shuffle")
    while True:
        order = rng.permutation(n) if shuffle else np.arange(n)
        for start in range(0, n - batch_size + 1, batch_size):
            yield order[start : start + batch_size]


def grad_norms(built: Built) -> dict[str, float]:
    """L2 norm of each layer's gradient, ‖dL/dθ‖ over all its parameters."""
    norms = {}
    for layer in built.network.layers:
        if layer.params:
            total = sum(
                float(np.dot(p.grad.ravel(), p.grad.ravel())) for p in layer.params.values()
            )
            norms[layer.name] = math.sqrt(total)
    return norms


def clip_gradients(params: list[Parameter], clip_norm, clip_value, total_norm: float) -> float:
    """Clip by value (g <- clamp(g, -c, c)), then by global norm (g <- g·c/‖g‖ if ‖g‖ > c).

    Returns the scale applied by norm clipping (1.0 when none).
    """
    if clip_value is not None:
        for p in params:
            np.clip(p.grad, -clip_value, clip_value, out=p.grad)
        total_norm = math.sqrt(sum(float(np.dot(p.grad.ravel(), p.grad.ravel())) for p in params))
    scale = 1.0
    if clip_norm is not None and total_norm > clip_norm:
        scale = clip_norm / (total_norm + 1e-6)
        for p in params:
            p.grad *= scale
    return scale


def _train(built: Built, output, progress) -> RunResult:
    spec = built.scenario.spec
    train, trace_policy = spec.train, spec.trace
    network, loss, optimizer = built.network, built.loss, built.optimizer
    x_all, y_all = built.data.x, built.targets
    writer, history = output.writer, output.history
    params = network.parameters
    batches = _batches(built, train.batch_size, train.shuffle)
    total = train.steps
    started = time.perf_counter()
    status, message = "completed", None
    try:
        for step in range(total):
            built.ctx.step = step
            batch = next(batches)
            x, y = (x_all, y_all) if batch is None else (x_all[batch], y_all[batch])
            lr = built.lr(step)
            prediction = network.forward(x, training=True)
            value = loss.forward(prediction, y)
            grad = loss.backward()
            network.backward(grad)
            norms = grad_norms(built)
            total_norm = math.sqrt(sum(n * n for n in norms.values()))
            traced = trace_policy.traces(step, total)
            if not (math.isfinite(value) and math.isfinite(total_norm)):
                status, message = (
                    "failed",
                    output.diverged(step, value, norms, x, y, prediction, grad, batch, lr),
                )
                break
            if traced:
                writer.write(
                    {
                        "type": "step",
                        "step": step,
                        "lr": lr,
                        "batch_size": len(x),
                        "batch": None if batch is None else batch.tolist(),
                    }
                )
                record.forward_records(writer, step, network)
                record.loss_record(writer, step, loss, prediction, y, value, grad)
                record.backward_records(writer, step, network)
                before = record.snapshot(network)
            if train.clip_norm is not None or train.clip_value is not None:
                scale = clip_gradients(params, train.clip_norm, train.clip_value, total_norm)
                if traced and scale != 1.0:
                    writer.write({"type": "clip", "step": step, "norm": total_norm, "scale": scale})
            optimizer.step(params, lr)
            if traced:
                record.update_records(writer, step, network, optimizer, before, lr)
            scalars = {"step": step, "loss": value, "lr": lr}
            for name, norm in norms.items():
                scalars[f"grad_norm.{name}"] = norm
            if (step + 1) % train.eval_every == 0 or step == total - 1:
                scalars.update(output.evaluate())
            history.append(scalars)
            writer.scalars(step, scalars)
            if progress is not None:
                progress(step + 1, total, value)
    except KeyboardInterrupt:
        status, message = "interrupted", f"interrupted after {len(history)} of {total} steps"
    return output.finish(status, message, len(history), time.perf_counter() - started)
