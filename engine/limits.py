"""Limits that protect the machine: a scenario that would need more than a laptop should give
is refused before it starts, with the estimate and how to raise the limit.

Defaults suit a laptop; raise one with ``--limit NAME=VALUE`` on the command line, the
``TRACEGRAD_LIMITS`` environment variable (``"parameters=2e8,steps=1e8"``), or
``engine.run(..., limits={"parameters": 2e8})``.
"""

from __future__ import annotations

import contextlib
import contextvars
import decimal
import os
import stat
from dataclasses import dataclass, fields, replace
from pathlib import Path

from engine.errors import TracegradError
from engine.i18n import _

#: Bytes a traced number takes in the JSON text (its shortest exact text plus separators).
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
    scenario_bytes: int = 10_000_000
    data_bytes: int = 500_000_000

    @classmethod
    def from_settings(cls, settings: dict | list | None = None) -> Limits:
        """Defaults, then TRACEGRAD_LIMITS, then ``settings`` (a dict or NAME=VALUE strings).

        Without ``settings``, the limits of the enclosing ``applied`` block, if any.
        """
        if isinstance(settings, Limits):
            return settings
        if not settings and _applied.get() is not None:
            return _applied.get()
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
            name, _equals, value = item.partition("=")
            name = name.strip()
            if name not in names:
                raise LimitError(
                    _("unknown limit '{name}'").format(name=name),
                    where,
                    hint=_("limits: {names}").format(names=", ".join(names)),
                )
            changes[name] = _whole_number(name, value, where)
        return replace(self, **changes)


#: The largest limit accepted: beyond it a limit would mean "none", which is not offered.
LARGEST = 10**18


def _whole_number(name: str, value, where: str) -> int:
    """A limit's value: a whole number from 1 to 1e18, written as 20000000, 2e7 or 2_000_000
    (read exactly, never through a float: 1e400 and inf are refused, not overflowed)."""
    try:
        number = decimal.Decimal(str(value).strip().replace("_", ""))
    except decimal.InvalidOperation:
        number = None
    if number is None or not number.is_finite() or number != number.to_integral_value():
        number = None
    elif not 1 <= number <= LARGEST:
        number = None
    if number is None:
        raise LimitError(
            _("limit {name} needs a whole number from 1 to 1e18, found '{value}'").format(
                name=name, value=value
            ),
            where,
            hint=_("for example  {name}=2e7").format(name=name),
        )
    return int(number)


_applied: contextvars.ContextVar[Limits | None] = contextvars.ContextVar(
    "tracegrad_limits", default=None
)


@contextlib.contextmanager
def applied(limits: Limits | dict | list | None):
    """Within the block, ``Limits.from_settings()`` gives ``limits`` (e.g. to the file size
    checks of plugins that read data)."""
    token = _applied.set(Limits.from_settings(limits) if limits is not None else None)
    try:
        yield
    finally:
        _applied.reset(token)


def _refuse(what: str, estimate: int, limit: int, name: str, where: str) -> None:
    estimate = int(estimate)  # exact: an int is never rounded through a float
    raised = estimate * 2
    hint = (
        f"make the scenario smaller, or raise the limit: --limit {name}={raised} "
        f"(or TRACEGRAD_LIMITS={name}={raised})"
        if raised <= LARGEST
        else "make the scenario smaller: no limit can be raised that far"
    )
    raise LimitError(
        _("{what} ({estimate:,}) exceeds the limit of {limit:,}").format(
            what=what, estimate=estimate, limit=limit
        ),
        where,
        hint=hint,
    )


def check_file(path: Path, limit: int, name: str, what: str) -> int:
    """The size of the regular file ``path``, refusing anything else (a FIFO, a device such
    as /dev/zero, which would never end) and anything larger than ``limit`` bytes."""
    info = os.stat(path)
    if not stat.S_ISREG(info.st_mode):
        from engine.files import describe_kind

        raise LimitError(
            _("{path} is {value}, not a {what}").format(
                path=path, value=describe_kind(info.st_mode) or "not a regular file", what=what
            ),
            hint=_("give the path of a {what}").format(what=what),
        )
    if info.st_size > limit:
        _refuse(
            _("the size of {path} in bytes").format(path=path), info.st_size, limit, name, str(path)
        )
    return info.st_size


def check_steps(spec, limits: Limits, where) -> None:
    """Cheap checks on the validated scenario, before anything is built."""
    train = spec.train
    if train.steps > limits.steps:
        _refuse(
            _("the number of steps"), train.steps, limits.steps, "steps", where(("train", "steps"))
        )
    batch_size = getattr(train, "batch_size", None)  # not every kind trains in batches
    if batch_size is not None and batch_size > limits.batch_size:
        _refuse(
            _("the batch size"),
            batch_size,
            limits.batch_size,
            "batch_size",
            where(("train", "batch_size")),
        )


def check_parameters(widths: list[tuple[str, int, int]], limits: Limits, where) -> None:
    """``widths``: (layer path, inputs, units) of dense-like layers, checked before any array
    is allocated."""
    total = sum(inputs * units + units for _layer, inputs, units in widths)
    if total > limits.parameters:
        largest = max(widths, key=lambda width: width[1] * width[2])[0]
        _refuse(
            _("the network's parameter count"),
            total,
            limits.parameters,
            "parameters",
            where(largest),
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
    batch_size = getattr(spec.train, "batch_size", None)
    if batch_size is not None:  # each traced step lists its samples' indices, in full
        per_step += batch_size * (len(str(batch_size)) + 1)
    scalars = steps * (3 + len(layer_sizes)) * BYTES_PER_SCALAR
    return traced * per_step + scalars


def check_trace(spec, layer_sizes: list[list[int]], limits: Limits, where, whole: int = 0) -> None:
    estimate = estimate_trace_bytes(spec, layer_sizes, whole)
    if estimate > limits.trace_bytes:
        _refuse(
            _("the estimated trace size in bytes"),
            estimate,
            limits.trace_bytes,
            "trace_bytes",
            where(("trace",)),
        )


def check_samples(count: int, limits: Limits, where) -> None:
    if count > limits.samples:
        _refuse(_("the number of data values"), count, limits.samples, "samples", where(("data",)))
