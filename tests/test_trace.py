"""The trace: which steps, summaries of large arrays, scalars, reading back, torn lines."""

from __future__ import annotations

import json

import numpy as np
import pytest

import engine
from engine.errors import TraceError
from engine.trace import read_trace
from engine.trace.tensors import Summary, decode, encode

WIDE = {
    "name": "wide",
    "seed": 0,
    "data": {"type": "xor", "repeat": 8},
    "model": {
        "layers": [
            {"type": "dense", "name": "hidden", "units": 40, "activation": "relu"},
            {"type": "dense", "name": "output", "units": 1},
        ]
    },
    "loss": {"type": "bce_with_logits"},
    "optimizer": {"type": "sgd", "lr": 0.1},
    "train": {"steps": 250, "batch_size": 8},
}


def test_small_arrays_round_trip_exactly():
    values = np.random.default_rng(0).normal(size=(3, 4))
    encoded = json.loads(json.dumps(encode(values, 64)))
    assert np.array_equal(decode(encoded), values)


def test_large_arrays_are_summarized():
    values = np.arange(100.0).reshape(10, 10)
    summary = decode(encode(values, 64))
    assert isinstance(summary, Summary)
    assert summary.shape == (10, 10) and summary.size == 100
    assert summary.min == 0 and summary.max == 99 and summary.mean == pytest.approx(49.5)
    assert summary.l2 == pytest.approx(np.linalg.norm(values))
    assert summary.head == tuple(range(8))


def test_default_policy_traces_first_and_last_step(tmp_path):
    result = engine.run(WIDE, trace=tmp_path / "t.jsonl")
    trace = read_trace(result.trace_path)
    assert trace.traced_steps == [0, 249]
    assert len(trace.scalars["loss"]) == 250
    assert trace.scalars["step"] == list(range(250))
    hidden_w = next(
        r for r in trace.step_records(0) if r["type"] == "update" and r["param"] == "hidden.W"
    )
    assert hidden_w["before"]["summary"] and hidden_w["before"]["shape"] == [2, 40]
    assert "accuracy" in trace.end["metrics"]


def test_every_and_explicit_steps(tmp_path):
    result = engine.run(
        WIDE,
        trace=tmp_path / "t.jsonl",
        overrides={"trace.every": 100, "trace.steps": [7], "trace.last": False},
    )
    assert read_trace(result.trace_path).traced_steps == [0, 7, 100, 200]


def test_trace_can_be_written_into_a_run_folder(tmp_path):
    result = engine.run(WIDE, run_dir=tmp_path / "run", overrides={"train.steps": 3})
    folder = tmp_path / "run"
    assert result.run_dir == folder
    assert {p.name for p in folder.iterdir()} == {"trace.jsonl", "scenario.yaml", "params.npz"}
    with np.load(folder / "params.npz") as saved:
        assert np.array_equal(saved["hidden.W"], result.params["hidden.W"])
    resolved = engine.load_scenario(folder / "scenario.yaml")
    assert resolved.resolved() == result.scenario.resolved()


def test_history_has_per_layer_gradient_norms(tmp_path):
    result = engine.run(WIDE, trace=False, overrides={"train.steps": 2})
    first = result.history[0]
    assert set(first) >= {"step", "loss", "lr", "grad_norm.hidden", "grad_norm.output"}
    assert result.trace_path is None


def test_reader_tolerates_a_torn_last_line(tmp_path):
    path = engine.run(WIDE, trace=tmp_path / "t.jsonl", overrides={"train.steps": 3}).trace_path
    text = path.read_text()
    lines = text.splitlines()
    path.write_text("\n".join(lines[:-1]) + "\n" + lines[-1][: len(lines[-1]) // 2])
    trace = read_trace(path)
    assert trace.end is None and trace.status == "incomplete"
    assert any("cut off" in w for w in trace.warnings)


def test_reader_rejects_a_damaged_middle_line(tmp_path):
    path = engine.run(WIDE, trace=tmp_path / "t.jsonl", overrides={"train.steps": 3}).trace_path
    lines = path.read_text().splitlines()
    lines[2] = lines[2][:10]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(TraceError, match=":3"):
        read_trace(path)


def test_reader_rejects_a_file_that_is_not_a_trace(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text('{"type": "forward"}\n')
    with pytest.raises(TraceError, match="not a header"):
        read_trace(path)
    with pytest.raises(TraceError, match="no trace"):
        read_trace(tmp_path / "missing.jsonl")
