"""sha256 digests of every bundled scenario's trace, the guard of refactors.

Each scenario runs for a few steps (``STEPS``; GANs also measure and trace every ``EVERY``
steps) and its trace is hashed with the header's version fields and the end record's
integrity digest (which covers them) left out, so a digest changes only when what the engine
computes or writes changes. ``python -m tests.trace_digests`` prints
the current digests as JSON; ``tests/trace_digests.json`` holds the recorded ones.

The last bit of a float depends on the CPU's kernels: OpenBLAS picks its matrix-product code
by CPU, and NumPy dispatches exp, tanh and friends to AVX-512 code where the CPU has it. So
the digests are computed in a subprocess with both pinned to the AVX2 (x86-64-v3) code paths
(``PINNED``), which every x86-64 machine since 2013 runs bit for bit alike.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import engine
from benchmarks.pinned import PINNED

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
RECORDED = Path(__file__).with_name("trace_digests.json")
STEPS, EVERY = 24, 8
VERSION_FIELDS = ("tracegrad_version", "numpy_version", "python_version", "providers")


def bundled() -> list[Path]:
    return sorted(SCENARIOS.rglob("*.yaml"))


def overrides_for(path: Path, precision: str) -> dict:
    scenario = engine.load_scenario(path)
    spec = scenario.spec
    overrides = {"train.steps": min(spec.train.steps, STEPS), "precision": precision}
    if hasattr(spec, "metrics"):
        overrides["metrics.every"] = EVERY
        overrides["trace.every"] = EVERY
    return overrides


def digest(path: Path, precision: str = "float64") -> str:
    with tempfile.TemporaryDirectory() as folder:
        trace = Path(folder) / "trace.jsonl"
        engine.run(path, trace=trace, overrides=overrides_for(path, precision))
        lines = trace.read_bytes().splitlines(keepends=True)
    header = json.loads(lines[0])
    for field in VERSION_FIELDS:
        header.pop(field, None)
    lines[0] = json.dumps(header, sort_keys=True).encode() + b"\n"
    # the end record's integrity digest (its last field) covers the versions too
    lines[-1] = re.sub(rb',\s*"integrity":\s*\{[^{}]*\}\}\n$', b"}\n", lines[-1])
    return hashlib.sha256(b"".join(lines)).hexdigest()


def current() -> dict[str, str]:
    digests = {}
    for path in bundled():
        name = str(path.relative_to(SCENARIOS))
        for precision in ("float64", "float32"):
            digests[f"{name} {precision}"] = digest(path, precision)
    return digests


def pinned_current() -> dict[str, str]:
    """``current()`` computed in a subprocess on the pinned code paths."""
    env = {**os.environ, **PINNED, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "tests.trace_digests", "--here"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"computing the digests failed:\n{done.stderr}")
    return json.loads(done.stdout)


if __name__ == "__main__":
    digests = current() if "--here" in sys.argv else pinned_current()
    json.dump(digests, sys.stdout, indent=2, sort_keys=True)
    print()
