"""Built-in report parts, in the order a report shows them, then the formats.

Sections: ``overview`` (outcome, resolved scenario), ``network`` (the network as a
picture), ``curves`` (loss, accuracy, learning rate, gradient norms over every step),
``walkthrough`` (traced steps, the chain rule in numbers), ``other_scalars`` (per-step
quantities no other section plotted). Formats: ``html`` (one self-contained file) and
``markdown``. ``network`` and ``curves`` are for supervised runs; the GAN kind brings its own
sections (``plugins/gan/reporters.py``).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import yaml
from pydantic import Field

from engine import hookimpl
from engine.components import ComponentConfig, Reporter
from engine.i18n import N_, _
from engine.report import html, markdown, player, walkthrough
from engine.report.compose import save
from engine.report.document import Code, Report, Section, Table, Text
from engine.report.numbers import fmt
from engine.report.sections import (
    curve_figure,
    learning_rate,
    network_section,
    parameter_count,
    present,
    sample_steps,
)

# --- overview --------------------------------------------------------------------------------


class OverviewConfig(ComponentConfig):
    type: Literal["overview"] = "overview"


class Overview(Reporter):
    """What was run and how it ended: outcome, data, and the resolved scenario."""

    order = 10

    def sections(self, report: Report) -> list[Section]:
        trace, scenario = report.trace, report.scenario
        section = Section(_("Overview"))
        if scenario.get("description"):
            section.add(Text(scenario["description"]))
        section.add(Table(["", ""], facts(report)))
        resolved = yaml.safe_dump(scenario, sort_keys=False, default_flow_style=None)
        section.add(
            Section(
                _("Resolved scenario"),
                [
                    Text(
                        _(
                            "The scenario as it ran: defaults filled in, overrides applied "
                            "(also saved as scenario.yaml in the run folder). Run it again with "
                            "`tracegrad run scenario.yaml`."
                        )
                    ),
                    Code(resolved, "yaml"),
                ],
                folded=True,
            )
        )
        if trace.warnings:
            section.add(
                Text(_("Reading the trace: {warnings}").format(warnings=" ".join(trace.warnings)))
            )
        return [section]


def facts(report: Report) -> list[list[str]]:
    trace, scenario = report.trace, report.scenario
    end = trace.end or {}
    train = scenario.get("train") or {}
    rows = [[_("scenario"), f"{scenario.get('name', '?')} ({_(report.kind)})"]]
    done = end.get("steps_completed", len(trace.scalars.get("step", [])))
    rows.append(
        [
            _("status"),
            _("{status}: {done} of {steps} steps").format(
                status=_(trace.status), done=done, steps=train.get("steps", "?")
            ),
        ]
    )
    gan = report.kind == "gan"
    if end.get("final_loss") is not None:
        rows.append([_("final G loss") if gan else _("final loss"), fmt(end["final_loss"])])
    if gan and end.get("d_loss") is not None:
        rows.append([_("final D loss"), fmt(end["d_loss"])])
    metrics = end.get("metrics") or {}
    for name, value in metrics.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or name == "modes_total":
            continue
        text = fmt(value)
        if "accuracy" in name or name == "high_quality":
            text = f"{100 * value:.1f}%"
        elif name == "modes" and metrics.get("modes_total"):
            text = _("{count} of {total}").format(count=value, total=metrics["modes_total"])
        rows.append([_(name.replace("_", " ")), text])
    for warning in end.get("warnings") or []:
        rows.append([_("warning"), warning])
    data = trace.header.get("data") or {}
    if data:
        text = _("{samples} samples × {features} features, {task}").format(
            samples=data.get("samples"),
            features=data.get("features"),
            task=_(str(data.get("task"))),
        )
        if data.get("classes"):
            text += _(", {classes} classes").format(classes=data["classes"])
        if data.get("validation_samples"):
            text += _("; {count} validation samples").format(count=data["validation_samples"])
        rows.append([_("data"), f"{(scenario.get('data') or {}).get('type', '?')}: {text}"])
    count = sum(parameter_count(layer) for layer in trace.header.get("network") or [])
    if count:
        rows.append([_("parameters"), f"{count:,}"])
    steps = trace.traced_steps
    shown = ", ".join(str(s) for s in steps[:12]) + (" …" if len(steps) > 12 else "")
    in_all = _("{shown} ({count} in all)").format(shown=shown, count=len(steps))
    rows.append([_("traced steps"), in_all if steps else _("none")])
    rows.append([_("seed"), str(trace.header.get("seed"))])
    versions = ", ".join(
        f"{name} {trace.header[key]}"
        for name, key in (
            ("Tracegrad", "tracegrad_version"),
            ("numpy", "numpy_version"),
            ("Python", "python_version"),
        )
        if key in trace.header
    )
    rows.append([_("versions"), versions])
    return rows


# --- network ---------------------------------------------------------------------------------


class NetworkConfig(ComponentConfig):
    type: Literal["network"] = "network"


class Network(Reporter):
    """The network as a picture: layers, units, activations and parameter counts."""

    order = 20
    kinds = ("supervised",)

    def sections(self, report: Report) -> list[Section]:
        layers = report.trace.header.get("network")
        inputs = (report.trace.header.get("data") or {}).get("features")
        if not layers or not inputs:
            return []
        return [network_section(_("Network"), "network", inputs, layers, report)]


# --- step player ---------------------------------------------------------------------------


class PlayerConfig(ComponentConfig):
    type: Literal["player"] = "player"
    max_steps: int = Field(
        6, ge=1, le=50, description="Traced steps in the player (the first, the last, between)."
    )


class StepPlayer(Reporter):
    """A traced step phase by phase on the network diagram, every number on demand (HTML)."""

    order = 25
    kinds = ("supervised",)

    def sections(self, report: Report) -> list[Section]:
        layers = (report.scenario.get("model") or {}).get("layers") or []
        activations = {}
        for spec in report.trace.header.get("network") or []:
            index = spec.get("index")
            if index is not None and index < len(layers):
                activations[spec["name"]] = layers[index].get("activation")
        return player_section(
            report, activations, self.config.max_steps, report.scenario.get("loss")
        )


def player_section(
    report: Report, activations: dict, max_steps: int, loss: dict | None = None
) -> list[Section]:
    """The step player's section, shared by the scenario kinds."""
    block = player.player(report, activations, max_steps, loss)
    if block is None:
        return _no_player(report)
    steps = ", ".join(str(s["step"]) for s in block.data["steps"])
    text = _(
        "Step through traced steps {steps} phase by phase: Next / Previous (or ← / → on the "
        "player), Play, and the slider over the steps. Click or focus a unit, an edge or a "
        "bias (the square 1) to see its equation with the trace's numbers; hover for the "
        "full-precision value. Edges are coloured by weight going forward and by ∂L/∂W going "
        "backward (blue positive, red negative, thicker is larger). Follow chooses the sample "
        "of the batch whose values are shown (sample 1 at first)."
    ).format(steps=steps)
    if any(record.get("type") == "learned" for record in report.trace.records):
        text += " " + _("The pictures of what the network learned below follow the selected step.")
    return [Section(_("Step player"), [Text(text), block], id="player")]


