"""Sample metrics against cases worked out by hand: VEEGAN's modes and high-quality
fraction, Wasserstein-1 in 1-D, MMD², and the collapse warning."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.components import Data
from plugins.gan.metrics import (
    SampleMetrics,
    median_bandwidth,
    mmd2,
    mode_coverage,
    nearest_modes,
    spread,
    wasserstein_1d,
)

TWO_MODES = np.array([[0.0, 0.0], [10.0, 0.0]])


def test_nearest_modes_and_distances():
    samples = np.array([[1.0, 0.0], [9.0, 0.0], [3.0, 4.0]])
    index, distance = nearest_modes(samples, TWO_MODES)
    assert index.tolist() == [0, 1, 0]
    np.testing.assert_allclose(distance, [1.0, 1.0, 5.0])


def test_high_quality_is_within_three_std_of_the_nearest_mode():
    # std 1: distances 0.5, 2.9 and 3.1 to mode 0; 2.5 and 4 to mode 1
    samples = np.array([[0.5, 0.0], [2.9, 0.0], [3.1, 0.0], [10.0, 2.5], [10.0, 4.0]])
    result = mode_coverage(samples, TWO_MODES, std=1.0)
    assert result["high_quality"] == pytest.approx(3 / 5)
    assert result["modes"] == 2
    assert result["mode_counts"] == [2, 1]


def test_a_mode_nearest_only_to_poor_samples_is_not_covered():
    # (10, 5) is nearest to mode 1 but 5 std away: mode 1 is not covered
    samples = np.array([[0.0, 0.0], [10.0, 5.0]])
    result = mode_coverage(samples, TWO_MODES, std=1.0)
    assert result["modes"] == 1
    assert result["high_quality"] == pytest.approx(0.5)


def test_one_good_sample_covers_a_mode():
    samples = np.concatenate([np.zeros((99, 2)), [[10.0, 0.1]]])
    assert mode_coverage(samples, TWO_MODES, std=0.05)["modes"] == 2


def test_wasserstein_1d_hand_cases():
    assert wasserstein_1d(np.array([0.0]), np.array([1.0])) == pytest.approx(1.0)
    # each point moves by 0.5
    assert wasserstein_1d(np.array([0.0, 1.0]), np.array([0.5, 1.5])) == pytest.approx(0.5)
    # half the mass moves from 1 to 0: cost 0.5
    assert wasserstein_1d(np.array([0.0, 1.0]), np.array([0.0])) == pytest.approx(0.5)
    # order does not matter, and a shift by c costs |c|
    a = np.array([3.0, -1.0, 2.0, 0.5])
    assert wasserstein_1d(a, a[::-1] - 0.25) == pytest.approx(0.25)
    assert wasserstein_1d(a, a) == 0.0


def test_mmd2_hand_cases():
    # the same two points on both sides, h = 1: k(0, 1) = e^(-1/2)
    x = np.array([[0.0], [1.0]])
    k = math.exp(-0.5)
    assert mmd2(x, x.copy(), bandwidth=1.0) == pytest.approx(2 * k - (1 + k))
    # two far-apart point masses: 1 + 1 - 2·e^(-9/2)
    far = mmd2(np.zeros((2, 1)), np.full((2, 1), 3.0), bandwidth=1.0)
    assert far == pytest.approx(2 - 2 * math.exp(-4.5))


def test_mmd2_tells_a_shifted_distribution_apart():
    rng = np.random.default_rng(0)
    x, y, shifted = rng.normal(size=(300, 2)), rng.normal(size=(300, 2)), rng.normal(size=(300, 2))
    assert abs(mmd2(x, y, 1.0)) < 0.02
    assert mmd2(x, shifted + 2.0, 1.0) > 0.3


def test_median_bandwidth_and_spread():
    assert median_bandwidth(np.array([[0.0], [1.0], [3.0]])) == pytest.approx(2.0)
    # variances 1 (x: -1, 1) and 4 (y: -2, 2): √5
    assert spread(np.array([[-1.0, -2.0], [1.0, 2.0]])) == pytest.approx(math.sqrt(5))


def _ring_data(modes=8, std=0.02):
    angle = 2 * np.pi * np.arange(modes) / modes
    centers = 2.0 * np.column_stack([np.cos(angle), np.sin(angle)])
    rng = np.random.default_rng(0)
    x = centers[rng.integers(0, modes, 4000)] + rng.normal(0, std, (4000, 2))
    return Data(x, None, info={"centers": centers, "std": std}), centers


def test_sample_metrics_warns_when_modes_are_lost():
    data, centers = _ring_data()
    metrics = SampleMetrics(data, mmd_samples=200, rng=np.random.default_rng(1))
    everywhere = np.repeat(centers, 10, axis=0)
    values, warning = metrics.measure(everywhere, step=10)
    assert values["modes"] == 8 and values["high_quality"] == 1.0 and warning is None
    two = np.repeat(centers[:2], 40, axis=0)
    values, warning = metrics.measure(two, step=20)
    assert values["modes"] == 2
    assert "mode collapse at step 20" in warning and "down from 8 at step 10" in warning
    assert metrics.warnings == [warning]
    _, again = metrics.measure(two, step=30)
    assert "step 30" in again
    assert metrics.warnings == [warning + " (and at 1 later measurement)"]


def test_sample_metrics_warns_when_samples_shrink_to_a_point():
    data, centers = _ring_data()
    metrics = SampleMetrics(data, mmd_samples=200, rng=np.random.default_rng(1))
    point = np.full((50, 2), 0.3) + np.random.default_rng(2).normal(0, 1e-3, (50, 2))
    values, warning = metrics.measure(point, step=5)
    assert values["high_quality"] == 0.0 and values["modes"] == 0
    assert "collapsed to a point at step 5" in warning


def test_sample_metrics_1d_uses_w1():
    rng = np.random.default_rng(0)
    data = Data(rng.normal(1.0, 0.5, size=(3000, 1)), None, info={"centers": [[1.0]], "std": 0.5})
    metrics = SampleMetrics(data, mmd_samples=100, rng=rng)
    values, _ = metrics.measure(rng.normal(1.0, 0.5, size=(3000, 1)), step=0)
    assert "mmd2" not in values and values["w1"] < 0.05
    assert values["modes"] == 1 and values["high_quality"] > 0.99
    shifted, _ = metrics.measure(rng.normal(3.0, 0.5, size=(3000, 1)), step=1)
    assert shifted["w1"] == pytest.approx(2.0, abs=0.06)
