"""The walkthrough scenario of the spine issue, verbatim, checked against a hand derivation.

The expected numbers are derived here from the formulas, with plain Python floats, not with
the engine's code: z = Σ_i x_i W_ij + b_j, a = σ(z), E = ½ Σ (y - a)², and the chain rule.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import engine
from engine.trace import read_trace
from tests.conftest import WALKTHROUGH


def sigmoid(z):
    return 1.0 / (1.0 + math.exp(-z))


@pytest.fixture(scope="module")
def walkthrough(tmp_path_factory):
    path = tmp_path_factory.mktemp("walk") / "trace.jsonl"
    result = engine.run(WALKTHROUGH, trace=path)
    return result, read_trace(path)


def _records(trace, step, kind):
    return {
        r.get("layer") or r.get("param"): r for r in trace.step_records(step) if r["type"] == kind
    }


def test_step0_matches_a_hand_derivation(walkthrough):
    _, trace = walkthrough
    forward = _records(trace, 0, "forward")
    updates = _records(trace, 0, "update")
    x = [0.05, 0.10]
    W1 = [[0.1, 0.3], [0.2, 0.4]]
    b1 = [0.5, 0.5]
    z1 = [x[0] * W1[0][j] + x[1] * W1[1][j] + b1[j] for j in range(2)]
    h = [sigmoid(v) for v in z1]
    assert forward["hidden"]["values"]["z"][0] == pytest.approx(z1, abs=1e-15)
    assert forward["hidden"]["values"]["a"][0] == pytest.approx(h, abs=1e-15)
    # the output layer's initial W/b were drawn from the seed; read them from its update record
    W2 = updates["output.W"]["before"]
    b2 = updates["output.b"]["before"]
    z2 = [h[0] * W2[0][j] + h[1] * W2[1][j] + b2[j] for j in range(2)]
    out = [sigmoid(v) for v in z2]
    target = [0.01, 0.99]
    error = sum(0.5 * (t - o) ** 2 for t, o in zip(target, out))
    loss = next(r for r in trace.step_records(0) if r["type"] == "loss")
    assert loss["value"] == pytest.approx(error, rel=1e-14)
    # backward: δ_o = (o - t)·o(1 - o);  dE/dW2[i][j] = h_i δ_o_j
    delta_o = [(out[j] - target[j]) * out[j] * (1 - out[j]) for j in range(2)]
    backward = _records(trace, 0, "backward")
    assert backward["output"]["values"]["dL/dz"][0] == pytest.approx(delta_o, rel=1e-13)
    dW2 = [[h[i] * delta_o[j] for j in range(2)] for i in range(2)]
    assert np.allclose(backward["output"]["values"]["dL/dW"], dW2, rtol=1e-13, atol=0)
    # δ_h = (Σ_j δ_o_j W2[i][j]) · h_i(1 - h_i);  dE/dW1[i][j] = x_i δ_h_j
    delta_h = [sum(delta_o[j] * W2[i][j] for j in range(2)) * h[i] * (1 - h[i]) for i in range(2)]
    dW1 = [[x[i] * delta_h[j] for j in range(2)] for i in range(2)]
    assert np.allclose(backward["hidden"]["values"]["dL/dW"], dW1, rtol=1e-12, atol=0)
    # SGD: W <- W - 0.5 dE/dW
    after = np.array(W1) - 0.5 * np.array(dW1)
    assert np.allclose(updates["hidden.W"]["after"], after, rtol=0, atol=1e-16)


def test_trace_layout(walkthrough):
    result, trace = walkthrough
    assert trace.header["scenario"]["name"] == "two-layer-walkthrough"
    assert trace.traced_steps == [0, 1, 99]
    kinds = [r["type"] for r in trace.step_records(0)]
    assert kinds == [
        "step",
        "forward",
        "forward",
        "loss",
        "backward",
        "backward",
        "update",
        "update",
        "update",
        "update",
        "learned",  # what the network computes after the updates (plugins/supervised/learned.py)
    ]
    assert [r["layer"] for r in trace.step_records(0) if r["type"] == "backward"] == [
        "output",
        "hidden",
    ]
    assert trace.end["status"] == "completed"
    assert len(trace.scalars["loss"]) == 100
    assert [h["loss"] for h in result.history] == trace.scalars["loss"]


def test_value_after_update_is_value_before_next_use(walkthrough):
    _, trace = walkthrough
    step0, step1 = _records(trace, 0, "update"), _records(trace, 1, "update")
    for key in step0:
        assert step0[key]["after"] == step1[key]["before"]


def test_training_lowers_the_error(walkthrough):
    result, _ = walkthrough
    assert result.history[-1]["loss"] < 0.1 * result.history[0]["loss"]
    prediction = result.predict([[0.05, 0.10]])
    assert prediction.shape == (1, 2)
    assert abs(prediction[0, 0] - 0.01) < 0.1 and abs(prediction[0, 1] - 0.99) < 0.1
    assert set(result.params) == {"hidden.W", "hidden.b", "output.W", "output.b"}
