"""The verifier's rules for the image layers: a clean trace verifies, and every number of an
image layer's records, changed alone, makes some claim disagree. The trace's worked examples
read like the textbook and hold the numbers of the arrays beside them."""

from __future__ import annotations

import json
import random
import re

import numpy as np
import pytest

import engine
from engine.trace.tensors import decode
from engine.verify import verify_trace
from tests import broken_traces as broken

IMAGE_KINDS = {
    "conv2d",
    "conv_transpose2d",
    "max_pool2d",
    "avg_pool2d",
    "upsample2d",
    "flatten",
    "reshape",
}

SCENARIO = {
    "name": "verify_images",
    "seed": 3,
    "data": {"type": "digits", "image": True, "samples": 40},
    "model": {
        "layers": [
            {
                "type": "conv2d",
                "name": "conv1",
                "channels": 2,
                "kernel_size": 3,
                "padding": 1,
                "activation": "relu",
            },
            {"type": "max_pool2d", "name": "pool1", "kernel_size": 2},
            {
                "type": "conv2d",
                "name": "conv2",
                "channels": 3,
                "kernel_size": 2,
                "stride": 2,
                "bias": False,
            },
            {"type": "upsample2d", "name": "up", "scale": 2},
            {"type": "avg_pool2d", "name": "pool2", "kernel_size": 3, "stride": 1},
            {
                "type": "conv_transpose2d",
                "name": "grow",
                "channels": 2,
                "kernel_size": 3,
                "stride": 2,
                "padding": 1,
                "activation": "tanh",
            },
            {"type": "flatten", "name": "flat"},
            {"type": "reshape", "name": "again", "shape": [2, 3, 3]},
            {"type": "flatten", "name": "flat2"},
            {"type": "dense", "name": "out", "units": 10, "activation": "softmax"},
        ]
    },
    "loss": {"type": "cross_entropy"},
    "optimizer": {"type": "sgd", "lr": 0.1},
    "train": {"steps": 3, "batch_size": 3},
    "trace": {"every": 1, "max_values": 10_000},
}
# conv1 (2, 8, 8) -> pool1 (2, 4, 4) -> conv2 (3, 2, 2) -> up (3, 4, 4) -> pool2 (3, 2, 2)
# -> grow (2, 3, 3) -> flat 18 -> again (2, 3, 3) -> flat2 18 -> out 10


@pytest.fixture(scope="module")
def trace(tmp_path_factory):
    path = tmp_path_factory.mktemp("images") / "trace.jsonl"
    result = engine.run(SCENARIO, trace=path)
    assert result.status == "completed"
    return path


def test_a_clean_trace_verifies(trace):
    report = verify_trace(trace)
    assert report.ok, report.disagreements
    assert report.claims > 100
    assert not any("not known to the verifier" in reason for reason in report.skipped)
    assert not any("summar" in reason for reason in report.skipped)


def numbers(value, path=()):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from numbers(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from numbers(item, (*path, index))
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield path


def test_changing_any_number_of_an_image_layer_is_caught(trace, tmp_path):
    records = broken.read_records(trace)
    kinds = {layer["name"]: layer["type"] for layer in records[0]["network"]}
    places = [
        (i, path)
        for i, record in enumerate(records)
        if record["type"] in ("forward", "backward") and kinds[record["layer"]] in IMAGE_KINDS
        for path in numbers(record["values"], ("values",))
    ]
    out = tmp_path / "changed.jsonl"
    for i, path in random.Random(0).sample(places, 60):
        changed = json.loads(json.dumps(records))
        holder = changed[i]
        for key in path[:-1]:
            holder = holder[key]
        holder[path[-1]] += abs(holder[path[-1]]) * 1e-3 + 1e-6
        report = verify_trace(broken.write_records(changed, out))
        assert not report.ok, f"{records[i]['type']} {records[i]['layer']} {path}: not caught"


def _last_number(text: str) -> float:
    return float(re.findall(r"= (-?[\d.e+-]+)$", text)[0])


def test_the_worked_examples_read_like_the_textbook(trace):
    records = broken.read_records(trace)
    forward = next(r for r in records if r["type"] == "forward" and r["layer"] == "conv1")
    z = decode(forward["values"]["z"])
    i, j = z.shape[2] // 2, z.shape[3] // 2
    assert forward["worked"].startswith(f"z[0, 0, {i}, {j}] = Σ W[0] ⊙ x_p[0, :, ")
    assert _last_number(forward["worked"]) == pytest.approx(z[0, 0, i, j], rel=1e-3, abs=1e-4)
    backward = next(r for r in records if r["type"] == "backward" and r["layer"] == "conv1")
    weights, inputs = backward["worked"].split("; ")
    dW = decode(backward["values"]["dL/dW"])
    assert weights.startswith("dL/dW[0, 0, 0, 0] = Σ_{n,i,j} dL/dz[n, 0, i, j]·x_p[n, 0, i, j]")
    assert _last_number(weights) == pytest.approx(dW[0, 0, 0, 0], rel=1e-3, abs=1e-4)
    h, w = map(int, re.match(r"dL/dx\[0, 0, (\d+), (\d+)\]", inputs).groups())
    dx = decode(backward["values"]["dL/dx"])
    assert _last_number(inputs) == pytest.approx(dx[0, 0, h, w], rel=1e-3, abs=1e-4)
    pool = next(r for r in records if r["type"] == "backward" and r["layer"] == "pool1")
    mask, x = (
        decode(pool["values"]["mask"]),
        decode(
            next(r for r in records if r["type"] == "forward" and r["layer"] == "pool1")["values"][
                "x"
            ]
        ),
    )
    assert set(np.unique(mask)) <= {0.0, 1.0}
    window = (0, 0, slice(4, 6), slice(4, 6))  # the middle window of 4×4 outputs: (2, 2)
    assert mask[window].sum() == 1
    u, v = np.argwhere(mask[window])[0]
    assert x[window][u, v] == x[window].max()
    assert "window (2, 2) of x[0, 0], rows 4..5 and columns 4..5" in pool["worked"]
    assert f"is at ({u}, {v}), so dL/dx[0, 0, {4 + u}, {4 + v}] receives" in pool["worked"]


def test_large_arrays_are_summarized_and_their_claims_skipped(tmp_path):
    path = tmp_path / "trace.jsonl"
    engine.run({**SCENARIO, "trace": {"steps": [0], "max_values": 16}}, trace=path)
    records = broken.read_records(path)
    forward = next(r for r in records if r["type"] == "forward" and r["layer"] == "conv1")
    assert forward["values"]["z"]["summary"] and forward["values"]["z"]["shape"] == [3, 2, 8, 8]
    report = verify_trace(path)
    assert report.ok
    assert any("summar" in reason for reason in report.skipped)
