"""sweeps/pooling_and_relu.yaml: six configurations of D (three down-samplings × two
activations), five seeds, each a valid scenario with the same parameters; and its "strided"
down-sampling, a stride-1 convolution followed by avg_pool2d with kernel 1 and stride 2, is
exactly dcgan_digits' strided convolution (conv stride 2, padding 1)."""

from __future__ import annotations

import copy

import numpy as np

from engine.components import BuildContext
from engine.network import build_network
from engine.plugins import load_registry
from engine.scenario import apply_override, load_scenario
from engine.seeds import SeedTree
from engine.sweep.spec import configurations, load_sweep, plan, scenario_data
from tests.conftest import ROOT
from tests.test_conv_layers import validate

SWEEP = ROOT / "sweeps" / "pooling_and_relu.yaml"


def test_six_configurations_of_five_seeds_with_one_set_of_parameters():
    sweep = load_sweep(SWEEP)
    found = configurations(sweep)
    assert len(found) == 6 and len(plan(sweep)) == 30
    shapes = set()
    for configuration in found:
        data = copy.deepcopy(scenario_data(sweep))
        for key, value in configuration.overrides.items():
            apply_override(data, key, value)
        spec = load_scenario(data).spec
        assert spec.metrics.gradient_sparsity and spec.metrics.every is None
        layers = spec.discriminator.layers
        assert [layer.type for layer in layers][::2] == ["reshape", layers[2].type, "dense"]
        shapes.add((layers[1].channels, layers[1].stride, layers[1].padding))
    assert shapes == {(16, 1, 1)}  # only the activation and the down-sampling change


def test_keeping_every_second_output_is_the_strided_convolution():
    registry = load_registry(autoload=False)
    conv = {"type": "conv2d", "channels": 4, "kernel_size": 3, "padding": 1}
    keep = {"type": "avg_pool2d", "kernel_size": 1, "stride": 2}
    ctx = BuildContext(SeedTree(0), registry, total_steps=1)
    two = build_network([validate(registry, s) for s in (conv, keep)], (1, 8, 8), ctx, str)
    ctx = BuildContext(SeedTree(0), registry, total_steps=1)
    one = build_network([validate(registry, {**conv, "stride": 2})], (1, 8, 8), ctx, str)
    np.testing.assert_array_equal(one.layers[0].W.value, two.layers[0].W.value)
    x = np.random.default_rng(0).normal(size=(3, 1, 8, 8))
    np.testing.assert_allclose(two.forward(x, True), one.forward(x, True), rtol=0, atol=1e-14)
    grad = np.random.default_rng(1).normal(size=(3, 4, 4, 4))
    np.testing.assert_allclose(two.backward(grad), one.backward(grad), rtol=0, atol=1e-14)
    np.testing.assert_allclose(two.layers[0].W.grad, one.layers[0].W.grad, atol=1e-13)
