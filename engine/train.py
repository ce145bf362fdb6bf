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
from array import array
from collections import Counter
from collections.abc import Sequence
from itertools import chain
from operator import itemgetter
from pathlib import Path

import numpy as np

from engine import interrupt, run_folder
from engine.build import Built, build
from engine.components import Parameter
from engine.limits import Limits
from engine.limits import applied as limits_applied
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
    overwrite: bool = False,
) -> RunResult:
    """Train a scenario and return its ``RunResult``.

    ``trace``: None writes a run folder ``runs/<name>-<time>/`` (or ``run_dir``) holding
    ``trace.jsonl``, ``scenario.yaml`` and ``params.npz``; a path writes the trace there (the
    other files beside it); False writes nothing. ``overrides`` are dotted keys, as ``--set``.
    ``progress(step, total, loss)`` is called as training goes. ``limits`` raises the limits
    that refuse oversized scenarios (``engine.limits.Limits``), e.g. ``{"steps": 10**8}``.
    ``overwrite`` lets the run replace an earlier run's files (``engine.run_folder``).
    """
    with run_folder.overwriting(overwrite), limits_applied(limits):
        return _run(scenario, trace, overrides, run_dir, progress, plugins, limits)


def _run(scenario, trace, overrides, run_dir, progress, plugins, limits) -> RunResult:
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario, overrides, plugins=plugins)
    elif overrides:
        raise ValueError("overrides apply when loading: pass a path or dict, not a Scenario")
    if scenario.spec.kind == "gan":  # a generator and a discriminator: engine/gan.py
        from engine.gan import train_gan

        with interrupt.deferred():
            return train_gan(scenario, trace, run_dir=run_dir, progress=progress, limits=limits)
    built = build(scenario, Limits.from_settings(limits))
    # NaN/inf are detected and explained by the loop itself; numpy's warnings would only
    # repeat it less clearly
    with (
        interrupt.deferred(),
        open_run(scenario, built, trace, run_dir) as output,
        np.errstate(all="ignore"),
    ):
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
    """L2 norm of each layer's gradient, ‖dL/dθ‖ = √(Σ_θ Σ_i (dL/dθ_i)²) over its parameters."""
    norms = {}
    for layer in built.network.layers:
        if layer.params:
            total = 0.0
            for p in layer.params.values():
                g = p.grad.ravel()
                total += float(np.dot(g, g))
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
    # settings read once: the loop below runs millions of times on small networks, where
    # every attribute lookup on the scenario's models shows up in the step time
    clip = train.clip_norm is not None or train.clip_value is not None
    eval_every, total = train.eval_every, train.steps
    constant_lr = spec.optimizer.lr if built.schedule is None else None
    network, loss, optimizer = built.network, built.loss, built.optimizer
    x_all, y_all = built.data.x, built.targets
    writer = output.writer
    tracing = writer.enabled  # with tracing off, traced steps would encode arrays for nothing
    history = output.history = StepHistory()  # the same dicts, in a fraction of the memory
    params = network.parameters
    norm_names = {layer.name: f"grad_norm.{layer.name}" for layer in network.layers}
    batches = _batches(built, train.batch_size, train.shuffle)
    started = time.perf_counter()
    status, message = "completed", None
    try:
        for step in range(total):
            interrupt.check()
            built.ctx.step = step
            batch = next(batches)
            x, y = (x_all, y_all) if batch is None else (x_all[batch], y_all[batch])
            lr = constant_lr if constant_lr is not None else built.lr(step)
            prediction = network.forward(x, training=True)
            value = loss.forward(prediction, y)
            grad = loss.backward()
            network.backward(grad)
            norms = grad_norms(built)
            total_norm = math.sqrt(sum(n * n for n in norms.values()))
            traced = tracing and trace_policy.traces(step, total)
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
            if clip:
                scale = clip_gradients(params, train.clip_norm, train.clip_value, total_norm)
                if traced and scale != 1.0:
                    writer.write({"type": "clip", "step": step, "norm": total_norm, "scale": scale})
            optimizer.step(params, lr)
            if traced:
                record.update_records(writer, step, network, optimizer, before, lr)
            scalars = {"step": step, "loss": value, "lr": lr}
            for name, norm in norms.items():
                scalars[norm_names[name]] = norm
            if (step + 1) % eval_every == 0 or step == total - 1:
                scalars.update(output.evaluate())
            history.append(scalars)
            writer.scalars(step, scalars)
            if progress is not None:
                progress(step + 1, total, value)
    except KeyboardInterrupt:
        status, message = "interrupted", f"interrupted after {len(history)} of {total} steps"
    return output.finish(status, message, len(history), time.perf_counter() - started)


#: Marks a step at which a quantity was not recorded (e.g. accuracy between evaluations).
_MISSING = None
#: Python types kept in typed arrays, by array type code.
_TYPES = {"d": float, "q": int}


class StepHistory(Sequence):
    """``RunResult.history``: one dict per step, stored as columns.

    A dict per step costs about 500 bytes, so a 100,000-step run would hold 50 MB of them.
    Here the latest steps are kept as they were appended (up to ``CHUNK``), and older ones as
    one column per quantity: floats and ints in an ``array`` (8 bytes a value), anything else,
    or a quantity missing at some steps, in a list. ``history[i]`` gives step i's dict, with
    the keys and values that were appended (a value None reads as absent, as in
    ``Trace.history()``); reading, slicing, iterating and comparing work as for a list of
    dicts.
    """

    #: Steps kept as appended before they move into the columns.
    CHUNK = 1000

    def __init__(self, rows=()):
        self._columns: dict[str, array | list] = {}
        self._settled = 0  # steps stored in the columns
        self._recent: list[dict] = []
        for row in rows:
            self.append(row)

    def append(self, row: dict) -> None:
        self._recent.append(row)
        if len(self._recent) >= self.CHUNK:
            self._settle()

    def _settle(self) -> None:
        """Move the recent steps into the columns, a quantity at a time."""
        rows, self._recent = self._recent, []
        for name, count in Counter(chain.from_iterable(rows)).items():  # in order of first use
            if count == len(rows):
                self._extend(name, list(map(itemgetter(name), rows)))
            else:
                self._extend(name, [row.get(name, _MISSING) for row in rows])
        self._settled += len(rows)

    def _extend(self, name: str, values: list) -> None:
        n = self._settled
        column = self._columns.get(name)
        if column is None:
            kinds = {code for code, kind in _TYPES.items() if type(values[0]) is kind}
            column = self._columns[name] = array(kinds.pop()) if n == 0 and kinds else []
        if len(column) < n:  # absent at some steps: a list with gaps
            column = self._as_list(name)
            column.extend([_MISSING] * (n - len(column)))
        if isinstance(column, array):
            if set(map(type, values)) == {_TYPES[column.typecode]}:
                try:
                    column.extend(values)
                    return
                except OverflowError:  # an int beyond 64 bits
                    del column[n:]
            column = self._as_list(name)
        column.extend(values)

    def _as_list(self, name: str) -> list:
        column = self._columns[name]
        if isinstance(column, array):
            column = self._columns[name] = column.tolist()
        return column

    def __len__(self) -> int:
        return self._settled + len(self._recent)

    def __iter__(self):
        for index in range(len(self)):
            yield self[index]

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("history index out of range")
        if index >= self._settled:
            return self._recent[index - self._settled]
        return {
            name: column[index]
            for name, column in self._columns.items()
            if index < len(column) and column[index] is not _MISSING
        }

    def __eq__(self, other) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other))

    def __repr__(self) -> str:
        return f"StepHistory({list(self)!r})"
