"""Same scenario + seed + version: the same trace, byte for byte, and the same parameters,
even across processes; independent random streams per purpose."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

import engine
from engine.seeds import SeedTree
from tests.conftest import ROOT

SCENARIO = {
    "name": "repro",
    "seed": 11,
    "data": {"type": "xor", "noise": 0.1, "repeat": 16},
    "model": {
        "layers": [
            {"type": "dense", "name": "hidden", "units": 4, "activation": "tanh"},
            {"type": "dense", "name": "output", "units": 1, "activation": "sigmoid"},
        ]
    },
    "loss": {"type": "bce"},
    "optimizer": {"type": "sgd", "lr": 0.5, "momentum": 0.9},
    "train": {"steps": 40, "batch_size": 8},
    "trace": {"every": 10},
}


def _run_in_subprocess(path, trace):
    code = f"import engine; engine.run({str(path)!r}, trace={str(trace)!r})"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_identical_traces_across_two_processes(tmp_path):
    import yaml

    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(SCENARIO))
    _run_in_subprocess(path, tmp_path / "a" / "t.jsonl")  # each run in its own folder
    _run_in_subprocess(path, tmp_path / "b" / "t.jsonl")
    first, second = (
        (tmp_path / "a" / "t.jsonl").read_bytes(),
        (tmp_path / "b" / "t.jsonl").read_bytes(),
    )
    assert first == second and len(first) > 10_000


def test_identical_parameters_in_process():
    a, b = engine.run(SCENARIO, trace=False), engine.run(SCENARIO, trace=False)
    for key in a.params:
        assert np.array_equal(a.params[key], b.params[key])


def test_trace_settings_do_not_shift_random_draws():
    a = engine.run(SCENARIO, trace=False)
    b = engine.run(SCENARIO, trace=False, overrides={"trace.every": 1, "trace.max_values": 3})
    for key in a.params:
        assert np.array_equal(a.params[key], b.params[key])


def test_a_different_seed_changes_the_run():
    a = engine.run(SCENARIO, trace=False)
    b = engine.run(SCENARIO, trace=False, overrides={"seed": 12})
    assert not np.array_equal(a.params["hidden.W"], b.params["hidden.W"])


def test_streams_per_purpose_are_stable_and_independent():
    tree = SeedTree(5)
    init_alone = tree.generator("init").normal(size=4)
    fresh = SeedTree(5)
    fresh.generator("dropout").normal(size=100)  # using another purpose first...
    assert np.array_equal(fresh.generator("init").normal(size=4), init_alone)  # ...changes nothing
    assert not np.array_equal(tree.generator("data").normal(size=4), init_alone)


def test_header_records_versions_and_scenario_hash(tmp_path):
    from engine.trace import read_trace

    result = engine.run(SCENARIO, trace=tmp_path / "t.jsonl")
    header = read_trace(result.trace_path).header
    assert header["tracegrad_version"] == engine.__version__
    assert header["numpy_version"] == np.__version__
    assert header["python_version"].count(".") == 2
    assert header["seed"] == 11 and header["seed_entropy"] == 11
    assert len(header["scenario_hash"]) == 64
