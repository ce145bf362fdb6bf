"""Built-in data sets. Every random draw comes from ``ctx.rng("data")``, i.e. the scenario
seed, so the same scenario always sees the same data."""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from engine import hookimpl
from engine.components import ComponentConfig, Data, Dataset


class InlineConfig(ComponentConfig):
    type: Literal["inline"] = "inline"
    x: list[list[float]] = Field(min_length=1, description="Inputs, one row per sample.")
    y: list[list[float]] = Field(min_length=1, description="Targets, one row per sample.")
    task: Literal["regression", "binary", "multiclass"] = Field(
        "regression", description="What y holds: real values, 0/1 labels, or class indices."
    )

    @model_validator(mode="after")
    def _rectangular(self):
        for name, rows in (("x", self.x), ("y", self.y)):
            widths = {len(row) for row in rows}
            if len(widths) != 1 or 0 in widths:
                raise ValueError(
                    f"every row of {name} needs the same, non-zero number of "
                    f"values; found row lengths {sorted(widths)}"
                )
        if len(self.x) != len(self.y):
            raise ValueError(
                f"x has {len(self.x)} rows but y has {len(self.y)}: one target row per input row"
            )
        return self


class Inline(Dataset):
    """Samples written in the scenario: x (N, D) and y (N, K) as nested lists."""

    def load(self, ctx):
        x = np.asarray(self.config.x, dtype=np.float64)
        y = np.asarray(self.config.y, dtype=np.float64)
        classes = int(y.max()) + 1 if self.config.task == "multiclass" else None
        return Data(x, y, task=self.config.task, classes=classes)


class XorConfig(ComponentConfig):
    type: Literal["xor"] = "xor"
    noise: float = Field(0.0, ge=0, description="Std of Gaussian noise added to the inputs.")
    repeat: int = Field(1, gt=0, description="Copies of the four points (more samples).")


class Xor(Dataset):
    """The four points (0,0)→0, (0,1)→1, (1,0)→1, (1,1)→0: not linearly separable, so it
    needs a hidden layer (the classic argument for backpropagation)."""

    def load(self, ctx):
        x = np.tile(
            np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]), (self.config.repeat, 1)
        )
        y = np.tile(np.array([[0.0], [1.0], [1.0], [0.0]]), (self.config.repeat, 1))
        if self.config.noise:
            x = x + ctx.rng("data").normal(0.0, self.config.noise, size=x.shape)
        return Data(x, y, task="binary")


@hookimpl
def tracegrad_register_datasets(register):
    register("inline", Inline, InlineConfig)
    register("xor", Xor, XorConfig)
