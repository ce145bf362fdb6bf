"""Building blocks shared by report sections: the network diagram, curves over the steps,
and the choice of traced steps to show. Reporter plugins (built-in or not) use them so that
every section looks alike."""

from __future__ import annotations

import numpy as np

from engine.i18n import _, ngettext
from engine.report import plots
from engine.report.document import Figure, Report, Section, Table, Text
from engine.report.numbers import fmt


def parameter_count(layer: dict) -> int:
    return sum(int(np.prod(shape)) for shape in (layer.get("params") or {}).values())


def network_section(
    title: str, name: str, inputs: int, layers: list, report: Report, input_label=None
) -> Section:
    input_label = _("features") if input_label is None else input_label
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
                shapes or _("none"),
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
                _(
                    "{count} layers, {total:,} learnable parameters. Lines are weights (every "
                    "input joins every unit of a dense layer); dashed lines pass values through a "
                    "layer without weights."
                ).format(count=len(layers), total=total),
                alt=_("diagram of the network: {inputs} inputs, then {layers}").format(
                    inputs=inputs,
                    layers=", ".join(
                        ngettext("{name} ({size} unit)", "{name} ({size} units)", c["size"]).format(
                            name=c["name"], size=c["size"]
                        )
                        for c in columns
                    ),
                ),
            ),
            Table([_("layer"), _("what"), _("formula"), _("parameters"), _("count")], rows),
        ],
        id=name,
    )


def present(report: Report, *columns: tuple[str, str]) -> list[tuple[str, np.ndarray]]:
    """(label, values) of the scalar columns that hold numbers; claims them."""
    found = [(label, report.scalar(key)) for key, label in columns if report.has_scalar(key)]
    report.claim(*(key for key, _label in columns))
    return found


def learning_rate(report: Report, key: str = "lr", label: str | None = None):
    """A sentence for a constant learning rate, else its curve (claims the column)."""
    label = _("learning rate") if label is None else label
    lr = report.scalar(key)
    report.claim(key)
    finite = lr[np.isfinite(lr)]
    if finite.min() == finite.max():
        return Text(
            _("The {label} was constant: {key} = {value}.").format(
                label=label, key=key, value=fmt(finite[0])
            )
        )
    caption = _("The {label} at each step, as the schedule set it.").format(label=label)
    title = label[0].upper() + label[1:]
    return curve_figure(report, key, [(key, lr)], title, caption, log=False)


def curve_figure(report, name, series, title, caption, *, ylabel=None, marks=(), **options):
    """A Figure of curves over the steps (see ``engine.report.plots.curves``); a sentence
    instead when no curve has two points (a quantity measured once)."""
    steps = report.steps()
    if all(np.isfinite(values).sum() < 2 for _label, values in series):
        said = []
        for label, values in series:
            at = np.flatnonzero(np.isfinite(values))
            if len(at):  # one curve is the title's own: "Modes covered: 8 at step 499"
                value, step = fmt(values[at[0]]), int(steps[at[0]])
                if len(series) > 1:
                    text = _("{label} {value} at step {step}").format(
                        label=label, value=value, step=step
                    )
                else:
                    text = _("{value} at step {step}").format(value=value, step=step)
                said.append(text)
        if not said:
            return Text(_("{title}: no values.").format(title=title))
        return Text(_("{title}: {values}.").format(title=title, values="; ".join(said)))
    figure = plots.curves(
        steps,
        series,
        title=title,
        ylabel=ylabel or title,
        marks=list(marks),
        mark_label=_("traced step") if marks else "",
        **options,
    )
    unique = report.figure_name(name)
    return Figure(
        unique, plots.to_svg(figure, unique), caption, alt=_("plot of {title}").format(title=title)
    )


def sample_steps(steps: list[int], count: int) -> list[int]:
    """At most ``count`` steps: the first, the last, and evenly spaced ones between."""
    if len(steps) <= count:
        return list(steps)
    if count == 1:
        return [steps[0]]
    picks = np.linspace(0, len(steps) - 1, count).round().astype(int)
    return [steps[i] for i in sorted(set(picks.tolist()))]
