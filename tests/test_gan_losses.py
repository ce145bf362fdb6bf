"""Every GAN loss: values worked out by hand, stable on extreme logits, and gradients checked
by finite differences: w.r.t. D's logits, w.r.t. D's parameters (D's loss), and w.r.t. G's
parameters through D (G's loss)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.gradcheck import numerical_gradient, relative_error
from engine.plugins import load_registry
from engine.scenario import load_scenario
from plugins.gan.build import build_gan
from tests.test_gan import tiny

LOSSES = ["minimax", "non_saturating", "least_squares", "hinge", "wasserstein"]


def make(name: str, **options):
    registry = load_registry(autoload=False)
    component = registry.get("gan_losses", name)
    return component.create(component.config(type=name, **options))


def column(*values):
    return np.array(values, dtype=np.float64).reshape(-1, 1)


def test_every_builtin_loss_is_registered():
    assert load_registry(autoload=False).names("gan_losses") == sorted(LOSSES)


def test_minimax_and_non_saturating_at_zero_logits():
    # D(x) = σ(0) = ½ everywhere: each BCE term is log 2
    l, one, zero = column(0.0, 0.0), column(1.0, 1.0), column(0.0, 0.0)
    minimax, saturating = make("minimax"), make("non_saturating")
    assert minimax.d_real(l, one)[0] == pytest.approx(math.log(2))
    assert minimax.d_fake(l, zero)[0] == pytest.approx(math.log(2))
    assert minimax.generator(l, one)[0] == pytest.approx(-math.log(2))  # log(1 - ½)
    assert saturating.generator(l, one)[0] == pytest.approx(math.log(2))  # -log ½
    # dL/dl = (σ(l) - t)/N
    np.testing.assert_allclose(minimax.d_real(l, one)[1], column(-0.25, -0.25))
    np.testing.assert_allclose(minimax.generator(l, one)[1], column(-0.25, -0.25))


def test_minimax_saturates_where_non_saturating_does_not():
    # D rejects G's sample confidently (l = -8): G's minimax gradient nearly vanishes
    l, one = column(-8.0), column(1.0)
    small = abs(make("minimax").generator(l, one)[1][0, 0])
    large = abs(make("non_saturating").generator(l, one)[1][0, 0])
    assert small < 1e-3 and large > 0.99


def test_least_squares_hinge_wasserstein_by_hand():
    l = column(0.5, 2.0)
    ls = make("least_squares")
    assert ls.d_real(l, column(1.0, 1.0))[0] == pytest.approx((0.25 + 1.0) / 4)
    np.testing.assert_allclose(ls.d_fake(l, column(0.0, 0.0))[1], column(0.25, 1.0))
    custom = make("least_squares", real_label=1.0, fake_label=-1.0, generator_label=0.0)
    assert (custom.real_label, custom.fake_label, custom.generator_label) == (1.0, -1.0, 0.0)
    hinge = make("hinge")
    assert hinge.d_real(l, None)[0] == pytest.approx(0.25)  # max(0, 1 - 0.5), max(0, -1)
    assert hinge.d_fake(l, None)[0] == pytest.approx((1.5 + 3.0) / 2)
    np.testing.assert_allclose(hinge.d_real(l, None)[1], column(-0.5, 0.0))
    wgan = make("wasserstein")
    assert wgan.d_real(l, None)[0] + wgan.d_fake(column(0.0, 1.0), None)[0] == pytest.approx(-0.75)
    assert wgan.generator(l, None)[0] == pytest.approx(-1.25)
    assert not wgan.uses_labels and not hinge.uses_labels and ls.uses_labels


def test_logit_losses_are_stable_far_from_zero():
    l = column(-800.0, 0.0, 800.0)
    for name in ("minimax", "non_saturating"):
        loss = make(name)
        for value, grad in (
            loss.d_real(l, column(1, 1, 1)),
            loss.d_fake(l, column(0, 0, 0)),
            loss.generator(l, column(1, 1, 1)),
        ):
            assert math.isfinite(value) and np.all(np.isfinite(grad))
    # -log σ(-800) = 800 exactly in floating point, -log σ(800) = 0
    assert make("minimax").d_real(column(-800.0), column(1.0))[0] == pytest.approx(800.0)
    assert make("minimax").d_real(column(800.0), column(1.0))[0] == pytest.approx(0.0)


def test_score_is_a_probability_only_for_sigmoid_losses():
    l = column(0.0, 2.0)
    np.testing.assert_allclose(make("minimax").score(l), column(0.5, 1 / (1 + math.exp(-2))))
    np.testing.assert_allclose(make("wasserstein").score(l), l)


@pytest.mark.parametrize("name", LOSSES)
def test_gradient_wrt_logits(name):
    loss = make(name)
    rng = np.random.default_rng(1)
    logits = rng.normal(0.0, 1.5, size=(6, 1))
    target = rng.uniform(0.0, 1.0, size=(6, 1)) if loss.uses_labels else None
    for term in (loss.d_real, loss.d_fake, loss.generator):
        _, analytic = term(logits, target)
        numeric, _ = numerical_gradient(lambda term=term: term(logits, target)[0], logits)
        assert relative_error(analytic, numeric) < 1e-6, term.__name__


def _targets(loss, n, rng):
    if not loss.uses_labels:
        return None, None, None
    # labels a trick could have made: not just 0 and 1
    return (
        rng.uniform(0.7, 1.0, (n, 1)),
        rng.uniform(0.0, 0.3, (n, 1)),
        np.full((n, 1), loss.generator_label),
    )


@pytest.mark.parametrize("name", LOSSES)
def test_generator_loss_gradient_through_d_into_g(name):
    """G's dL/dθ from D's dL/dx handed to G's backward equals finite differences of
    L_G(D(G(z))) w.r.t. G's parameters."""
    built = build_gan(load_scenario(tiny(loss={"type": name})))
    G, D, loss = built.generator, built.discriminator, built.loss
    rng = np.random.default_rng(2)
    z = built.latent(8, rng)
    _, _, target = _targets(loss, 8, rng)

    def objective():
        return loss.generator(D.forward(G.forward(z, True), True), target)[0]

    _, grad_logits = loss.generator(D.forward(G.forward(z, True), True), target)
    G.backward(D.backward(grad_logits))
    for p in G.parameters:
        analytic = p.grad.copy()
        numeric, _ = numerical_gradient(objective, p.value)
        np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-8, err_msg=p.key)


