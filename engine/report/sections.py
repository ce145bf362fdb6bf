"""Building blocks shared by report sections: the network diagram, curves over the steps,
and the choice of traced steps to show. Reporter plugins (built-in or not) use them so that
every section looks alike."""

from __future__ import annotations

import numpy as np

from engine.report import plots
from engine.report.document import Figure, Report, Section, Table, Text
from engine.report.numbers import fmt


def parameter_count(layer: dict) -> int:
    return sum(int(np.prod(shape)) for shape in (layer.get("params") or {}).values())


def network_section(
    title: str, name: str, inputs: int, layers: list, report: Report, input_label="features"
) -> Section:
    columns, rows, size = [], [], inputs
    for layer in layers:
        params = layer.get("params") or {}
        if "W" in params and len(params["W"]) == 2:
            size = params["W"][1]
        if "out_shape" in layer:  # a network on images: every layer's output shape
            size = int(np.prod(layer["out_shape"]))
        count = parameter_count(layer)
        columns.append(
            {
                "name": layer["name"],
                "describe": layer.get("describe", layer.get("type", "")),
                "size": size,
                "params": count,
                "weighted": "W" in params,
            }
        )
        shapes = ", ".join(f"{key} {'×'.join(map(str, s))}" for key, s in params.items())
        rows.append(
            [
                layer["name"],
                layer.get("describe", ""),
                f"`{layer.get('formula', '')}`",
                shapes or "none",
                f"{count:,}",
            ]
        )
    figure = plots.network_diagram(inputs, columns, input_label)
    figure_name = report.figure_name(name)
    total = sum(c["params"] for c in columns)
    return Section(
        title,
        [
            Figure(
                figure_name,
                plots.to_svg(figure, figure_name),
                f"{len(layers)} layers, {total:,} learnable parameters. Lines are weights "
                "(every input joins every unit of a dense layer); dashed lines pass values "
                "through a layer without weights.",
                alt=f"diagram of the network: {inputs} inputs, then "
                + ", ".join(
                    f"{c['name']} ({c['size']} unit{'s' if c['size'] != 1 else ''})"
                    for c in columns
                ),
            ),
            Table(["layer", "what", "formula", "parameters", "count"], rows),
        ],
        id=name,
    )


def present(report: Report, *columns: tuple[str, str]) -> list[tuple[str, np.ndarray]]:
    """(label, values) of the scalar columns that hold numbers; claims them."""
    found = [(label, report.scalar(key)) for key, label in columns if report.has_scalar(key)]
    report.claim(*(key for key, _ in columns))
    return found


def learning_rate(report: Report, key: str = "lr", label: str = "learning rate"):
    """A sentence for a constant learning rate, else its curve (claims the column)."""
    lr = report.scalar(key)
    report.claim(key)
    finite = lr[np.isfinite(lr)]
    if finite.min() == finite.max():
        return Text(f"The {label} was constant: {key} = {fmt(finite[0])}.")
    caption = f"The {label} at each step, as the schedule set it."
    title = label[0].upper() + label[1:]
    return curve_figure(report, key, [(key, lr)], title, caption, log=False)


def curve_figure(report, name, series, title, caption, *, ylabel=None, marks=(), **options):
    """A Figure of curves over the steps (see ``engine.report.plots.curves``); a sentence
    instead when no curve has two points (a quantity measured once)."""
    steps = report.steps()
    if all(np.isfinite(values).sum() < 2 for _, values in series):
        said = []
        for label, values in series:
            at = np.flatnonzero(np.isfinite(values))
            if len(at):  # one curve is the title's own: "Modes covered: 8 at step 499"
                name = f"{label} " if len(series) > 1 else ""
                said.append(f"{name}{fmt(values[at[0]])} at step {int(steps[at[0]])}")
        return Text(f"{title}: {'; '.join(said)}." if said else f"{title}: no values.")
    figure = plots.curves(
        steps,
        series,
        title=title,
        ylabel=ylabel or title,
        marks=list(marks),
        mark_label="traced step" if marks else "",
        **options,
    )
    unique = report.figure_name(name)
    return Figure(unique, plots.to_svg(figure, unique), caption, alt=f"plot of {title}")


def sample_steps(steps: list[int], count: int) -> list[int]:
    """At most ``count`` steps: the first, the last, and evenly spaced ones between."""
    if len(steps) <= count:
        return list(steps)
    if count == 1:
        return [steps[0]]
    picks = np.linspace(0, len(steps) - 1, count).round().astype(int)
    return [steps[i] for i in sorted(set(picks.tolist()))]
