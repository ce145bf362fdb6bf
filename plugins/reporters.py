"""Built-in report parts, in the order a report shows them, then the formats.

Sections: ``overview`` (outcome, resolved scenario), ``network`` (the network as a
picture), ``curves`` (loss, accuracy, learning rate, gradient norms over every step),
``walkthrough`` (traced steps, the chain rule in numbers), ``other_scalars`` (per-step
quantities no other section plotted). Formats: ``html`` (one self-contained file) and
``markdown``. The GAN sections are in ``plugins/gan_reporters.py``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import yaml
from pydantic import Field

from engine import hookimpl
from engine.components import ComponentConfig, Reporter
from engine.report import html, markdown, plots, walkthrough
from engine.report.document import Code, Figure, Report, Section, Table, Text
from engine.report.numbers import fmt

# --- overview --------------------------------------------------------------------------------


class OverviewConfig(ComponentConfig):
    type: Literal["overview"] = "overview"


class Overview(Reporter):
    """What was run and how it ended: outcome, data, and the resolved scenario."""

    order = 10

    def sections(self, report: Report) -> list[Section]:
        trace, scenario = report.trace, report.scenario
        section = Section("Overview")
        if scenario.get("description"):
            section.add(Text(scenario["description"]))
        section.add(Table(["", ""], facts(report)))
        resolved = yaml.safe_dump(scenario, sort_keys=False, default_flow_style=None)
        section.add(
            Section(
                "Resolved scenario",
                [
                    Text(
                        "The scenario as it ran: defaults filled in, overrides applied "
                        "(also saved as scenario.yaml in the run folder). Run it again with "
                        "`tracegrad run scenario.yaml`."
                    ),
                    Code(resolved, "yaml"),
                ],
                folded=True,
            )
        )
        if trace.warnings:
            section.add(Text("Reading the trace: " + " ".join(trace.warnings)))
        return [section]


def facts(report: Report) -> list[list[str]]:
    trace, scenario = report.trace, report.scenario
    end = trace.end or {}
    train = scenario.get("train") or {}
    rows = [["scenario", f"{scenario.get('name', '?')} ({report.kind})"]]
    done = end.get("steps_completed", len(trace.scalars.get("step", [])))
    rows.append(["status", f"{trace.status}: {done} of {train.get('steps', '?')} steps"])
    if end.get("final_loss") is not None:
        rows.append(["final loss", fmt(end["final_loss"])])
    for name, value in (end.get("metrics") or {}).items():
        if isinstance(value, (int, float)):
            rows.append([name.replace("_", " "), fmt(value)])
    data = trace.header.get("data") or {}
    if data:
        text = f"{data.get('samples')} samples × {data.get('features')} features, {data.get('task')}"
        if data.get("classes"):
            text += f", {data['classes']} classes"
        if data.get("validation_samples"):
            text += f"; {data['validation_samples']} validation samples"
        rows.append(["data", f"{(scenario.get('data') or {}).get('type', '?')}: {text}"])
    count = sum(parameter_count(layer) for layer in trace.header.get("network") or [])
    if count:
        rows.append(["parameters", f"{count:,}"])
    steps = trace.traced_steps
    shown = ", ".join(str(s) for s in steps[:12]) + (" …" if len(steps) > 12 else "")
    rows.append(["traced steps", f"{shown} ({len(steps)} in all)" if steps else "none"])
    rows.append(["seed", str(trace.header.get("seed"))])
    versions = ", ".join(
        f"{name} {trace.header[key]}"
        for name, key in (
            ("Tracegrad", "tracegrad_version"),
            ("numpy", "numpy_version"),
            ("Python", "python_version"),
        )
        if key in trace.header
    )
    rows.append(["versions", versions])
    return rows


def parameter_count(layer: dict) -> int:
    return sum(int(np.prod(shape)) for shape in (layer.get("params") or {}).values())


# --- network ---------------------------------------------------------------------------------


class NetworkConfig(ComponentConfig):
    type: Literal["network"] = "network"


class Network(Reporter):
    """The network as a picture: layers, units, activations and parameter counts."""

    order = 20

    def sections(self, report: Report) -> list[Section]:
        layers = report.trace.header.get("network")
        inputs = (report.trace.header.get("data") or {}).get("features")
        if not layers or not inputs:
            return []
        return [network_section("Network", "network", inputs, layers, report)]


def network_section(title: str, name: str, inputs: int, layers: list, report: Report) -> Section:
    columns, rows, size = [], [], inputs
    for layer in layers:
        params = layer.get("params") or {}
        if "W" in params and len(params["W"]) == 2:
            size = params["W"][1]
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
        rows.append([layer["name"], layer.get("describe", ""), f"`{layer.get('formula', '')}`",
                     shapes or "none", f"{count:,}"])
    figure = plots.network_diagram(inputs, columns)
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
                + ", ".join(f"{c['name']} ({c['size']} units)" for c in columns),
            ),
            Table(["layer", "what", "formula", "parameters", "count"], rows),
        ],
        id=name,
    )


# --- curves ----------------------------------------------------------------------------------


class CurvesConfig(ComponentConfig):
    type: Literal["curves"] = "curves"


class Curves(Reporter):
    """Loss, accuracy, learning rate and per-layer gradient norms over every step."""

    order = 30

    def sections(self, report: Report) -> list[Section]:
        steps = report.steps()
        if len(steps) == 0:
            return []
        section = Section("Training curves", id="curves")
        traced = report.trace.traced_steps
        marks = traced if len(traced) <= 20 else []
        series = [(name, report.scalar(key)) for key, name in
                  (("loss", "training loss (batch)"), ("val_loss", "validation loss"))
                  if report.has_scalar(key)]
        if series:
            report.claim("loss", "val_loss")
            section.add(self.figure(report, "loss", steps, series, "Loss", "loss",
                                    "The loss of each step's batch"
                                    + (" and on the validation data" if len(series) > 1 else "")
                                    + "; dotted lines mark the traced steps walked through "
                                    "below. A log scale is used when the loss spans more than "
                                    "a factor of 30.", marks=marks))
        accuracy = [(name, report.scalar(key)) for key, name in
                    (("accuracy", "training accuracy"), ("val_accuracy", "validation accuracy"))
                    if report.has_scalar(key)]
        if accuracy:
            report.claim("accuracy", "val_accuracy")
            section.add(self.figure(report, "accuracy", steps, accuracy, "Accuracy", "accuracy",
                                    "Fraction of samples classified correctly, measured at "
                                    "evaluation steps (train.eval_every).", log=False))
        if report.has_scalar("lr"):
            report.claim("lr")
            lr = report.scalar("lr")
            finite = lr[np.isfinite(lr)]
            if finite.min() == finite.max():
                section.add(Text(f"The learning rate was constant: lr = {fmt(finite[0])}."))
            else:
                section.add(self.figure(report, "learning-rate", steps, [("lr", lr)],
                                        "Learning rate", "lr",
                                        "The learning rate of each step, as the schedule set "
                                        "it.", log=False))
        norms = sorted(k for k in report.trace.scalars if k.startswith("grad_norm."))
        if norms:
            report.claim(*norms)
            series = [(k.removeprefix("grad_norm."), report.scalar(k)) for k in norms]
            positive = all((v[np.isfinite(v)] > 0).all() for _, v in series)
            section.add(self.figure(report, "gradient-norms", steps, series,
                                    "Gradient norm per layer ‖∂L/∂θ‖", "L2 norm",
                                    "The size of each layer's gradient (all its parameters "
                                    "together), on a log scale: a layer far below the others "
                                    "learns slowly (vanishing gradients); a line shooting up "
                                    "means exploding gradients.", log=positive))
        return [section]

    @staticmethod
    def figure(report, name, steps, series, title, ylabel, caption, log=None, marks=()):
        figure = plots.curves(steps, series, title=title, ylabel=ylabel, log=log,
                              marks=list(marks), mark_label="traced step" if marks else "")
        unique = report.figure_name(name)
        return Figure(unique, plots.to_svg(figure, unique), caption, alt=f"plot of {title}")


# --- walkthrough -----------------------------------------------------------------------------


class WalkthroughConfig(ComponentConfig):
    type: Literal["walkthrough"] = "walkthrough"
    max_steps: int = Field(
        6,
        gt=0,
        description="Traced steps walked through at most; when the trace has more, the "
        "first, the last and evenly spaced ones in between are shown.",
    )


class Walkthrough(Reporter):
    """Each traced step: forward pass, loss, the chain rule in numbers, the updates."""

    order = 50

    def sections(self, report: Report) -> list[Section]:
        traced = report.trace.traced_steps
        if not traced:
            return []
        chosen = sample_steps(traced, self.config.max_steps)
        section = Section("Step by step", id="walkthrough")
        intro = (
            "What the network computed on the traced steps, with the numbers from the "
            "trace: the forward pass layer by layer, the loss, the backward pass as the "
            "chain rule, and each parameter's update."
        )
        if len(chosen) < len(traced):
            intro += (
                f" The trace holds {len(traced)} traced steps; {len(chosen)} are shown here "
                "(`tracegrad show TRACE --step N` prints any of them)."
            )
        section.add(Text(intro))
        for position, step in enumerate(chosen):
            part = walkthrough.step_section(report.trace, step)
            part.folded = position > 0
            section.add(part)
        return [section]


def sample_steps(steps: list[int], count: int) -> list[int]:
    """At most ``count`` steps: the first, the last, and evenly spaced ones between."""
    if len(steps) <= count:
        return list(steps)
    if count == 1:
        return [steps[0]]
    picks = np.linspace(0, len(steps) - 1, count).round().astype(int)
    return [steps[i] for i in sorted(set(picks.tolist()))]


# --- other quantities ------------------------------------------------------------------------


class OtherScalarsConfig(ComponentConfig):
    type: Literal["other_scalars"] = "other_scalars"


class OtherScalars(Reporter):
    """Per-step quantities that no other section plotted, one small plot each."""

    order = 90

    def sections(self, report: Report) -> list[Section]:
        names = [
            n for n in report.trace.scalars
            if n not in report.claimed and report.has_scalar(n)
        ]
        if not names:
            return []
        section = Section("Other recorded quantities", id="other-quantities")
        steps = report.steps()
        for name in names[:24]:
            figure = plots.curves(steps, [(name, report.scalar(name))], title=name, ylabel=name,
                                  height=2.2)
            unique = report.figure_name(f"scalar-{name}")
            section.add(Figure(unique, plots.to_svg(figure, unique), f"`{name}` at each step.",
                               alt=f"plot of {name}"))
        if len(names) > 24:
            section.add(Text(f"{len(names) - 24} more quantities are in the trace's scalars."))
        return [section]


# --- formats ---------------------------------------------------------------------------------


class HtmlConfig(ComponentConfig):
    type: Literal["html"] = "html"


class Html(Reporter):
    """One self-contained HTML file: inline figures and styles, no script, no network."""

    extensions = (".html", ".htm")

    def write(self, report: Report, path) -> None:
        from engine.files import write_atomic

        write_atomic(path, html.render_page(report))


class MarkdownConfig(ComponentConfig):
    type: Literal["markdown"] = "markdown"


class Markdown(Reporter):
    """Markdown text; figures as SVG files in a folder beside it (report_files/)."""

    extensions = (".md", ".markdown")

    def write(self, report: Report, path) -> None:
        markdown.write(report, path)


@hookimpl
def tracegrad_register_reporters(register):
    register("overview", Overview, OverviewConfig)
    register("network", Network, NetworkConfig)
    register("curves", Curves, CurvesConfig)
    register("walkthrough", Walkthrough, WalkthroughConfig)
    register("other_scalars", OtherScalars, OtherScalarsConfig)
    register("html", Html, HtmlConfig)
    register("markdown", Markdown, MarkdownConfig)
