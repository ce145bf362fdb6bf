"""The bundled image scenarios do what their comments say.

Fewer steps than the file (which leaves room to watch the loss settle); the threshold sits
below what the scenario reaches with its own seed at that number of steps (98.1% after 500).
"""

from __future__ import annotations

import importlib.util

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
    from engine.build import build

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
