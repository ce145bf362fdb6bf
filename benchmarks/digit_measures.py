"""How much a GAN's samples look like digits, measured by the CNN of scenarios/cnn_digits.yaml.

    python benchmarks/digit_measures.py RUN_FOLDER [RUN_FOLDER ...]
    python benchmarks/digit_measures.py scenarios/gan/digits_gan.yaml \
        scenarios/gan/dcgan_digits.yaml --json benchmarks/results/digit_measures.json

(a scenario file is trained first, seed 0, without a trace; ``--json`` also writes every row's
numbers, which tests/test_digit_measures_table.py checks docs/gan.md against). Runs on the
pinned AVX2 code paths of benchmarks/pinned.py, so every x86-64 machine gives the same
numbers.

trains the CNN (seed 0, its full 1500 steps, about 20 s), then for each finished GAN run on
the digits (``scale: symmetric``) draws 1000 samples of G and reports, beside the same
numbers for the CNN's 359 held-out real digits (the ceiling):

- confident: the fraction of samples the CNN gives one digit a probability of at least 0.9;
- coverage: how many of the 10 digits occur among the confident samples, and how often each;
- Fréchet distance between the CNN's penultimate features (the 64 numbers after ``flat``) of
  the samples and of the CNN's 1438 training digits, ‖μ₁ - μ₂‖² + Tr(Σ₁ + Σ₂ - 2(Σ₁Σ₂)^½),
  as FID does with Inception features; for the real row, of the held-out digits.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from pinned import pin  # benchmarks/pinned.py, beside this script

pin()  # the pinned AVX2 paths (benchmarks/pinned.py): the same runs on every x86-64

import numpy as np  # noqa: E402
from scipy import linalg  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import engine  # noqa: E402

SAMPLES = 1000
CONFIDENT = 0.9


def features(network, x: np.ndarray) -> np.ndarray:
    """The CNN's activations after its flatten layer (the input of the output layer)."""
    a = x
    for layer in network.layers[:-1]:
        a = layer.forward(a, training=False)
    return a


def frechet(a: np.ndarray, b: np.ndarray) -> float:
    """Between Gaussians fitted to the rows of a and b. A relu feature that is 0 for every
    image makes a covariance singular: 1e-6 on the diagonal keeps the square root defined
    (as pytorch-fid does when it is not)."""
    mean = np.sum((a.mean(axis=0) - b.mean(axis=0)) ** 2)
    offset = 1e-6 * np.eye(a.shape[1])
    cov_a, cov_b = np.cov(a, rowvar=False) + offset, np.cov(b, rowvar=False) + offset
    root = linalg.sqrtm(cov_a @ cov_b).real
    return float(mean + np.trace(cov_a + cov_b - 2.0 * root))


def measure(cnn, images: np.ndarray, reference: np.ndarray) -> tuple[float, list[int], float]:
    p = cnn.predict(images)
    confident = p.max(axis=1) >= CONFIDENT
    counts = np.bincount(p.argmax(axis=1)[confident], minlength=10).tolist()
    network = cnn.built.network
    distance = frechet(features(network, images), features(network, reference))
    return float(confident.mean()), counts, distance


def row(name: str, confident: float, counts: list[int], distance: float) -> str:
    covered = sum(1 for count in counts if count)
    return (
        f"| {name} | {100 * confident:.1f}% | {covered}/10 ({min(counts)} to {max(counts)} "
        f"each) | {distance:.2f} |"
    )


def main(arguments: list[str]) -> None:
    json_path = None
    if "--json" in arguments:
        at = arguments.index("--json")
        json_path, arguments = Path(arguments[at + 1]), arguments[:at] + arguments[at + 2 :]
    cnn = engine.run(ROOT / "scenarios" / "cnn_digits.yaml", trace=False)
    held_out, train = cnn.built.data.x_val, cnn.built.data.x
    print(f"CNN: {100 * cnn.metrics['val_accuracy']:.1f}% on {len(held_out)} held-out digits\n")
    print("| samples | confident (p ≥ 0.9) | digits among the confident | Fréchet distance |")
    print("|---|---:|---|---:|")
    rows = []
    for argument in arguments:
        started, seconds = time.perf_counter(), None
        if argument.endswith(".yaml"):
            gan = engine.run(argument, trace=False)
            seconds, name = time.perf_counter() - started, Path(argument).name
        else:
            gan, name = engine.load_run(argument), Path(argument).name
        samples = gan.generate(SAMPLES, seed=0)
        images = ((samples + 1.0) / 2.0).reshape(-1, 1, 8, 8)  # [-1, 1] -> the CNN's [0, 1]
        measured = measure(cnn, images, train)
        rows.append({"samples": name, "seconds": seconds, **_numbers(*measured)})
        print(row(name, *measured))
    measured = measure(cnn, held_out, train)
    rows.append({"samples": "held-out real digits", "seconds": None, **_numbers(*measured)})
    print(row("held-out real digits", *measured))
    if json_path is not None:
        json_path.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")


def _numbers(confident: float, counts: list[int], distance: float) -> dict:
    return {"confident": confident, "counts": counts, "frechet": distance}


if __name__ == "__main__":
    main(sys.argv[1:])
