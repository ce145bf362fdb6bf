"""A data set for the benchmarks, registered as a plugin: ``type: teacher``.

A random "teacher" network makes the targets, so any number of inputs and outputs can be
asked for and the data fits in a few scenario lines (the trace header stays small):

    x ~ N(0, I)   (samples, features)
    y = tanh(x·A / √features)   with A ~ N(0, 1)   (samples, outputs)
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from engine import ComponentConfig, Dataset, hookimpl
from engine.components import Data


class TeacherConfig(ComponentConfig):
    type: Literal["teacher"] = "teacher"
    samples: int = Field(1024, ge=1, description="Number of points.")
    features: int = Field(2, gt=0, description="Inputs per point.")
    outputs: int = Field(1, gt=0, description="Targets per point.")


class Teacher(Dataset):
    """x ~ N(0, I),  y = tanh(x·A / √features),  A ~ N(0, 1); drawn from ``ctx.rng("data")``."""

    def load(self, ctx):
        config = self.config
        rng = ctx.rng("data")
        x = rng.normal(0.0, 1.0, size=(config.samples, config.features))
        teacher = rng.normal(0.0, 1.0, size=(config.features, config.outputs))
        y = np.tanh(x @ teacher / np.sqrt(config.features))
        return Data(x, y, task="regression")


@hookimpl
def tracegrad_register_datasets(register):
    register("teacher", Teacher, TeacherConfig)
