"""Expensive tables in the docs: raw per-run results in a committed file, the table derived.

A table that takes many minutes of runs (a sweep's ablation, a benchmark over seeds) cannot
be re-measured by every test run. Instead its runs write their raw results to
``benchmarks/results/<name>.json``, on the pinned CPU code paths of benchmarks/pinned.py
(``PINNED``, so a number does not depend on AVX-512 vs AVX2):

    python -m tests.recorded_results sweeps/ring8_tricks.yaml benchmarks/results/ring8_tricks.json
    python -m tests.recorded_results scenarios/gan/ring8.yaml \\
        benchmarks/results/gan_ring8.json 0,1,2,3,4
    python -m tests.recorded_results --table FILE[,FILE...] COLUMNS

The first runs every planned run of a sweep, one after the other, as ``tracegrad sweep`` runs
it (the same seeds, overrides and metrics; no report); the second runs a scenario once per
listed seed, as benchmarks/gan_table.py does (the seed as the scenario's ``seed``, no trace,
every final metric). Both run in a subprocess pinned to the AVX2 paths and rewrite the file
after each run (``complete`` turns true with the last). The third prints a marked table's
rows. A file holds the sweep (or scenario), the command, the pinned environment (with the
machine, NumPy and Python versions) and for each run: its id, configuration, ``columns``
(its grid values and removed trick, or the scenario's name), the overrides it ran with,
seed and run seed, steps, status, message, its metrics and seconds.

A doc table says where its numbers come from with a marker on the line before it:

    <!-- recorded: benchmarks/results/ring8_tricks.json columns=loss.type,removed,runs,modes:1 -->

Several files, comma-separated, give their rows one after the other. ``columns`` has one
entry per column of the table, in order:

- a grid key, ``removed`` or ``scenario``: the configuration's value (a number written with
  ``:g``; "none" for nothing removed);
- ``runs``: how many runs of the configuration completed;
- ``seed``: the table has a row per run rather than per configuration, this is its seed;
- ``METRIC:DECIMALS``: over the completed runs, mean ± sample std, then (min – max) when
  the runs differ, each rounded to DECIMALS with trailing zeros dropped ("2.4 ± 3.3 (0 – 8)",
  "8 ± 0"); ``METRIC:DECIMALS:%`` shows the metric times 100 with a % sign.

``table()`` writes those rows (one per configuration, in the sweep's order);
tests/test_docs_numbers.py checks every marked table is exactly that, and runs one recorded
run of each table again in the pinned subprocess to check its metrics equal the file's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.pinned import PINNED
from tests.trace_digests import ROOT

RESULTS = ROOT / "benchmarks" / "results"


def pinned() -> bool:
    return all(os.environ.get(key) == value for key, value in PINNED.items())


def in_pinned_subprocess(*args: str, capture: bool = True) -> str:
    """Run ``python -m tests.recorded_results ARGS`` on the pinned code paths; its stdout."""
    env = {**os.environ, **PINNED, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "tests.recorded_results", *args],
        cwd=ROOT,
        env=env,
        capture_output=capture,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"tests.recorded_results {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


# --- recording -------------------------------------------------------------------------------


def _planned(sweep_path: Path, folder: Path) -> list[tuple]:
    """(job, configuration) of every planned run of the sweep, report-less, into ``folder``."""
    from dataclasses import replace

    from engine.sweep import jobs, load_sweep
    from engine.sweep.spec import configurations

    sweep = load_sweep(sweep_path)
    by_id = {c.id: c for c in configurations(sweep)}
    return [(replace(job, report=False), by_id[job.config_id]) for job in jobs(sweep, folder)]


def run_record(job, configuration) -> dict:
    """Run one job of a sweep (as the sweep runs it) and return its raw record."""
    from engine.sweep.runs import run_one

    started = time.perf_counter()
    outcome = run_one(job)
    return {
        "id": job.run_id,
        "config": job.config_id,
        "columns": {**configuration.values, "removed": configuration.removed},
        "overrides": job.overrides,
        "seed": job.seed,
        "run_seed": job.run_seed,
        "steps": outcome.steps,
        "status": outcome.status,
        "message": outcome.message,
        "metrics": outcome.metrics,
        "seconds": round(time.perf_counter() - started, 1),
    }


def seed_record(scenario: Path, seed: int) -> dict:
    """Run a scenario with ``seed`` (as benchmarks/gan_table.py does: no trace, the seed as
    the scenario's ``seed``) and return its raw record with every final metric."""
    import engine

    started = time.perf_counter()
    result = engine.run(ROOT / scenario, trace=False, overrides={"seed": seed})
    return {
        "id": f"seed{seed}",
        "config": "c1",
        "columns": {"scenario": result.scenario.spec.name},
        "overrides": {"seed": seed},
        "seed": seed,
        "run_seed": seed,
        "steps": len(result.history),
        "status": result.status,
        "message": None,
        "metrics": {k: v for k, v in result.metrics.items() if isinstance(v, (int, float))},
        "seconds": round(time.perf_counter() - started, 1),
    }


def environment() -> dict:
    import platform

    import numpy

    return {
        **PINNED,
        "machine": platform.machine(),
        "numpy": numpy.__version__,
        "python": platform.python_version(),
    }


def record(sweep_path: Path, out: Path, seeds: list[int] | None = None) -> None:
    """Run every planned run of the sweep in turn, rewriting ``out`` after each one
    (``complete`` says whether every run is in it). With ``seeds``, ``sweep_path`` is a
    scenario, run once per seed. Call on the pinned paths."""
    command = f"python -m tests.recorded_results {sweep_path} {out}"
    head = {
        "command": command + (f" {','.join(map(str, seeds))}" if seeds else ""),
        "environment": environment(),
        "sweep" if seeds is None else "scenario": Path(sweep_path).as_posix(),
    }
    with tempfile.TemporaryDirectory() as folder:
        if seeds is None:
            planned = _planned(ROOT / sweep_path, Path(folder))
        else:
            planned = [(sweep_path, seed) for seed in seeds]
        runs = []
        for job, configuration in planned:
            if seeds is None:
                runs.append(run_record(job, configuration))
            else:
                runs.append(seed_record(job, configuration))
            print(json.dumps(runs[-1]), file=sys.stderr, flush=True)
            data = {**head, "complete": len(runs) == len(planned), "runs": runs}
            (ROOT / out).parent.mkdir(parents=True, exist_ok=True)
            (ROOT / out).write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", "utf-8")


def rerun(results_file: Path, run_id: str) -> dict:
    """One recorded run, run again now (call on the pinned paths)."""
    data = json.loads((ROOT / results_file).read_text("utf-8"))
    if "scenario" in data:
        return seed_record(Path(data["scenario"]), int(run_id.removeprefix("seed")))
    with tempfile.TemporaryDirectory() as folder:
        for job, configuration in _planned(ROOT / data["sweep"], Path(folder)):
            if job.run_id == run_id:
                return run_record(job, configuration)
    raise KeyError(f"{results_file} has no run {run_id}")


def rerun_pinned(results_file: Path, run_id: str) -> dict:
    """``rerun`` in a subprocess on the pinned code paths."""
    return json.loads(in_pinned_subprocess("--rerun", str(results_file), run_id))


# --- the table -------------------------------------------------------------------------------


def _short(value: float, decimals: int) -> str:
    text = f"{value:.{decimals}f}"
    text = text.rstrip("0").rstrip(".") if "." in text else text
    return "0" if text in ("-0", "") else text


def _value(value) -> str:
    if value is None:
        return "none"
    return f"{value:g}" if isinstance(value, float) else str(value)


def aggregate(values: list[float], decimals: int, unit: str = "") -> str:
    """mean ± sample std, then (min – max) when the runs differ: "2.4 ± 3.4 (0 – 8)";
    ``unit`` after each number ("93.8% ± 0.9% (92.2% – 94.7%)")."""
    import numpy as np

    if not values:
        return "–"
    array = np.asarray(values, dtype=np.float64)
    text = _short(array.mean(), decimals) + unit
    if len(array) > 1:
        text += f" ± {_short(array.std(ddof=1), decimals)}{unit}"
        low, high = _short(array.min(), decimals), _short(array.max(), decimals)
        if low != high:
            text += f" ({low}{unit} – {high}{unit})"
    return text


def table(results_files: Path | list[Path], columns: list[str]) -> list[list[str]]:
    """The table's rows (cells as text) from results files: one row per configuration, file
    after file."""
    configs: dict[tuple, list[dict]] = {}
    files = results_files if isinstance(results_files, list) else [results_files]
    per_run = "seed" in columns  # a row per run instead of per configuration
    for results_file in files:
        data = json.loads(Path(results_file).read_text("utf-8"))
        for run in data["runs"]:
            key = (str(results_file), run["config"], run["id"] if per_run else None)
            configs.setdefault(key, []).append(run)
    rows = []
    for runs in configs.values():
        completed = [r for r in runs if r["status"] == "completed"]
        row = []
        for column in columns:
            name, _, decimals = column.partition(":")
            decimals, _, unit = decimals.partition(":")
            if decimals:
                values = [
                    r["metrics"][name] for r in completed if r["metrics"].get(name) is not None
                ]
                scale = 100.0 if unit == "%" else 1.0
                row.append(aggregate([scale * v for v in values], int(decimals), unit))
            elif name == "runs":
                row.append(str(len(completed)))
            elif name == "seed":
                row.append(str(runs[0]["seed"]))
            else:
                row.append(_value(runs[0]["columns"][name]))
        rows.append(row)
    return rows


def markdown_rows(rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(row) + " |" for row in rows]


def main(argv: list[str]) -> int:
    if argv[0] == "--rerun":
        print(json.dumps(rerun(Path(argv[1]), argv[2])))
    elif argv[0] == "--table":
        files = [ROOT / name for name in argv[1].split(",")]
        print("\n".join(markdown_rows(table(files, argv[2].split(",")))))
    elif argv[0] == "--here":
        main(argv[1:])
    elif pinned():
        seeds = [int(seed) for seed in argv[2].split(",")] if len(argv) > 2 else None
        record(Path(argv[0]), Path(argv[1]), seeds)
    else:  # progress, one JSON line per run, on stderr
        in_pinned_subprocess("--here", *argv, capture=False)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
