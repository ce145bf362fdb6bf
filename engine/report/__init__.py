"""Trace reports: what happened in a run, step by step, with plots and the chain rule in
numbers.

    write_report(source, output=None, fmt=None) -> Path    HTML (one file) or Markdown
    render_html(source) -> str                             the HTML page as text
    show_text(source, step=None, layer=None) -> str        one traced step, for a terminal

``source`` is a trace file, a run folder or a ``Trace``. The parts of a report are reporter
plugins (``engine.components.Reporter``; the built-ins are in ``plugins/reporters.py``).

    document      the blocks a report is made of (Section, Text, Equations, Table, Figure...)
    compose       trace -> Report with every reporter's sections -> a format writes it
    walkthrough   one traced step, shared by every format; with chain (the backward pass),
                  updates (the optimizer's step), records (clipping, GAN records), layers
    sections      building blocks for sections: network diagram, curves, sampled steps
    plots         matplotlib figures as SVG text
    html, markdown, terminal   the renderings
    ids           a report's ids made unique to it (several reports in one notebook)
    player        the step player's data (player.js draws it)
"""

from __future__ import annotations

from pathlib import Path

from engine.errors import TraceError
from engine.i18n import _
from engine.report import html, terminal
from engine.report.compose import compose, load, write_report
from engine.report.document import (
    Code,
    Equations,
    Figure,
    Notice,
    Report,
    Section,
    Table,
    Text,
)
from engine.report.walkthrough import step_section
from engine.trace.reader import Trace


def render_html(source: str | Path | Trace, *, options: dict | None = None) -> str:
    """The report of a trace as one standalone HTML page."""
    return html.render_page(compose(source, options=options))


def render_html_fragment(source: str | Path | Trace) -> str:
    """The report as an HTML fragment (a notebook cell's output)."""
    return html.render_fragment(compose(source))


def show_text(source: str | Path | Trace, step: int | None = None, layer: str | None = None) -> str:
    """Traced step ``step`` (default: the first) as terminal text, optionally one layer."""
    trace, _records = load(source)
    steps = trace.traced_steps
    if not steps:
        raise TraceError(
            _("{path} has no traced steps").format(path=trace.path),
            hint=_("trace some steps: trace: {steps: [0]} in the scenario"),
        )
    if step is None:
        step = steps[0]
    if step not in steps:
        raise TraceError(
            _("step {step} was not traced; traced steps: {listing}").format(
                step=step, listing=_listing(steps)
            ),
            str(trace.path),
            hint=_("pick one of them with --step, or trace it (trace.steps / trace.every)"),
        )
    if layer is not None:
        names = _layer_names(trace, step)
        if layer not in names:
            raise TraceError(
                _("no layer '{layer}' in step {step}; layers: {names}").format(
                    layer=layer, step=step, names=", ".join(names)
                ),
                str(trace.path),
            )
    from engine.report.compose import status_notices

    return terminal.render([step_section(trace, step, layer)], status_notices(trace))


def _listing(steps: list[int]) -> str:
    shown = ", ".join(str(s) for s in steps[:20])
    return shown + (f", … ({len(steps)} in all)" if len(steps) > 20 else "")


def _layer_names(trace: Trace, step: int) -> list[str]:
    names = []
    for record in trace.step_records(step):
        if record["type"] == "forward":
            for name in (record["layer"], f"{record.get('network')}.{record['layer']}"):
                if name not in names and not name.startswith("None."):
                    names.append(name)
    return names


__all__ = [
    "Code",
    "Equations",
    "Figure",
    "Notice",
    "Report",
    "Section",
    "Table",
    "Text",
    "compose",
    "render_html",
    "render_html_fragment",
    "show_text",
    "write_report",
]
