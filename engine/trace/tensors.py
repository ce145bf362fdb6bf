"""Arrays in the trace: small ones whole, large ones summarized.

A small array is written as nested lists at full float64 precision (Python's ``repr`` of a
float round-trips exactly), so a student can recompute every number. An array with more than
``max_values`` numbers becomes a summary::

    {"summary": true, "shape": [256, 64], "min": ..., "max": ..., "mean": ..., "std": ...,
     "l2": ..., "head": [first 8 values in row-major order]}
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HEAD_VALUES = 8


@dataclass(frozen=True)
class Summary:
    """What a trace keeps of a large array."""

    shape: tuple[int, ...]
    min: float
    max: float
    mean: float
    std: float
    l2: float
    head: tuple[float, ...]

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))


def encode(value, max_values: int):
    """Plain JSON data for ``value`` (an array, a number, or None)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value
    array = np.asarray(value)
    if array.ndim == 0:
        return array.item()
    if array.size <= max_values:
        return array.tolist()
    flat = array.reshape(-1)
    return {
        "summary": True,
        "shape": list(array.shape),
        "min": float(flat.min()),
        "max": float(flat.max()),
        "mean": float(flat.mean()),
        "std": float(flat.std()),
        "l2": float(np.sqrt(np.dot(flat, flat))),
        "head": flat[:HEAD_VALUES].tolist(),
    }


def decode(data):
    """An array (float64) for whole values, a ``Summary`` for summarized ones."""
    if isinstance(data, dict) and data.get("summary"):
        return Summary(
            tuple(data["shape"]),
            data["min"],
            data["max"],
            data["mean"],
            data["std"],
            data["l2"],
            tuple(data["head"]),
        )
    if data is None:
        return None
    return np.asarray(data, dtype=np.float64)
