"""Reproduce the ring / grid table of the bundled GAN scenarios over seeds 0-4.

    python benchmarks/gan_table.py                       # ring8 and grid25, seeds 0-4
    python benchmarks/gan_table.py --seeds 0,1 --scenario scenarios/gan/ring8.yaml
    python benchmarks/gan_table.py --scenario scenarios/gan/ring8_hq.yaml --json out.json

The table ends with the published rows (``PUBLISHED``) beside the means. ``--json`` also
writes every run's numbers, for a test to re-run one of them (tests/test_gan_table.py).

Prints a Markdown table (scenario, seed, modes covered, high-quality samples in %, seconds)
with the mean of each scenario, measured as the runs end (2,500 samples of G; VEEGAN's
definitions, see plugins/gan/metrics.py). Runs are sequential and write no trace.

BLAS is limited to one thread unless OPENBLAS_NUM_THREADS / OMP_NUM_THREADS say otherwise:
these networks are small, and on a busy two-core machine a second BLAS thread mostly waits.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from pinned import pin  # benchmarks/pinned.py, beside this script

for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")  # before numpy is imported
pin()  # the pinned AVX2 paths (benchmarks/pinned.py): the same runs on every x86-64

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

import engine  # noqa: E402

#: Published results on the same benchmarks (VEEGAN's definitions): (method, data set, modes,
#: high-quality %), from PacGAN (Lin et al. 2018), Tables 2 and 3.
PUBLISHED = [
    ("GAN", "ring", "6.3/8", 98.2),
    ("VEEGAN", "ring", "8.0/8", 52.9),
    ("PacGAN2", "ring", "7.9/8", 95.6),
    ("VEEGAN", "grid", "24.6/25", 40.0),
    ("PacGAN4", "grid", "24.8/25", 93.6),
]

DEFAULT = [ROOT / "scenarios" / "gan" / "ring8.yaml", ROOT / "scenarios" / "gan" / "grid25.yaml"]


def seeds_from(text: str) -> list[int]:
    """ "0-4" or "0,2,3" -> the seeds."""
    if "-" in text:
        low, high = text.split("-")
        return list(range(int(low), int(high) + 1))
    return [int(part) for part in text.split(",")]


def shown(path: Path) -> str:
    """The scenario's path as the JSON records it: from the repository's root when inside it."""
    resolved = Path(path).resolve()
    return resolved.relative_to(ROOT).as_posix() if resolved.is_relative_to(ROOT) else str(resolved)


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
    parser.add_argument("--json", type=Path, help="also write every run's numbers here")
    args = parser.parse_args(argv)
    overrides = {}
    for item in args.set:
        key, _, value = item.partition("=")
        overrides[key] = yaml.safe_load(value)
    everything = []
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
        everything += [
            {
                **row,
                "path": shown(path),
                "overrides": overrides,
            }
            for row in rows
        ]
    for method, data, modes, hq in PUBLISHED:
        print(f"| {method} (published) | {data} | {modes} | {hq:.1f} | |")
    if args.json:
        args.json.write_text(json.dumps(everything, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
