"""A run's outputs: the run folder, the trace it streams, and the ``RunResult`` returned.

Run folder ``runs/<name>-<YYYYmmdd-HHMMSS>/``:
    trace.jsonl     the trace (streamed, flushed record by record)
    scenario.yaml   the resolved scenario (defaults filled in, overrides applied)
    params.npz      the parameters when the run ended (also after an interruption)
"""

from __future__ import annotations

import contextlib
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import engine
from engine import run_folder
from engine.build import Built
from engine.files import save_arrays
from engine.network import Network
from engine.scenario import Scenario
from engine.trace import SCHEMA_VERSION, TraceWriter, record


@dataclass(repr=False)  # the generated repr would print every step's history
class RunResult:
    """What ``engine.run`` returns.

    ``params``: "layer.param" -> array after training; ``history``: one dict per step (step,
    loss, lr, grad_norm.<layer>, and accuracy/val_loss at evaluation steps); ``predict(x)``.
    """

    scenario: Scenario
    network: Network
    built: Built
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
        parts = [f"{name}: {self.status}", f"{self.steps_completed} steps"]
        if self.final_loss is not None:
            parts.append(f"final loss {self.final_loss:.6g}")
        if "accuracy" in self.metrics:
            parts.append(f"accuracy {100 * self.metrics['accuracy']:.1f}%")
        if "val_accuracy" in self.metrics:
            parts.append(f"validation accuracy {100 * self.metrics['val_accuracy']:.1f}%")
        parts.append(f"{self.seconds:.2f} s")
        if self.trace_path is not None:
            parts.append(f"trace: {self.trace_path}")
        text = ", ".join(parts)
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
                "this run wrote no trace, so there is nothing to report",
                hint="run with a trace (the default) to get a report",
            )
        return write_report(self.trace_path, path, fmt)

    def _repr_html_(self) -> str:
        """A notebook shows the run's report inline (the summary when there is no trace)."""
        import html

        if self.trace_path is None:
            return f"<pre>{html.escape(self.summary())}</pre>"
        from engine.report import render_html_fragment

        return render_html_fragment(self.trace_path)


def run_header(scenario: Scenario, ctx) -> dict[str, Any]:
    """What every trace header says about how to reproduce it: versions, seed, scenario."""
    return {
        "type": "header",
        "schema_version": SCHEMA_VERSION,
        "tracegrad_version": engine.__version__,
        "numpy_version": np.__version__,
        "python_version": platform.python_version(),
        "seed": scenario.spec.seed,
        "seed_entropy": ctx.seeds.entropy,
        "scenario_hash": scenario.digest(),
        "scenario": scenario.resolved(),
    }


def header(scenario: Scenario, built: Built) -> dict[str, Any]:
    data = built.data
    return {
        **run_header(scenario, built.ctx),
        "data": {
            "samples": int(len(data.x)),
            "features": int(data.x.shape[1]),
            "task": data.task,
            "classes": data.classes,
            "validation_samples": None if data.x_val is None else int(len(data.x_val)),
        },
        "network": [
            {
                "name": layer.name,
                "index": index,
                "type": layer.config.type,
                "describe": layer.describe(),
                "formula": layer.formula,
                "params": {name: list(p.value.shape) for name, p in layer.params.items()},
            }
            for index, layer in enumerate(built.network.layers)
        ],
    }


def open_run_folder(scenario: Scenario, trace, run_dir) -> tuple[Path | None, Path | None]:
    """(run folder, trace path) for ``engine.run``'s ``trace``/``run_dir`` arguments; the
    folder is created with the resolved scenario in it. (None, None) when ``trace`` is False."""
    return run_folder.prepare(scenario, trace, run_dir)


