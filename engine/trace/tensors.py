"""Arrays in the trace: small ones whole, large ones summarized.

A small array is written as nested lists at full float64 precision (each number as the
shortest decimal text that reads back exactly, see ``writer.encode_record``), so a student
can recompute every number. An array with more than
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
    low, high, mean, std = _moments(flat)
    return {
        "summary": True,
        "shape": list(array.shape),
        "min": low,
        "max": high,
        "mean": mean,
        "std": std,
        "l2": float(np.sqrt(np.dot(flat, flat))),
        "head": flat[:HEAD_VALUES].tolist(),
    }


def _moments(flat: np.ndarray) -> tuple[float, float, float, float]:
    """min, max, mean = Σx / n and std = √(Σ(x − mean)² / n) of a flat array.

    For float64, the same operations that ``flat.mean()`` and ``flat.std()`` run, in the same
    order (so the same bits), with the sum Σx computed once and without numpy's wrappers,
    which cost more than the arithmetic on the arrays a trace summarizes; other types take
    ``flat.mean()`` and ``flat.std()`` themselves.
    """
    low, high = float(np.minimum.reduce(flat)), float(np.maximum.reduce(flat))
    if flat.dtype != np.float64:
        return low, high, float(flat.mean()), float(flat.std())
    count = flat.size
    mean = np.add.reduce(flat) / count
    deviations = np.subtract(flat, mean)
    np.square(deviations, out=deviations)
    return low, high, float(mean), float(np.sqrt(np.add.reduce(deviations) / count))


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
