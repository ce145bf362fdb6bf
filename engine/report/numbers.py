"""How numbers and arrays read in a report: six significant digits, 1-based subscripts,
small arrays as tables, large ones as summary statistics.

Every number printed is a value from the trace, rounded for reading; the trace keeps the
full float64 values.
"""

from __future__ import annotations

import math

import numpy as np

from engine.i18n import _
from engine.report.document import Table
from engine.trace.tensors import Summary, decode

SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")

#: Arrays with at most this many numbers are shown whole; larger ones as statistics.
SHOW_WHOLE = 32


def fmt(x) -> str:
    """A number with 6 significant digits (the trace holds all 17)."""
    x = float(x) + 0.0  # -0.0 reads as 0
    if not math.isfinite(x):
        return str(x)
    return f"{x:.6g}"


def factor(x) -> str:
    """A number as a factor of a product: negative numbers in parentheses."""
    text = fmt(x)
    return f"({text})" if text.startswith("-") else text


def sub(*indices: int) -> str:
    """1-based subscripts: sub(0, 1) -> "₁₂" (array indices start at 0, textbooks at 1)."""
    return "".join(str(i + 1) for i in indices).translate(SUBSCRIPTS)


def shape_text(shape) -> str:
    shape = tuple(shape)
    return f"({shape[0]},)" if len(shape) == 1 else "(" + "×".join(str(s) for s in shape) + ")"


def array(value):
    """A trace value as a float64 array, a ``Summary`` (summarized in the trace) or None."""
    return decode(value)


def whole(*values) -> bool:
    """True when every value is a whole array (not a summary, not missing)."""
    return all(isinstance(v, np.ndarray) for v in values)


def shape_of(value) -> tuple[int, ...]:
    if isinstance(value, Summary):
        return value.shape
    return tuple(np.shape(value))


def statistics(value) -> list[str]:
    """[shape, min, max, mean, std, L2 norm] of an array or a trace summary."""
    if isinstance(value, Summary):
        numbers = (value.min, value.max, value.mean, value.std, value.l2)
        return [shape_text(value.shape), *(fmt(n) for n in numbers)]
    flat = np.asarray(value, dtype=np.float64).reshape(-1)
    if flat.size == 0:
        return [shape_text(np.shape(value)), "", "", "", "", ""]
    numbers = (flat.min(), flat.max(), flat.mean(), flat.std(), math.sqrt(np.dot(flat, flat)))
    return [shape_text(np.shape(value)), *(fmt(n) for n in numbers)]


def statistics_table(values: dict, caption: str | None = None) -> Table:
    rows = [
        [display_name(name), *statistics(value)]
        for name, value in values.items()
        if value is not None
    ]
    return Table(
        [_("array"), _("shape"), _("min"), _("max"), _("mean"), _("std"), "‖·‖₂"], rows, caption
    )


def display_name(name: str, index: int | None = None) -> str:
    """A trace name as written in the text: "dL/dz" -> "∂L/∂z", with a 0-based ``index``
    as a 1-based subscript: ("dL/dz", 0) -> "∂L/∂z₁", ("f'(z)", 1) -> "f'(z₂)"."""
    text = name.replace("dL/d", "∂L/∂")
    if index is None:
        return text
    if text.endswith(")") and "(" in text:
        return text[:-1] + sub(index) + ")"
    return text + sub(index)


def values_table(values: dict, caption: str | None = None) -> Table:
    """Small arrays as a table: for one sample, a row per array and a column per unit; for
    a batch, a row per sample and a column per unit of each array. Large or summarized
    arrays are shown as statistics."""
    present = {name: value for name, value in values.items() if value is not None}
    if not all(
        isinstance(v, np.ndarray) and v.size <= SHOW_WHOLE and v.ndim <= 2 for v in present.values()
    ):
        return statistics_table(present, caption)
    batch = {k: v for k, v in present.items() if v.ndim == 2}
    rows_per = {v.shape[0] for v in batch.values()}
    if len(rows_per) == 1 and rows_per.pop() > 1 and len(batch) == len(present):
        return _batch_table(batch, caption)
    width = max((v.shape[-1] if v.ndim else 1 for v in present.values()), default=1)
    rows = []
    for name, value in present.items():
        matrix = np.atleast_2d(value) if value.ndim else value.reshape(1, 1)
        for n, row in enumerate(matrix):
            label = display_name(name)
            if len(matrix) > 1:
                label += f" (sample {n + 1})"
            rows.append([label, *(fmt(v) for v in row), *[""] * (width - len(row))])
    return Table(["", *(f"{j + 1}" for j in range(width))], rows, caption)


def _batch_table(values: dict, caption: str | None) -> Table:
    columns = ["sample"]
    for name, value in values.items():
        columns += [display_name(name, j) for j in range(value.shape[1])]
    count = next(iter(values.values())).shape[0]
    rows = [
        [str(n + 1), *(fmt(v) for value in values.values() for v in value[n])] for n in range(count)
    ]
    return Table(columns, rows, caption)
