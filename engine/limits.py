"""Limits that protect the machine: a scenario that would need more than a laptop should give
is refused before it starts, with the estimate and how to raise the limit.

Defaults suit a laptop; raise one with ``--limit NAME=VALUE`` on the command line, the
``TRACEGRAD_LIMITS`` environment variable (``"parameters=2e8,steps=1e8"``), or
``engine.run(..., limits={"parameters": 2e8})``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace

from engine.errors import TracegradError

#: Bytes a traced number takes in the JSON text (repr of a float64 plus separators).
BYTES_PER_NUMBER = 21
#: Bytes of a summary of a large array.
BYTES_PER_SUMMARY = 400
#: Bytes of one step's scalars per column.
BYTES_PER_SCALAR = 20


class LimitError(TracegradError):
    """A scenario that would exceed a limit."""


@dataclass(frozen=True)
class Limits:
    parameters: int = 20_000_000
    batch_size: int = 100_000
    steps: int = 10_000_000
    trace_bytes: int = 2_000_000_000
    samples: int = 10_000_000

    @classmethod
    def from_settings(cls, settings: dict | list | None = None) -> Limits:
        """Defaults, then TRACEGRAD_LIMITS, then ``settings`` (a dict or NAME=VALUE strings)."""
        if isinstance(settings, Limits):
            return settings
        limits = cls()
        environment = os.environ.get("TRACEGRAD_LIMITS", "")
        items = [item for item in environment.split(",") if item.strip()]
        limits = limits._with(items, "TRACEGRAD_LIMITS")
        if isinstance(settings, dict):
            settings = [f"{key}={value}" for key, value in settings.items()]
        return limits._with(settings or [], "--limit")

    def _with(self, items: list[str], where: str) -> Limits:
        names = [f.name for f in fields(self)]
        changes = {}
        for item in items:
            name, _, value = item.partition("=")
            name = name.strip()
            if name not in names:
                raise LimitError(
                    f"unknown limit '{name}'", where, hint=f"limits: {', '.join(names)}"
                )
            try:
                changes[name] = int(float(value))
            except ValueError:
                raise LimitError(f"limit {name} needs a number, found '{value}'", where) from None
        return replace(self, **changes)


def _refuse(what: str, estimate: float, limit: int, name: str, where: str) -> None:
    raise LimitError(
        f"{what} ({estimate:,.0f}) exceeds the limit of {limit:,}",
        where,
        hint=f"make the scenario smaller, or raise the limit: --limit {name}={int(estimate * 2)} "
        f"(or TRACEGRAD_LIMITS={name}={int(estimate * 2)})",
    )


def check_steps(spec, limits: Limits, where) -> None:
    """Cheap checks on the validated scenario, before anything is built."""
    train = spec.train
    if train.steps > limits.steps:
        _refuse(
            "the number of steps", train.steps, limits.steps, "steps", where(("train", "steps"))
        )
    batch_size = getattr(train, "batch_size", None)  # not every kind trains in batches
    if batch_size is not None and batch_size > limits.batch_size:
        _refuse(
            "the batch size",
            batch_size,
            limits.batch_size,
            "batch_size",
            where(("train", "batch_size")),
        )


def check_parameters(widths: list[tuple[str, int, int]], limits: Limits, where) -> None:
    """``widths``: (layer path, inputs, units) of dense-like layers, checked before any array
    is allocated."""
    total = sum(inputs * units + units for _, inputs, units in widths)
    if total > limits.parameters:
        largest = max(widths, key=lambda width: width[1] * width[2])[0]
        _refuse(
            "the network's parameter count", total, limits.parameters, "parameters", where(largest)
        )


def estimate_trace_bytes(spec, layer_sizes: list[list[int]], whole: int = 0) -> int:
    """Rough size of a trace: traced steps x the arrays each writes, plus the scalars.

    ``layer_sizes``: for each layer, the sizes of the arrays its records hold in one step;
    ``whole``: numbers a traced step writes in full whatever ``trace.max_values`` (pictures).
    """
    policy, steps = spec.trace, spec.train.steps
    traced = len({s for s in policy.steps if s < steps}) + int(policy.last)
    if policy.every:
        traced += -(-steps // policy.every)
    per_step = 0
    for sizes in layer_sizes:
        for size in sizes:
            per_step += size * BYTES_PER_NUMBER if size <= policy.max_values else BYTES_PER_SUMMARY
    per_step += whole * BYTES_PER_NUMBER
    scalars = steps * (3 + len(layer_sizes)) * BYTES_PER_SCALAR
    return traced * per_step + scalars


def check_trace(spec, layer_sizes: list[list[int]], limits: Limits, where, whole: int = 0) -> None:
    estimate = estimate_trace_bytes(spec, layer_sizes, whole)
    if estimate > limits.trace_bytes:
        _refuse(
            "the estimated trace size in bytes",
            estimate,
            limits.trace_bytes,
            "trace_bytes",
            where(("trace",)),
        )


def check_samples(count: int, limits: Limits, where) -> None:
    if count > limits.samples:
        _refuse("the number of data values", count, limits.samples, "samples", where(("data",)))