class RunOutput:
    """Everything a training loop writes; ``finish`` turns it into a RunResult."""

    def __init__(self, scenario: Scenario, built: Built, trace, run_dir):
        self.scenario, self.built = scenario, built
        self.history: list[dict] = []
        self.run_dir, self.trace_path = open_run_folder(scenario, trace, run_dir)
        self.writer = TraceWriter(self.trace_path, scenario.spec.trace.max_values)
        self.writer.write(header(scenario, built))
        self.metrics: dict[str, float] = {}

    def evaluate(self) -> dict[str, float]:
        """Accuracy (classification) on the training data, and validation loss/accuracy."""
        built, results = self.built, {}
        data, loss, network = built.data, built.loss, built.network
        classify = data.task in ("binary", "multiclass") and data.y is not None
        if classify:
            prediction = network.forward(data.x, training=False)
            results["accuracy"] = float(np.mean(loss.classify(prediction) == data.y[:, 0]))
        if data.x_val is not None:
            prediction = network.forward(data.x_val, training=False)
            target = loss.prepare_target(data.y_val, network.out_features)
            results["val_loss"] = float(loss.forward(prediction, target))
            if classify:
                results["val_accuracy"] = float(
                    np.mean(loss.classify(prediction) == data.y_val[:, 0])
                )
        self.metrics = results
        return results

    def diverged(self, step, value, norms, x, y, prediction, grad, batch, lr) -> str:
        """Trace the failing step in full and say where the first NaN/inf appeared."""
        writer, network = self.writer, self.built.network
        writer.write(
            {
                "type": "step",
                "step": step,
                "lr": lr,
                "batch_size": len(x),
                "batch": None if batch is None else batch.tolist(),
            }
        )
        record.forward_records(writer, step, network)
        record.loss_record(writer, step, self.built.loss, prediction, y, value, grad)
        record.backward_records(writer, step, network)
        place = _first_nonfinite(network, value, norms)
        return (
            f"{place} at step {step}. Likely cause: the learning rate ({lr:g}) is too high "
            f"for this network (the updates overshoot and grow), or a log/division saw 0. "
            f"Try a smaller optimizer.lr or gradient clipping (train.clip_norm)."
        )

    def finish(self, status: str, message: str | None, completed: int, seconds: float) -> RunResult:
        built = self.built
        if not self.metrics and completed and status != "failed":
            self.evaluate()
        end = {
            "status": status,
            "steps_completed": completed,
            "final_loss": self.history[-1]["loss"] if self.history else None,
            "metrics": self.metrics,
        }
        if message:
            end["message"] = message
        self.writer.close(end)
        if self.run_dir is not None:
            save_arrays(self.run_dir / "params.npz", built.network.state())
        return RunResult(
            self.scenario,
            built.network,
            built,
            self.history,
            status,
            message,
            completed,
            seconds,
            dict(self.metrics),
            self.trace_path,
            self.run_dir,
        )

    def abort(self, error: BaseException) -> None:
        abort_trace(self.writer, len(self.history), error)


def abort_trace(writer: TraceWriter, steps_completed: int, error: BaseException) -> None:
    """Close the trace with status failed when something unexpected stops the run."""
    if writer.enabled:
        writer.close(
            {
                "status": "failed",
                "steps_completed": steps_completed,
                "message": f"{type(error).__name__}: {error}",
            }
        )


def _first_nonfinite(network: Network, value: float, norms: dict[str, float]) -> str:
    for layer in network.layers:
        for name, array in layer.forward_values().items():
            if not np.all(np.isfinite(array)):
                return f"the forward pass of layer '{layer.name}' produced NaN/inf in {name}"
    if not np.isfinite(value):
        return f"the loss is {value}"
    for layer in reversed(network.layers):
        if not np.isfinite(norms.get(layer.name, 0.0)):
            return f"the gradient of layer '{layer.name}' is NaN/inf"
    return "a NaN/inf appeared"


@contextlib.contextmanager
def open_run(scenario: Scenario, built: Built, trace, run_dir):
    output = RunOutput(scenario, built, trace, run_dir)
    try:
        yield output
    except BaseException as error:
        output.abort(error)
        raise


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
                f"no {name} in {folder}", hint="give a run folder: runs/<name>-<time>/"
            )
    scenario = load_scenario(folder / "scenario.yaml")
    params = load_arrays(folder / "params.npz")
    trace_path = folder / "trace.jsonl"
    history, status, metrics = [], "loaded", {}
    if trace_path.is_file():
        trace = read_trace(trace_path)
        history, status = trace.history(), trace.status
        metrics = (trace.end or {}).get("metrics") or {}
    if scenario.spec.kind == "gan":
        from engine.gan_result import load_gan_run

        return load_gan_run(scenario, params, history, status, metrics, folder)
    from engine.build import build

    built = build(scenario)
    built.network.load_state(params)
    trace_file = trace_path if trace_path.is_file() else None
    return RunResult(
        scenario,
        built.network,
        built,
        history,
        status,
        None,
        len(history),
        0.0,
        metrics,
        trace_file,
        folder,
    )
