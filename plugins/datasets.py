"""Built-in data sets, simplest first.

Every random draw comes from ``ctx.rng("data")``, i.e. the scenario seed, so the same scenario
always sees the same data.

Labeled data sets return ``Data(x, y, task)`` with inputs x (N, D) and one target column y
(N, 1): real values ("regression"), 0/1 labels ("binary"), or class indices 0..K-1
("multiclass", with ``classes`` = K). Classes get equal shares of the samples (the first
classes one more when N is not a multiple of K), and rows are shuffled so that no class sits at
the end of the data.

Unlabeled mixtures for GANs are in ``plugins/mixtures.py``; data read from files (csv,
digits) in ``plugins/file_data.py``.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from engine import hookimpl
from engine.components import ComponentConfig, Data, Dataset
from engine.i18n import _


class InlineConfig(ComponentConfig):
    type: Literal["inline"] = "inline"
    x: list[list[float]] | list[list[list[list[float]]]] = Field(
        min_length=1,
        description="Inputs, one row per sample, or one image per sample as nested lists "
        "[channels][rows][columns] (an array (N, C, H, W), channels first as in PyTorch).",
    )
    y: list[list[float]] = Field(min_length=1, description="Targets, one row per sample.")
    task: Literal["regression", "binary", "multiclass"] = Field(
        "regression", description="What y holds: real values, 0/1 labels, or class indices."
    )

    @model_validator(mode="after")
    def _rectangular(self):
        images = isinstance(self.x[0][0], list)
        if images:
            shapes = {_image_shape(image) for image in self.x}
            if len(shapes) != 1 or None in shapes or 0 in next(iter(shapes)):
                found = sorted(str(shape) for shape in shapes if shape is not None)
                raise ValueError(
                    _(
                        "every image in x needs the same, non-empty shape "
                        "[channels][rows][columns]; found {value}{value2}"
                    ).format(
                        value=", ".join(found) or "none",
                        value2=" and ragged lists" if None in shapes else "",
                    )
                )
        for name, rows in (("y", self.y),) if images else (("x", self.x), ("y", self.y)):
            widths = {len(row) for row in rows}
            if len(widths) != 1 or 0 in widths:
                raise ValueError(
                    _(
                        "every row of {name} needs the same, non-zero number of values; found row "
                        "lengths {sorted}"
                    ).format(name=name, sorted=sorted(widths))
                )
        if len(self.x) != len(self.y):
            raise ValueError(
                _("x has {count} rows but y has {count2}: one target row per input row").format(
                    count=len(self.x), count2=len(self.y)
                )
            )
        return self


def _image_shape(image: list) -> tuple[int, int, int] | None:
    """(C, H, W) of nested lists [channels][rows][columns], None when they are ragged."""
    array = np.asarray(image, dtype=object)
    if array.ndim != 3 or any(isinstance(value, list) for value in array.flat):
        return None
    return array.shape


class Inline(Dataset):
    """Samples written in the scenario: x (N, D) or images (N, C, H, W), and y (N, K), as
    nested lists."""

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


# --- shared by the labeled data sets -------------------------------------------------------------


def standardize_field():
    """The ``standardize`` option every labeled data set offers (declared last in each)."""
    return Field(
        False,
        description="Rescale each input column to mean 0 and std 1, x <- (x - mean) / std, "
        "computed over all samples before any validation split (a column with std 0 is "
        "only centered).",
    )


def class_sizes(samples: int, classes: int) -> list[int]:
    """Equal shares of ``samples``; the first ``samples % classes`` classes get one more."""
    return [samples // classes + (1 if k < samples % classes else 0) for k in range(classes)]


def labeled(
    config: ComponentConfig,
    x: np.ndarray,
    y: np.ndarray,
    task: str,
    rng: np.random.Generator | None = None,
    classes: int | None = None,
    info: dict | None = None,
) -> Data:
    """Shuffle the rows (when ``rng`` is given), standardize if asked, and wrap as Data."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64).reshape(len(x), -1)
    if rng is not None:
        order = rng.permutation(len(x))
        x, y = x[order], y[order]
    info = dict(info or {})
    if config.standardize:
        mean, std = x.mean(axis=0), x.std(axis=0)
        x = (x - mean) / np.where(std > 0, std, 1.0)
        info["input_mean"], info["input_std"] = mean, std
    return Data(x, y, task=task, classes=classes, info=info)


# --- two-dimensional classification --------------------------------------------------------------


class MoonsConfig(ComponentConfig):
    type: Literal["moons"] = "moons"
    samples: int = Field(200, ge=2, description="Number of points, half on each moon.")
    noise: float = Field(0.1, ge=0, description="Std of Gaussian noise added to each coordinate.")
    standardize: bool = standardize_field()