def _no_player(report: Report) -> list[Section]:
    """Where the player cannot draw the network, a section that says so (instead of none)."""
    layer = player.undrawable_layer(report.trace)
    if layer is None:
        return []
    text = _(
        "The step player draws networks of dense layers only, and this one has {name}, a "
        "{kind} layer, so its traced steps are not shown on the diagram. The walkthrough "
        "below goes through them record by record, with the same numbers."
    ).format(name=layer.get("layer", "?"), kind=layer.get("kind", "?"))
    return [Section(_("Step player"), [Text(text)], id="player")]


# --- curves ----------------------------------------------------------------------------------


class CurvesConfig(ComponentConfig):
    type: Literal["curves"] = "curves"


LOSS_CAPTION = N_(
    "The loss of each step's batch{validation}; dotted lines mark the traced steps walked "
    "through below. The y axis is logarithmic when the loss spans more than a factor of 30."
)
NORMS_CAPTION = N_(
    "The size of each layer's gradient (all its parameters together), on a log scale: a "
    "layer far below the others learns slowly (vanishing gradients); a line shooting up "
    "means exploding gradients."
)


class Curves(Reporter):
    """Loss, accuracy, learning rate and per-layer gradient norms over every step."""

    order = 30
    kinds = ("supervised",)

    def sections(self, report: Report) -> list[Section]:
        if len(report.steps()) == 0:
            return []
        section = Section(_("Training curves"), id="curves")
        traced = report.trace.traced_steps
        losses = present(
            report, ("loss", _("training loss (batch)")), ("val_loss", _("validation loss"))
        )
        if losses:
            validation = _(" and on the validation data") if len(losses) > 1 else ""
            caption = _(LOSS_CAPTION).format(validation=validation)
            marks = traced if len(traced) <= 20 else []
            section.add(curve_figure(report, "loss", losses, _("Loss"), caption, marks=marks))
        accuracy = present(
            report,
            ("accuracy", _("training accuracy")),
            ("val_accuracy", _("validation accuracy")),
        )
        if accuracy:
            caption = _(
                "Fraction of samples classified correctly, measured at evaluation steps "
                "(train.eval_every)."
            )
            section.add(
                curve_figure(report, "accuracy", accuracy, _("Accuracy"), caption, log=False)
            )
        if report.has_scalar("lr"):
            section.add(learning_rate(report))
        norms = sorted(k for k in report.trace.scalars if k.startswith("grad_norm."))
        if norms:
            report.claim(*norms)
            series = [(k.removeprefix("grad_norm."), report.scalar(k)) for k in norms]
            positive = all((v[np.isfinite(v)] > 0).all() for _name, v in series)
            title = _("Gradient norm per layer ‖∂L/∂θ‖")
            figure = curve_figure(
                report,
                "gradient-norms",
                series,
                title,
                _(NORMS_CAPTION),
                log=positive,
                band=False,
                ylabel="‖∂L/∂θ‖",
            )
            section.add(figure)
        return [section]


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
        section = Section(_("Step by step"), id="walkthrough")
        intro = _(
            "What the network computed on the traced steps, with the numbers from the "
            "trace: the forward pass layer by layer, the loss, the backward pass as the "
            "chain rule, and each parameter's update."
        )
        if len(chosen) < len(traced):
            intro += _(
                " The trace holds {traced} traced steps; {shown} are shown here "
                "(`tracegrad show TRACE --step N` prints any of them)."
            ).format(traced=len(traced), shown=len(chosen))
        section.add(Text(intro))
        for position, step in enumerate(chosen):
            part = walkthrough.step_section(report.trace, step)
            part.folded = position > 0
            section.add(part)
        return [section]


