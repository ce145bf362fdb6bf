"""Built-in data sets read from files: ``csv`` (a table next to the scenario) and ``digits``
(the 8x8 handwritten digits, shipped in ``plugins/data/``)."""

from __future__ import annotations

import csv
import errno
import io
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Literal

import numpy as np
from pydantic import Field, field_validator, model_serializer

from engine import hookimpl
from engine.components import ComponentConfig, Dataset
from engine.errors import BuildError
from engine.files import describe_kind
from engine.i18n import _
from engine.limits import Limits
from plugins.datasets import labeled, standardize_field

Column = str | int


class CsvConfig(ComponentConfig):
    type: Literal["csv"] = "csv"
    #: Fields holding a path relative to the scenario file (rebased in a run folder's copy).
    relative_paths: ClassVar[tuple[str, ...]] = ("path",)
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
            raise ValueError(_("list at least one input column, or leave inputs out"))
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
                _("column '{columns}' of {name} is both an input and a target").format(
                    columns=table.columns[both[0]], name=table.name
                )
            )
        if not inputs:
            raise ValueError(_("{name} has no column left for the inputs").format(name=table.name))
        x, y = table.numbers(inputs), table.numbers(targets)
        classes = table.check_labels(y, config.task)
        return labeled(config, x, y, config.task, classes=classes, info={"path": table.path})


def listed(value: Column | list[Column]) -> list[Column]:
    return value if isinstance(value, list) else [value]


