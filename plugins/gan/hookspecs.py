"""The GAN kind's hooks: registration of GAN losses and tricks, and the step hooks tricks use.

The GAN kind adds these to the plugin manager (``GanKind.hookspecs``), so a plugin implements
them exactly like the core's hooks (``engine.hookspecs``).
"""

from __future__ import annotations

from engine.hookspecs import hookspec


@hookspec
def tracegrad_register_gan_losses(register):
    """Register GAN losses: classes deriving from ``plugins.gan.components.GanLoss``.

    Called once when plugins load; selected by a GAN scenario's ``loss:``.
    """


@hookspec
def tracegrad_register_gan_tricks(register):
    """Register GAN tricks: classes deriving from ``plugins.gan.components.GanTrick``.

    Called once when plugins load; listed in a GAN scenario's ``tricks:``. A trick acts
    through the step hooks of ``GanStepSpecs``.
    """


@hookspec
def tracegrad_register_gan_conditionings(register):
    """Register conditionings: classes deriving from ``plugins.gan.conditional.Conditioning``.

    Called once when plugins load; selected by a GAN scenario's ``conditional:``.
    """


class GanStepSpecs:
    """The named points of a GAN step where a trick acts.

    Each GAN run has its own plugin manager holding the scenario's trick instances (first
    listed, first called); the GAN loop (``plugins.gan.loop``) calls these hooks on it. A hook no
    trick implements is never called. ``batch`` is a ``plugins.gan.components.GanBatch``;
    ``network``, ``generator`` and ``discriminator`` are ``engine.network.Network`` objects;
    ``step`` counts from 0. A hook that changes something returns ``trick.change(text)``,
    which the trace records on traced steps (e.g. "real targets 1 -> 0.9").
    """

    @hookspec(firstresult=True)
    def tracegrad_gan_d_steps(self, step, d_steps):
        """How many D updates step ``step`` makes; ``d_steps`` is ``train.d_steps``.

        Called once per step, before the D phase. First answer wins (firstresult): return
        an int, or None to leave the number alone.
        """

    @hookspec
    def tracegrad_gan_latent(self, batch, step):
        """Called after ``batch.z`` was drawn from ``latent.distribution``, before G's
        forward pass, in both phases (``batch.phase``); may replace ``batch.z``."""

    @hookspec
    def tracegrad_gan_d_input(self, batch, step):
        """Called before D's forward pass: in phase "d" may replace ``batch.real`` and
        ``batch.fake``, in phase "g" ``batch.fake`` (D's input for G's samples).

        In phase "g" the gradient handed to G is D's dL/dx at ``batch.fake``: a trick that
        adds something independent of G(z) (noise) needs nothing more; one that reshapes or
        mixes the samples (packing) appends the map from dL/d(new fake) to dL/d(old fake)
        to ``batch.fake_backward``.
        """

    @hookspec
    def tracegrad_gan_d_labels(self, batch, step):
        """Called in phase "d" before D's loss, when the loss uses labels: may change
        ``batch.real_target`` and ``batch.fake_target`` (arrays (N, 1))."""

    @hookspec
    def tracegrad_gan_g_labels(self, batch, step):
        """Called in phase "g" before G's loss, when the loss uses labels: may change
        ``batch.target``, the label G trains D's output on its samples towards."""

    @hookspec
    def tracegrad_gan_d_gradients(self, batch, discriminator, step):
        """Called in phase "d" after D's backward pass (gradients of both loss terms summed
        in each parameter's ``grad``), before D's update: may add a term to D's loss with
        ``batch.add_term(name, value, grads={key: dterm/dθ})``, which the loop applies and
        traces; a trick that changes the gradients itself (the gradient penalty) records the
        added loss term in ``batch.penalties``."""

    @hookspec
    def tracegrad_gan_g_loss(self, batch, discriminator, step):
        """Called in phase "g" after D's backward pass on G's samples, before G's: may add a
        term to G's loss with ``batch.add_term(name, value, fake_grad=...)``, its gradient
        with respect to D's input at G's samples (it flows on into G).

        ``batch.features_fake`` holds D's layer outputs on G's samples, and
        ``batch.features_real`` on a real batch when a trick set ``batch.real`` in
        ``tracegrad_gan_latent`` (phase "g", so that every ``tracegrad_gan_d_input`` sees
        it); D's layers still hold the fake batch's forward values, so
        ``discriminator.backward_from(layer, grad)`` carries a gradient at a layer's output
        down to D's input (e.g. feature matching, Salimans et al. 2016).
        """

    @hookspec
    def tracegrad_gan_g_gradients(self, batch, generator, step):
        """Called in phase "g" after G's backward pass, before G's update: may add a term to
        G's loss with ``batch.add_term(name, value, grads={key: dterm/dθ})`` (e.g. historical
        averaging), as ``tracegrad_gan_d_gradients`` does for D."""

    @hookspec
    def tracegrad_gan_after_update(self, network, name, step):
        """Called after each optimizer update of G (``name`` "G") or D (``name`` "D"); may
        change the parameters, e.g. clip D's weights."""

    @hookspec(firstresult=True)
    def tracegrad_gan_sample(self, n, draw, discriminator, rng):
        """Called whenever G's samples are drawn outside training: for the sample measures
        (modes, high-quality share, W1/MMD) and for ``generate``. ``draw(m)`` gives m fresh
        samples G(z) (evaluation mode, z drawn with ``rng``), ``discriminator`` is D. Return
        n samples (e.g. a selection of draws, as discriminator_rejection does), or None to
        keep G(z) as it is. First answer wins. Training never calls it, so it changes no
        claim of the trace; a conditional GAN does not call it.
        """

    @hookspec
    def tracegrad_gan_scalars(self, step):
        """Called once per step after both phases: return a dict of numbers for the
        per-step scalars (e.g. {"instance_noise.std": 0.05}), or None."""
