"""The table of sweeps/pooling_and_relu.yaml: does max-pooling or relu in D starve G?

    tracegrad sweep sweeps/pooling_and_relu.yaml --executor processes:2
    python benchmarks/pooling_table.py runs/sweep-pooling_and_relu

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
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

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


def cell(values: list[float], scale: float = 1.0, digits: int = 1, unit: str = "") -> str:
    values = np.asarray(values) * scale
    spread = f" ± {values.std(ddof=1):.{digits}f}" if len(values) > 1 else ""
    return f"{values.mean():.{digits}f}{unit}{spread}"


def main(out_dir: str) -> None:
    cnn = engine.run(ROOT / "scenarios" / "cnn_digits.yaml", trace=False)
    reference = cnn.built.data.x
    rows: dict[tuple[str, str], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    folders = sorted(p for p in (Path(out_dir) / "runs").iterdir() if p.is_dir())
    for folder in folders:
        try:
            run = engine.load_run(folder)
        except TracegradError as error:  # a run still going, or cut off
            print(f"{folder.name}: {error}, left out", file=sys.stderr)
            continue
        if run.status != "completed":
            print(f"{folder.name}: {run.status}, left out", file=sys.stderr)
            continue
        row = rows[configuration(run)]
        row["handoff"].append(np.mean([step["handoff_zeros"] for step in run.history]))
        row["inner"].append(inner_zeros(run))
        images = ((run.generate(SAMPLES, seed=0) + 1.0) / 2.0).reshape(-1, 1, 8, 8)
        confident, counts, distance = measure(cnn, images, reference)
        row["confident"].append(confident)
        row["covered"].append(sum(1 for count in counts if count))
        row["frechet"].append(distance)
    print(f"CNN: {100 * cnn.metrics['val_accuracy']:.1f}% on {len(cnn.built.data.x_val)} held-out")
    print()
    print(
        "| D's down-sampling | D's activation | runs | zeros in dL/dG(z) | zeros in D's dL/dz "
        "| confident (p ≥ 0.9) | digits covered | Fréchet distance |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for (down, activation), row in rows.items():
        print(
            f"| {down} | {activation} | {len(row['frechet'])} "
            f"| {cell(row['handoff'], 100, 2, '%')} | {cell(row['inner'], 100, 1, '%')} "
            f"| {cell(row['confident'], 100, 1, '%')} | {cell(row['covered'], 1, 1)} "
            f"| {cell(row['frechet'], 1, 2)} |"
        )


if __name__ == "__main__":
    main(sys.argv[1])
