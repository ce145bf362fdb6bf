"""Streams trace records to a JSON Lines file, one record a line, flushed as written.

Record types, in file order::

    header    schema_version, versions, seed, resolved scenario, ...
    forward   step, layer, values {x, z, a, ...}          (traced steps only)
    loss      step, value, prediction, target, dL/dprediction
    backward  step, layer, values {dL/da, f'(z), dL/dz, dL/dW, dL/db, dL/dx}
    update    step, param, before, grad, applied, after, state, lr
    scalars   first step and count, then one column per quantity (every step)
    end       status (completed | interrupted | failed), steps completed, final metrics

Nothing time-dependent is written, so the same scenario and seed give the same bytes.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from engine.trace import tensors

SCHEMA_VERSION = 1
SCALAR_CHUNK = 100


def _plain(value):
    """JSON-safe scalars: NaN and infinities as strings (JSON has no literal for them)."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


class TraceWriter:
    """``TraceWriter(path, max_values)``; ``path=None`` records nothing (tracing off)."""

    def __init__(self, path: Path | None, max_values: int = 64):
        self.path = Path(path) if path is not None else None
        self.max_values = max_values
        self._file = None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("w", encoding="utf-8")
        self._scalars: dict[str, list] = {}
        self._first_step: int | None = None
        self._count = 0

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
        self._file.write(json.dumps(record, separators=(",", ":"), allow_nan=True) + "\n")
        self._file.flush()

    def scalars(self, step: int, values: dict[str, float]) -> None:
        """Buffer one step's scalars; written in chunks of SCALAR_CHUNK steps."""
        if self._file is None:
            return
        if self._first_step is None:
            self._first_step = step
        for name, value in values.items():
            column = self._scalars.get(name)
            if column is None:
                column = self._scalars[name] = [None] * self._count
            column.append(_plain(value))
        self._count += 1
        for column in self._scalars.values():
            if len(column) < self._count:
                column.append(None)
        if self._count >= SCALAR_CHUNK:
            self.flush_scalars()

    def flush_scalars(self) -> None:
        if self._count:
            self.write(
                {
                    "type": "scalars",
                    "step": self._first_step,
                    "count": self._count,
                    "columns": self._scalars,
                }
            )
        self._scalars, self._first_step, self._count = {}, None, 0

    def close(self, end: dict | None = None) -> None:
        if self._file is None:
            return
        self.flush_scalars()
        if end is not None:
            self.write({"type": "end", **end})
        self._file.close()
        self._file = None