class Moons(Dataset):
    """Two interleaving half circles (as scikit-learn's make_moons), binary labels.

    With t evenly spaced in [0, π]:
        class 0: (cos t, sin t)               the upper moon
        class 1: (1 - cos t, 1 - sin t - ½)   the lower moon, shifted into the upper one
    then x <- x + ε, ε ~ N(0, noise²) per coordinate.
    """

    def load(self, ctx):
        rng = ctx.rng("data")
        upper, lower = class_sizes(self.config.samples, 2)
        t0, t1 = np.linspace(0, np.pi, upper), np.linspace(0, np.pi, lower)
        x = np.concatenate(
            [
                np.column_stack([np.cos(t0), np.sin(t0)]),
                np.column_stack([1 - np.cos(t1), 1 - np.sin(t1) - 0.5]),
            ]
        )
        x += rng.normal(0.0, self.config.noise, size=x.shape)
        y = np.repeat([0.0, 1.0], [upper, lower])
        return labeled(self.config, x, y, "binary", rng)


class CirclesConfig(ComponentConfig):
    type: Literal["circles"] = "circles"
    samples: int = Field(200, ge=2, description="Number of points, half on each circle.")
    factor: float = Field(
        0.5, gt=0, lt=1, description="Radius of the inner circle relative to the outer one."
    )
    noise: float = Field(0.05, ge=0, description="Std of Gaussian noise added to each coordinate.")
    standardize: bool = standardize_field()


class Circles(Dataset):
    """A small circle inside a large one (as scikit-learn's make_circles), binary labels.

    With t evenly spaced in [0, 2π):
        class 0: (cos t, sin t)                   the outer circle, radius 1
        class 1: factor·(cos t, sin t)            the inner circle, radius ``factor``
    then x <- x + ε, ε ~ N(0, noise²) per coordinate. No straight line separates them.
    """

    def load(self, ctx):
        rng = ctx.rng("data")
        outer, inner = class_sizes(self.config.samples, 2)
        t0 = np.linspace(0, 2 * np.pi, outer, endpoint=False)
        t1 = np.linspace(0, 2 * np.pi, inner, endpoint=False)
        x = np.concatenate(
            [
                np.column_stack([np.cos(t0), np.sin(t0)]),
                self.config.factor * np.column_stack([np.cos(t1), np.sin(t1)]),
            ]
        )
        x += rng.normal(0.0, self.config.noise, size=x.shape)
        y = np.repeat([0.0, 1.0], [outer, inner])
        return labeled(self.config, x, y, "binary", rng)


class SpiralsConfig(ComponentConfig):
    type: Literal["spirals"] = "spirals"
    arms: int = Field(3, ge=2, description="Number of spiral arms K, one class each.")
    points_per_arm: int = Field(100, ge=2, description="Points on each arm.")
    noise: float = Field(
        0.2, ge=0, description="Std of Gaussian noise added to each point's angle (radians)."
    )
    turns: float = Field(
        0.75, gt=0, description="How far each arm winds around the center, in full turns."
    )
    standardize: bool = standardize_field()


class Spirals(Dataset):
    """K interleaved spiral arms (the classic CS231n spiral), class k = arm k.

    Point i of arm k, with r_i evenly spaced in [0, 1]:
        θ = 2π·(k / K + turns·r_i) + ε,   ε ~ N(0, noise²)
        x = r_i·(cos θ, sin θ)
    Each arm starts at the center and ends on the unit circle; the arms are rotated by 1/K of
    a turn from each other.
    """

    def load(self, ctx):
        rng = ctx.rng("data")
        config = self.config
        r = np.linspace(0.0, 1.0, config.points_per_arm)
        points, labels = [], []
        for arm in range(config.arms):
            theta = 2 * np.pi * (arm / config.arms + config.turns * r)
            theta = theta + rng.normal(0.0, config.noise, size=r.shape)
            points.append(np.column_stack([r * np.cos(theta), r * np.sin(theta)]))
            labels.append(np.full(len(r), float(arm)))
        return labeled(
            config,
            np.concatenate(points),
            np.concatenate(labels),
            "multiclass",
            rng,
            classes=config.arms,
        )


class BlobsConfig(ComponentConfig):
    type: Literal["blobs"] = "blobs"
    centers: int | list[list[float]] = Field(
        3,
        description="Number of clusters (their centers drawn uniformly in [-box, box] per "
        "coordinate), or the centers themselves, e.g. [[0, 0], [3, 3]].",
    )
    dims: int | None = Field(
        None,
        gt=0,
        description="Features per point; default: 2, or the length of the given centers.",
    )
    std: float = Field(1.0, ge=0, description="Std of each cluster around its center.")
    box: float = Field(
        5.0, gt=0, description="Random centers lie in [-box, box] in every coordinate."
    )
    samples: int = Field(300, ge=2, description="Number of points, shared evenly by clusters.")
    standardize: bool = standardize_field()

    @model_validator(mode="after")
    def _consistent(self):
        if isinstance(self.centers, int):
            if self.centers < 2:
                raise ValueError(
                    _("centers must be at least 2 clusters, found {centers}").format(
                        centers=self.centers
                    )
                )
            return self
        if len(self.centers) < 2:
            raise ValueError(_("give at least 2 centers"))
        widths = {len(center) for center in self.centers}
        if len(widths) != 1 or 0 in widths:
            raise ValueError(
                _("every center needs the same number of coordinates, found {widths}").format(
                    widths=widths
                )
            )
        width = widths.pop()
        if self.dims is not None and self.dims != width:
            raise ValueError(
                _("dims is {dims} but the centers have {width} coordinates").format(
                    dims=self.dims, width=width
                )
            )
        return self


