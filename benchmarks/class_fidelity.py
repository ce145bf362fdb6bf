"""Class fidelity of the bundled conditional GANs over seeds 0-4.

    python benchmarks/class_fidelity.py                                   # cgan_ring8, seeds 0-4
    python benchmarks/class_fidelity.py --scenario scenarios/gan/cgan_digits.yaml --seeds 0,1

For each seed the scenario is trained (no trace), then 1,000 samples are drawn for each class
k with ``result.generate(1000, seed=seed, labels=k)``. Class fidelity of class k is the
fraction of them that

- ring / grid: are high quality (within 3 std of their nearest mode, VEEGAN's definition)
  and whose nearest mode is mode k (``plugins.gan.metrics.class_fidelity``);
- digits: the CNN of benchmarks/digit_measures.py (scenarios/cnn_digits.yaml, trained once)
  classifies as digit k.

Prints a Markdown table, one row per seed (each class in %, the mean, the worst class, the
seconds of training), and the mean over seeds of every column. ``--json FILE`` also writes
every seed's fractions, which tests/test_class_fidelity_tables.py checks docs/gan.md against.
Runs on the pinned AVX2 code paths of benchmarks/pinned.py, so every x86-64 machine gives
the same numbers.
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

import numpy as np  # noqa: E402

import engine  # noqa: E402
from plugins.gan.metrics import class_fidelity  # noqa: E402

DEFAULT = ROOT / "scenarios" / "gan" / "cgan_ring8.yaml"
SAMPLES = 1000


def seeds_from(text: str) -> list[int]:
    """ "0-4" or "0,2,3" -> the seeds."""
    if "-" in text:
        low, high = text.split("-")
        return list(range(int(low), int(high) + 1))
    return [int(part) for part in text.split(",")]


def fidelities(result, seed: int, classifier=None, samples: int = SAMPLES) -> list[float]:
    """Class fidelity of every class, in order (a fraction each)."""
    built = result.built
    classes = built.conditioning.classes
    info = built.data.info
    values = []
    for k in range(classes):
        x = result.generate(samples, seed=seed, labels=k)
        if classifier is None:
            values.append(class_fidelity(x, k, np.asarray(info["centers"]), info["std"]))
        else:
            images = ((x + 1.0) / 2.0).reshape(-1, 1, 8, 8)  # [-1, 1] -> the CNN's [0, 1]
            values.append(float(np.mean(classifier.predict(images).argmax(axis=1) == k)))
    return values


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", type=Path, default=DEFAULT, help="a conditional GAN")
    parser.add_argument("--seeds", default="0-4", help="e.g. 0-4 or 0,3")
    parser.add_argument("--steps", type=int, help="train.steps instead of the scenario's")
    parser.add_argument("--json", type=Path, help="also write every seed's fractions here")
    args = parser.parse_args(argv)
    overrides = {} if args.steps is None else {"train.steps": args.steps}
    classifier = None
    if "digits" in args.scenario.name:
        classifier = engine.run(ROOT / "scenarios" / "cnn_digits.yaml", trace=False)
    rows = []
    for seed in seeds_from(args.seeds):
        started = time.perf_counter()
        result = engine.run(args.scenario, trace=False, overrides={**overrides, "seed": seed})
        seconds = time.perf_counter() - started
        values = fidelities(result, seed, classifier)
        rows.append([*values, float(np.mean(values)), min(values), seconds])
        if len(rows) == 1:
            header = [f"class {k} %" for k in range(len(values))]
            print("| seed | " + " | ".join(header) + " | mean % | worst % | seconds |")
            print("|---:|" + "---:|" * (len(values) + 3))
        cells = [f"{100 * v:.1f}" for v in rows[-1][:-1]] + [f"{seconds:.1f}"]
        print(f"| {seed} | " + " | ".join(cells) + " |", flush=True)
    mean = np.mean(np.array(rows), axis=0)
    cells = [f"**{100 * v:.1f}**" for v in mean[:-1]] + [f"{mean[-1]:.1f}"]
    print("| **mean** | " + " | ".join(cells) + " |")
    if args.json:
        runs = [
            {"scenario": args.scenario.stem, "seed": seed, "fidelity": row[:-3], "seconds": row[-1]}
            for seed, row in zip(seeds_from(args.seeds), rows, strict=True)
        ]
        args.json.write_text(json.dumps(runs, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
