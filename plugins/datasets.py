"""Built-in data sets, simplest first.

Every random draw comes from ``ctx.rng("data")``, i.e. the scenario seed, so the same scenario
always sees the same data.

Labeled data sets return ``Data(x, y, task)`` with inputs x (N, D) and one target column y
(N, 1): real values ("regression"), 0/1 labels ("binary"), or class indices 0..K-1
("multiclass", with ``classes`` = K). Classes get equal shares of the samples (the first
classes one more when N is not a multiple of K), and rows are shuffled so that no class sits at
the end of the data.

Unlabeled data sets (``ring``, ``grid``, ``gaussian``) are samples of a known distribution,
for GANs: y is None and ``info`` holds the truth a metric can check against,
``info["centers"]`` (modes, D) and ``info["std"]``.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from engine import hookimpl
from engine.components import ComponentConfig, Data, Dataset
from engine.errors import BuildError


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
                raise ValueError(f"centers must be at least 2 clusters, found {self.centers}")
            return self
        if len(self.centers) < 2:
            raise ValueError("give at least 2 centers")
        widths = {len(center) for center in self.centers}
        if len(widths) != 1 or 0 in widths:
            raise ValueError(f"every center needs the same number of coordinates, found {widths}")
        width = widths.pop()
        if self.dims is not None and self.dims != width:
            raise ValueError(f"dims is {self.dims} but the centers have {width} coordinates")
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
            raise ValueError(f"high ({self.high}) must be greater than low ({self.low})")
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
                f"features is {self.features} but weights has {len(self.weights)} values"
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


# --- unlabeled distributions for GANs ------------------------------------------------------------


def mixture(centers: np.ndarray, std: float, samples: int, rng: np.random.Generator) -> Data:
    """Samples of an equal-weight Gaussian mixture: x = c_m + std·ε, ε ~ N(0, I).

    Every mode m gets an equal share of the samples (in shuffled order); ``info["mode"]`` says
    which mode each sample came from.
    """
    modes = rng.permutation(np.repeat(np.arange(len(centers)), class_sizes(samples, len(centers))))
    x = centers[modes] + rng.normal(0.0, std, size=(samples, centers.shape[1]))
    return Data(x, None, info={"centers": centers, "std": float(std), "mode": modes})


class RingConfig(ComponentConfig):
    type: Literal["ring"] = "ring"
    modes: int = Field(8, ge=1, description="Number of Gaussian modes K on the circle.")
    radius: float = Field(2.0, gt=0, description="Radius of the circle the modes sit on.")
    std: float = Field(0.02, gt=0, description="Std of each mode.")
    samples: int = Field(1000, ge=1, description="Number of points, shared evenly by modes.")


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
    samples: int = Field(1000, ge=1, description="Number of points, shared evenly by modes.")


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
    samples: int = Field(1000, ge=1, description="Number of points.")


class Gaussian(Dataset):
    """One-dimensional samples x ~ N(μ, σ²), shape (N, 1), no labels (the 1-D GAN target)."""

    def load(self, ctx):
        config = self.config
        return mixture(np.array([[config.mean]]), config.std, config.samples, ctx.rng("data"))


# --- files ---------------------------------------------------------------------------------------

Column = str | int


class CsvConfig(ComponentConfig):
    type: Literal["csv"] = "csv"
    path: str = Field(
        min_length=1, description="The CSV file, relative to the folder of the scenario file."
    )
    target: Column | list[Column] = Field(
        -1,
        description="Target column(s), by header name or 0-based index (negative counts "
        "from the end); default: the last column.",
    )
    inputs: list[Column] | None = Field(
        None, description="Input columns, by name or index; default: every non-target column."
    )
    header: bool = Field(True, description="The first row holds column names.")
    delimiter: str = Field(",", min_length=1, max_length=1, description="Field separator.")
    task: Literal["regression", "binary", "multiclass"] = Field(
        "regression",
        description="What the target holds: real values, 0/1 labels, or class indices 0..K-1 "
        "(binary and multiclass need one target column).",
    )
    standardize: bool = standardize_field()

    @field_validator("inputs")
    @classmethod
    def _some_inputs(cls, value):
        if value is not None and not value:
            raise ValueError("list at least one input column, or leave inputs out")
        return value


class Csv(Dataset):
    """Numbers from a CSV file: one row per sample, named or numbered columns.

    Blank lines are skipped. Every selected cell must be a number; errors name the file and
    line (``data/points.csv:7: ...``).
    """

    def load(self, ctx):
        config = self.config
        table = CsvTable.read(Path(ctx.base_dir or ".") / config.path, config)
        targets = [table.index(c) for c in listed(config.target)]
        if config.inputs is None:
            inputs = [i for i in range(len(table.columns)) if i not in targets]
        else:
            inputs = [table.index(c) for c in config.inputs]
        both = sorted(set(inputs) & set(targets))
        if both:
            raise ValueError(
                f"column '{table.columns[both[0]]}' of {table.name} is both an input and a target"
            )
        if not inputs:
            raise ValueError(f"{table.name} has no column left for the inputs")
        x, y = table.numbers(inputs), table.numbers(targets)
        classes = table.check_labels(y, config.task)
        return labeled(config, x, y, config.task, classes=classes, info={"path": table.path})


def listed(value: Column | list[Column]) -> list[Column]:
    return value if isinstance(value, list) else [value]


@dataclass
class CsvTable:
    """The text of a CSV file: column names, data rows, and the line number of each row.

    ``name`` is the path as the scenario wrote it, for messages such as ``points.csv:7: ...``.
    """

    name: str
    path: str
    columns: list[str]
    header_line: int | None
    rows: list[list[str]]
    lines: list[int]

    @classmethod
    def read(cls, path: Path, config: CsvConfig) -> CsvTable:
        name = config.path
        try:
            handle = open(path, newline="", encoding="utf-8")  # noqa: SIM115 (closed below)
        except FileNotFoundError:
            raise ValueError(
                f"CSV file not found: {path} (the path '{name}' is read relative to the "
                f"folder of the scenario file)"
            ) from None
        rows, lines = [], []
        with handle:
            reader = csv.reader(handle, delimiter=config.delimiter)
            try:
                for row in reader:
                    if any(cell.strip() for cell in row):
                        rows.append([cell.strip() for cell in row])
                        lines.append(reader.line_num)
            except (csv.Error, UnicodeDecodeError) as error:
                raise ValueError(
                    f"{name}:{reader.line_num}: cannot read the CSV: {error}"
                ) from None
        if not rows:
            raise ValueError(f"{name} is empty; expected one row per sample")
        if config.header:
            columns, header_line = rows.pop(0), lines.pop(0)
        else:
            columns, header_line = [str(i) for i in range(len(rows[0]))], None
        if not rows:
            raise ValueError(f"{name} has a header but no data rows")
        table = cls(name, str(path), columns, header_line, rows, lines)
        for row, line in zip(rows, lines, strict=True):
            if len(row) != len(columns):
                source = f"the header (line {header_line})" if config.header else "the first row"
                raise ValueError(
                    f"{name}:{line}: found {len(row)} values, but {source} has {len(columns)}"
                )
        return table

    def index(self, column: Column) -> int:
        """The 0-based index of a column given by name or by (possibly negative) index."""
        count = len(self.columns)
        if isinstance(column, int):
            if not -count <= column < count:
                raise ValueError(
                    f"column index {column} is out of range: {self.name} has {count} columns "
                    f"(0 to {count - 1})"
                )
            return column % count
        if column not in self.columns:
            where = f"{self.name}:{self.header_line}" if self.header_line else self.name
            hint = "" if self.header_line else " (header: false, so name columns by index)"
            raise ValueError(
                f"{where}: no column named '{column}'; its columns are: "
                f"{', '.join(self.columns)}{hint}"
            )
        return self.columns.index(column)

    def numbers(self, columns: list[int]) -> np.ndarray:
        values = np.empty((len(self.rows), len(columns)))
        for r, (row, line) in enumerate(zip(self.rows, self.lines, strict=True)):
            for c, column in enumerate(columns):
                try:
                    values[r, c] = float(row[column])
                except ValueError:
                    values[r, c] = math.nan
                if not math.isfinite(values[r, c]):
                    raise ValueError(
                        f"{self.name}:{line}: column '{self.columns[column]}' holds "
                        f"'{row[column]}', which is not a finite number"
                    )
        return values

    def check_labels(self, y: np.ndarray, task: str) -> int | None:
        """Number of classes for a multiclass target; errors for labels that do not fit."""
        if task == "regression":
            return None
        if y.shape[1] != 1:
            raise ValueError(f"task {task} needs one target column, found {y.shape[1]}")
        binary = task == "binary"
        allowed = "0 or 1" if binary else "whole numbers 0, 1, 2, ..."
        for value, line in zip(y[:, 0], self.lines, strict=True):
            fits = value in (0.0, 1.0) if binary else (value >= 0 and value == int(value))
            if not fits:
                raise ValueError(
                    f"{self.name}:{line}: task {task} needs targets {allowed}, found {value:g}"
                )
        return int(y.max()) + 1 if task == "multiclass" else None


# --- images --------------------------------------------------------------------------------------


class DigitsConfig(ComponentConfig):
    type: Literal["digits"] = "digits"
    scale: Literal["unit", "symmetric", "raw"] = Field(
        "unit",
        description="Pixel values: unit p/16 in [0, 1]; symmetric p/8 - 1 in [-1, 1] (for a "
        "GAN generator ending in tanh); raw the stored 0..16.",
    )
    digits: list[int] | None = Field(
        None,
        min_length=1,
        description="Keep only these digits, e.g. [0, 1]; their labels become 0, 1, ... in "
        "the order given. Default: all ten, label = digit.",
    )
    samples: int | None = Field(
        None, ge=1, description="Use a random subset of this many images; default: all 1797."
    )
    standardize: bool = standardize_field()

    @field_validator("digits")
    @classmethod
    def _valid_digits(cls, value):
        if value is not None:
            if any(not 0 <= d <= 9 for d in value):
                raise ValueError(f"digits are 0 to 9, found {value}")
            if len(set(value)) != len(value):
                raise ValueError(f"each digit once, found {value}")
        return value


def load_sklearn_digits() -> tuple[np.ndarray, np.ndarray]:
    """The 1797 8×8 images (N, 64) with pixel values 0..16 and their digits (N,)."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise BuildError(
            "the digits data set is read from scikit-learn, which is not installed",
            hint="pip install 'tracegrad[digits]'  (or: pip install scikit-learn)",
        ) from None
    bunch = load_digits()
    return np.asarray(bunch.data, dtype=np.float64), np.asarray(bunch.target)


