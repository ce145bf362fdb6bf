"""What a user waits for: a scenario file read, validated, built, trained and traced.

``write_scenario`` writes a benchmark network as a student would hand it over: its data
inline (x ~ N(0, I), y = tanh(x·A/√features) for a random A, the ``teacher`` rule) and its
initial weights written out as numbers, with the default trace (steps 0 and the last, and
every step's scalars). The runs timed on it:

- ``engine_seconds``: ``engine.run(path, trace=...)`` from the call to its return, so
  reading, validating and building the scenario and writing the trace are counted;
- ``command_seconds``: ``python -m engine run FILE --trace ...`` (the ``tracegrad run``
  command) in a fresh process, from its start to the moment its summary line is printed;
- ``load_seconds``: ``engine.load_scenario`` and the build of the network and data alone.

The baselines (a hand-written numpy loop, JAX, PyTorch) train from the arrays in memory, so
they are timed on their training loop alone.
"""

from __future__ import annotations

import itertools
import math
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import workloads
import yaml

import engine
from plugins.supervised.build import build

ROOT = Path(__file__).resolve().parent.parent
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_runs = itertools.count()


@dataclass
class Written:
    """A scenario file and the arrays written into it: data and [W1, b1, W2, b2, W3, b3]."""

    path: Path
    x: np.ndarray
    y: np.ndarray
    params: list[np.ndarray]
    batch: int
    inline: bool = True

    @property
    def numbers(self) -> int:
        """Numbers written in the file."""
        if not self.inline:
            return 0
        return self.x.size + self.y.size + sum(p.size for p in self.params)


def write_scenario(
    folder: Path,
    features: int,
    hidden: int,
    outputs: int,
    samples: int,
    batch: int,
    steps: int,
    precision: str = "float64",
    name: str | None = None,
) -> Written:
    """A ``features-hidden-hidden-outputs`` tanh network, MSE, Adam lr 1e-3, all inline."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(samples, features))
    A = rng.normal(size=(features, outputs))
    y = np.tanh(x @ A / math.sqrt(features))
    sizes = [features, hidden, hidden, outputs]
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        limit = math.sqrt(6.0 / (fan_in + fan_out))  # xavier_uniform
        params += [rng.uniform(-limit, limit, (fan_in, fan_out)), np.zeros(fan_out)]
    layers = []
    for i, (layer, units) in enumerate(zip(("hidden1", "hidden2", "output"), sizes[1:])):
        entry = {"type": "dense", "name": layer, "units": units}
        if layer != "output":
            entry["activation"] = "tanh"
        entry["init"] = {"W": params[2 * i].tolist(), "b": params[2 * i + 1].tolist()}
        layers.append(entry)
    name = name or f"e2e-{features}-{hidden}-{hidden}-{outputs}-{precision}"
    scenario = {
        "name": name,
        "seed": 0,
        "precision": precision,
        "data": {"type": "inline", "x": x.tolist(), "y": y.tolist()},
        "model": {"layers": layers},
        "loss": {"type": "mse"},
        "optimizer": {"type": "adam", "lr": 1e-3},
        "train": {"steps": steps, "batch_size": batch},
    }
    path = folder / f"{name}.yaml"
    folder.mkdir(parents=True, exist_ok=True)
    text = yaml.dump(scenario, Dumper=_Dumper, sort_keys=False, default_flow_style=None)
    path.write_text(text, encoding="utf-8")
    return Written(path, x, y, params, batch)


def write_generated(folder: Path, net, steps: int, precision: str = "float64") -> Written:
    """A benchmark network whose data and weights are drawn when it is built (the ``teacher``
    data set and the layers' initializers), for networks too big to write out."""
    scenario = workloads.scenario_dict(net, steps, precision=precision)
    scenario["name"] = f"e2e-{net.shape}-{precision}"
    path = folder / f"{scenario['name']}.yaml"
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.dump(scenario, Dumper=_Dumper, sort_keys=False), encoding="utf-8")
    x, y, params = workloads.starting_point(engine.load_scenario(path))
    return Written(path, x, y, params, net.batch, inline=False)


def _trace_path(folder: Path) -> Path:
    return folder / f"run-{next(_runs)}" / "trace.jsonl"


def engine_seconds(path: Path, folder: Path) -> float:
    """``engine.run`` of the file with the default trace, from the call to its return."""
    began = time.perf_counter()
    result = engine.run(path, trace=_trace_path(folder))
    seconds = time.perf_counter() - began
    if result.status != "completed":
        raise RuntimeError(f"benchmark run {result.status}: {result.message}")
    return seconds


def command_seconds(path: Path, folder: Path) -> float:
    """``tracegrad run`` in a fresh process: from its start to its summary line."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    trace = str(_trace_path(folder))
    command = [sys.executable, "-m", "engine", "run", str(path), "--trace", trace]
    began = time.perf_counter()
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment
    ) as process:
        for line in process.stdout:
            if ": completed," in line:
                seconds = time.perf_counter() - began
                break
        else:
            raise RuntimeError(f"tracegrad run gave no summary: {process.stderr.read()}")
        process.wait()
    return seconds


def load_seconds(path: Path) -> float:
    """Reading, validating and building the scenario (network, data, optimizer)."""
    began = time.perf_counter()
    build(engine.load_scenario(path))
    return time.perf_counter() - began


COLD_LOAD = """
import sys, time
began = time.perf_counter()
import engine
from plugins.supervised.build import build
imported = time.perf_counter()
build(engine.load_scenario(sys.argv[1]))
print(imported - began, time.perf_counter() - imported)
"""


def cold_load_seconds(path: Path) -> tuple[float, float]:
    """In a fresh process: (seconds to import the engine, seconds of the first load+build)."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    output = subprocess.run(
        [sys.executable, "-c", COLD_LOAD, str(path)],
        capture_output=True,
        text=True,
        check=True,
        env=environment,
    ).stdout
    imported, loaded = (float(word) for word in output.split())
    return imported, loaded
