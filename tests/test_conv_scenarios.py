"""The bundled image scenarios do what their comments say.

Fewer steps than the file (which leaves room to watch the loss settle); the threshold sits
below what the scenario reaches with its own seed at that number of steps (98.1% after 500).
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

import engine
from tests.conftest import SCENARIOS

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("sklearn") is None,
    reason="the digits need scikit-learn: pip install 'tracegrad[digits]'",
)


def test_the_cnn_recognizes_held_out_digits():
    result = engine.run(SCENARIOS / "cnn_digits.yaml", trace=False, overrides={"train.steps": 500})
    assert result.status == "completed", result.summary()
    assert result.built.data.x.shape[1:] == (1, 8, 8)
    assert result.built.data.x_val.shape == (359, 1, 8, 8)
    assert result.metrics["val_accuracy"] >= 0.97


def test_the_cnn_has_the_parameter_count_its_comment_gives():
    scenario = engine.load_scenario(SCENARIOS / "cnn_digits.yaml")
    from plugins.supervised.build import build

    network = build(scenario).network
    assert network.parameter_count == 1898
    assert [layer.out_shape for layer in network.layers] == [
        (8, 8, 8),
        (8, 4, 4),
        (16, 4, 4),
        (16, 2, 2),
        64,
        10,
    ]


def test_the_dcgan_draws_images_and_its_run_loads_back(tmp_path):
    """G ends in flatten after conv layers: the number of features it draws follows from the
    layer shapes, also when a finished run is loaded without its data."""
    overrides = {"train.steps": 3, "metrics.every": 2, "metrics.samples": 100}
    result = engine.run(
        SCENARIOS / "gan" / "dcgan_digits.yaml", run_dir=tmp_path / "run", overrides=overrides
    )
    assert result.status == "completed", result.summary()
    samples = result.generate(5, seed=1)
    assert samples.shape == (5, 64) and np.all(np.abs(samples) <= 1.0)
    loaded = engine.load_run(tmp_path / "run")
    np.testing.assert_array_equal(loaded.generate(5, seed=1), samples)


def test_the_report_of_a_cnn_run_walks_through_the_image_layers(tmp_path):
    from engine.report import render_html

    overrides = {"train.steps": 2, "data.samples": 40, "train.batch_size": 4}
    result = engine.run(SCENARIOS / "cnn_digits.yaml", run_dir=tmp_path, overrides=overrides)
    assert result.status == "completed"
    page = render_html(tmp_path / "trace.jsonl")
    assert "Step by step" in page
    assert "z[0, 0, 4, 4] = Σ W[0] ⊙ x_p[0, :, 4:7, 4:7] + b[0] = " in page
    assert "dL/dW[0, 0, 0, 0] = Σ_{n,i,j} dL/dz[n, 0, i, j]·x_p[n, 0, i, j] = " in page
    assert "conv1 (512 units)" in page  # the diagram counts 8×8×8 outputs


def test_the_report_pictures_kernels_feature_maps_and_masks(tmp_path):
    from engine.report import render_html

    overrides = {"train.steps": 2, "data.samples": 40, "train.batch_size": 4}
    whole = engine.run(
        SCENARIOS / "cnn_digits.yaml",
        run_dir=tmp_path / "whole",
        overrides={**overrides, "trace.max_values": 5000},
    )
    page = render_html(whole.run_dir / "trace.jsonl")
    assert "Image layers" in page
    for caption in (
        "Step 0, layer conv1: kernels W[:, 0] (input channel 1).",
        "Step 1, layer conv2: feature maps a of sample 1.",
        "Step 0, layer pool1: mask of sample 1 (where the gradient goes).",
    ):
        assert caption in page
    assert "Not drawn" not in page
    summarized = engine.run(
        SCENARIOS / "cnn_digits.yaml", run_dir=tmp_path / "summarized", overrides=overrides
    )
    page = render_html(summarized.run_dir / "trace.jsonl")
    assert "Not drawn, because the trace keeps only their statistics" in page
    assert "conv2 kernels W[:, 0]" in page  # 16×8×3×3 numbers: more than 64
