"""The minibatch_discrimination layer (plugins/minibatch.py): its gradients against finite
differences, its forward and backward against a PyTorch version written here from Salimans
et al. (2016), its trace and its verification rule (plugins/rules/gan/minibatch.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import engine
from engine.components import BuildContext
from engine.gradcheck import check_layer
from engine.network import build_network
from engine.plugins import load_registry
from engine.seeds import SeedTree
from engine.trace.reader import read_trace
from engine.verify import verify_trace


def make_layer(features: int, kernels: int = 4, kernel_dim: int = 3, seed: int = 0):
    registry = load_registry(autoload=False)
    spec = {"type": "minibatch_discrimination", "kernels": kernels, "kernel_dim": kernel_dim}
    config = registry.get("layers", spec["type"]).config.model_validate(
        spec, context={"registry": registry}
    )
    ctx = BuildContext(SeedTree(seed), registry, total_steps=10)
    return build_network([config], features, ctx, lambda path: "<test>").layers[0]


def test_gradients_match_finite_differences():
    layer = make_layer(5)
    x = np.random.default_rng(1).normal(size=(7, 5))
    results = check_layer(layer, x)
    assert {r.name for r in results} == {"minibatch_discrimination0: dL/dx", layer.T.key}
    for result in results:
        assert result.ok(1e-6), f"{result.name}: relative error {result.error:.2e}"


def test_the_output_is_the_input_and_one_feature_per_kernel():
    layer = make_layer(5, kernels=4)
    x = np.random.default_rng(2).normal(size=(6, 5))
    out = layer.forward(x, True)
    assert out.shape == (6, 9)
    np.testing.assert_array_equal(out[:, :5], x)
    assert np.all(out[:, 5:] >= 1.0)  # c_iib = 1: a sample is always like itself
    alike = layer.forward(np.repeat(x[:1], 6, axis=0), True)[:, 5:]
    np.testing.assert_allclose(alike, 6.0)  # a batch of copies: every c_ijb = 1


def torch_minibatch(torch, x, T, kernels: int, kernel_dim: int):
    """Salimans et al. (2016), section 3.2, as PyTorch code."""
    M = (x @ T).view(-1, kernels, kernel_dim)
    distance = (M.unsqueeze(1) - M.unsqueeze(0)).abs().sum(dim=3)  # (N, N, B)
    o = torch.exp(-distance).sum(dim=1)
    return torch.cat([x, o], dim=1)


def test_matches_torch():
    torch = pytest.importorskip("torch")
    layer = make_layer(5, kernels=4, kernel_dim=3)
    rng = np.random.default_rng(3)
    x = rng.normal(size=(8, 5))
    upstream = rng.normal(size=(8, 9))
    out = layer.forward(x, True)
    grad_x = layer.backward(upstream)

    x_t = torch.tensor(x, requires_grad=True)
    T_t = torch.tensor(layer.T.value, requires_grad=True)
    out_t = torch_minibatch(torch, x_t, T_t, 4, 3)
    out_t.backward(torch.tensor(upstream))
    np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grad_x, x_t.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.T.grad, T_t.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_a_flat_input_is_required(cli, write_scenario):
    path = write_scenario(
        """
        name: bad
        data: {type: xor}
        model:
          layers:
            - {type: reshape, shape: [1, 2, 1]}
            - {type: minibatch_discrimination}
            - {type: dense, units: 1, activation: sigmoid}
        loss: {type: bce}
        optimizer: {type: sgd, lr: 0.1}
        train: {steps: 2}
        """
    )
    result = cli("validate", path)
    assert result.code == 2 and "Traceback" not in result.err
    assert f"{path.name}:6:" in result.err and "flatten" in result.err


GAN = """
name: minibatch_gan
kind: gan
seed: 0
data: {type: ring, modes: 4, radius: 2.0, std: 0.02, samples: 200}
latent: {dim: 2}
generator:
  layers:
    - {type: dense, units: 5, activation: leaky_relu}
    - {type: dense, units: 2}
discriminator:
  layers:
    - {type: dense, units: 6, activation: leaky_relu}
    - {type: minibatch_discrimination, name: mbd, kernels: 3, kernel_dim: 2}
    - {type: dense, units: 1}
loss: {type: non_saturating}
optimizer:
  generator: {type: adam, lr: 1.0e-3}
  discriminator: {type: adam, lr: 1.0e-3}
train: {steps: 3, batch_size: 8}
metrics: {every: null, samples: 40}
trace: {every: 1, max_values: 100000}
"""


def test_a_gan_with_it_is_traced_and_verified(write_scenario, tmp_path):
    engine.run(write_scenario(GAN), run_dir=tmp_path / "run")
    trace = read_trace(tmp_path / "run" / "trace.jsonl")
    forward = next(r for r in trace.records if r["type"] == "forward" and r["layer"] == "D.mbd")
    assert set(forward["values"]) == {"x", "M", "o", "out"}
    report = verify_trace(tmp_path / "run")
    assert report.ok and report.complete, report.format()

    path = tmp_path / "run" / "trace.jsonl"
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    backward = next(
        r for r in records if r["type"] == "backward" and r["layer"] == "D.mbd" and r["step"] == 1
    )
    backward["values"]["dL/dM"][0][0] += 0.01
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    report = verify_trace(path, claims_only=True)
    assert not report.ok and "dL/dM" in report.format()
