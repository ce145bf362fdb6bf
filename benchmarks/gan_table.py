"""Reproduce the ring / grid table of the bundled GAN scenarios over seeds 0-4.

    python benchmarks/gan_table.py                       # ring8 and grid25, seeds 0-4
    python benchmarks/gan_table.py --seeds 0,1 --scenario scenarios/gan/ring8.yaml

Prints a Markdown table (scenario, seed, modes covered, high-quality samples in %, seconds)
with the mean of each scenario, measured as the runs end (2,500 samples of G; VEEGAN's
definitions, see plugins/gan/metrics.py). Runs are sequential and write no trace.

BLAS is limited to one thread unless OPENBLAS_NUM_THREADS / OMP_NUM_THREADS say otherwise:
these networks are small, and on a busy two-core machine a second BLAS thread mostly waits.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")  # before numpy is imported

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

import engine  # noqa: E402

DEFAULT = [ROOT / "scenarios" / "gan" / "ring8.yaml", ROOT / "scenarios" / "gan" / "grid25.yaml"]


def seeds_from(text: str) -> list[int]:
    """ "0-4" or "0,2,3" -> the seeds."""
    if "-" in text:
        low, high = text.split("-")
        return list(range(int(low), int(high) + 1))
    return [int(part) for part in text.split(",")]


def measure(path: Path, seed: int, overrides: dict) -> dict:
    started = time.perf_counter()
    result = engine.run(path, trace=False, overrides={**overrides, "seed": seed})
    seconds = time.perf_counter() - started
    metrics = result.metrics
    return {
        "scenario": result.scenario.spec.name,
        "seed": seed,
        "modes": metrics["modes"],
        "total": metrics["modes_total"],
        "hq": 100.0 * metrics["high_quality"],
        "seconds": seconds,
        "warnings": result.warnings,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", action="append", type=Path, help="a GAN scenario file")
    parser.add_argument("--seeds", default="0-4", help="e.g. 0-4 or 0,3")
    parser.add_argument("--set", action="append", default=[], help="override, as tracegrad --set")
    args = parser.parse_args(argv)
    overrides = {}
    for item in args.set:
        key, _, value = item.partition("=")
        overrides[key] = yaml.safe_load(value)
    print("| scenario | seed | modes | high-quality % | seconds |")
    print("|---|---:|---:|---:|---:|")
    for path in args.scenario or DEFAULT:
        rows = []
        for seed in seeds_from(args.seeds):
            row = measure(path, seed, overrides)
            rows.append(row)
            print(
                f"| {row['scenario']} | {seed} | {row['modes']}/{row['total']} | "
                f"{row['hq']:.1f} | {row['seconds']:.1f} |",
                flush=True,
            )
        modes = sum(r["modes"] for r in rows) / len(rows)
        hq = sum(r["hq"] for r in rows) / len(rows)
        seconds = sum(r["seconds"] for r in rows) / len(rows)
        print(
            f"| **{rows[0]['scenario']} mean** | | **{modes:.1f}/{rows[0]['total']}** | "
            f"**{hq:.1f}** | {seconds:.1f} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
