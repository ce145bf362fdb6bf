"""Built-in unlabeled data sets for GANs: samples of a known distribution.

y is None and ``info`` holds the truth a metric can check against: ``info["centers"]``
(modes, D), ``info["std"]`` and ``info["mode"]`` (the mode each sample came from). Every random
draw comes from ``ctx.rng("data")``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import AliasChoices, Field

from engine import hookimpl
from engine.components import ComponentConfig, Data, Dataset
from plugins.datasets import class_sizes


def mixture(centers: np.ndarray, std: float, samples: int, rng: np.random.Generator) -> Data:
    """Samples of an equal-weight Gaussian mixture: x = c_m + std·ε, ε ~ N(0, I).

    Every mode m gets an equal share of the samples (in shuffled order); ``info["mode"]`` says
    which mode each sample came from.
    """
    modes = rng.permutation(np.repeat(np.arange(len(centers)), class_sizes(samples, len(centers))))
    x = centers[modes] + rng.normal(0.0, std, size=(samples, centers.shape[1]))
    return Data(x, None, info={"centers": centers, "std": float(std), "mode": modes})


def samples_field(description: str):
    """How many points a mixture data set draws (``size:`` is accepted as another name)."""
    return Field(
        1000,
        ge=1,
        le=10_000_000,
        validation_alias=AliasChoices("samples", "size"),
        description=f"{description} `size` is accepted too.",
    )


class RingConfig(ComponentConfig):
    type: Literal["ring"] = "ring"
    modes: int = Field(8, ge=1, description="Number of Gaussian modes K on the circle.")
    radius: float = Field(2.0, gt=0, description="Radius of the circle the modes sit on.")
    std: float = Field(0.02, gt=0, description="Std of each mode.")
    samples: int = samples_field("Number of points, shared evenly by modes.")


class Ring(Dataset):
    """K Gaussians evenly spaced on a circle (the GAN mode-collapse benchmark), no labels.

    Mode m's center:  c_m = radius·(cos(2πm / K), sin(2πm / K));  x = c_m + std·ε.
    """

    def load(self, ctx):
        config = self.config
        angle = 2 * np.pi * np.arange(config.modes) / config.modes
        centers = config.radius * np.column_stack([np.cos(angle), np.sin(angle)])
        return mixture(centers, config.std, config.samples, ctx.rng("data"))


class GridConfig(ComponentConfig):
    type: Literal["grid"] = "grid"
    modes_per_side: int = Field(
        5, ge=1, description="Modes per row and per column, k: k × k modes in all."
    )
    spacing: float = Field(2.0, gt=0, description="Distance between neighbouring modes.")
    std: float = Field(0.05, gt=0, description="Std of each mode.")
    samples: int = samples_field("Number of points, shared evenly by modes.")


class Grid(Dataset):
    """k × k Gaussians on a square grid centered on the origin, no labels.

    Centers:  c_ij = spacing·(i - (k - 1)/2, j - (k - 1)/2)  for i, j in 0..k-1;  x = c + std·ε.
    (k = 5, spacing 2: centers at -4, -2, 0, 2, 4 in each coordinate.)
    """

    def load(self, ctx):
        config = self.config
        side = config.spacing * (np.arange(config.modes_per_side) - (config.modes_per_side - 1) / 2)
        i, j = np.meshgrid(side, side, indexing="ij")
        centers = np.column_stack([i.ravel(), j.ravel()])
        return mixture(centers, config.std, config.samples, ctx.rng("data"))


class GaussianConfig(ComponentConfig):
    type: Literal["gaussian"] = "gaussian"
    mean: float = Field(0.0, description="Mean μ.")
    std: float = Field(1.0, gt=0, description="Standard deviation σ.")
    samples: int = samples_field("Number of points.")


class Gaussian(Dataset):
    """One-dimensional samples x ~ N(μ, σ²), shape (N, 1), no labels (the 1-D GAN target)."""

    def load(self, ctx):
        config = self.config
        return mixture(np.array([[config.mean]]), config.std, config.samples, ctx.rng("data"))


@hookimpl
def tracegrad_register_datasets(register):
    register("ring", Ring, RingConfig)
    register("grid", Grid, GridConfig)
    register("gaussian", Gaussian, GaussianConfig)
