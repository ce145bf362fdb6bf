"""Streams trace records to a JSON Lines file, one record a line, flushed as written.

Record types, in file order::

    header    schema_version, versions, seed, resolved scenario, ...
    forward   step, layer, values {x, z, a, ...}, worked   (traced steps only; worked:
              one value written out as its sum, for layers that give one)
    loss      step, value, prediction, target, dL/dprediction
    backward  step, layer, values {dL/da, f'(z), dL/dz, dL/dW, dL/db, dL/dx}, worked
    update    step, param, before, grad, applied, after, state, lr
    scalars   first step and count, then one column per quantity (every step)
    end       status (completed | interrupted | failed), steps completed, final metrics,
              integrity {sha256, records}: the sha256 of the bytes of every line before it

Nothing time-dependent is written, so the same scenario and seed give the same bytes. The
integrity digest lets ``tracegrad verify`` tell a trace edited (or damaged) after it was
written; it detects edits and corruption, not a forger who recomputes it.

The scalars are most of a long run's trace, so they are stored compactly but exactly: a
chunk holds up to SCALAR_CHUNK steps; its step numbers follow from ``step`` and ``count``; a
column of finite numbers is written as the base64 text of its little-endian float64 (or int64)
bytes, ``{"f64": "..."}``, a constant column as ``{"repeat": value}``, and a column with gaps
or NaN as a plain JSON list. ``engine.trace.reader`` turns them back into lists. A quantity
that appears only now and then (accuracy at evaluation steps) starts a new chunk.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import math
from itertools import chain
from operator import itemgetter
from pathlib import Path

import numpy as np
import pydantic_core

from engine import files
from engine.i18n import _
from engine.limits import LimitError, Limits
from engine.trace import tensors

SCHEMA_VERSION = 1
SCALAR_CHUNK = 100


def encode_record(record: dict) -> str:
    """One record as a line of compact JSON text, non-ASCII text as UTF-8.

    Every float is written as the shortest decimal text that reads back as exactly the same
    float64, as Python's ``repr`` does, though not always the same text: 1e-05 is written
    0.00001 and 1e-07 as 1e-7. Any JSON reader gets the same numbers back. pydantic's
    serializer writes them several times faster than ``json.dumps`` (``docs/performance.md``):
    writing the numbers of traced steps as text is most of what tracing costs. NaN and the
    infinities, which JSON has no literal for, are written NaN, Infinity and -Infinity, as
    ``json.dumps`` writes them and ``json.loads`` reads them.
    """
    return pydantic_core.to_json(record, inf_nan_mode="constants").decode()


def _plain(value):
    """JSON-safe scalars: NaN and infinities as strings (JSON has no literal for them)."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def encode_column(column: list):
    """A column of one chunk, compact and exact (see the module docstring)."""
    kinds = set(map(type, column))
    if not kinds <= {float, int} or not all(map(math.isfinite, column)):
        return [_plain(value) for value in column]
    if len(kinds) == 1 and column.count(column[0]) == len(column):  # every value the same
        return {"repeat": column[0]}
    if kinds == {int}:
        return {"i64": base64.b64encode(np.asarray(column, dtype="<i8").tobytes()).decode()}
    return {"f64": base64.b64encode(np.asarray(column, dtype="<f8").tobytes()).decode()}


class TraceWriter:
    """``TraceWriter(path, max_values)``; ``path=None`` records nothing (tracing off)."""

    def __init__(self, path: Path | None, max_values: int = 64):
        self.path = Path(path) if path is not None else None
        self.max_values = max_values
        self._file = None
        #: Bytes the trace may take (the trace_bytes limit), held while it is written, since
        #: an estimate made before the run can miss what plugins and GAN steps record.
        self.byte_limit = Limits.from_settings().trace_bytes
        self.bytes_written = 0
        if self.path is not None:
            self._file = files.open_stream(self.path, "trace")
        self._rows: list[dict] = []  # the buffered steps' scalars, one dict per step
        self._names: set[str] = set()  # the quantities of the chunk's first step
        self._uniform = True  # every buffered step has all of them
        self._first_step: int | None = None
        self._digest = hashlib.sha256()  # over the bytes of every record before the end
        self._records = 0

    @property
    def enabled(self) -> bool:
        return self._file is not None

    def tensor(self, value):
        return tensors.encode(value, self.max_values)

    def tensors(self, values: dict) -> dict:
        return {name: self.tensor(value) for name, value in values.items()}

    def write(self, record: dict) -> None:
        if self._file is None:
            return
        line = encode_record(record) + "\n"
        self.bytes_written += len(line)
        if self.bytes_written > self.byte_limit and record.get("type") != "end":
            limit, self.byte_limit = self.byte_limit, math.inf  # the end record still fits
            raise LimitError(
                _(
                    "the trace grew beyond the limit of {limit:,} bytes (trace_bytes) while the "
                    "run wrote it; the run was stopped"
                ).format(limit=limit),
                str(self.path),
                hint=_(
                    "trace fewer steps (trace.every, trace.steps) or raise the limit: "
                    "--limit trace_bytes=N"
                ),
            )
        try:
            self._file.write(line)
            self._file.flush()
        except OSError as error:
            # the trace cannot be finished (a full disk): stop writing it, say so once
            file, self._file = self._file, None
            with contextlib.suppress(OSError):
                file.close()
            raise files.os_error(error, self.path) from None
        self._digest.update(line.encode("utf-8"))
        self._records += 1

    def scalars(self, step: int, values: dict[str, float]) -> None:
        """Buffer one step's scalars; written in chunks of up to SCALAR_CHUNK steps.

        ``values`` is kept until the chunk is written, so it must not change after the call.
        """
        if self._file is None:
            return
        if self._rows and not values.keys() <= self._names:
            self.flush_scalars()  # a new quantity starts a chunk: no nulls before its first value
        rows = self._rows
        if not rows:
            self._first_step, self._names, self._uniform = step, set(values), True
        elif len(values) != len(self._names):  # some quantity is missing at this step
            self._uniform = False
        rows.append(values)
        if len(rows) >= SCALAR_CHUNK:
            self.flush_scalars()

    def flush_scalars(self) -> None:
        rows = self._rows
        if rows:
            if self._uniform:  # every step has the quantities of the first
                columns = {name: list(map(itemgetter(name), rows)) for name in rows[0]}
            else:
                columns = {}
                for name in dict.fromkeys(chain.from_iterable(rows)):  # first seen first
                    column = columns[name] = [row.get(name) for row in rows]
                    while column[-1] is None:  # the reader fills a short column with nulls
                        column.pop()
            columns.pop("step", None)  # it follows from the chunk's first step and count
            columns = {name: encode_column(column) for name, column in columns.items()}
            first, count = self._first_step, len(rows)
            self.write({"type": "scalars", "step": first, "count": count, "columns": columns})
        self._rows, self._first_step = [], None

    def close(self, end: dict | None = None) -> None:
        if self._file is None:
            return
        self.flush_scalars()
        if end is not None:
            integrity = {"sha256": self._digest.hexdigest(), "records": self._records}
            self.write({"type": "end", **end, "integrity": integrity})
        file, self._file = self._file, None
        if file is not None:
            try:
                file.close()
            except OSError as error:
                raise files.os_error(error, self.path) from None
