"""GAN scenario files: every bundled one validates and runs a few steps; mistakes are
reported with the file:line of the offending key."""

from __future__ import annotations

from pathlib import Path

import pytest

import engine
from engine.errors import BuildError, ScenarioError
from engine.scenario import load_scenario
from plugins.gan.build import build_gan
from tests.conftest import SCENARIOS

BUNDLED = sorted((SCENARIOS / "gan").glob("*.yaml"))
FEW_STEPS = {"train.steps": 2, "metrics.samples": 200, "metrics.mmd_samples": 50}


def test_the_bundled_scenarios_are_there():
    names = {path.stem for path in BUNDLED}
    assert {
        "gaussian_1d",
        "ring8",
        "grid25",
        "ring8_collapse",
        "wgan_ring8",
        "digits_gan",
    } <= names


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_bundled_scenario_runs_a_few_steps(path):
    scenario = load_scenario(path, FEW_STEPS)
    assert scenario.spec.kind == "gan"
    result = engine.run(scenario, trace=False)
    assert result.status == "completed" and result.steps_completed == 2
    assert result.generate(3, seed=0).shape == (3, result.built.data.x.shape[1])


GOOD = """\
name: small-gan
kind: gan
data: {type: ring, modes: 4, radius: 1.0, std: 0.05, samples: 100}
latent: {dim: 2}
generator:
  layers:
    - {type: dense, units: 4, activation: tanh}
    - {type: dense, units: 2}
discriminator:
  layers:
    - {type: dense, units: 4, activation: leaky_relu}
    - {type: dense, units: 1}
loss: {type: minimax}
optimizer:
  generator: {type: sgd, lr: 0.01}
  discriminator: {type: sgd, lr: 0.01}
train: {steps: 2, batch_size: 4}
tricks:
  - {type: label_smoothing, real: 0.9}
"""


def load_text(write_scenario, text):
    path = write_scenario(text)
    return path, lambda: load_scenario(path)


def test_the_good_scenario_loads(write_scenario):
    _, load = load_text(write_scenario, GOOD)
    assert load().spec.tricks[0].real == 0.9


@pytest.mark.parametrize(
    "old, new, line, words",
    [
        (
            "{type: label_smoothing, real: 0.9}",
            "{type: label_smothing}",
            19,
            ["unknown trick 'label_smothing'", "Did you mean 'label_smoothing'"],
        ),
        (
            "{type: label_smoothing, real: 0.9}",
            "{type: label_smoothing, real: [1.2, 0.7]}",
            19,
            ["low <= high"],
        ),
        (
            "latent: {dim: 2}",
            "latent: {dim: 2, distribution: sphere}",
            4,
            ["'normal', 'uniform' or 'spherical'"],
        ),
        ("latent: {dim: 2}\n", "", 1, ["missing required key 'latent'"]),
        (
            "train: {steps: 2, batch_size: 4}",
            "train: {steps: 2, d_step: 4}",
            17,
            ["unknown key 'd_step'", "Did you mean 'd_steps'"],
        ),
        ("loss: {type: minimax}", "loss: {type: mse}", 13, ["unknown loss 'mse'"]),
        (
            "  discriminator: {type: sgd, lr: 0.01}\n",
            "",
            14,
            ["missing required key 'discriminator'"],
        ),
        (
            "kind: gan",
            "kind: gann",
            2,
            ["unknown kind 'gann'. Did you mean 'gan'? Registered kinds: gan, supervised"],
        ),
    ],
)
def test_validation_errors_point_at_the_line(write_scenario, old, new, line, words):
    assert old in GOOD
    path, load = load_text(write_scenario, GOOD.replace(old, new))
    with pytest.raises(ScenarioError) as error:
        load()
    text = str(error.value)
    assert f"{path}:{line}:" in text, text
    for word in words:
        assert word in text, text


@pytest.mark.parametrize(
    "old, new, line, words",
    [
        (
            "    - {type: dense, units: 1}",
            "    - {type: dense, units: 2}",
            12,
            ["D's last layer gives 2 numbers"],
        ),
        (
            "    - {type: dense, units: 1}",
            "    - {type: dense, units: 1, activation: sigmoid}",
            12,
            ["sigmoid"],
        ),
        (
            "    - {type: dense, units: 2}",
            "    - {type: dense, units: 3}",
            8,
            ["G's last layer gives 3 numbers", "2 features"],
        ),
        ("loss: {type: minimax}", "loss: {type: wasserstein}", 19, ["has no labels"]),
    ],
)
def test_build_errors_point_at_the_line(write_scenario, old, new, line, words):
    assert old in GOOD
    path, load = load_text(write_scenario, GOOD.replace(old, new))
    with pytest.raises(BuildError) as error:
        build_gan(load())
    text = str(error.value)
    assert f"{path}:{line}:" in text, text
    for word in words:
        assert word in text, text


def test_supervised_scenarios_are_unchanged(write_scenario):
    from tests.conftest import SMALL

    scenario = load_scenario(write_scenario(SMALL))
    assert scenario.spec.kind == "supervised"


def test_the_documented_ring8_example_runs_verbatim(tmp_path):
    """The GAN scenario of the format's specification (with ``size:``), a few steps."""

    path = Path(__file__).parent / "data" / "issue_ring8.yaml"
    result = engine.run(path, trace=tmp_path / "t.jsonl", overrides={"train.steps": 3})
    assert result.status == "completed"
    assert result.scenario.resolved()["data"]["samples"] == 100000
