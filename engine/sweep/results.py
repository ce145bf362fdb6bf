"""A sweep's results: per-configuration statistics over seeds, and the files showing them.

    results.csv      one row per configuration: each metric's mean, std, min, max and n
    runs.csv         one row per run: seed, run seed, status, metrics, error
    results.md       the table for reading (mean ± std (min – max)), failed runs listed
    comparison.png   each metric per configuration: every seed a dot, mean ± std a bar
    index.html       all of the above, linking every run folder and its report

Statistics use the completed runs only; a failed run is counted and listed with its error.
``std`` is the sample standard deviation over seeds, s = √(Σ(v − mean)² / (n − 1)), shown
as "–" for a single run.
"""

from __future__ import annotations

import csv
import html
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.files import write_atomic
from engine.sweep.runs import RunOutcome
from engine.sweep.spec import Configuration, Sweep

DASH = "–"


@dataclass
class Stats:
    """mean, sample std, min and max of one metric over the completed runs."""

    n: int
    mean: float
    std: float
    min: float
    max: float

    @classmethod
    def of(cls, values: list[float]) -> Stats:
        if not values:
            return cls(0, math.nan, math.nan, math.nan, math.nan)
        array = np.asarray(values, dtype=np.float64)
        std = float(np.std(array, ddof=1)) if len(array) > 1 else math.nan
        return cls(len(array), float(array.mean()), std, float(array.min()), float(array.max()))

    def text(self) -> str:
        if self.n == 0:
            return DASH
        if self.n == 1:
            return number(self.mean)
        spread = f" ± {number(self.std)}" if self.n > 1 else ""
        return f"{number(self.mean)}{spread} ({number(self.min)} {DASH} {number(self.max)})"


def number(value: float) -> str:
    return DASH if value is None or math.isnan(value) else f"{value:.4g}"


