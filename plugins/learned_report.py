"""The report section "What the network learned": each traced step's ``learned`` record
(``plugins/supervised/learned.py``) as pictures, from the trace alone.

    surface   the data over the network's output on a grid: decision regions for
              classification (p = P(class 1), or the most probable class), the regression
              surface otherwise; for a small network each hidden unit's map
    curve     the fitted curve ŷ(x) over the data
    images    sample images with their predicted class, and the confusion matrix

One colour scale for every step, so colours compare across steps. Each figure is tagged with
its step: under the step player's slider (where the player can draw the network) the page
shows the selected step's pictures.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from pydantic import Field

from engine import hookimpl
from engine.components import ComponentConfig, Reporter
from engine.i18n import N_, _
from engine.report import player, plots
from engine.report.document import Figure, Section, Text
from engine.report.sections import sample_steps

#: Pictures of a smooth output, drawn from the grid's own pixels (a few KiB) and scaled by
#: the browser; class regions and confusion matrices keep their sharp cells.
SMOOTH = ("surface", "units")
PIXELATED = ' style="image-rendering:crisp-edges;image-rendering:pixelated"'


class LearnedConfig(ComponentConfig):
    type: Literal["learned"] = "learned"
    max_steps: int = Field(
        6,
        ge=1,
        le=50,
        description="Traced steps pictured (the first, the last, between), as in the player.",
    )


def learned_records(trace) -> list[dict]:
    return [r for r in trace.records if r.get("type") == "learned"]


class Learned(Reporter):
    """What the network computes at each traced step: decision regions, fitted curve, or
    predictions and a confusion matrix."""

    order = 27
    kinds = ("supervised",)

    def sections(self, report) -> list[Section]:
        records = learned_records(report.trace)
        if not records:
            return []
        data = next((r["data"] for r in records if "data" in r), None)
        shown = set(sample_steps([r["step"] for r in records], self.config.max_steps))
        records = [r for r in records if r["step"] in shown]
        task = (report.trace.header.get("data") or {}).get("task", "regression")
        section = Section(_("What the network learned"), id="learned")
        intro = _(INTRO[records[0]["picture"]])
        if player.undrawable_layer(report.trace) is None:  # the player's slider picks the step
            intro += " " + _("Under the step player's slider the page shows the selected step.")
        section.add(Text(intro))
        scale = _scale(records, data, task)
        for record in records:
            step, kind = record["step"], record["picture"]
            for suffix, figure, caption in DRAW[kind](record, data, task, scale):
                name = report.figure_name(f"learned-{suffix}-step-{step}")
                svg = plots.to_svg(figure, name)
                if suffix in SMOOTH:  # the grid's few pixels, scaled smoothly by the browser
                    svg = svg.replace(PIXELATED, "")
                title = _("Step {step}: {caption}").format(step=step, caption=caption)
                section.add(Figure(name, svg, title, step=step))
        return [section]


INTRO = {
    "surface": N_(
        "The network's output over the plane of the two inputs, evaluated on a grid after each "
        "traced step's update (evaluation mode), with the training points on top."
    ),
    "curve": N_(
        "The fitted curve ŷ(x) after each traced step's update (evaluation mode) over the "
        "training points."
    ),
    "images": N_(
        "Sample images with the class the network predicts after each traced step's update "
        "(green: right, red: wrong), and the confusion matrix over the training data: row = "
        "true class, column = predicted class."
    ),
}


def _scale(records, data, task) -> tuple[float, float]:
    """One colour scale for every step: [0, 1] for probabilities, else the range of every
    output and target."""
    if task in ("binary", "multiclass"):
        return 0.0, 1.0
    values = [np.asarray(r["grid"]["output"], dtype=float) for r in records if "grid" in r]
    if data and data.get("y") is not None:
        values.append(np.asarray(data["y"], dtype=float))
    finite = np.concatenate([v.ravel() for v in values])
    finite = finite[np.isfinite(finite)]
    if not len(finite):
        return 0.0, 1.0
    return float(finite.min()), float(finite.max())


# --- 2-D inputs ------------------------------------------------------------------------------

REGIONS = N_(
    "each grid point coloured by its most probable class (paler where less sure), points by "
    "true class."
)
UNITS = N_(
    "each hidden unit's a over the same plane (red positive, blue negative), layer by layer."
)


def draw_surface(record, data, task, scale):
    grid = record["grid"]
    xs, ys = (np.asarray(a, dtype=float) for a in grid["axes"])
    output = np.asarray(grid["output"], dtype=float).reshape(len(ys), len(xs), -1)
    points = np.asarray(data["x"], dtype=float) if data else np.zeros((0, 2))
    y = np.asarray(data["y"], dtype=float) if data and data.get("y") is not None else None
    outputs = output.shape[-1]
    if task == "binary" or (task == "multiclass" and outputs == 1):
        panels = [(_("P(class 1)"), output[..., 0], "RdBu_r", scale)]
        caption = _(
            "P(class 1) on a grid (red above 0.5, blue below; the line is 0.5), points by class."
        )
    elif task == "multiclass":
        figure = _regions(xs, ys, output, points, y)
        yield "regions", figure, _(REGIONS)
        return
    else:
        panels = [(f"ŷ{_sub(k)}", output[..., k], "viridis", scale) for k in range(min(outputs, 4))]
        caption = _("the regression surface of each output on a grid, points coloured by target.")
    figure = plots.new_figure(3.6 * len(panels) + 0.4, 3.3, margins=None)
    for index, (label, values, cmap, (low, high)) in enumerate(panels):
        ax = figure.add_subplot(1, len(panels), index + 1)
        extent = (xs[0], xs[-1], ys[0], ys[-1])
        image = ax.imshow(
            values,
            origin="lower",
            extent=extent,
            aspect="auto",
            cmap=cmap,
            vmin=low,
            vmax=high,
            interpolation="none",
        )
        if task == "binary":
            ax.contour(xs, ys, values, levels=[0.5], colors="#222222", linewidths=1.0)
        bar = figure.colorbar(image, ax=ax, shrink=0.85)
        bar.set_label(label, fontsize=8)
        if len(points):
            target = y[:, min(index, y.shape[1] - 1)] if y is not None else None
            ax.scatter(
                points[:, 0],
                points[:, 1],
                c=target,
                cmap=cmap,
                vmin=low,
                vmax=high,
                s=16,
                edgecolors="#111111",
                linewidths=0.6,
            )
        ax.set_xlabel("x₁", fontsize=8)
        ax.set_ylabel("x₂", fontsize=8)
        ax.tick_params(labelsize=7)
    yield "surface", figure, caption
    if record.get("units"):
        yield "units", _units(record["units"]), _(UNITS)


def _regions(xs, ys, output, points, y):
    figure = plots.new_figure(4.2, 3.6, margins=None)
    ax = figure.add_subplot()
    winner, sure = output.argmax(axis=-1), output.max(axis=-1)
    classes = output.shape[-1]
    colours = np.array([_rgb(k) for k in range(classes)])
    paint = colours[winner] * sure[..., None] + (1 - sure[..., None])
    ax.imshow(
        paint,
        origin="lower",
        extent=(xs[0], xs[-1], ys[0], ys[-1]),
        aspect="auto",
        interpolation="none",
    )
    if len(points) and y is not None:
        ax.scatter(
            points[:, 0],
            points[:, 1],
            c=colours[y[:, 0].astype(int) % classes],
            s=14,
            edgecolors="#111111",
            linewidths=0.5,
        )
    ax.set_xlabel("x₁", fontsize=8)
    ax.set_ylabel("x₂", fontsize=8)
    ax.tick_params(labelsize=7)
    return figure


def _rgb(k: int) -> np.ndarray:
    hexa = plots.COLORS[k % len(plots.COLORS)].lstrip("#")
    return np.array([int(hexa[i : i + 2], 16) / 255 for i in (0, 2, 4)])


def _units(units: dict):
    xs, ys = (np.asarray(a, dtype=float) for a in units["axes"])
    layers = units["layers"]
    columns = max(np.asarray(layer["a"]).shape[1] for layer in layers)
    figure = plots.new_figure(1.2 * columns + 0.6, 1.25 * len(layers) + 0.2, margins=None)
    for row, layer in enumerate(layers):
        values = np.asarray(layer["a"], dtype=float)
        bound = float(np.nanmax(np.abs(values))) or 1.0
        for unit in range(values.shape[1]):
            ax = figure.add_subplot(len(layers), columns, row * columns + unit + 1)
            ax.imshow(
                values[:, unit].reshape(len(ys), len(xs)),
                origin="lower",
                cmap="RdBu_r",
                vmin=-bound,
                vmax=bound,
                interpolation="none",
            )
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"{layer['layer']} a{_sub(unit)}", fontsize=7)
    return figure


# --- 1-D inputs ------------------------------------------------------------------------------


def draw_curve(record, data, task, scale):
    grid = record["grid"]
    (xs,) = (np.asarray(a, dtype=float) for a in grid["axes"])
    output = np.asarray(grid["output"], dtype=float)
    figure = plots.new_figure(5.2, 3.0, margins=(0.7, 0.2, 0.5, 0.2))
    ax = figure.add_subplot()
    if data:
        x, y = np.asarray(data["x"], dtype=float), data.get("y")
        if y is not None:
            ax.scatter(
                x[:, 0],
                np.asarray(y, dtype=float)[:, 0],
                s=9,
                color=plots.COLORS[0],
                alpha=0.6,
                label=_("training data"),
            )
    ax.plot(xs, output[:, 0], color=plots.COLORS[1], linewidth=1.8, label=_("ŷ(x), the network"))
    low, high = scale
    pad = 0.05 * (high - low or 1.0)
    ax.set_ylim(low - pad, high + pad)
    ax.set_xlabel("x", fontsize=8)
    ax.set_ylabel("y", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=7, loc="best")
    yield "curve", figure, "the fitted curve over the training data (one y scale for every step)."


# --- images ----------------------------------------------------------------------------------


def draw_images(record, data, task, scale):
    samples = record["samples"]
    if data and data.get("pixels"):
        pixels = np.asarray(data["pixels"], dtype=float)
        height, width = data["shape"]
        count = min(len(pixels), len(samples["predicted"]))
        columns = min(count, 8)
        rows = math.ceil(count / columns)
        # one mosaic (one embedded picture), a gap of one pixel and a label row per image row
        cell_h, cell_w = height + 4, width + 1
        mosaic = np.full((rows * cell_h, columns * cell_w), np.nan)
        figure = plots.new_figure(0.75 * columns + 0.2, 0.9 * rows + 0.1, margins=None)
        ax = figure.add_subplot()
        for index in range(count):
            r, c = divmod(index, columns)
            top, left = r * cell_h + 4, c * cell_w
            mosaic[top : top + height, left : left + width] = pixels[index].reshape(height, width)
            predicted, target = samples["predicted"][index], samples["target"][index]
            ax.text(
                left + width / 2 - 0.5,
                top - 1.2,
                f"{predicted} ({samples['probability'][index]:.0%})",
                ha="center",
                va="bottom",
                fontsize=7,
                color="#2ca02c" if predicted == target else "#d62728",
            )
        ax.imshow(mosaic, cmap="gray_r", interpolation="none")
        ax.set_axis_off()
        right = sum(p == t for p, t in zip(samples["predicted"], samples["target"]))
        caption = _(
            "predicted class (probability) of {count} training images, {right} right."
        ).format(count=count, right=right)
        yield "samples", figure, caption
    yield "confusion", _confusion(np.asarray(record["confusion"])), _confusion_caption(record)


def _confusion(matrix: np.ndarray):
    classes = len(matrix)
    figure = plots.new_figure(0.32 * classes + 1.4, 0.32 * classes + 1.0, margins=None)
    ax = figure.add_subplot()
    ax.imshow(matrix, cmap="Blues", interpolation="nearest")
    most = matrix.max() or 1
    for (i, j), count in np.ndenumerate(matrix):
        if count:
            ax.text(
                j,
                i,
                str(count),
                ha="center",
                va="center",
                fontsize=6,
                color="white" if count > most / 2 else "#222222",
            )
    ax.set_xticks(range(classes))
    ax.set_yticks(range(classes))
    ax.tick_params(labelsize=7)
    ax.set_xlabel(_("predicted class"), fontsize=8)
    ax.set_ylabel(_("true class"), fontsize=8)
    return figure


def _confusion_caption(record) -> str:
    matrix = np.asarray(record["confusion"])
    total = int(matrix.sum())
    right = int(np.trace(matrix))
    share = right / total if total else math.nan
    return _(
        "confusion matrix over {total} training samples: {right} on the diagonal ({share})."
    ).format(total=total, right=right, share=f"{share:.1%}")


DRAW = {"surface": draw_surface, "curve": draw_curve, "images": draw_images}


def _sub(index: int) -> str:
    return str(index + 1).translate(str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉"))


@hookimpl
def tracegrad_register_reporters(register):
    register("learned", Learned, LearnedConfig)
