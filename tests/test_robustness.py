"""A run never loses its data: divergence ends with status failed and the offending step
traced; SIGINT/SIGTERM end with status interrupted, the folder intact, parameters saved."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import engine
from engine.trace import read_trace
from tests.conftest import ROOT

DIVERGING = {
    "name": "diverging",
    "seed": 0,
    "data": {"type": "inline", "x": [[1.0, 2.0], [3.0, 4.0]], "y": [[10.0], [20.0]]},
    "model": {
        "layers": [
            {"type": "dense", "name": "hidden", "units": 4},
            {"type": "dense", "name": "output", "units": 1},
        ]
    },
    "loss": {"type": "mse"},
    "optimizer": {"type": "sgd", "lr": 5.0},
    "train": {"steps": 500},
}


def test_divergence_fails_with_a_useful_message_and_a_traced_step(tmp_path):
    result = engine.run(DIVERGING, trace=tmp_path / "t.jsonl")
    assert result.status == "failed"
    assert "learning rate (5)" in result.message
    failing_step = result.steps_completed
    assert f"at step {failing_step}" in result.message
    trace = read_trace(result.trace_path)
    assert trace.end["status"] == "failed" and trace.end["message"] == result.message
    assert failing_step in trace.traced_steps  # traced in full though not a traced step
    kinds = {r["type"] for r in trace.step_records(failing_step)}
    assert {"forward", "loss", "backward"} <= kinds
    backward = [r for r in trace.step_records(failing_step) if r["type"] == "backward"]
    assert all(r["values"]["dL/dx"] is not None for r in backward)  # the first layer's too
    assert (tmp_path / "params.npz").exists()


def test_divergence_exits_with_status_1(cli, tmp_path):
    import yaml

    path = tmp_path / "d.yaml"
    path.write_text(yaml.safe_dump(DIVERGING))
    result = cli("run", path, "--trace", tmp_path / "t.jsonl", "-q")
    assert result.code == 1 and "failed" in result.out and "Traceback" not in result.err


LONG = """
name: long
seed: 0
data: {type: xor, repeat: 64}
model:
  layers:
    - {type: dense, name: hidden, units: 64, activation: tanh}
    - {type: dense, name: output, units: 1, activation: sigmoid}
loss: {type: bce}
optimizer: {type: sgd, lr: 0.1}
train: {steps: 10000000, batch_size: 4}
trace: {every: 1000}
"""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_ends_the_run_cleanly(tmp_path, sig):
    path = tmp_path / "long.yaml"
    path.write_text(LONG)
    run_dir = tmp_path / "run"
    process = subprocess.Popen(
        [sys.executable, "-m", "engine", "run", str(path), "--run-dir", str(run_dir), "-q"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    trace_path = run_dir / "trace.jsonl"
    deadline = time.time() + 60
    while time.time() < deadline:  # wait until a few scalar chunks are written
        if trace_path.exists() and trace_path.read_text().count('"scalars"') >= 3:
            break
        time.sleep(0.05)
    process.send_signal(sig)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "Traceback" not in err
    assert "long: interrupted" in out
    trace = read_trace(trace_path)
    assert trace.end["status"] == "interrupted"
    assert trace.end["steps_completed"] >= 300
    assert len(trace.scalars["loss"]) == trace.end["steps_completed"]
    with np.load(run_dir / "params.npz") as params:
        assert params["hidden.W"].shape == (2, 64)
    assert json.loads(trace_path.read_text().splitlines()[-1])["type"] == "end"
