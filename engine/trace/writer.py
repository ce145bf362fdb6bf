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

The scalars are most of a long run's trace, so they are stored compactly: a chunk holds up
to SCALAR_CHUNK steps, a quantity that appears only now and then (accuracy at evaluation
steps) starts a new chunk instead of following a run of nulls, and trailing nulls are left
out (the reader fills them in). On steps that are not traced, the curves (``CURVES``: the
gradient norms) keep CURVE_DIGITS significant digits: they are read as plots, and a traced
step keeps them exact, next to the arrays they are computed from. The loss and the learning
rate are always exact.
"""

from __future__ import annotations

import json
import math
from itertools import chain
from operator import itemgetter
from pathlib import Path

import numpy as np

from engine.trace import tensors

SCHEMA_VERSION = 1
SCALAR_CHUNK = 100
#: Columns stored as curves (name prefixes) and their significant digits on untraced steps.
CURVES = ("grad_norm.",)
CURVE_DIGITS = 4
#: ``json.dumps(record, separators=(",", ":"))``, with the encoder made once.
_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=True)


def _plain(value):
    """JSON-safe scalars: NaN and infinities as strings (JSON has no literal for them)."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def _plain_column(column: list) -> list:
    if set(map(type, column)) == {float} and all(map(math.isfinite, column)):
        return column  # the usual case, checked in two passes of C
    return [_plain(value) for value in column]


def curves(columns: list[list], exact: list[int]) -> list[list]:
    """Columns of floats with CURVE_DIGITS significant digits, except the rows in ``exact``.

    Each number is rounded to k / 10^d with k a whole number and 10^d exact (0 <= d <= 22):
    the float nearest that decimal, which prints as it (0.012345678 -> 0.01235). Numbers
    outside that range, zeros, NaN and infinities are kept as they are, and so are columns
    that hold anything but floats. Columns of one length are rounded together, as one array.
    """
    floats = [i for i, column in enumerate(columns) if set(map(type, column)) == {float}]
    if len({len(columns[i]) for i in floats}) > 1:  # columns with gaps: one at a time
        return [curves([column], exact)[0] for column in columns]
    if not floats:
        return columns
    values = np.array([columns[i] for i in floats])
    size = np.abs(values)
    rounded = np.isfinite(values) & (size > 0)
    d = (CURVE_DIGITS - 1) - np.floor(np.log10(np.where(rounded, size, 1.0)))
    rounded &= (d >= 0) & (d <= 22)
    scale = 10.0 ** np.where(rounded, d, 0.0)
    points = np.where(rounded, np.round(values * scale) / scale, values).tolist()
    result = list(columns)
    for i, column in zip(floats, points):
        for row in exact:
            if row < len(column):
                column[row] = columns[i][row]
        result[i] = column
    return result


class TraceWriter:
    """``TraceWriter(path, max_values)``; ``path=None`` records nothing (tracing off)."""

    def __init__(self, path: Path | None, max_values: int = 64):
        self.path = Path(path) if path is not None else None
        self.max_values = max_values
        self._file = None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("w", encoding="utf-8")
        self._rows: list[dict] = []  # the buffered steps' scalars, one dict per step
        self._exact: list[int] = []  # rows whose curves are kept exact (traced steps)
        self._names: set[str] = set()  # the quantities of the chunk's first step
        self._uniform = True  # every buffered step has all of them
        self._first_step: int | None = None

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
        self._file.write(_ENCODER.encode(record) + "\n")
        self._file.flush()

    def scalars(self, step: int, values: dict[str, float], exact: bool = True) -> None:
        """Buffer one step's scalars; written in chunks of up to SCALAR_CHUNK steps.

        ``values`` is kept until the chunk is written, so it must not change after the call.
        ``exact=False`` (a step that is not traced) stores the curves with CURVE_DIGITS
        significant digits.
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
        if exact:
            self._exact.append(len(rows))
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
            names = [name for name in columns if name.startswith(CURVES)]
            rounded = curves([columns[name] for name in names], self._exact)
            columns.update(zip(names, rounded))
            columns = {name: _plain_column(column) for name, column in columns.items()}
            first, count = self._first_step, len(rows)
            self.write({"type": "scalars", "step": first, "count": count, "columns": columns})
        self._rows, self._exact, self._first_step = [], [], None

    def close(self, end: dict | None = None) -> None:
        if self._file is None:
            return
        self.flush_scalars()
        if end is not None:
            self.write({"type": "end", **end})
        self._file.close()
        self._file = None
