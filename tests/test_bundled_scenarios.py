"""The scenarios shipped in scenarios/: each validates, runs, and does what its comments say.

The "reaches" tests use fewer steps than the files (the files leave room to watch the loss
settle); the thresholds sit below what the scenarios reach with their own seed.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import engine
from tests.conftest import SCENARIOS

SCENARIO_FILES = sorted(SCENARIOS.glob("*.yaml"))


def run(name: str, steps: int) -> engine.RunResult:
    path = SCENARIOS / name
    result = engine.run(path, trace=False, overrides={"train.steps": steps})
    assert result.status == "completed", result.summary()
    return result


def test_the_bundled_scenarios_are_found():
    names = {path.name for path in SCENARIO_FILES}
    assert {"walkthrough.yaml", "xor.yaml", "sine.yaml", "spirals.yaml"} <= names


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda path: path.name)
def test_validates_and_runs_three_steps(path):
    scenario = engine.load_scenario(path)
    assert scenario.spec.train.steps > 3
    result = engine.run(path, trace=False, overrides={"train.steps": 3})
    assert result.status == "completed", result.summary()
    assert result.steps_completed == 3
    assert all(math.isfinite(h["loss"]) for h in result.history)


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda path: path.name)
def test_opens_with_a_comment_that_explains_it(path):
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# ") and len(first) > 20


# --- each reaches what its comments promise -------------------------------------------------


def test_xor_classifies_all_four_points():
    result = run("xor.yaml", 100)  # the file says: 100% after 34 steps with seed 0
    assert result.metrics["accuracy"] == 1.0
    np.testing.assert_array_equal(
        result.predict([[0, 0], [0, 1], [1, 0], [1, 1]])[:, 0] >= 0.5, [False, True, True, False]
    )


def test_sine_fits_the_curve_to_the_noise_level():
    result = run("sine.yaml", 300)
    assert result.built.data.x_val.shape == (40, 1)
    assert result.metrics["val_loss"] < 0.02  # the noise alone gives 0.1² = 0.01
    x = np.linspace(-np.pi, np.pi, 101)[:, None]
    assert np.max(np.abs(result.predict(x) - np.sin(x))) < 0.3


def test_spirals_are_separated():
    result = run("spirals.yaml", 300)
    assert result.metrics["val_accuracy"] >= 0.95
    assert result.metrics["accuracy"] >= 0.95


def test_moons_with_dropout_generalize():
    result = run("moons.yaml", 500)
    assert result.metrics["val_accuracy"] >= 0.9


def test_digits_are_recognized():
    result = run("digits.yaml", 500)
    assert result.built.data.classes == 10
    assert result.metrics["val_accuracy"] >= 0.93


# --- the vanishing-gradients pair -----------------------------------------------------------

LAYERS = [f"layer{i}" for i in range(1, 8)] + ["output"]


def first_to_last(history: list[dict]) -> np.ndarray:
    """‖dL/dθ‖ of the first layer over that of the output layer, per step."""
    return np.array([h["grad_norm.layer1"] / h["grad_norm.output"] for h in history])


def test_vanishing_pair_differs_only_in_activation_and_init():
    sigmoid = engine.load_scenario(SCENARIOS / "vanishing_sigmoid.yaml").resolved()
    relu = engine.load_scenario(SCENARIOS / "vanishing_relu.yaml").resolved()
    for key in ("seed", "data", "loss", "optimizer", "train"):
        assert sigmoid[key] == relu[key]
    assert [layer["units"] for layer in sigmoid["model"]["layers"]] == [
        layer["units"] for layer in relu["model"]["layers"]
    ]
    assert [layer["name"] for layer in sigmoid["model"]["layers"]] == LAYERS


def test_gradients_vanish_towards_the_input_with_sigmoid_not_with_relu():
    sigmoid = run("vanishing_sigmoid.yaml", 5).history
    relu = run("vanishing_relu.yaml", 5).history
    # sigmoid: every layer gets a smaller gradient than the one after it
    norms = [sigmoid[0][f"grad_norm.{name}"] for name in LAYERS]
    assert all(a < b for a, b in zip(norms, norms[1:], strict=False)), norms
    assert first_to_last(sigmoid).max() < 1e-2
    assert first_to_last(relu).min() > 0.1
    assert first_to_last(sigmoid).max() < first_to_last(relu).min() / 100


def test_the_sigmoid_network_is_stuck_and_the_relu_network_learns():
    sigmoid = run("vanishing_sigmoid.yaml", 300)
    relu = run("vanishing_relu.yaml", 300)
    assert sigmoid.final_loss == pytest.approx(math.log(2), abs=0.01)  # a coin flip
    assert sigmoid.metrics["accuracy"] <= 0.6
    assert relu.metrics["accuracy"] == 1.0
