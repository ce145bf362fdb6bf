"""Two reporters as a Tracegrad plugin: a report format and a report section.

- ``scalars_csv``, a format: ``tracegrad report RUN -o scalars.csv`` writes the per-step
  scalars of the trace (step, loss, lr, gradient norms, ...) as a CSV table, one row a step;
- ``loss_milestones``, a section added to every report (HTML, Markdown, terminal): the first
  step at which the loss fell below 1/2, 1/10 and 1/100 of its value at step 0.
"""

from __future__ import annotations

import csv
import io
import math
from typing import Annotated, Literal

from pydantic import Field

import engine
from engine.components import Reporter
from engine.report.compose import save
from engine.report.document import Section, Table, Text


class ScalarsCsvConfig(engine.ComponentConfig):
    type: Literal["scalars_csv"] = "scalars_csv"


class ScalarsCsv(Reporter):
    """The per-step scalars as CSV: a header row of names, then one row per step."""

    extensions = (".csv",)

    def write(self, report, path) -> None:
        scalars = report.trace.scalars
        names = ["step", *sorted(n for n in scalars if n != "step")]
        rows = len(scalars.get("step", []))
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(names)
        for i in range(rows):
            writer.writerow([_cell(scalars[n][i] if i < len(scalars[n]) else None) for n in names])
        save(path, out.getvalue())  # whole or not at all: a temporary file renamed into place


def _cell(value) -> str:
    """A scalar as a CSV cell: numbers with all their digits, missing values empty."""
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


class LossMilestonesConfig(engine.ComponentConfig):
    type: Literal["loss_milestones"] = "loss_milestones"
    fractions: list[Annotated[float, Field(gt=0, lt=1)]] = Field(
        [0.5, 0.1, 0.01],
        min_length=1,
        description="Fractions of the first step's loss; the section names the first step "
        "whose loss fell below each.",
    )


class LossMilestones(Reporter):
    """When the loss first fell below fractions of its starting value."""

    order = 12  # after the overview

    def sections(self, report):
        loss, steps = report.scalar("loss"), report.steps()
        if len(loss) < 2 or not math.isfinite(loss[0]) or loss[0] <= 0:
            return []  # a GAN (no single loss), or nothing to compare with
        rows = []
        for fraction in self.config.fractions:
            below = [i for i, value in enumerate(loss) if value < fraction * loss[0]]
            reached = (
                f"step {int(steps[below[0]])} (L = {loss[below[0]]:.6g})"
                if below
                else "not reached"
            )
            rows.append([f"{fraction:g} × L₀ = {fraction * loss[0]:.6g}", reached])
        section = Section("Loss milestones", id="loss-milestones")
        section.add(Text(f"The loss at step 0 was L₀ = {loss[0]:.6g}."))
        section.add(Table(["below", "first reached at"], rows))
        return [section]


@engine.hookimpl
def tracegrad_register_reporters(register):
    register("scalars_csv", ScalarsCsv, ScalarsCsvConfig)
    register("loss_milestones", LossMilestones, LossMilestonesConfig)
