"""What each choice of scenarios/gan/ring8_hq.yaml (or grid25_hq.yaml) contributes: the
scenario as it is, then with one choice undone at a time, over seeds 0-4 (2,500 samples at
the end of each run).

    python benchmarks/gan_ablation.py                 # ring8_hq: prints the Markdown table
    python benchmarks/gan_ablation.py --json out.json # also every run's numbers
    python benchmarks/gan_ablation.py --scenario grid25_hq --seeds 0-2 --json out.json

Runs as benchmarks/gan_table.py does (one BLAS thread, the pinned AVX2 code paths), one
after another, without a trace.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gan_table import ROOT, measure, seeds_from  # noqa: E402  (sets the environment first)


def layers(units: int, out: int, hidden: int = 2) -> list[dict]:
    unit = {"type": "dense", "units": units, "activation": "leaky_relu"}
    return [unit] * hidden + [{"type": "dense", "units": out}]


def r1(weight: float) -> dict:
    return {"type": "gradient_penalty", "weight": weight, "target": 0.0, "at": "real"}


SMOOTHING, REJECTION = {"type": "label_smoothing", "real": 0.9}, {"type": "discriminator_rejection"}

#: scenario -> [(what is undone, the overrides that undo it)].
VARIANTS = {}
VARIANTS["ring8_hq"] = [
    ("nothing: ring8_hq as it is", {}),
    ("discriminator_rejection removed", {"tricks": [SMOOTHING]}),
    ("label_smoothing removed", {"tricks": [REJECTION]}),
    (
        "ring8's networks and length (128 units, 5,000 steps)",
        {
            "generator.layers": layers(128, 2),
            "discriminator.layers": layers(128, 1),
            "train.steps": 5000,
        },
    ),
]
VARIANTS["grid25_hq"] = [
    ("nothing: grid25_hq as it is", {}),
    ("discriminator_rejection removed", {"tricks": [SMOOTHING, r1(0.05)]}),
    ("grid25's R1 weight (0.5 instead of 0.05)", {"tricks": [SMOOTHING, r1(0.5), REJECTION]}),
    ("label_smoothing removed", {"tricks": [r1(0.05), REJECTION]}),
    (
        "grid25's networks and length (128 units, 10,000 steps)",
        {
            "generator.layers": layers(128, 2, hidden=3),
            "discriminator.layers": layers(128, 1),
            "train.steps": 10000,
        },
    ),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=sorted(VARIANTS), default="ring8_hq")
    parser.add_argument("--seeds", default="0-4", help="e.g. 0-4 or 0,3")
    parser.add_argument("--json", type=Path, help="also write every run's numbers here")
    args = parser.parse_args(argv)
    seeds, everything = seeds_from(args.seeds), []
    print("| undone | modes (mean) | worst modes | high-quality % (mean) | worst % | seconds |")
    print("|---|---:|---:|---:|---:|---:|")
    scenario = ROOT / "scenarios" / "gan" / f"{args.scenario}.yaml"
    for undone, overrides in VARIANTS[args.scenario]:
        rows = [measure(scenario, seed, overrides) for seed in seeds]
        everything += [{**row, "undone": undone, "overrides": overrides} for row in rows]
        total = rows[0]["total"]
        modes = sum(r["modes"] for r in rows) / len(rows)
        hq = [r["hq"] for r in rows]
        seconds = sum(r["seconds"] for r in rows) / len(rows)
        print(
            f"| {undone} | {modes:.1f}/{total} | {min(r['modes'] for r in rows)}/{total} | "
            f"{sum(hq) / len(hq):.1f} | {min(hq):.1f} | {seconds:.1f} |",
            flush=True,
        )
    if args.json:
        args.json.write_text(json.dumps(everything, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
