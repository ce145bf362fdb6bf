"""What a run gives back: ``RunResult``, and ``load_run`` for a finished run's folder.

Run folder ``runs/<name>-<YYYYmmdd-HHMMSS>/`` (written by ``engine.run``):
    trace.jsonl     the trace (streamed, flushed record by record)
    scenario.yaml   the resolved scenario (defaults filled in, overrides applied)
    params.npz      the parameters when the run ended (also after an interruption)

A scenario kind may return a subclass (a GAN's result can ``generate``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from engine.i18n import _
from engine.network import Network


@dataclass(repr=False)  # the generated repr would print every step's history
class RunResult:
    """What ``engine.run`` returns.

    ``params``: "layer.param" -> array after training; ``history``: one dict per step (step,
    loss, lr, grad_norm.<layer>, and accuracy/val_loss at evaluation steps); ``predict(x)``.
    """

    scenario: Any
    network: Network
    built: Any
    history: list[dict]
    status: str
    message: str | None
    steps_completed: int
    seconds: float
    metrics: dict[str, float] = field(default_factory=dict)
    trace_path: Path | None = None
    run_dir: Path | None = None

    @property
    def params(self) -> dict[str, np.ndarray]:
        return self.network.state()

    def __repr__(self) -> str:
        folder = f", run_dir={str(self.run_dir)!r}" if self.run_dir is not None else ""
        return (
            f"<{type(self).__name__} {self.scenario.spec.name!r}: {self.status}, "
            f"{self.steps_completed} steps{folder}>"
        )

    @property
    def final_loss(self) -> float | None:
        return self.history[-1]["loss"] if self.history else None

    def predict(self, x) -> np.ndarray:
        """The trained network's output for inputs ``x`` (N, D), in evaluation mode."""
        x = np.atleast_2d(np.asarray(x, dtype=np.float64))
        return self.network.forward(x, training=False)

    def summary(self) -> str:
        name = self.scenario.spec.name
        parts = [f"{name}: {_(self.status)}", _("{count} steps").format(count=self.steps_completed)]
        if self.final_loss is not None:
            parts.append(_("final loss {loss:.6g}").format(loss=self.final_loss))
        if "accuracy" in self.metrics:
            parts.append(
                _("accuracy {percent:.1f}%").format(percent=100 * self.metrics["accuracy"])
            )
        if "val_accuracy" in self.metrics:
            percent = 100 * self.metrics["val_accuracy"]
            parts.append(_("validation accuracy {percent:.1f}%").format(percent=percent))
        parts.append(_("{seconds:.2f} s").format(seconds=self.seconds))
        if self.trace_path is not None:
            parts.append(_("trace: {path}").format(path=self.trace_path))
        text = _(", ").join(parts)
        if self.message and self.status != "completed":
            text += f"\n  {self.message}"
        return text

    def report(self, path: str | Path | None = None, fmt: str | None = None) -> Path:
        """Write the run's report (``engine.report``): ``report.html`` in the run folder by
        default, Markdown for a ``.md`` path. Needs the trace (not ``trace=False``)."""
        from engine.errors import TraceError
        from engine.report import write_report

        if self.trace_path is None:
            raise TraceError(
                _("this run wrote no trace, so there is nothing to report"),
                hint=_("run with a trace (the default) to get a report"),
            )
        return write_report(self.trace_path, path, fmt)

    def _repr_html_(self) -> str:
        """A notebook shows the run's report inline (the summary when there is no trace)."""
        import html

        if self.trace_path is None:
            return f"<pre>{html.escape(self.summary())}</pre>"
        from engine.report import render_html_fragment

        return render_html_fragment(self.trace_path)


def load_run(folder: str | Path) -> RunResult:
    """A run folder (``scenario.yaml`` and ``params.npz``; ``trace.jsonl`` if kept) back as
    a RunResult with the trained parameters, e.g. to call ``generate`` on a GAN later.

    ``history``, ``status`` and ``metrics`` come from the trace when there is one.
    """
    from engine.errors import TraceError
    from engine.files import load_arrays
    from engine.scenario import load_scenario
    from engine.trace import read_trace

    folder = Path(folder)
    for name in ("scenario.yaml", "params.npz"):
        if not (folder / name).is_file():
            raise TraceError(
                _("no {name} in {folder}").format(name=name, folder=folder),
                hint=_("give a run folder: runs/<name>-<time>/"),
            )
    scenario = load_scenario(folder / "scenario.yaml")
    params = load_arrays(folder / "params.npz")
    trace_path = folder / "trace.jsonl"
    history, status, metrics = [], "loaded", {}
    if trace_path.is_file():
        trace = read_trace(trace_path)
        history, status = trace.history(), trace.status
        metrics = (trace.end or {}).get("metrics") or {}
    loaded = LoadedRun(
        folder, history, status, metrics, trace_path if trace_path.is_file() else None
    )
    return scenario.kind.load(scenario, params, loaded)


@dataclass
class LoadedRun:
    """What ``load_run`` read from a run folder, handed to the kind's ``load``."""

    folder: Path
    history: list
    status: str
    metrics: dict
    trace_path: Path | None