def read_text_file(path: Path, name: str, what: str) -> str:
    """The UTF-8 text of a data file: a regular file (not a folder, a FIFO or a device such
    as /dev/zero) of at most the ``data_bytes`` limit, with no NUL bytes."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise ValueError(
            _(
                "{what} not found: {path} (the path '{name}' is read relative to the folder of "
                "the scenario file)"
            ).format(what=what, path=path, name=name)
        ) from None
    except OSError as error:
        reason = error.strerror
        if error.errno == errno.ELOOP:
            reason = "the path has a symbolic link that points back at itself"
        raise ValueError(
            _("cannot read the {what} {name}: {reason}").format(what=what, name=name, reason=reason)
        ) from None
    kind = describe_kind(info.st_mode)
    if kind is not None:
        raise ValueError(
            _("{name} is {kind}, not a {what}").format(name=name, kind=kind, what=what)
        )
    limit = Limits.from_settings().data_bytes
    if info.st_size > limit:
        raise BuildError(
            _("{name} is {st_size:,} bytes, more than the limit of {limit:,}").format(
                name=name, st_size=info.st_size, limit=limit
            ),
            hint=_("use a smaller file, or raise the limit: --limit data_bytes={value}").format(
                value=info.st_size * 2
            ),
        )
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ValueError(
            _("cannot read the {what} {name}: {strerror}").format(
                what=what, name=name, strerror=error.strerror
            )
        ) from None
    if b"\0" in data:
        line = data[: data.index(b"\0")].count(b"\n") + 1
        raise ValueError(
            _("{name}:{line}: a NUL byte: this is a binary file, not a {what}").format(
                name=name, line=line, what=what
            )
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ValueError(
            _("{name}:{line}: not UTF-8 text (byte {start}); save the file as UTF-8").format(
                name=name, line=line, start=error.start
            )
        ) from None


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
        text = read_text_file(path, name, "CSV file")
        rows, lines = [], []
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=config.delimiter)
        try:
            for row in reader:
                if any(cell.strip() for cell in row):
                    rows.append([cell.strip() for cell in row])
                    lines.append(reader.line_num)
        except csv.Error as error:
            raise ValueError(
                _("{name}:{line_num}: cannot read the CSV: {error}").format(
                    name=name, line_num=reader.line_num, error=error
                )
            ) from None
        if not rows:
            raise ValueError(_("{name} is empty; expected one row per sample").format(name=name))
        if config.header:
            columns, header_line = rows.pop(0), lines.pop(0)
        else:
            columns, header_line = [str(i) for i in range(len(rows[0]))], None
        if not rows:
            raise ValueError(_("{name} has a header but no data rows").format(name=name))
        seen = set()
        for column in columns if config.header else ():
            if column in seen:
                raise ValueError(
                    _(
                        "{name}:{header_line}: the column name '{column}' appears twice in the "
                        "header; each column needs its own name"
                    ).format(name=name, header_line=header_line, column=column)
                )
            seen.add(column)
        table = cls(name, str(path), columns, header_line, rows, lines)
        for row, line in zip(rows, lines, strict=True):
            if len(row) != len(columns):
                source = f"the header (line {header_line})" if config.header else "the first row"
                raise ValueError(
                    _("{name}:{line}: found {count} values, but {source} has {count2}").format(
                        name=name, line=line, count=len(row), source=source, count2=len(columns)
                    )
                )
        return table

    def index(self, column: Column) -> int:
        """The 0-based index of a column given by name or by (possibly negative) index."""
        count = len(self.columns)
        if isinstance(column, int):
            if not -count <= column < count:
                raise ValueError(
                    _(
                        "column index {column} is out of range: {name} has {count} columns (0 to "
                        "{value})"
                    ).format(column=column, name=self.name, count=count, value=count - 1)
                )
            return column % count
        if column not in self.columns:
            where = f"{self.name}:{self.header_line}" if self.header_line else self.name
            hint = "" if self.header_line else " (header: false, so name columns by index)"
            raise ValueError(
                _("{where}: no column named '{column}'; its columns are: {names}{hint}").format(
                    where=where, column=column, names=", ".join(self.columns), hint=hint
                )
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
                        _(
                            "{name}:{line}: column '{columns}' holds '{row}', which is not a "
                            "finite number"
                        ).format(
                            name=self.name, line=line, columns=self.columns[column], row=row[column]
                        )
                    )
        return values

    def check_labels(self, y: np.ndarray, task: str) -> int | None:
        """Number of classes for a multiclass target; errors for labels that do not fit."""
        if task == "regression":
            return None
        if y.shape[1] != 1:
            raise ValueError(
                _("task {task} needs one target column, found {shape}").format(
                    task=task, shape=y.shape[1]
                )
            )
        binary = task == "binary"
        allowed = "0 or 1" if binary else "whole numbers 0, 1, 2, ..."
        for value, line in zip(y[:, 0], self.lines, strict=True):
            fits = value in (0.0, 1.0) if binary else (value >= 0 and value == int(value))
            if not fits:
                raise ValueError(
                    _("{name}:{line}: task {task} needs targets {allowed}, found {value:g}").format(
                        name=self.name, line=line, task=task, allowed=allowed, value=value
                    )
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
    image: bool = Field(
        False,
        description="Give each sample as an image (1, 8, 8), channels first, for conv2d "
        "layers; default: 64 inputs, row by row.",
    )

    @model_serializer(mode="wrap")
    def _without_default_image(self, handler):
        """Leave ``image: false`` out of the resolved scenario, so that a scenario of flat
        digits resolves (and traces) exactly as it did before images existed."""
        data = handler(self)
        if not self.image:
            data.pop("image", None)
        return data

    @field_validator("digits")
    @classmethod
    def _valid_digits(cls, value):
        if value is not None:
            if any(not 0 <= d <= 9 for d in value):
                raise ValueError(_("digits are 0 to 9, found {value}").format(value=value))
            if len(set(value)) != len(value):
                raise ValueError(_("each digit once, found {value}").format(value=value))
        return value


#: The digits, shipped with the package (see data/digits.LICENSE.txt for source and licence).
DIGITS_FILE = Path(__file__).parent / "data" / "digits.npz"


def load_digit_images() -> tuple[np.ndarray, np.ndarray]:
    """The 1797 8×8 images (N, 64) with pixel values 0..16 and their digits (N,): the values
    of scikit-learn's ``load_digits()``, read from the copy in this package."""
    try:
        with np.load(DIGITS_FILE) as archive:
            pixels, digits = archive["pixels"], archive["digits"]
    except (OSError, KeyError, ValueError) as error:
        raise BuildError(
            _("the digits data file {DIGITS_FILE} cannot be read: {error}").format(
                DIGITS_FILE=DIGITS_FILE, error=error
            ),
            hint=_("reinstall tracegrad: the file is part of the package"),
        ) from None
    return pixels.astype(np.float64), digits.astype(np.int64)


class Digits(Dataset):
    """The 8×8 handwritten digits shipped with scikit-learn (UCI optical digits): 1797 images
    flattened to 64 inputs (row by row), or with ``image: true`` kept as images (N, 1, 8, 8);
    10 classes, multiclass labels. The data comes with this package; nothing else is needed.
    """

    def load(self, ctx):
        config = self.config
        pixels, digits = load_digit_images()
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
        data = labeled(config, pixels, labels, "multiclass", classes=classes, info=info)
        if config.image:  # (N, 64) row by row is (N, 1, 8, 8) in row-major order
            data.x = data.x.reshape(len(data.x), 1, 8, 8)
        return data


@hookimpl
def tracegrad_register_datasets(register):
    register("csv", Csv, CsvConfig)
    register("digits", Digits, DigitsConfig)