class Digits(Dataset):
    """The 8×8 handwritten digits shipped with scikit-learn (UCI optical digits): 1797 images
    flattened to 64 inputs (row by row), 10 classes, multiclass labels.

    Needs scikit-learn: ``pip install 'tracegrad[digits]'``.
    """

    def load(self, ctx):
        config = self.config
        pixels, digits = load_sklearn_digits()
        labels = digits
        if config.digits is not None:
            keep = np.isin(digits, config.digits)
            pixels, digits = pixels[keep], digits[keep]
            labels = np.array([config.digits.index(d) for d in digits])
        rng = ctx.rng("data")
        order = rng.permutation(len(pixels))[: config.samples]
        pixels, labels = pixels[order], labels[order]
        if config.scale == "unit":
            pixels = pixels / 16.0
        elif config.scale == "symmetric":
            pixels = pixels / 8.0 - 1.0
        classes = len(config.digits) if config.digits is not None else 10
        info = {"image_shape": (8, 8), "digits": config.digits or list(range(10))}
        return labeled(config, pixels, labels, "multiclass", classes=classes, info=info)


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
    register("ring", Ring, RingConfig)
    register("grid", Grid, GridConfig)
    register("gaussian", Gaussian, GaussianConfig)
    register("csv", Csv, CsvConfig)
    register("digits", Digits, DigitsConfig)
