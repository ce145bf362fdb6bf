"""Discriminator rejection sampling (plugins/gan/sampling.py): the acceptance rule turns
samples of p_G into samples of p_data when D's logit is log(p_data/p_G); training is the same
with and without it; measures and ``generate`` (also of a loaded run) use it; scenarios it
does not suit are refused at the trick's line."""

from __future__ import annotations

import numpy as np
import pytest

import engine
from plugins.gan.metrics import mode_coverage
from plugins.gan.sampling import (
    DiscriminatorRejection,
    DiscriminatorRejectionConfig,
    acceptance,
)

RING = """
name: drs
kind: gan
seed: 0
data: {type: ring, modes: 8, radius: 2.0, std: 0.02, samples: 20000}
latent: {dim: 2, distribution: normal}
generator:
  layers:
    - {type: dense, units: 32, activation: leaky_relu}
    - {type: dense, units: 32, activation: leaky_relu}
    - {type: dense, units: 2}
discriminator:
  layers:
    - {type: dense, units: 32, activation: leaky_relu}
    - {type: dense, units: 32, activation: leaky_relu}
    - {type: dense, units: 1}
loss: {type: non_saturating}
optimizer:
  generator: {type: adam, lr: 2.0e-3, betas: [0.5, 0.999], schedule: {type: cosine}}
  discriminator: {type: adam, lr: 2.0e-3, betas: [0.5, 0.999], schedule: {type: cosine}}
train: {steps: 1500, batch_size: 128}
tricks:
  - {type: label_smoothing, real: 0.9}
  - {type: discriminator_rejection}
metrics: {every: 500, samples: 2000}
trace: {every: 500}
"""


class LogRatio:
    """A D whose logit is exactly log(p_data/p_G) for p_G = U(0, 1), p_data(x) = 2x."""

    def forward(self, x, training=False):
        return np.log(2 * np.clip(x, 1e-300, None))


def test_acceptance_is_exp_of_the_logit_below_its_maximum():
    logits = np.array([0.0, -1.0, 2.0])
    assert acceptance(logits, 2.0, 0.0) == pytest.approx(np.exp([-2.0, -3.0, 0.0]))
    assert acceptance(logits, 2.0, 1.5) == pytest.approx(np.exp([-0.5, -1.5, 0.0]))


def test_with_the_true_log_ratio_the_kept_samples_follow_the_data():
    """G: U(0, 1); data: density 2x (mean 2/3, P(x < 1/2) = 1/4); a(x) = 2x / 2 = x."""
    trick = DiscriminatorRejection(DiscriminatorRejectionConfig(burn_in=20000))
    rng = np.random.default_rng(0)
    x = trick.tracegrad_gan_sample(
        n=20000, draw=lambda m: rng.random((m, 1)), discriminator=LogRatio(), rng=rng
    )
    assert x.shape == (20000, 1)
    assert abs(float(x.mean()) - 2 / 3) < 0.01  # U(0, 1) would give 1/2
    assert abs(float(np.mean(x < 0.5)) - 0.25) < 0.015
    assert 0.45 < trick.accepted_share < 0.55  # E[a(x)] = E[x] = 1/2


def test_a_discriminator_that_rejects_everything_still_gives_n_samples():
    class Hostile:
        def forward(self, x, training=False):
            return np.where(x[:, :1] > 0.999, 0.0, -800.0)  # one sample in a thousand

    trick = DiscriminatorRejection(DiscriminatorRejectionConfig(burn_in=10))
    rng = np.random.default_rng(1)
    x = trick.tracegrad_gan_sample(
        n=50, draw=lambda m: rng.random((m, 1)), discriminator=Hostile(), rng=rng
    )
    assert x.shape == (50, 1)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("drs")
    path = folder / "drs.yaml"
    path.write_text(RING, encoding="utf-8")
    with_it = engine.run(path, run_dir=folder / "with")
    without = engine.run(
        path,
        run_dir=folder / "without",
        overrides={"tricks": [{"type": "label_smoothing", "real": 0.9}]},
    )
    return with_it, without


def test_training_is_the_same_with_and_without_it(runs):
    with_it, without = runs
    for a, b in zip(with_it.history, without.history, strict=True):
        assert a["d_loss"] == b["d_loss"] and a["g_loss"] == b["g_loss"]
    for key, value in without.params.items():
        assert np.array_equal(with_it.params[key], value), key


def test_it_raises_the_share_of_high_quality_samples(runs):
    with_it, without = runs
    assert with_it.metrics["high_quality"] > without.metrics["high_quality"] + 0.02
    assert with_it.metrics["modes"] >= without.metrics["modes"]
    info = with_it.built.data.info
    kept = mode_coverage(with_it.generate(2000, seed=5), info["centers"], info["std"])
    raw = mode_coverage(without.generate(2000, seed=5), info["centers"], info["std"])
    assert kept["high_quality"] > raw["high_quality"] + 0.02


def test_a_loaded_run_samples_the_same_way(runs):
    with_it, _ = runs
    loaded = engine.load_run(with_it.run_dir)
    assert np.array_equal(loaded.generate(300, seed=7), with_it.generate(300, seed=7))


def test_no_samples_asked_none_given(runs):
    with_it, _ = runs
    assert with_it.generate(0, seed=1).shape == (0, 2)


def test_its_trace_verifies(runs):
    from engine.verify import verify_trace

    report = verify_trace(runs[0].trace_path)
    assert not report.disagreements and report.verdict.startswith("verified"), report.format()


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ("loss: {type: wasserstein}\n", "not for 'wasserstein'"),
        ("conditional: {type: concat}\n", "cannot be combined with conditional"),
    ],
)
def test_scenarios_it_does_not_suit_are_refused_at_its_line(cli, write_scenario, change, words):
    text = RING.replace("loss: {type: non_saturating}\n", "")
    text = text.replace("tricks:\n  - {type: label_smoothing, real: 0.9}\n", "tricks:\n")
    text += "loss: {type: non_saturating}\n" if "loss" not in change else ""
    path = write_scenario(text + change)
    done = cli("validate", path)
    assert done.code == 2, done.out + done.err
    message = done.out + done.err
    assert words in message and "Traceback" not in message
    assert f"{path.name}:" in message


def test_packing_is_refused(cli, write_scenario):
    text = RING.replace(
        "  - {type: label_smoothing, real: 0.9}\n", "  - {type: packing, samples: 2}\n"
    )
    done = cli("validate", write_scenario(text))
    assert done.code == 2 and "packs" in done.out + done.err, done.out + done.err
