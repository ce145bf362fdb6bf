"""Normalization layers: batch_norm, layer_norm, instance_norm, weight_norm.

Forward values are compared with the formulas written out again in numpy here, gradients
with central differences (engine.gradcheck), and, when torch is installed, with torch.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import yaml

import engine
from engine.components import BuildContext
from engine.errors import BuildError, ScenarioError
from engine.gradcheck import check_layer, check_scenario
from engine.network import build_network
from engine.plugins import load_registry
from engine.seeds import SeedTree
from engine.trace.reader import read_trace
from engine.trace.tensors import decode
from tests.test_gan import tiny

EPS = 1e-5


@pytest.fixture(scope="module")
def registry():
    return load_registry(autoload=False)


def make_layer(registry, spec: dict, features: int, seed: int = 0):
    """Validate ``spec`` as a scenario would and build it for ``features`` inputs."""
    config = registry.get("layers", spec["type"]).config.model_validate(
        spec, context={"registry": registry}
    )
    ctx = BuildContext(SeedTree(seed), registry, total_steps=10)
    network = build_network([config], features, ctx, lambda path: "<test>")
    return network.layers[0]


def randomize_affine(layer, rng):
    """Random γ and β, so the gradient check does not run at the special point γ=1, β=0."""
    for name in ("gamma", "beta"):
        if name in layer.params:
            layer.params[name].value[...] = rng.normal(size=layer.params[name].value.shape)


def assert_gradients_ok(layer, x, training=True):
    results = check_layer(layer, x, training=training)
    assert results, "nothing was checked"
    for result in results:
        assert result.ok(1e-5), f"{result.name}: relative error {result.error:.2e}"


def checkable_inputs(rng, shape, axis):
    """Inputs whose gradient is worth checking. Two values normalized together sit at
    x̂ = ±σ/√(σ² + ε) ≈ ±1 whatever they are, so dL/dx is tiny (round-off level) unless σ² is
    of the order of ε: draw those close together, where the gradient is large."""
    scale = 0.005 if shape[axis] == 2 else 2.0
    return rng.normal(1.0, scale, size=shape)


def standardize(x, axis):
    """x̂ = (x - mean) / sqrt(biased var + eps), written out independently of the plugin."""
    count = x.shape[axis]
    mean = np.sum(x, axis=axis, keepdims=True) / count
    var = np.sum((x - mean) ** 2, axis=axis, keepdims=True) / count
    return (x - mean) / np.sqrt(var + EPS)


def test_the_layers_are_registered(registry):
    names = registry.names("layers")
    for name in ("batch_norm", "layer_norm", "instance_norm", "weight_norm"):
        assert name in names
        assert registry.get("layers", name).plugin == "plugins.normalization"


# --- batch norm ------------------------------------------------------------------------------


@pytest.mark.parametrize("batch", [2, 5, 16])
@pytest.mark.parametrize("features", [1, 3, 8])
def test_batch_norm_gradients_in_training(registry, batch, features):
    rng = np.random.default_rng(batch * 10 + features)
    layer = make_layer(registry, {"type": "batch_norm"}, features)
    randomize_affine(layer, rng)
    assert_gradients_ok(layer, checkable_inputs(rng, (batch, features), axis=0))


def test_batch_norm_gradients_without_affine_and_in_evaluation(registry):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(6, 4))
    assert_gradients_ok(make_layer(registry, {"type": "batch_norm", "affine": False}, 4), x)
    layer = make_layer(registry, {"type": "batch_norm"}, 4)
    randomize_affine(layer, rng)
    layer.running_mean[...] = rng.normal(size=4)
    layer.running_var[...] = rng.uniform(0.5, 2.0, size=4)
    assert_gradients_ok(layer, x, training=False)


def test_batch_norm_forward_matches_the_formula(registry):
    rng = np.random.default_rng(4)
    gamma, beta = [0.5, -1.0, 2.0], [0.1, 0.2, -0.3]
    layer = make_layer(registry, {"type": "batch_norm", "init": {"gamma": gamma, "beta": beta}}, 3)
    x = rng.normal(size=(7, 3))
    out = layer.forward(x, training=True)
    expected = np.array(gamma) * standardize(x, axis=0) + np.array(beta)
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)
    values = layer.forward_values()
    assert list(values) == ["x", "mean", "var", "running_mean", "running_var", "x_hat", "out"]
    np.testing.assert_allclose(values["mean"], x.mean(axis=0))
    np.testing.assert_allclose(values["var"], np.var(x, axis=0, ddof=0))
    np.testing.assert_allclose(values["x_hat"], standardize(x, axis=0), atol=1e-12)


def test_batch_norm_two_samples_by_hand(registry):
    # x = [1, 3]: μ = 2, σ² = 1 (biased), unbiased variance 2; momentum 0.1 from (0, 1):
    # running_mean = 0.9·0 + 0.1·2 = 0.2, running_var = 0.9·1 + 0.1·2 = 1.1.
    layer = make_layer(registry, {"type": "batch_norm"}, 1)
    out = layer.forward(np.array([[1.0], [3.0]]), training=True)
    np.testing.assert_allclose(out[:, 0], np.array([-1.0, 1.0]) / np.sqrt(1.0 + EPS))
    np.testing.assert_allclose(layer.running_mean, [0.2])
    np.testing.assert_allclose(layer.running_var, [1.1])


def test_batch_norm_running_statistics_after_several_steps(registry):
    rng = np.random.default_rng(5)
    momentum = 0.3
    layer = make_layer(registry, {"type": "batch_norm", "momentum": momentum}, 4)
    running_mean, running_var = np.zeros(4), np.ones(4)
    for batch in (3, 8, 5, 2):
        x = rng.normal(2.0, 3.0, size=(batch, 4))
        layer.forward(x, training=True)
        running_mean = (1 - momentum) * running_mean + momentum * x.mean(axis=0)
        running_var = (1 - momentum) * running_var + momentum * np.var(x, axis=0, ddof=1)
    np.testing.assert_allclose(layer.running_mean, running_mean, rtol=1e-12)
    np.testing.assert_allclose(layer.running_var, running_var, rtol=1e-12)
    values = layer.forward_values()
    np.testing.assert_allclose(values["running_mean"], running_mean, rtol=1e-12)
    np.testing.assert_allclose(values["running_var"], running_var, rtol=1e-12)


def test_batch_norm_evaluation_uses_the_running_estimates(registry):
    rng = np.random.default_rng(6)
    layer = make_layer(
        registry, {"type": "batch_norm", "init": {"gamma": [2.0, 3.0], "beta": [1.0, -1.0]}}, 2
    )
    for _ in range(3):
        layer.forward(rng.normal(size=(4, 2)), training=True)
    mean, var = layer.running_mean.copy(), layer.running_var.copy()
    x = rng.normal(size=(5, 2))
    out = layer.forward(x, training=False)
    expected = np.array([2.0, 3.0]) * (x - mean) / np.sqrt(var + EPS) + np.array([1.0, -1.0])
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    np.testing.assert_array_equal(layer.running_mean, mean)  # evaluation does not update
    np.testing.assert_array_equal(layer.running_var, var)
    # each sample on its own: one sample (batch size 1) is fine in evaluation
    np.testing.assert_allclose(layer.forward(x[2:3], training=False), out[2:3], rtol=1e-12)
    assert list(layer.forward_values()) == ["x", "running_mean", "running_var", "x_hat", "out"]


def test_batch_norm_momentum_extremes(registry):
    rng = np.random.default_rng(7)
    x = rng.normal(size=(4, 3))
    frozen = make_layer(registry, {"type": "batch_norm", "momentum": 0.0}, 3)
    frozen.forward(x, training=True)
    np.testing.assert_array_equal(frozen.running_mean, np.zeros(3))
    np.testing.assert_array_equal(frozen.running_var, np.ones(3))
    latest = make_layer(registry, {"type": "batch_norm", "momentum": 1.0}, 3)
    latest.forward(x, training=True)
    np.testing.assert_allclose(latest.running_mean, x.mean(axis=0))
    np.testing.assert_allclose(latest.running_var, np.var(x, axis=0, ddof=1))


def test_batch_norm_refuses_one_sample_in_training(registry):
    layer = make_layer(registry, {"type": "batch_norm", "name": "bn"}, 3)
    with pytest.raises(BuildError) as caught:
        layer.forward(np.ones((1, 3)), training=True)
    assert "'bn'" in caught.value.message and "at least 2 samples" in caught.value.message
    assert "batch_size" in caught.value.hint


def test_batch_norm_running_statistics_are_not_parameters(registry):
    layer = make_layer(registry, {"type": "batch_norm"}, 3)
    assert set(layer.params) == {"gamma", "beta"}
    np.testing.assert_array_equal(layer.params["gamma"].value, np.ones(3))
    np.testing.assert_array_equal(layer.params["beta"].value, np.zeros(3))
    assert make_layer(registry, {"type": "batch_norm", "affine": False}, 3).params == {}


# --- layer norm and instance norm ------------------------------------------------------------


@pytest.mark.parametrize("shape", [(1, 3), (4, 5), (7, 2), (3, 8)])
@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm_gradients(registry, shape, affine):
    rng = np.random.default_rng(shape[0] * 10 + shape[1])
    layer = make_layer(registry, {"type": "layer_norm", "affine": affine}, shape[1])
    randomize_affine(layer, rng)
    assert_gradients_ok(layer, checkable_inputs(rng, shape, axis=1))


@pytest.mark.parametrize("shape", [(1, 3), (4, 5), (6, 2)])
@pytest.mark.parametrize("affine", [True, False])
def test_instance_norm_gradients(registry, shape, affine):
    rng = np.random.default_rng(shape[0] * 10 + shape[1] + 1)
    layer = make_layer(registry, {"type": "instance_norm", "affine": affine}, shape[1])
    randomize_affine(layer, rng)
    assert_gradients_ok(layer, checkable_inputs(rng, shape, axis=1))


def test_layer_norm_forward_matches_the_formula(registry):
    rng = np.random.default_rng(8)
    gamma, beta = rng.normal(size=4), rng.normal(size=4)
    layer = make_layer(
        registry,
        {"type": "layer_norm", "init": {"gamma": gamma.tolist(), "beta": beta.tolist()}},
        4,
    )
    x = rng.normal(size=(3, 4))
    out = layer.forward(x, training=True)
    np.testing.assert_allclose(out, gamma * standardize(x, axis=1) + beta, rtol=1e-12, atol=1e-12)
    values = layer.forward_values()
    assert list(values) == ["x", "mean", "var", "x_hat", "out"]
    assert values["mean"].shape == (3,) and values["var"].shape == (3,)
    np.testing.assert_allclose(values["x_hat"].mean(axis=1), 0.0, atol=1e-12)
    np.testing.assert_allclose(
        values["x_hat"].var(axis=1), values["var"] / (values["var"] + EPS), rtol=1e-12
    )
    # no batch statistics: evaluation gives the same, and samples do not affect each other
    np.testing.assert_array_equal(layer.forward(x, training=False), out)
    np.testing.assert_allclose(layer.forward(x[1:2], training=True), out[1:2], rtol=1e-12)


def test_instance_norm_is_layer_norm_with_one_gamma_and_beta(registry):
    rng = np.random.default_rng(9)
    x = rng.normal(size=(5, 6))
    plain_instance = make_layer(registry, {"type": "instance_norm"}, 6)
    plain_layer = make_layer(registry, {"type": "layer_norm", "affine": False}, 6)
    assert plain_instance.params == {}
    np.testing.assert_allclose(
        plain_instance.forward(x, training=True), plain_layer.forward(x, training=True)
    )
    affine = make_layer(
        registry,
        {"type": "instance_norm", "affine": True, "init": {"gamma": [2.5], "beta": [-1.0]}},
        6,
    )
    assert affine.params["gamma"].value.shape == (1,)
    assert affine.params["beta"].value.shape == (1,)
    np.testing.assert_allclose(
        affine.forward(x, training=True), 2.5 * standardize(x, axis=1) - 1.0, rtol=1e-12
    )


# --- weight norm -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "features, units, options",
    [
        (3, 2, {}),
        (2, 4, {"activation": "tanh"}),
        (5, 1, {"activation": "sigmoid", "bias": False}),
        (4, 3, {"activation": {"type": "leaky_relu", "negative_slope": 0.2}}),
    ],
)
def test_weight_norm_gradients(registry, features, units, options):
    rng = np.random.default_rng(features * 10 + units)
    layer = make_layer(registry, {"type": "weight_norm", "units": units, **options}, features)
    layer.params["g"].value[...] = rng.uniform(0.5, 2.0, size=units)  # W no longer equals v
    assert_gradients_ok(layer, rng.normal(size=(6, features)))


def test_weight_norm_weight_is_g_times_the_direction_of_v(registry):
    rng = np.random.default_rng(10)
    layer = make_layer(registry, {"type": "weight_norm", "units": 3}, 4)
    v = layer.params["v"].value
    # by default g = ‖v‖ per column, so W starts equal to v
    np.testing.assert_allclose(layer.params["g"].value, np.sqrt((v**2).sum(axis=0)))
    x = rng.normal(size=(2, 4))
    np.testing.assert_allclose(layer.forward(x, training=True), x @ v, rtol=1e-12)
    g = np.array([0.5, 2.0, 3.0])
    layer.params["g"].value[...] = g
    b = layer.params["b"].value
    b[...] = [1.0, 2.0, 3.0]
    W = np.column_stack([g[j] * v[:, j] / np.linalg.norm(v[:, j]) for j in range(3)])
    np.testing.assert_allclose(layer.forward(x, training=True), x @ W + b, rtol=1e-12)
    values = layer.forward_values()
    assert list(values) == ["x", "‖v‖", "W", "z"]
    np.testing.assert_allclose(values["W"], W, rtol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(values["W"], axis=0), g, rtol=1e-12)


def test_weight_norm_gradient_of_v_is_orthogonal_to_v(registry):
    # dL/dv_j = (g_j/‖v_j‖)(dL/dW_j - (dL/dW_j·v̂_j) v̂_j): no component along v_j
    rng = np.random.default_rng(11)
    layer = make_layer(registry, {"type": "weight_norm", "units": 3, "activation": "tanh"}, 5)
    layer.forward(rng.normal(size=(4, 5)), training=True)
    layer.backward(rng.normal(size=(4, 3)))
    v, grad_v = layer.params["v"].value, layer.params["v"].grad
    np.testing.assert_allclose(np.sum(v * grad_v, axis=0), 0.0, atol=1e-12)
    assert list(layer.backward_values()) == [
        "dL/da", "f'(z)", "dL/dz", "dL/dW", "dL/dg", "dL/dv", "dL/db", "dL/dx",
    ]  # fmt: skip


def test_weight_norm_with_one_input_has_no_gradient_for_v(registry):
    # one input: W = g·v/|v| = ±g, so v only carries a sign and dL/dv = 0
    layer = make_layer(registry, {"type": "weight_norm", "units": 3}, 1)
    layer.forward(np.array([[0.5], [-2.0]]), training=True)
    layer.backward(np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 2.0]]))
    np.testing.assert_allclose(layer.params["v"].grad, 0.0, atol=1e-12)
    assert np.all(layer.params["g"].grad != 0)


def test_weight_norm_explicit_init_and_zero_columns(registry):
    layer = make_layer(
        registry,
        {
            "type": "weight_norm",
            "units": 2,
            "init": {"v": [[3.0, 0.0], [4.0, 2.0]], "g": [1.0, 1.0]},
        },
        2,
    )
    x = np.array([[1.0, 1.0]])
    np.testing.assert_allclose(layer.forward(x, training=True), [[0.6 + 0.8, 1.0]])
    with pytest.raises(BuildError, match="column 0 of weight_norm0.v is all zeros"):
        make_layer(
            registry, {"type": "weight_norm", "units": 2, "init": {"v": [[0, 1], [0, 1]]}}, 2
        )


# --- whole runs and traces -------------------------------------------------------------------


def scenario(*layers, steps=3):
    return {
        "name": "normalization",
        "seed": 3,
        "data": {"type": "xor", "repeat": 2},
        "model": {"layers": [*layers, {"type": "dense", "units": 1, "activation": "sigmoid"}]},
        "loss": {"type": "mse"},
        "optimizer": {"type": "sgd", "lr": 0.5},
        "train": {"steps": steps},
        "trace": {"steps": [0, 1, 2]},
    }


def records(trace, kind, layer):
    return [r for r in trace.records if r["type"] == kind and r.get("layer") == layer]


def test_a_run_traces_every_normalization_layer(registry, tmp_path):
    layers = [
        {"type": "weight_norm", "name": "wn", "units": 4, "activation": "tanh"},
        {"type": "batch_norm", "name": "bn"},
        {"type": "layer_norm", "name": "ln"},
        {"type": "instance_norm", "name": "inorm", "affine": True},
    ]
    result = engine.run(scenario(*layers), trace=tmp_path / "trace.jsonl")
    assert result.status == "completed"
    trace = read_trace(tmp_path / "trace.jsonl")
    expected_forward = {
        "wn": ["x", "‖v‖", "W", "z", "a"],
        "bn": ["x", "mean", "var", "running_mean", "running_var", "x_hat", "out"],
        "ln": ["x", "mean", "var", "x_hat", "out"],
        "inorm": ["x", "mean", "var", "x_hat", "out"],
    }
    for name, value_names in expected_forward.items():
        forward = records(trace, "forward", name)
        assert len(forward) == 3
        assert list(forward[0]["values"]) == value_names
    affine_backward = ["dL/dout", "dL/dx_hat", "dL/dgamma", "dL/dbeta", "dL/dx"]
    assert list(records(trace, "backward", "bn")[0]["values"]) == affine_backward
    updated = {r["param"] for r in trace.records if r["type"] == "update"}
    assert {"wn.v", "wn.g", "wn.b", "bn.gamma", "bn.beta", "ln.gamma", "inorm.gamma"} <= updated
    assert not any("running" in key for key in updated)
    # the traced running estimates follow the rule from the traced batch statistics
    m = 0.1
    expected_mean, expected_var = np.zeros(4), np.ones(4)
    for record in records(trace, "forward", "bn"):
        values = {k: decode(v) for k, v in record["values"].items()}
        n = len(values["x"])
        expected_mean = (1 - m) * expected_mean + m * values["mean"]
        expected_var = (1 - m) * expected_var + m * values["var"] * n / (n - 1)
        np.testing.assert_allclose(values["running_mean"], expected_mean, rtol=1e-12)
        np.testing.assert_allclose(values["running_var"], expected_var, rtol=1e-12)
    bn = result.network.layers[1]
    np.testing.assert_allclose(bn.running_mean, expected_mean, rtol=1e-12)


def test_batch_norm_with_one_sample_stops_the_run_with_a_readable_error():
    one_sample = scenario({"type": "batch_norm", "name": "bn"})
    one_sample["data"] = {"type": "inline", "x": [[0.1, 0.2]], "y": [[1.0]]}
    with pytest.raises(BuildError, match="batch of 1 sample"):
        engine.run(one_sample, trace=False)


@pytest.mark.parametrize(
    "layer",
    [
        {"type": "batch_norm", "momentum": 1.5},
        {"type": "batch_norm", "eps": 0},
        {"type": "layer_norm", "scale": 2},
        {"type": "weight_norm", "units": 0},
    ],
)
def test_invalid_options_are_scenario_errors(layer):
    with pytest.raises(ScenarioError):
        engine.load_scenario(scenario(layer))


# --- against torch (optional) ----------------------------------------------------------------


def test_batch_norm_matches_torch(registry):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(12)
    layer = make_layer(registry, {"type": "batch_norm"}, 3)
    reference = torch.nn.BatchNorm1d(3, eps=EPS, momentum=0.1).double()
    for _ in range(3):
        x = rng.normal(1.0, 2.0, size=(5, 3))
        reference.train()
        expected = reference(torch.from_numpy(x)).detach().numpy()
        np.testing.assert_allclose(layer.forward(x, training=True), expected, rtol=1e-10)
    np.testing.assert_allclose(layer.running_mean, reference.running_mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(layer.running_var, reference.running_var.numpy(), rtol=1e-12)
    x = rng.normal(size=(4, 3))
    reference.eval()
    expected = reference(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(layer.forward(x, training=False), expected, rtol=1e-10)


def test_layer_norm_matches_torch(registry):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(13)
    gamma, beta = rng.normal(size=5), rng.normal(size=5)
    layer = make_layer(
        registry,
        {"type": "layer_norm", "init": {"gamma": gamma.tolist(), "beta": beta.tolist()}},
        5,
    )
    reference = torch.nn.LayerNorm(5, eps=EPS).double()
    with torch.no_grad():
        reference.weight.copy_(torch.from_numpy(gamma))
        reference.bias.copy_(torch.from_numpy(beta))
    x = rng.normal(size=(4, 5))
    x_torch = torch.from_numpy(x.copy()).requires_grad_(True)
    out_torch = reference(x_torch)
    upstream = rng.normal(size=(4, 5))
    out_torch.backward(torch.from_numpy(upstream))
    np.testing.assert_allclose(
        layer.forward(x, training=True), out_torch.detach().numpy(), rtol=1e-10
    )
    np.testing.assert_allclose(layer.backward(upstream), x_torch.grad.numpy(), rtol=1e-8)
    np.testing.assert_allclose(layer.params["gamma"].grad, reference.weight.grad.numpy(), rtol=1e-8)


def test_instance_norm_matches_torch_on_one_channel(registry):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(14)
    layer = make_layer(
        registry,
        {"type": "instance_norm", "affine": True, "init": {"gamma": [1.7], "beta": [0.3]}},
        6,
    )
    reference = torch.nn.InstanceNorm1d(1, eps=EPS, affine=True).double()
    with torch.no_grad():
        reference.weight.fill_(1.7)
        reference.bias.fill_(0.3)
    x = rng.normal(size=(4, 6))
    expected = reference(torch.from_numpy(x)[:, None, :]).detach().numpy()[:, 0, :]
    np.testing.assert_allclose(layer.forward(x, training=True), expected, rtol=1e-10)


def test_weight_norm_matches_torch(registry):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(15)
    layer = make_layer(registry, {"type": "weight_norm", "units": 3}, 4)
    g = rng.uniform(0.5, 2.0, size=3)
    layer.params["g"].value[...] = g
    v = layer.params["v"].value
    linear = torch.nn.Linear(4, 3).double()
    with torch.no_grad():
        linear.weight.copy_(torch.from_numpy(v.T.copy()))  # torch keeps (units, inputs)
        linear.bias.zero_()
    reference = torch.nn.utils.parametrizations.weight_norm(linear, dim=0)
    with torch.no_grad():
        reference.parametrizations.weight.original0.copy_(torch.from_numpy(g[:, None]))
    x = rng.normal(size=(5, 4))
    upstream = rng.normal(size=(5, 3))
    out = reference(torch.from_numpy(x))
    out.backward(torch.from_numpy(upstream))
    np.testing.assert_allclose(layer.forward(x, training=True), out.detach().numpy(), rtol=1e-10)
    layer.backward(upstream)
    original = reference.parametrizations.weight
    np.testing.assert_allclose(layer.params["g"].grad, original.original0.grad.numpy()[:, 0])
    np.testing.assert_allclose(layer.params["v"].grad, original.original1.grad.numpy().T)


def test_batch_norm_gradients_match_torch(registry):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(16)
    gamma, beta = rng.normal(size=3), rng.normal(size=3)
    layer = make_layer(
        registry,
        {"type": "batch_norm", "init": {"gamma": gamma.tolist(), "beta": beta.tolist()}},
        3,
    )
    reference = torch.nn.BatchNorm1d(3, eps=EPS).double()
    with torch.no_grad():
        reference.weight.copy_(torch.from_numpy(gamma))
        reference.bias.copy_(torch.from_numpy(beta))
    x = rng.normal(size=(6, 3))
    upstream = rng.normal(size=(6, 3))
    x_torch = torch.from_numpy(x.copy()).requires_grad_(True)
    reference(x_torch).backward(torch.from_numpy(upstream))
    layer.forward(x, training=True)
    np.testing.assert_allclose(layer.backward(upstream), x_torch.grad.numpy(), rtol=1e-8)
    np.testing.assert_allclose(layer.params["gamma"].grad, reference.weight.grad.numpy())
    np.testing.assert_allclose(layer.params["beta"].grad, reference.bias.grad.numpy())


def test_whole_network_gradients_through_every_normalization_layer():
    layers = [
        {"type": "weight_norm", "units": 4, "activation": "tanh"},
        {"type": "batch_norm"},
        {"type": "layer_norm"},
        {"type": "instance_norm", "affine": True},
    ]
    results = check_scenario(engine.load_scenario(scenario(*layers)))
    assert len(results) == 11  # v, g, b, 3 × (gamma, beta), then the last dense W, b
    for result in results:
        assert result.ok(1e-5), f"{result.name}: relative error {result.error:.2e}"


def test_the_yaml_examples_in_the_layer_docs_build_and_train():
    text = (Path(__file__).parent.parent / "docs" / "components" / "layers.md").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 6
    for block in blocks:
        layers = yaml.safe_load(block)
        if isinstance(layers, dict):  # a GAN's discriminator, put into the tests' tiny GAN
            result = engine.run(tiny(**layers), trace=False)
        else:
            result = engine.run(scenario(*layers, steps=2), trace=False)
        assert result.status == "completed", block


def test_the_batch_norm_example_in_the_layer_docs_is_what_the_layer_records(registry):
    """docs/components/layers.md quotes the forward values of batch_norm for the batch
    [[1, 0], [3, 2]]; every number it quotes is the layer's, as the trace writes it."""
    import json

    text = (Path(__file__).parent.parent / "docs" / "components" / "layers.md").read_text()
    excerpt = "".join(text.split('    "values":', 1)[1].split("\n\n", 1)[0].split())
    layer = make_layer(registry, {"type": "batch_norm"}, 2)
    layer.forward(np.array([[1.0, 0.0], [3.0, 2.0]]), training=True)
    values = layer.forward_values()
    names = ["x", "mean", "var", "running_mean", "running_var", "x_hat"]
    written = {n: json.dumps(np.asarray(values[n]).tolist(), separators=(",", ":")) for n in names}
    whole = "{" + ",".join(f'"{n}":{written[n]}' for n in names)
    shown = excerpt.removesuffix(",...")
    assert len(shown) > 150 and whole.startswith(shown), (shown, whole)