@dataclass
class ConfigurationResult:
    configuration: Configuration
    outcomes: list[RunOutcome]
    planned: int
    stats: dict[str, Stats] = field(default_factory=dict)

    @property
    def completed(self) -> list[RunOutcome]:
        return [o for o in self.outcomes if o.status == "completed"]

    @property
    def failed(self) -> list[RunOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    def runs_text(self) -> str:
        """ "5" when every run completed, else e.g. "3 of 5 (1 failed, 1 not run)"."""
        completed, failed = len(self.completed), len(self.failed)
        missing = self.planned - len(self.outcomes)
        if completed == self.planned:
            return str(completed)
        why = [f"{failed} failed"] if failed else []
        why += [f"{missing} not run"] if missing else []
        return f"{completed} of {self.planned} ({', '.join(why)})"


def summarize(
    configurations: list[Configuration],
    outcomes: list[RunOutcome],
    metrics: list[str],
    seeds: int,
) -> list[ConfigurationResult]:
    """Group the outcomes (in plan order) by configuration and compute each metric's stats."""
    results = []
    for configuration in configurations:
        mine = [o for o in outcomes if o.config_id == configuration.id]
        result = ConfigurationResult(configuration, mine, seeds)
        for name in metrics:
            values = [o.metrics[name] for o in result.completed if o.metrics.get(name) is not None]
            result.stats[name] = Stats.of(values)
        results.append(result)
    return results


def missing_metrics(outcomes: list[RunOutcome], metrics: list[str]) -> list[str]:
    """A note for each metric that a completed run did not have, naming what it had."""
    notes = []
    for name in metrics:
        lacking = [o for o in outcomes if o.status == "completed" and o.metrics.get(name) is None]
        if lacking:
            had = ", ".join(lacking[0].available) or "nothing"
            notes.append(
                f"metric '{name}' is missing in {len(lacking)} completed run(s), e.g. "
                f"{lacking[0].run_id}, which has: {had}"
            )
    return notes


# --- files -------------------------------------------------------------------------------


def _csv_text(rows: list[list]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def _csv_value(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return repr(value) if isinstance(value, float) else str(value)


def results_csv(sweep: Sweep, results: list[ConfigurationResult]) -> str:
    keys, metrics = list(sweep.spec.grid), sweep.spec.metrics
    header = ["config", *keys]
    header += ["removed"] if sweep.spec.ablate else []
    header += ["runs", "completed", "failed"]
    for name in metrics:
        header += [f"{name}_{part}" for part in ("mean", "std", "min", "max", "n")]
    header.append("errors")
    rows = [header]
    for result in results:
        configuration = result.configuration
        row = [configuration.id, *(configuration.values[k] for k in keys)]
        row += [configuration.removed or ""] if sweep.spec.ablate else []
        row += [result.planned, len(result.completed), len(result.failed)]
        for name in metrics:
            s = result.stats[name]
            row += [s.mean, s.std, s.min, s.max, s.n]
        row.append("; ".join(f"{o.run_id}: {one_line(o.message)}" for o in result.failed))
        rows.append([_csv_value(value) for value in row])
    return _csv_text(rows)


def runs_csv(sweep: Sweep, outcomes: list[RunOutcome]) -> str:
    metrics = sweep.spec.metrics
    rows = [["run", "config", "seed", "run_seed", "status", "steps", *metrics, "message"]]
    for o in outcomes:
        values = [o.metrics.get(name) for name in metrics]
        row = [o.run_id, o.config_id, o.seed, o.run_seed, o.status, o.steps, *values]
        rows.append([_csv_value(v) for v in row] + [one_line(o.message)])
    return _csv_text(rows)


def one_line(message: str | None) -> str:
    return " / ".join(line.strip() for line in (message or "").splitlines() if line.strip())


def _cell(text) -> str:
    return str(text).replace("|", "\\|")


def table_rows(sweep: Sweep, results: list[ConfigurationResult]) -> list[list[str]]:
    """The results table as text cells, header first (shared by Markdown and HTML)."""
    keys = list(sweep.spec.grid)
    header = ["config", *keys] + (["removed"] if sweep.spec.ablate else []) + ["runs"]
    rows = [header + list(sweep.spec.metrics)]
    for result in results:
        configuration = result.configuration
        row = [configuration.id, *(_value_text(configuration.values[k]) for k in keys)]
        if sweep.spec.ablate:
            row.append(configuration.removed or "none")
        row.append(result.runs_text())
        row += [result.stats[name].text() for name in sweep.spec.metrics]
        rows.append(row)
    return rows


def _value_text(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return value if isinstance(value, str) else json.dumps(value)


def overview(sweep: Sweep, results: list[ConfigurationResult], quote=lambda t: f"`{t}`") -> str:
    completed = sum(len(r.completed) for r in results)
    failed = sum(len(r.failed) for r in results)
    planned = sum(r.planned for r in results)
    missing = planned - sum(len(r.outcomes) for r in results)
    seeds = ", ".join(str(s) for s in sweep.spec.seeds)
    pairing = "paired" if sweep.spec.paired_seeds else "one per configuration and seed"
    return (
        f"Scenario {quote(sweep.spec.scenario)}, seeds {seeds} (run seeds from the seed tree, "
        f"{pairing}): {planned} runs, {completed} completed, {failed} failed"
        + (f", {missing} not run yet (the sweep was interrupted)." if missing else ".")
    )


def markdown(sweep: Sweep, results: list[ConfigurationResult], notes: list[str]) -> str:
    rows = table_rows(sweep, results)
    lines = [f"# Sweep {sweep.name}", "", overview(sweep, results), ""]
    lines.append(
        "Each cell: mean ± std (min – max) over the completed runs of a configuration "
        "(std: sample standard deviation, n − 1)."
    )
    lines.append("")
    lines.append("| " + " | ".join(_cell(c) for c in rows[0]) + " |")
    lines.append("|" + "|".join("---" for _ in rows[0]) + "|")
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows[1:]]
    labels = [r.configuration for r in results]
    lines += ["", "Configurations:", ""]
    lines += [f"- {c.id}: {c.label}" for c in labels]
    failed = [o for r in results for o in r.failed]
    if failed:
        lines += ["", "## Failed runs", ""]
        lines += [f"- {o.run_id}: {one_line(o.message)}" for o in failed]
    if notes:
        lines += ["", "## Notes", ""]
        lines += [f"- {note}" for note in notes]
    return "\n".join(lines) + "\n"


def comparison_plot(sweep: Sweep, results: list[ConfigurationResult], path: Path) -> Path | None:
    """One panel per metric: each completed seed's value as a dot, the mean ± std as a bar.
    Drawn with matplotlib's Agg canvas (no display needed); None when nothing completed."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not any(r.completed for r in results):
        path.unlink(missing_ok=True)  # an earlier plot would no longer match
        return None
    metrics = sweep.spec.metrics
    count = len(results)
    figure = Figure(figsize=(max(6.0, 0.55 * count + 2), 2.4 * len(metrics) + 1.2))
    FigureCanvasAgg(figure)
    axes = figure.subplots(len(metrics), 1, sharex=True, squeeze=False)[:, 0]
    positions = np.arange(count)
    for ax, name in zip(axes, metrics):
        for x, result in zip(positions, results):
            values = [o.metrics.get(name) for o in result.completed]
            values = [v for v in values if v is not None]
            ax.plot([x - 0.12] * len(values), values, "o", color="#888888", markersize=4)
            s = result.stats[name]
            if s.n:
                error = 0.0 if math.isnan(s.std) else s.std
                ax.errorbar(x + 0.12, s.mean, yerr=error, fmt="s", color="#1f77b4", capsize=4)
            elif result.failed:
                ax.text(
                    x,
                    0.5,
                    "failed",
                    transform=ax.get_xaxis_transform(),
                    ha="center",
                    color="#b00000",
                    fontsize=8,
                )
        if not any(r.stats[name].n for r in results):
            ax.text(0.5, 0.5, f"no run recorded {name}", transform=ax.transAxes, ha="center")
        ax.set_xlim(-0.5, count - 0.5)
        ax.set_ylabel(name)
        ax.grid(axis="y", alpha=0.3)
    axes[-1].set_xticks(positions)
    axes[-1].set_xticklabels(
        [f"{r.configuration.id}: {_short_label(r.configuration)}" for r in results],
        rotation=35,
        ha="right",
        fontsize=8,
    )
    axes[0].set_title(f"{sweep.name}: dots are seeds, squares mean ± std")
    figure.tight_layout()
    figure.savefig(path, format="png", dpi=100, metadata={"Software": None})
    return path


def _short_label(configuration: Configuration) -> str:
    parts = [_value_text(v) for v in configuration.values.values()]
    if configuration.removed is not None:
        parts.append(f"−{configuration.removed}")
    return ", ".join(parts) or "base"


def index_html(
    sweep: Sweep, results: list[ConfigurationResult], notes: list[str], plot: Path | None
) -> str:
    e = html.escape
    rows = table_rows(sweep, results)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Sweep {e(sweep.name)}</title>",
        "<style>body{font-family:sans-serif;margin:2em;max-width:80em}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;"
        "padding:.25em .6em;text-align:left}th{background:#f3f3f3}.failed{color:#b00}"
        "img{max-width:100%}</style></head><body>",
        f"<h1>Sweep {e(sweep.name)}</h1>",
        f"<p>{overview(sweep, results, lambda t: f'<code>{e(t)}</code>')}</p>",
        "<p>Each cell: mean ± std (min – max) over the completed runs "
        "(std: sample standard deviation, n − 1).</p>",
        _html_table(rows),
        "<ul>",
        *(f"<li>{e(r.configuration.id)}: {e(r.configuration.label)}</li>" for r in results),
        "</ul>",
    ]
    if plot is not None:
        parts.append(f'<p><img src="{e(plot.name)}" alt="comparison of the configurations"></p>')
    if notes:
        parts += ["<h2>Notes</h2><ul>", *(f"<li>{e(n)}</li>" for n in notes), "</ul>"]
    parts += ["<h2>Runs</h2>", _runs_table(sweep, results), "</body></html>"]
    return "\n".join(parts) + "\n"


def _html_table(rows: list[list[str]]) -> str:
    e = html.escape
    head = "".join(f"<th>{e(c)}</th>" for c in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in rows[1:])
    return f"<table><tr>{head}</tr>{body}</table>"


def _runs_table(sweep: Sweep, results: list[ConfigurationResult]) -> str:
    e = html.escape
    metrics = sweep.spec.metrics
    head = ["run", "seed", "run seed", "status", *metrics, "report", "error"]
    lines = ["<table><tr>" + "".join(f"<th>{e(h)}</th>" for h in head) + "</tr>"]
    for result in results:
        for o in result.outcomes:
            folder = f"runs/{o.run_id}/"
            report = f'<a href="{e(folder + o.report)}">report</a>' if o.report else ""
            cells = [
                f'<a href="{e(folder)}">{e(o.run_id)}</a>',
                str(o.seed),
                str(o.run_seed),
                f'<span class="{e(o.status)}">{e(o.status)}</span>',
                *(e(number(o.metrics.get(name))) for name in metrics),
                report,
                e(one_line(o.message)),
            ]
            lines.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return "\n".join(lines) + "</table>"


def write_results(
    sweep: Sweep, configurations: list[Configuration], outcomes: list[RunOutcome], out_dir: Path
) -> tuple[list[ConfigurationResult], list[str]]:
    """Write every results file into ``out_dir``; returns the summary and the notes."""
    metrics = list(sweep.spec.metrics)
    results = summarize(configurations, outcomes, metrics, len(sweep.spec.seeds))
    ordered = [o for r in results for o in r.outcomes]
    notes = missing_metrics(ordered, metrics)
    write_atomic(out_dir / "results.csv", results_csv(sweep, results))
    write_atomic(out_dir / "runs.csv", runs_csv(sweep, ordered))
    write_atomic(out_dir / "results.md", markdown(sweep, results, notes))
    plot = comparison_plot(sweep, results, out_dir / "comparison.png")
    write_atomic(out_dir / "index.html", index_html(sweep, results, notes, plot))
    return results, notes
