"""A data set read from a LIBSVM/svmlight text file, as a Tracegrad plugin.

One sample per line: a label, then ``index:value`` pairs with 1-based, increasing feature
indices; a feature left out is 0 (the format is sparse). ``#`` starts a comment, blank lines
are skipped::

    +1 1:0.5 3:-1.2      # label +1; features (0.5, 0, -1.2)
    -1 2:0.7

A malformed line is a ``ValueError`` whose message starts with ``file:line:``; Tracegrad shows
it at the scenario's ``data:`` and exits with status 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

import numpy as np
from pydantic import Field

import engine
from engine.components import Data

#: Files larger than this are refused before they are read (a data set to learn from by hand).
MAX_BYTES = 10_000_000


class SvmlightConfig(engine.ComponentConfig):
    type: Literal["svmlight"] = "svmlight"
    #: Fields holding a path relative to the scenario file (rebased in a run folder's copy).
    relative_paths: ClassVar[tuple[str, ...]] = ("path",)
    path: str = Field(min_length=1, description="The file, relative to the scenario's folder.")
    task: Literal["regression", "binary", "multiclass"] = Field(
        "binary",
        description="What the labels are: real values, two classes (-1/+1 or 0/1, read as "
        "0/1), or class indices 0..K-1.",
    )
    features: int | None = Field(
        None,
        ge=1,
        description="How many features a sample has; default: the largest index in the file.",
    )


def parse(text: str, name: str) -> tuple[list[float], list[dict[int, float]]]:
    """Labels and {0-based index: value} per sample; a ValueError naming ``name:line``."""
    labels, rows = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        content = line.split("#", 1)[0].split()
        if not content:
            continue
        where = f"{name}:{number}"
        labels.append(_number(content[0], where, "the label"))
        row, last = {}, 0
        for pair in content[1:]:
            index_text, colon, value_text = pair.partition(":")
            if not colon:
                raise ValueError(
                    f"{where}: '{pair}' is not index:value (e.g. 3:0.5, indices from 1)"
                )
            if not index_text.isdigit() or int(index_text) < 1:
                raise ValueError(f"{where}: feature index '{index_text}' is not a whole number ≥ 1")
            index = int(index_text)
            if index <= last:
                raise ValueError(
                    f"{where}: feature index {index} after {last}: indices must increase"
                )
            row[index - 1], last = _number(value_text, where, f"feature {index}"), index
        rows.append(row)
    if not rows:
        raise ValueError(f"{name} has no samples (one line per sample: label index:value ...)")
    return labels, rows


def _number(text: str, where: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{where}: {what} '{text}' is not a number") from None
    if not np.isfinite(value):
        raise ValueError(f"{where}: {what} is {text}; only finite numbers can be learned from")
    return value


def targets(labels: list[float], task: str, name: str) -> tuple[np.ndarray, int | None]:
    """The labels as a (N, 1) target column, and the number of classes (None: regression)."""
    y = np.array(labels, dtype=np.float64).reshape(-1, 1)
    if task == "regression":
        return y, None
    if task == "binary":
        found = set(np.unique(y))
        if found <= {0.0, 1.0}:
            return y, 2
        if found <= {-1.0, 1.0}:
            return (y > 0).astype(np.float64), 2
        raise ValueError(f"{name}: binary labels are -1/+1 or 0/1, found {sorted(found)[:5]}")
    if not np.all(y == np.round(y)) or y.min() < 0:
        raise ValueError(f"{name}: multiclass labels are class indices 0, 1, 2, ...")
    return y, int(y.max()) + 1


class Svmlight(engine.Dataset):
    """Samples from a LIBSVM/svmlight file: x (N, features), y (N, 1)."""

    def load(self, ctx):
        config = self.config
        path = Path(ctx.base_dir or ".") / config.path
        if not path.is_file():
            raise ValueError(f"svmlight file not found: {path} (read relative to the scenario)")
        if path.stat().st_size > MAX_BYTES:
            raise ValueError(f"{config.path} is larger than {MAX_BYTES:,} bytes")
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise ValueError(f"{config.path} is not UTF-8 text") from None
        labels, rows = parse(text, config.path)
        widest = max((max(row) + 1 for row in rows if row), default=0)
        features = config.features or widest
        if widest > features:
            raise ValueError(f"{config.path} has feature {widest}, more than features: {features}")
        x = np.zeros((len(rows), features))
        for i, row in enumerate(rows):
            for j, value in row.items():
                x[i, j] = value
        y, classes = targets(labels, config.task, config.path)
        return Data(x, y, task=config.task, classes=classes, info={"source": config.path})


@engine.hookimpl
def tracegrad_register_datasets(register):
    register("svmlight", Svmlight, SvmlightConfig)