class Blobs(Dataset):
    """Gaussian clusters (as scikit-learn's make_blobs), class k = cluster k.

    Point of cluster k:  x = c_k + std·ε,  ε ~ N(0, I);  random centers c_k ~ U(-box, box)^D.
    ``info["centers"]`` holds the centers (K, D).
    """

    def load(self, ctx):
        rng = ctx.rng("data")
        config = self.config
        if isinstance(config.centers, int):
            dims = config.dims or 2
            centers = rng.uniform(-config.box, config.box, size=(config.centers, dims))
        else:
            centers = np.asarray(config.centers, dtype=np.float64)
        sizes = class_sizes(config.samples, len(centers))
        labels = np.repeat(np.arange(len(centers)), sizes)
        x = centers[labels] + rng.normal(0.0, config.std, size=(len(labels), centers.shape[1]))
        return labeled(
            config,
            x,
            labels,
            "multiclass",
            rng,
            classes=len(centers),
            info={"centers": centers, "std": config.std},
        )


# --- regression ----------------------------------------------------------------------------------


class SineConfig(ComponentConfig):
    type: Literal["sine"] = "sine"
    samples: int = Field(200, ge=1, description="Number of points.")
    low: float = Field(-math.pi, description="Smallest x (default -π).")
    high: float = Field(math.pi, description="Largest x (default π), > low.")
    noise: float = Field(0.1, ge=0, description="Std of Gaussian noise added to y.")
    standardize: bool = standardize_field()

    @model_validator(mode="after")
    def _ordered(self):
        if self.high <= self.low:
            raise ValueError(
                _("high ({high}) must be greater than low ({low})").format(
                    high=self.high, low=self.low
                )
            )
        return self


class Sine(Dataset):
    """One input, one real target:  x ~ U(low, high),  y = sin(x) + ε,  ε ~ N(0, noise²)."""

    def load(self, ctx):
        rng = ctx.rng("data")
        config = self.config
        x = rng.uniform(config.low, config.high, size=(config.samples, 1))
        y = np.sin(x) + rng.normal(0.0, config.noise, size=x.shape)
        return labeled(config, x, y, "regression")


class LinearConfig(ComponentConfig):
    type: Literal["linear"] = "linear"
    samples: int = Field(100, ge=1, description="Number of points.")
    features: int | None = Field(
        None, gt=0, description="Inputs per point; default: len(weights), or 1."
    )
    weights: list[float] | None = Field(
        None,
        min_length=1,
        description="The true w, one per feature; default: drawn from N(0, 1).",
    )
    bias: float = Field(0.0, description="The true b.")
    noise: float = Field(0.1, ge=0, description="Std of Gaussian noise added to y.")
    standardize: bool = standardize_field()

    @model_validator(mode="after")
    def _consistent(self):
        if self.weights is not None and self.features not in (None, len(self.weights)):
            raise ValueError(
                _("features is {features} but weights has {count} values").format(
                    features=self.features, count=len(self.weights)
                )
            )
        return self


class Linear(Dataset):
    """A straight-line relation to recover:  x ~ N(0, I),  y = x·w + b + ε,  ε ~ N(0, noise²).

    ``info["w"]`` and ``info["b"]`` hold the true values, to compare with what a dense layer
    without activation learns.
    """

    def load(self, ctx):
        rng = ctx.rng("data")
        config = self.config
        if config.weights is not None:
            w = np.asarray(config.weights, dtype=np.float64)
        else:
            w = rng.normal(0.0, 1.0, size=config.features or 1)
        x = rng.normal(0.0, 1.0, size=(config.samples, len(w)))
        y = x @ w + config.bias + rng.normal(0.0, config.noise, size=config.samples)
        return labeled(config, x, y, "regression", info={"w": w, "b": config.bias})


@hookimpl
def tracegrad_register_datasets(register):
    register("inline", Inline, InlineConfig)
    register("xor", Xor, XorConfig)
    register("moons", Moons, MoonsConfig)
    register("circles", Circles, CirclesConfig)
    register("spirals", Spirals, SpiralsConfig)
    register("blobs", Blobs, BlobsConfig)
    register("sine", Sine, SineConfig)
    register("linear", Linear, LinearConfig)
