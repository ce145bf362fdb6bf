"""One run of a sweep: what a worker receives (``RunJob``), does (``run_one``) and returns
(``RunOutcome``), and how a finished run is recognized when a sweep resumes.

A run folder ``OUT_DIR/runs/<config-id>-seed<k>/`` holds what ``tracegrad run`` writes
(trace.jsonl, scenario.yaml, params.npz), plus ``job.json`` (what was asked: a digest of
the scenario's content, the overrides, the seeds) and, when written, ``report.html``. A run is
finished when ``job.json`` matches the job and the trace ends with status completed or
failed (or ``failed.json`` records an error raised before the trace was closed).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from engine import yaml_source
from engine.errors import TracegradError
from engine.files import write_atomic
from engine.trace.reader import read_trace

FINISHED = ("completed", "failed")
FINAL = "final_"


@dataclass(frozen=True)
class RunJob:
    """Everything a worker needs, as plain data (it travels to other processes)."""

    run_id: str
    config_id: str
    seed: int
    run_seed: int
    scenario: str  # absolute path
    scenario_digest: str
    overrides: dict[str, Any]
    run_dir: str  # absolute path
    metrics: tuple[str, ...]
    report: bool = True

    def identity(self) -> dict[str, Any]:
        """What ``job.json`` records; a run folder whose job.json differs is run again."""
        return {
            "scenario_digest": self.scenario_digest,
            "overrides": self.overrides,
            "seed": self.seed,
            "run_seed": self.run_seed,
        }


@dataclass
class RunOutcome:
    """What became of one run: status, its error, and the sweep's metrics."""

    run_id: str
    config_id: str
    seed: int
    run_seed: int
    status: str  # completed | failed | interrupted
    message: str | None = None
    metrics: dict[str, float | None] = field(default_factory=dict)
    available: list[str] = field(default_factory=list)
    steps: int = 0
    report: str | None = None
    resumed: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def scenario_digest(path: str | Path) -> str:
    """SHA-256 of the scenario file's content as data (sorted JSON): editing a comment or
    the layout of the file changes nothing, editing a value changes the digest."""
    from engine.scenario import read_scenario_text

    data, _ = yaml_source.load(read_scenario_text(Path(path)), str(path))
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode("utf-8")).hexdigest()


def run_one(job: RunJob) -> RunOutcome:
    """Run one job into its folder (starting afresh) and return its outcome.

    Every error of the run is caught and becomes a failed outcome: a scenario that does not
    validate, a build error, an exception while training. Divergence is already a failed
    run (``engine.run`` stops at the first NaN/inf and says where).
    """
    import engine

    if _changed(job):  # every run of a sweep trains the same scenario; this one would not
        return RunOutcome(
            job.run_id,
            job.config_id,
            job.seed,
            job.run_seed,
            "failed",
            f"{job.scenario} changed while the sweep ran; run the sweep again (the runs "
            f"of the old version will run again too)",
        )
    run_dir = Path(job.run_dir)
    if run_dir.exists():
        shutil.rmtree(run_dir)  # an unfinished or outdated attempt
    run_dir.mkdir(parents=True)
    write_atomic(run_dir / "job.json", json.dumps(job.identity(), indent=2, sort_keys=True))
    overrides = {**job.overrides, "seed": job.run_seed}
    try:
        engine.run(job.scenario, overrides=overrides, run_dir=run_dir)
    except TracegradError as error:
        return _failed(job, error_text(error))
    except Exception as error:  # noqa: BLE001 - one run's bug must not stop the sweep
        write_atomic(run_dir / "error.txt", traceback.format_exc())
        return _failed(job, f"{type(error).__name__}: {error} (traceback in error.txt)")
    outcome = read_outcome(job)
    if outcome is None:  # cannot happen for a run that returned, but say so if it does
        return _failed(job, "the run left no trace")
    if job.report and outcome.status in FINISHED:
        outcome.report = _write_report(run_dir)
    return outcome


def error_text(error: TracegradError) -> str:
    """The error for the results table: where (a file:line; an override's key is already in
    the message) and what, each problem on its own line; the hint is left out."""
    where = error.where or ""
    head = error.message if not where or where.startswith("--set") else f"{where}: {error.message}"
    return "\n".join([head, *getattr(error, "problems", [])])


def _changed(job: RunJob) -> bool:
    try:
        return scenario_digest(job.scenario) != job.scenario_digest
    except (OSError, UnicodeDecodeError, TracegradError):
        return True


def _failed(job: RunJob, message: str) -> RunOutcome:
    """A run that failed before or outside its trace; ``failed.json`` keeps the message so
    a resumed sweep does not try it again."""
    write_atomic(Path(job.run_dir) / "failed.json", json.dumps({"message": message}))
    return RunOutcome(job.run_id, job.config_id, job.seed, job.run_seed, "failed", message)


def _write_report(run_dir: Path) -> str | None:
    """The run's report.html, when the report package is present; None if it cannot be
    written (the sweep's results do not depend on it)."""
    try:
        from engine.report import write_report
    except ImportError:
        return None
    try:
        return write_report(run_dir, run_dir / "report.html").name
    except Exception:  # noqa: BLE001 - a report is a convenience, never a failed run
        return None


def finished_outcome(job: RunJob) -> RunOutcome | None:
    """The outcome of a run already finished by an earlier invocation, else None."""
    run_dir = Path(job.run_dir)
    try:
        recorded = json.loads((run_dir / "job.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if recorded != json.loads(json.dumps(job.identity())):
        return None
    outcome = read_outcome(job)
    if outcome is None and (run_dir / "failed.json").is_file():
        try:
            message = json.loads((run_dir / "failed.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        outcome = RunOutcome(
            job.run_id, job.config_id, job.seed, job.run_seed, "failed", message.get("message")
        )
    if outcome is None or outcome.status not in FINISHED:
        return None
    outcome.resumed = True
    if (run_dir / "report.html").is_file():
        outcome.report = "report.html"
    return outcome


def read_outcome(job: RunJob) -> RunOutcome | None:
    """The outcome recorded in a run folder's trace (None when there is no readable one)."""
    try:
        trace = read_trace(Path(job.run_dir) / "trace.jsonl")
    except TracegradError:
        return None
    end = trace.end or {}
    final = end.get("metrics") or {}
    metrics = {name: metric_value(name, final, trace.scalars) for name in job.metrics}
    available = sorted(final) + sorted(FINAL + name for name in trace.scalars if name != "step")
    return RunOutcome(
        job.run_id,
        job.config_id,
        job.seed,
        job.run_seed,
        end.get("status", "interrupted"),
        end.get("message"),
        metrics,
        available,
        int(end.get("steps_completed", len(trace.scalars.get("step", [])))),
    )


def metric_value(name: str, final: dict, scalars: dict[str, list]) -> float | None:
    """``name`` in the final metrics, else for final_<scalar> the last recorded value of
    that per-step scalar; None when neither exists."""
    if name in final:
        return _number(final[name])
    if name.startswith(FINAL):
        column = scalars.get(name.removeprefix(FINAL))
        if column is None:
            return None
        recorded = [value for value in column if value is not None]
        return _number(recorded[-1]) if recorded else None
    return None


def _number(value) -> float | None:
    """A float from a trace value (non-finite numbers are stored as "nan", "inf")."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
