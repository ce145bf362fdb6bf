"""Sweeps and ablations: one scenario, many configurations, several seeds each.

    run_sweep(path, executor="local", out_dir=None, progress=None) -> SweepResult

A sweep file (``engine.sweep.spec``) names a scenario, seeds, a grid of values and an
ablation; every configuration runs once per seed, each run in a normal run folder under
``OUT_DIR/runs/<config-id>-seed<k>/``. The runs execute locally, in a process pool or on a
Dask cluster (``engine.sweep.executors``); the results (``engine.sweep.results``) are
tables of mean, std, min and max over seeds, a comparison plot and an HTML summary. Run
again with the same OUT_DIR and only the runs that did not finish are run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import TracegradError
from engine.files import make_folder, open_locked
from engine.i18n import _
from engine.run_folder import folder_name
from engine.sweep.executors import open_executor, parse_executor
from engine.sweep.results import ConfigurationResult, write_results
from engine.sweep.runs import RunJob, RunOutcome, finished_outcome, scenario_digest
from engine.sweep.spec import Configuration, Sweep, configurations, load_sweep, plan


@dataclass
class SweepResult:
    """What ``run_sweep`` returns.

    ``status``: "completed" (every run finished, completed or failed) or "interrupted";
    ``outcomes``: one per run that finished, in plan order; ``results``: per configuration.
    """

    sweep: Sweep
    out_dir: Path
    status: str
    configurations: list[Configuration]
    outcomes: list[RunOutcome]
    results: list[ConfigurationResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    total: int = 0
    ran: int = 0

    @property
    def failed(self) -> list[RunOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    def summary(self) -> str:
        done = len(self.outcomes)
        resumed = done - self.ran
        parts = [
            _("sweep {name}: {status}").format(name=self.sweep.name, status=_(self.status)),
            _("{done} of {total} runs").format(done=done, total=self.total),
        ]
        if resumed:
            parts.append(_("{count} from an earlier invocation").format(count=resumed))
        if self.failed:
            parts.append(_("{count} failed").format(count=len(self.failed)))
        text = _(", ").join(parts)
        text += "\n  " + _("results: {path}").format(path=self.out_dir / "results.md")
        text += "\n  " + _("summary: {path}").format(path=self.out_dir / "index.html")
        text += "".join("\n  " + _("note: {note}").format(note=note) for note in self.notes)
        if self.status == "interrupted":
            text += "\n  " + _("run the same command again to resume where it stopped")
        return text


def default_out_dir(sweep: Sweep) -> Path:
    return Path("runs") / f"sweep-{folder_name(sweep.name)}"


#: Held (locked) while a sweep runs in its folder.
LOCK_FILE = ".tracegrad-sweep.lock"
#: What a sweep writes into its folder; anything else there belongs to someone else.
SWEEP_FILES = frozenset(
    {"results.csv", "runs.csv", "results.md", "comparison.png", "index.html", "runs"}
)


def check_out_dir(out_dir: Path) -> None:
    """Refuse a folder holding files a sweep did not write (``-o .`` in a project folder
    would otherwise overwrite its results.csv or index.html)."""
    if not out_dir.is_dir():
        return
    foreign = sorted(
        entry.name
        for entry in out_dir.iterdir()
        if entry.name not in SWEEP_FILES and not entry.name.startswith(".")
    )
    if foreign:
        raise TracegradError(
            f"{out_dir} holds files that are not this sweep's ({', '.join(foreign[:3])}"
            + (", ..." if len(foreign) > 3 else "")
            + "); the sweep writes results.csv, runs.csv, results.md and index.html there",
            hint=_("give -o a new or empty folder (or the folder of this sweep, to resume it)"),
        )


def jobs(sweep: Sweep, out_dir: Path) -> list[RunJob]:
    """One job per planned run, in plan order (configuration by configuration)."""
    scenario = str(sweep.scenario_path)
    digest = scenario_digest(sweep.scenario_path)
    trace = {"trace": sweep.spec.trace.model_dump(mode="json")}
    return [
        RunJob(
            run.id,
            run.configuration.id,
            run.seed,
            run.run_seed,
            scenario,
            digest,
            {**run.configuration.overrides, **trace},
            str((out_dir / "runs" / run.id).resolve()),
            tuple(sweep.spec.metrics),
            sweep.spec.reports,
        )
        for run in plan(sweep)
    ]


def run_sweep(
    path: str | Path,
    executor: str = "local",
    out_dir: str | Path | None = None,
    progress=None,
) -> SweepResult:
    """Run every run of a sweep file that has not finished yet, then write the results.

    ``executor``: "local", "processes:N", "dask://HOST:PORT" or "dask-local[:N]".
    ``out_dir`` defaults to ``runs/sweep-<name>/``. ``progress(done, total, outcome)`` is
    called after each run (``total`` counts the runs this invocation has to do).
    Ctrl-C stops the sweep: the results so far are written and status is "interrupted".
    """
    parse_executor(executor)  # a bad executor is an error before anything runs
    sweep = load_sweep(path)
    out_dir = Path(out_dir) if out_dir is not None else default_out_dir(sweep)
    every = configurations(sweep)
    all_jobs = jobs(sweep, out_dir)
    check_out_dir(out_dir)
    make_folder(out_dir)  # a file or a read-only place is a clear error
    # one sweep at a time in a folder: a second one would restart the first one's runs
    lock = open_locked(out_dir / LOCK_FILE, "sweep folder")
    try:
        outcomes: dict[str, RunOutcome] = {}
        for job in all_jobs:
            outcome = finished_outcome(job)
            if outcome is not None:
                outcomes[job.run_id] = outcome
        todo = [job for job in all_jobs if job.run_id not in outcomes]
        status, ran = "completed", 0
        try:
            if todo:
                with open_executor(executor) as execute:
                    for outcome in execute(todo):
                        if outcome.status == "interrupted":
                            status = "interrupted"
                            break
                        outcomes[outcome.run_id] = outcome
                        ran += 1
                        if progress is not None:
                            progress(ran, len(todo), outcome)
        except KeyboardInterrupt:
            status = "interrupted"
        finished = [outcomes[job.run_id] for job in all_jobs if job.run_id in outcomes]
        results, notes = write_results(sweep, every, finished, out_dir)
    finally:
        lock.close()
    return SweepResult(sweep, out_dir, status, every, finished, results, notes, len(all_jobs), ran)


__all__ = ["SweepResult", "load_sweep", "run_sweep"]
