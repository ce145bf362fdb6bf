"""A report section for image layers: conv2d kernels and feature maps, and max-pool masks,
as small pictures, at the first and the last traced step.

A plain reporter plugin: it reads the trace only. Arrays the trace summarized (more numbers
than ``trace.max_values``) cannot be drawn; the section says so and how to keep them whole.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np

from engine import hookimpl
from engine.components import ComponentConfig, Reporter
from engine.i18n import _
from engine.report import plots
from engine.report.document import Figure, Section, Text
from engine.trace.tensors import decode

#: Pictures per figure at most (kernels or channels).
MAX_PICTURES = 16


class ImageLayersConfig(ComponentConfig):
    type: Literal["image_layers"] = "image_layers"


def maps_figure(maps: np.ndarray, title: str, symmetric: bool):
    """Pictures (count, H, W) side by side, one gray scale for all; ``symmetric``: 0 is the
    middle gray (kernels and gradients have signs), else white is the smallest value."""
    count = min(len(maps), MAX_PICTURES)
    columns = min(count, 8)
    rows = math.ceil(count / columns)
    h, w = maps.shape[1:]
    figure = plots.new_figure(
        0.5 * columns * max(w / h, 1.0) + 0.3, 0.5 * rows + 0.45, margins=(0.1, 0.1, 0.05, 0.35)
    )
    if symmetric:
        bound = float(np.max(np.abs(maps[:count]))) or 1.0
        low, high, cmap = -bound, bound, "RdBu_r"
    else:
        low, high, cmap = float(maps[:count].min()), float(maps[:count].max()), "gray_r"
    for index in range(count):
        ax = figure.add_subplot(rows, columns, index + 1)
        ax.imshow(maps[index], cmap=cmap, vmin=low, vmax=high, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
    figure.suptitle(title, fontsize=9)
    return figure


def _records(trace, step: int, kind: str, layer: str) -> dict | None:
    for record in trace.step_records(step):
        if record["type"] == kind and record.get("layer") == layer:
            return record
    return None


def _update_before(trace, step: int, key: str):
    for record in trace.step_records(step):
        if record["type"] == "update" and record.get("param") == key:
            return decode(record.get("before"))
    return None


class ImageLayers(Reporter):
    """Kernels, feature maps and max-pool masks of the traced steps, as pictures."""

    order = 55

    def sections(self, report) -> list[Section]:
        trace = report.trace
        layers = [
            layer
            for layer in trace.header.get("network") or []
            if layer.get("type") in ("conv2d", "max_pool2d")
        ]
        steps = trace.traced_steps
        if not layers or not steps:
            return []
        section = Section(_("Image layers"), id="image-layers")
        section.add(
            Text(
                _(
                    "Sample 1 of each traced batch. Kernels and gradients: red positive, blue "
                    "negative, white 0. Feature maps and inputs: darker is larger. Max-pool masks: "
                    "dark where a window's maximum was, the only inputs its gradient reaches."
                )
            )
        )
        summarized = []
        for step in sorted({steps[0], steps[-1]}):
            for layer in layers:
                name = layer["name"]
                for title, maps, symmetric in self._pictures(trace, step, layer):
                    if maps is None:
                        summarized.append(f"{name} {title.split(' (')[0]}")
                        continue
                    figure_name = report.figure_name(f"{name}-{title}-step-{step}")
                    caption = f"Step {step}, layer {name}: {title}."
                    figure = maps_figure(maps, f"{name}, {title}, step {step}", symmetric)
                    section.add(Figure(figure_name, plots.to_svg(figure, figure_name), caption))
        if summarized:
            section.add(
                Text(
                    _(
                        "Not drawn, because the trace keeps only their statistics (more numbers "
                        "than trace.max_values): {names}. Run with a larger trace.max_values "
                        "(e.g. --set trace.max_values=40000) to see them."
                    ).format(names=", ".join(dict.fromkeys(summarized)))
                )
            )
        return [section]

    def _pictures(self, trace, step: int, layer: dict):
        """(title, maps (count, H, W) or None when summarized, symmetric colours)."""
        name = layer["name"]
        forward = _records(trace, step, "forward", name) or {}
        values = {key: decode(value) for key, value in (forward.get("values") or {}).items()}
        whole = {key: value for key, value in values.items() if isinstance(value, np.ndarray)}
        if layer["type"] == "conv2d":
            W = _update_before(trace, step, f"{name}.W")
            kernels = W[:, 0] if isinstance(W, np.ndarray) else None
            yield _("kernels W[:, 0] (input channel 1)"), kernels, True
            output = "a" if "a" in values else "z"
            maps = whole[output][0] if output in whole else None
            yield _("feature maps {output} of sample 1").format(output=output), maps, False
        else:
            backward = _records(trace, step, "backward", name) or {}
            mask = decode((backward.get("values") or {}).get("mask"))
            yield (
                _("input x of sample 1"),
                whole["x"][0] if "x" in whole else None,
                False,
            )
            yield (
                _("mask of sample 1 (where the gradient goes)"),
                mask[0] if isinstance(mask, np.ndarray) else None,
                False,
            )


@hookimpl
def tracegrad_register_reporters(register):
    register("image_layers", ImageLayers, ImageLayersConfig)