@pytest.mark.parametrize("name", LOSSES)
def test_discriminator_loss_gradient(name):
    """D's dL/dθ, real and fake terms summed as the loop does, against finite differences."""
    built = build_gan(load_scenario(tiny(loss={"type": name})))
    G, D, loss = built.generator, built.discriminator, built.loss
    rng = np.random.default_rng(3)
    real = built.data.x[:8]
    fake = G.forward(built.latent(8, rng), True)
    real_target, fake_target, _ = _targets(loss, 8, rng)

    def objective():
        return (
            loss.d_real(D.forward(real, True), real_target)[0]
            + loss.d_fake(D.forward(fake, True), fake_target)[0]
        )

    D.backward(loss.d_real(D.forward(real, True), real_target)[1])
    real_grads = [p.grad.copy() for p in D.parameters]
    D.backward(loss.d_fake(D.forward(fake, True), fake_target)[1])
    for p, g in zip(D.parameters, real_grads):
        numeric, _ = numerical_gradient(objective, p.value)
        np.testing.assert_allclose(p.grad + g, numeric, rtol=1e-5, atol=1e-8, err_msg=p.key)


@pytest.mark.parametrize("name", LOSSES)
def test_check_gan_passes_for_every_loss(name):
    from plugins.gan.gradcheck import check_gan

    results = check_gan(load_scenario(tiny(loss={"type": name})))
    keys = {r.name for r in results}
    assert {"G.dense0.W", "G.dense1.b", "D.dense0.W", "D.dense1.b"} <= keys
    assert all(r.ok() for r in results), [(r.name, r.error) for r in results if not r.ok()]


def test_check_gan_catches_a_wrong_gradient(monkeypatch):
    from plugins.gan.gradcheck import check_gan
    from plugins.gan.losses import NonSaturating

    original = NonSaturating.generator
    monkeypatch.setattr(
        NonSaturating,
        "generator",
        lambda self, l, t: (original(self, l, t)[0], original(self, l, t)[1] * 1.01),
    )
    results = check_gan(load_scenario(tiny()))
    assert not all(r.ok() for r in results if r.name.startswith("G."))
