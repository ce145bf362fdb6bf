"""Stochastic layers: dropout and gaussian_noise (masks and noise replayed for gradcheck)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import engine
from engine.components import BuildContext
from engine.errors import ScenarioError
from engine.gradcheck import check_layer, check_scenario
from engine.network import build_network
from engine.plugins import load_registry
from engine.seeds import SeedTree
from engine.trace.reader import read_trace
from engine.trace.tensors import decode


@pytest.fixture(scope="module")
def registry():
    return load_registry(autoload=False)


def make_layer(registry, spec: dict, features: int, seed: int = 0, total_steps: int = 10):
    """Validate ``spec`` as a scenario would and build it for ``features`` inputs."""
    config = registry.get("layers", spec["type"]).config.model_validate(
        spec, context={"registry": registry}
    )
    ctx = BuildContext(SeedTree(seed), registry, total_steps=total_steps)
    network = build_network([config], features, ctx, lambda path: "<test>")
    return network.layers[0]


def assert_gradients_ok(layer, x, training=True):
    results = check_layer(layer, x, training=training)
    assert results
    for result in results:
        assert result.ok(1e-6), f"{result.name}: relative error {result.error:.2e}"


@pytest.mark.parametrize("spec", [{"type": "dropout"}, {"type": "gaussian_noise", "std": 0.1}])
def test_the_layers_are_registered_without_parameters(registry, spec):
    assert registry.get("layers", spec["type"]).plugin == "plugins.noise"
    assert make_layer(registry, spec, 2).params == {}


# --- dropout ---------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(1, 1), (4, 3), (8, 5)])
@pytest.mark.parametrize("rate", [0.0, 0.25, 0.5, 0.9])
def test_dropout_gradients_with_the_mask_replayed(registry, shape, rate):
    layer = make_layer(registry, {"type": "dropout", "rate": rate}, shape[1])
    x = np.random.default_rng(1).normal(size=shape)
    assert_gradients_ok(layer, x)


def test_dropout_forward_is_inverted_dropout(registry):
    p = 0.25
    layer = make_layer(registry, {"type": "dropout", "rate": p}, 400)
    x = np.random.default_rng(2).normal(size=(250, 400))
    a = layer.forward(x, training=True)
    values = layer.forward_values()
    assert list(values) == ["x", "mask", "a"]
    mask = values["mask"]
    assert set(np.unique(mask)) == {0.0, 1.0}
    np.testing.assert_array_equal(a, x * mask / (1 - p))
    # 100 000 Bernoulli(0.75) draws: the kept fraction is 0.75 ± 0.0014 (one std); 0.01 is 7σ
    assert abs(mask.mean() - (1 - p)) < 0.01
    # scaling by 1/(1 - p) keeps the expectation: E[a] = x
    ones = np.ones((250, 400))
    assert abs(layer.forward(ones, training=True).mean() - 1.0) < 0.02
    grad = np.random.default_rng(3).normal(size=x.shape)
    layer.forward(x, training=True)
    np.testing.assert_array_equal(layer.backward(grad), grad * layer.cache["mask"] / (1 - p))


def test_dropout_is_identity_in_evaluation(registry):
    layer = make_layer(registry, {"type": "dropout", "rate": 0.5}, 3)
    x = np.random.default_rng(4).normal(size=(5, 3))
    np.testing.assert_array_equal(layer.forward(x, training=False), x)
    grad = np.ones((5, 3))
    np.testing.assert_array_equal(layer.backward(grad), grad)
    assert "mask" not in layer.forward_values()


def test_dropout_rate_zero_keeps_everything(registry):
    layer = make_layer(registry, {"type": "dropout", "rate": 0.0}, 3)
    x = np.random.default_rng(5).normal(size=(5, 3))
    np.testing.assert_array_equal(layer.forward(x, training=True), x)
    np.testing.assert_array_equal(layer.forward_values()["mask"], np.ones((5, 3)))


def test_dropout_keep_in_eval_drops_at_generation_time(registry):
    layer = make_layer(registry, {"type": "dropout", "rate": 0.5, "keep_in_eval": True}, 50)
    x = np.ones((4, 50))
    first, second = layer.forward(x, training=False), layer.forward(x, training=False)
    assert set(np.unique(first)) == {0.0, 2.0}
    assert not np.array_equal(first, second)  # a fresh mask each call: 200 coin flips


def test_dropout_evaluation_does_not_shift_the_training_masks(registry):
    x = np.ones((3, 20))
    plain = make_layer(registry, {"type": "dropout", "keep_in_eval": True}, 20, seed=9)
    interleaved = make_layer(registry, {"type": "dropout", "keep_in_eval": True}, 20, seed=9)
    for _ in range(3):
        expected = plain.forward(x, training=True)
        interleaved.forward(x, training=False)  # an evaluation between training steps
        np.testing.assert_array_equal(interleaved.forward(x, training=True), expected)


def test_dropout_masks_come_from_the_seed(registry):
    x = np.ones((6, 10))
    a = make_layer(registry, {"type": "dropout"}, 10, seed=1).forward(x, training=True)
    b = make_layer(registry, {"type": "dropout"}, 10, seed=1).forward(x, training=True)
    c = make_layer(registry, {"type": "dropout"}, 10, seed=2).forward(x, training=True)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("rate", [1.0, -0.1, 1.5])
def test_dropout_rate_must_be_a_probability_below_one(rate):
    with pytest.raises(ScenarioError, match="rate"):
        engine.load_scenario(scenario({"type": "dropout", "rate": rate}))


# --- gaussian noise --------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(1, 1), (4, 3), (7, 5)])
def test_gaussian_noise_gradients_with_the_noise_replayed(registry, shape):
    layer = make_layer(registry, {"type": "gaussian_noise", "std": 0.7}, shape[1])
    assert_gradients_ok(layer, np.random.default_rng(6).normal(size=shape))


def test_gaussian_noise_adds_the_traced_noise(registry):
    layer = make_layer(registry, {"type": "gaussian_noise", "std": 0.3}, 200)
    x = np.random.default_rng(7).normal(size=(300, 200))
    a = layer.forward(x, training=True)
    values = layer.forward_values()
    assert list(values) == ["x", "std", "noise", "a"]
    assert values["std"] == 0.3
    np.testing.assert_array_equal(a, x + values["noise"])
    # 60 000 draws: the sample std is within 0.3 ± 0.3/√(2·60000) ≈ 0.0009 (one std)
    assert abs(values["noise"].std() - 0.3) < 0.005
    assert abs(values["noise"].mean()) < 0.005
    grad = np.ones_like(x)
    np.testing.assert_array_equal(layer.backward(grad), grad)


def test_gaussian_noise_is_identity_in_evaluation(registry):
    layer = make_layer(registry, {"type": "gaussian_noise", "std": 1.0}, 3)
    x = np.random.default_rng(8).normal(size=(4, 3))
    np.testing.assert_array_equal(layer.forward(x, training=False), x)


@pytest.mark.parametrize(
    "schedule, middle",
    [
        ("constant", 0.8),
        ("linear", (0.8 + 0.2) / 2),  # halfway between
        ("cosine", (0.8 + 0.2) / 2),  # cos(π/2) = 0: also halfway
        ("exponential", math.sqrt(0.8 * 0.2)),  # geometric mean
    ],
)
def test_gaussian_noise_annealing(registry, schedule, middle):
    spec = {"type": "gaussian_noise", "std": 0.8, "schedule": schedule}
    if schedule != "constant":
        spec["end_std"] = 0.2
    layer = make_layer(registry, spec, 2, total_steps=11)  # steps 0..10, middle 5
    stds = []
    for step in (0, 5, 10):
        layer.ctx.step = step
        stds.append(layer.std())
    end = 0.8 if schedule == "constant" else 0.2
    np.testing.assert_allclose(stds, [0.8, middle, end], rtol=1e-12)
    if schedule == "cosine":  # slower than linear at first: cos is flat near 0
        layer.ctx.step = 1
        assert layer.std() > 0.8 - 0.06


def test_gaussian_noise_uses_the_std_of_the_step(registry):
    spec = {"type": "gaussian_noise", "std": 1.0, "end_std": 0.0, "schedule": "linear"}
    layer = make_layer(registry, spec, 100, total_steps=3)
    layer.ctx.step = 2  # the last step: σ = 0
    x = np.random.default_rng(9).normal(size=(10, 100))
    np.testing.assert_array_equal(layer.forward(x, training=True), x)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"end_std": 0.1}, "schedule is constant"),
        ({"schedule": "linear"}, "needs end_std"),
        ({"schedule": "exponential", "end_std": 0.0}, "both be > 0"),
        ({"std": -1.0}, "std"),
    ],
)
def test_gaussian_noise_invalid_options(options, message):
    layer = {"type": "gaussian_noise", "std": 0.5, **options}
    with pytest.raises(ScenarioError, match=message):
        engine.load_scenario(scenario(layer))


# --- whole runs and traces -------------------------------------------------------------------


def scenario(*layers, steps=3):
    return {
        "name": "noise",
        "seed": 5,
        "data": {"type": "xor", "repeat": 2},
        "model": {
            "layers": [
                {"type": "dense", "units": 6, "activation": "tanh"},
                *layers,
                {"type": "dense", "units": 1, "activation": "sigmoid"},
            ]
        },
        "loss": {"type": "mse"},
        "optimizer": {"type": "sgd", "lr": 0.5},
        "train": {"steps": steps},
        "trace": {"steps": list(range(steps))},
    }


def test_a_run_traces_masks_and_annealed_noise(tmp_path):
    layers = [
        {"type": "dropout", "name": "drop", "rate": 0.5},
        {
            "type": "gaussian_noise",
            "name": "noise",
            "std": 1.0,
            "end_std": 0.0,
            "schedule": "linear",
        },
    ]
    result = engine.run(scenario(*layers), trace=tmp_path / "trace.jsonl")
    assert result.status == "completed"
    trace = read_trace(tmp_path / "trace.jsonl")
    forward = [r for r in trace.records if r["type"] == "forward"]
    drop = [r for r in forward if r["layer"] == "drop"]
    noise = [r for r in forward if r["layer"] == "noise"]
    assert [list(r["values"]) for r in drop] == [["x", "mask", "a"]] * 3
    assert [list(r["values"]) for r in noise] == [["x", "std", "noise", "a"]] * 3
    # σ goes linearly from 1 to 0 over the 3 steps
    assert [r["values"]["std"] for r in noise] == [1.0, 0.5, 0.0]
    for record in drop:
        values = {k: decode(v) for k, v in record["values"].items()}
        np.testing.assert_array_equal(values["a"], values["x"] * values["mask"] / 0.5)
    for record in noise:
        values = {k: decode(v) for k, v in record["values"].items()}
        np.testing.assert_allclose(values["a"], values["x"] + values["noise"], rtol=1e-15)
    backward = [r for r in trace.records if r["type"] == "backward" and r["layer"] == "drop"]
    assert list(backward[0]["values"]) == ["dL/da", "dL/dx"]
    # predictions are deterministic in evaluation: no mask, no noise
    np.testing.assert_array_equal(result.predict([[0, 1]]), result.predict([[0, 1]]))


def test_keep_in_eval_makes_predictions_random():
    layers = [{"type": "dropout", "rate": 0.5, "keep_in_eval": True}]
    result = engine.run(scenario(*layers), trace=False)
    x = np.tile([[0.0, 1.0]], (20, 1))
    assert not np.array_equal(result.predict(x), result.predict(x))


def test_whole_network_gradients_with_masks_and_noise_replayed():
    layers = [
        {"type": "dropout", "rate": 0.3},
        {"type": "gaussian_noise", "std": 0.5},
    ]
    results = check_scenario(engine.load_scenario(scenario(*layers)))
    assert len(results) == 4  # the two dense layers' W and b
    for result in results:
        assert result.ok(1e-6), f"{result.name}: relative error {result.error:.2e}"
