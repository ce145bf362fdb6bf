"""Gradient check of a GAN scenario at its initial parameters, with the shared machinery of
``engine.gradcheck`` (central differences, relative error):

- G's parameters, through the frozen D:  L_G(D(G(z)))  — the gradient the G phase computes
  (D's backward hands dL/dx to G's backward);
- D's parameters:  L_D = loss_real(D(x)) + loss_fake(D(G(z))), both terms summed as in the
  D phase (G's output held fixed).

Labels are the loss's own (1 real, 0 fake, 1 for G); tricks are not applied. The error of
a parameter is scale-wise, max|analytic - numeric| / max(max|analytic| + max|numeric|, 1e-4):
some GAN gradients are exactly 0 (the Wasserstein critic's last bias: -mean 1 + mean 1),
where an entry-wise relative error would only measure the rounding of the differences.
"""

from __future__ import annotations

import numpy as np

from engine.gradcheck import CheckResult, numerical_gradient

FLOOR = 1e-4


def check_gan(
    scenario, max_entries: int = 200, batch: int = 16, precision: str | None = "float64"
) -> list[CheckResult]:
    """Check every parameter of G and D; returns one CheckResult per parameter."""
    from plugins.gan.build import build_gan

    built = build_gan(scenario, precision=precision)
    if built.conditioning is not None:
        return check_conditional(built, max_entries, batch)
    G, D, loss, ctx = built.generator, built.discriminator, built.loss, built.ctx
    rng = np.random.default_rng(0)
    z = built.latent(batch, rng)
    real = built.data.x[:batch]
    n = len(real)

    def labels(value: float, count: int):
        return np.full((count, 1), value) if loss.uses_labels else None

    t_real, t_fake = labels(loss.real_label, n), labels(loss.fake_label, batch)
    t_g = labels(loss.generator_label, batch)

    def g_objective():
        ctx.reseed()
        return loss.generator(D.forward(G.forward(z, True), True), t_g)[0]

    ctx.reseed()
    _, grad = loss.generator(D.forward(G.forward(z, True), True), t_g)
    G.backward(D.backward(grad))
    results = _compare(G.parameters, g_objective, max_entries, rng)

    ctx.reseed()
    fake = G.forward(z, True)

    def d_objective():
        ctx.reseed()
        return (
            loss.d_real(D.forward(real, True), t_real)[0]
            + loss.d_fake(D.forward(fake, True), t_fake)[0]
        )

    ctx.reseed()
    D.backward(loss.d_real(D.forward(real, True), t_real)[1])
    real_grads = [p.grad.copy() for p in D.parameters]
    D.backward(loss.d_fake(D.forward(fake, True), t_fake)[1])
    for p, g in zip(D.parameters, real_grads):
        p.grad = p.grad + g
    return results + _compare(D.parameters, d_objective, max_entries, rng)


def check_conditional(built, max_entries: int, batch: int) -> list[CheckResult]:
    """A conditional GAN (``plugins.gan.conditional``): the same two objectives with the
    classes y in both networks' inputs and the conditioning's own terms,

        L_G = loss_G(D(G([z, one-hot(y)]), y)) (+ λ·CE of the class head, acgan)
        L_D = loss_real(D(x, y_x)) + loss_fake(D(G(·), y)) (+ both batches' class terms)

    for G's parameters and D's, the conditioning's (E, W_c, b_c) among them."""
    G, D, loss, ctx, cond = (
        built.generator,
        built.discriminator,
        built.loss,
        built.ctx,
        built.conditioning,
    )
    rng = np.random.default_rng(0)
    z = built.latent(batch, rng)
    y = cond.labels(batch, rng)
    real, y_real = built.data.x[:batch], built.labels[:batch]

    def labels(value: float):
        return np.full((batch, 1), value) if loss.uses_labels else None

    def through_d(x, classes, term, target):
        """(loss, dL/dl) of ``term`` on D's logits for x, plus the class term."""
        value, grad = term(cond.forward(D, cond.d_input(x, classes), classes), target)
        return value + (cond.term or 0.0), grad

    def g_objective():
        ctx.reseed()
        fake = G.forward(built.g_input(z, y), True)
        return through_d(fake, y, loss.generator, labels(loss.generator_label))[0]

    ctx.reseed()
    fake = G.forward(built.g_input(z, y), True)
    _, grad = through_d(fake, y, loss.generator, labels(loss.generator_label))
    G.backward(cond.x_gradient(cond.backward(D, grad)))
    results = _compare(G.parameters, g_objective, max_entries, rng)

    ctx.reseed()
    fake = G.forward(built.g_input(z, y), True)

    def d_objective():
        ctx.reseed()
        value = through_d(real, y_real, loss.d_real, labels(loss.real_label))[0]
        return value + through_d(fake, y, loss.d_fake, labels(loss.fake_label))[0]

    ctx.reseed()
    cond.backward(D, through_d(real, y_real, loss.d_real, labels(loss.real_label))[1])
    real_grads = [p.grad.copy() for p in D.parameters]
    cond.backward(D, through_d(fake, y, loss.d_fake, labels(loss.fake_label))[1])
    for p, g in zip(D.parameters, real_grads):
        p.grad = p.grad + g
    return results + _compare(D.parameters, d_objective, max_entries, rng)


def _compare(params, objective, max_entries, rng) -> list[CheckResult]:
    analytic = {p.key: p.grad.copy() for p in params}
    results = []
    for p in params:
        numeric, indices = numerical_gradient(objective, p.value, max_entries=max_entries, rng=rng)
        a, b = analytic[p.key].reshape(-1)[indices], numeric.reshape(-1)[indices]
        scale = max(float(np.max(np.abs(a)) + np.max(np.abs(b))), FLOOR)
        error = float(np.max(np.abs(a - b))) / scale
        results.append(CheckResult(p.key, error, len(indices), p.value.size))
    return results
