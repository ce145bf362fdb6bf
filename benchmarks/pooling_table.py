"""The table of sweeps/pooling_and_relu.yaml: does max-pooling or relu in D starve G?

    tracegrad sweep sweeps/pooling_and_relu.yaml --executor processes:2 -o FOLDER
    python benchmarks/pooling_table.py FOLDER [--json benchmarks/results/pooling_sweep.json]
    python benchmarks/pooling_table.py --again c1-seed0 --json AGAIN.json

For each configuration of the sweep (D's down-sampling × D's activation), mean ± std over
its seeds of:

- zeros in dL/dG(z): the fraction of exact zeros in the gradient D hands to G, averaged
  over every training step (the per-step scalar ``handoff_zeros``);
- zeros in D's dL/dz: the same fraction one layer deeper, in the gradient at D's
  convolution (after D's activation and down-sampling), for 1000 samples of the trained G
  pushed through the trained D: where relu and pooling leave their zeros;
- the digit measures of benchmarks/digit_measures.py: confident (p ≥ 0.9 under the CNN of
  scenarios/cnn_digits.yaml), digits covered among the confident samples (of 10), and the
  Fréchet distance of the CNN's penultimate features to its training digits.

``--json`` also writes every run's numbers, which tests/test_pooling_table.py checks
docs/gan.md against; ``--again RUN_ID`` trains that one run of the sweep again (in a
temporary folder) and measures it, so a test can compare it with the recorded run. The
sweep must run with the pinned code paths of benchmarks/pinned.py in its environment for
its runs to be the ones ``--again`` gives (this script pins its own).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from pinned import pin  # noqa: E402

pin()

import numpy as np  # noqa: E402
from digit_measures import SAMPLES, measure  # noqa: E402

import engine  # noqa: E402
from engine.errors import TracegradError  # noqa: E402

DOWN = {
    ("max_pool2d", 2, None): "max-pool 2×2",
    ("avg_pool2d", 2, None): "average-pool 2×2",
    ("avg_pool2d", 1, 2): "strided (every 2nd output)",
}


def configuration(run) -> tuple[str, str]:
    """(down-sampling, activation) of the run's D, as the table names them."""
    layers = run.scenario.spec.discriminator.layers
    pool, conv = layers[2], layers[1]
    down = DOWN.get((pool.type, pool.kernel_size, pool.stride), pool.type)
    activation = conv.activation.type
    if activation == "leaky_relu":
        activation += f" {conv.activation.negative_slope:g}"
    return down, activation


def inner_zeros(run) -> float:
    """Fraction of exact zeros in dL/dz of D's convolution for 1000 samples of G."""
    samples = run.generate(SAMPLES, seed=1)
    D, loss = run.discriminator, run.built.loss
    logits = D.forward(samples, training=True)
    target = np.full((len(samples), 1), loss.generator_label) if loss.uses_labels else None
    _, grad = loss.generator(logits, target)
    D.backward(grad)
    return float(np.mean(D.layers[1].grad_cache["dL/dz"] == 0.0))


def record(run, cnn) -> dict:
    """One run's numbers: its configuration and seed, the zeros, the digit measures."""
    down, activation = configuration(run)
    handoff = [step["handoff_zeros"] for step in run.history]
    images = ((run.generate(SAMPLES, seed=0) + 1.0) / 2.0).reshape(-1, 1, 8, 8)
    confident, counts, distance = measure(cnn, images, cnn.built.data.x)
    return {
        "down": down,
        "activation": activation,
        "seed": run.scenario.spec.seed,
        "steps": len(handoff),
        "handoff": float(np.mean(handoff)),
        "handoff_max": float(np.max(handoff)),
        "inner": inner_zeros(run),
        "confident": confident,
        "covered": sum(1 for count in counts if count),
        "frechet": distance,
    }


def finished_runs(out_dir: Path):
    """The sweep's completed runs, loaded, in folder order; others are named and left out."""
    for folder in sorted(p for p in (out_dir / "runs").iterdir() if p.is_dir()):
        try:
            run = engine.load_run(folder)
        except TracegradError as error:  # a run still going, or cut off
            print(f"{folder.name}: {error}, left out", file=sys.stderr)
            continue
        if run.status != "completed":
            print(f"{folder.name}: {run.status}, left out", file=sys.stderr)
            continue
        yield run


def run_again(run_id: str, folder: Path):
    """Run ``run_id`` of sweeps/pooling_and_relu.yaml again into ``folder``; the run."""
    from engine.sweep import jobs
    from engine.sweep.runs import run_one
    from engine.sweep.spec import load_sweep

    sweep = load_sweep(ROOT / "sweeps" / "pooling_and_relu.yaml")
    job = next(job for job in jobs(sweep, folder) if job.run_id == run_id)
    outcome = run_one(dataclasses.replace(job, run_dir=str(folder / run_id)))
    assert outcome.status == "completed", outcome.message
    return engine.load_run(folder / run_id)


def cell(values: list[float], scale: float = 1.0, digits: int = 1, unit: str = "") -> str:
    values = np.asarray(values) * scale
    spread = f" ± {values.std(ddof=1):.{digits}f}" if len(values) > 1 else ""
    return f"{values.mean():.{digits}f}{unit}{spread}"


def print_table(records: list[dict]) -> None:
    rows: dict[tuple[str, str], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for numbers in records:
        row = rows[numbers["down"], numbers["activation"]]
        for name in ("handoff", "inner", "confident", "covered", "frechet"):
            row[name].append(numbers[name])
    print(
        "| D's down-sampling | D's activation | zeros in dL/dG(z) | zeros in D's dL/dz "
        "| confident (p ≥ 0.9) | digits covered | Fréchet distance |"
    )
    print("|---|---|---:|---:|---:|---:|---:|")
    for (down, activation), row in rows.items():
        print(
            f"| {down} | {activation} "
            f"| {cell(row['handoff'], 100, 2, '%')} | {cell(row['inner'], 100, 1, '%')} "
            f"| {cell(row['confident'], 100, 1, '%')} | {cell(row['covered'], 1, 1)} "
            f"| {cell(row['frechet'], 1, 2)} |"
        )
    steps = sum(numbers["steps"] for numbers in records)
    largest = max(numbers["handoff_max"] for numbers in records)
    print(f"\n{len(records)} runs, {steps} steps, largest handoff_zeros {largest:.6g}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("folder", nargs="?", type=Path, help="the sweep's output folder")
    which.add_argument("--again", metavar="RUN_ID", help="train this run of the sweep again")
    parser.add_argument("--json", type=Path, help="also write every run's numbers here")
    args = parser.parse_args(argv)
    cnn = engine.run(ROOT / "scenarios" / "cnn_digits.yaml", trace=False)
    print(f"CNN: {100 * cnn.metrics['val_accuracy']:.1f}% on {len(cnn.built.data.x_val)} held-out")
    if args.again:
        with tempfile.TemporaryDirectory() as folder:
            records = [{"run": args.again, **record(run_again(args.again, Path(folder)), cnn)}]
    else:
        records = [
            {"run": run.run_dir.name, **record(run, cnn)} for run in finished_runs(args.folder)
        ]
    print()
    print_table(records)
    if args.json is not None:
        args.json.write_text(json.dumps(records, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