# --- other quantities ------------------------------------------------------------------------


class OtherScalarsConfig(ComponentConfig):
    type: Literal["other_scalars"] = "other_scalars"


class OtherScalars(Reporter):
    """Per-step quantities that no other section plotted, one small plot each."""

    order = 90

    def sections(self, report: Report) -> list[Section]:
        names = [
            n for n in report.trace.scalars if n not in report.claimed and report.has_scalar(n)
        ]
        if not names:
            return []
        section = Section(_("Other recorded quantities"), id="other-quantities")
        for name in names[:24]:
            series = [(name, report.scalar(name))]
            caption = _("`{name}` at each step.").format(name=name)
            section.add(curve_figure(report, f"scalar-{name}", series, name, caption, height=2.2))
        if len(names) > 24:
            section.add(
                Text(
                    _("{value} more quantities are in the trace's scalars.").format(
                        value=len(names) - 24
                    )
                )
            )
        return [section]


# --- formats ---------------------------------------------------------------------------------


class HtmlConfig(ComponentConfig):
    type: Literal["html"] = "html"


class Html(Reporter):
    """One self-contained HTML file: inline figures and styles, no script, no network."""

    extensions = (".html", ".htm")

    def write(self, report: Report, path) -> None:
        save(path, html.render_page(report))


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
    register("player", StepPlayer, PlayerConfig)
    register("curves", Curves, CurvesConfig)
    register("walkthrough", Walkthrough, WalkthroughConfig)
    register("other_scalars", OtherScalars, OtherScalarsConfig)
    register("html", Html, HtmlConfig)
    register("markdown", Markdown, MarkdownConfig)
