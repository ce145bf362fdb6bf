"""Every hook Tracegrad calls, in one place.

A plugin is a module (or object) with functions marked ``@engine.hookimpl`` whose names
match the specifications below. Each registration hook receives a ``register`` callable:

    register(name, implementation, config)

- ``name``: the value of ``type:`` that selects the component in a scenario file;
- ``implementation``: a class instantiated as ``implementation(config)``;
- ``config``: a pydantic model (subclass of ``engine.ComponentConfig``) with a field
  ``type: Literal[name]`` and a ``Field(description=...)`` on every other field.

The host decides what a duplicate name or a bad registration means, so a plugin only says
what it offers. The plugin manager calls every registration hook once, right after plugins
load (``engine.plugins.load_registry``).
"""

from __future__ import annotations

import pluggy

PROJECT = "tracegrad"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def tracegrad_register_layers(register):
    """Register layer types: classes deriving from ``engine.components.Layer``.

    Called once when plugins load. Layers are what ``model.layers`` lists.
    """


@hookspec
def tracegrad_register_activations(register):
    """Register activation functions: classes deriving from ``engine.components.Activation``.

    Called once when plugins load. An activation is used as a dense layer's ``activation:``
    or as a layer of its own in ``model.layers``.
    """


@hookspec
def tracegrad_register_losses(register):
    """Register loss functions: classes deriving from ``engine.components.Loss``.

    Called once when plugins load; selected by the scenario's ``loss:``.
    """


@hookspec
def tracegrad_register_optimizers(register):
    """Register optimizers: classes deriving from ``engine.components.Optimizer``.

    Called once when plugins load; selected by the scenario's ``optimizer:``.
    """


@hookspec
def tracegrad_register_schedules(register):
    """Register learning-rate schedules: classes deriving from ``engine.components.Schedule``.

    Called once when plugins load; selected by ``optimizer.schedule:``.
    """


@hookspec
def tracegrad_register_initializers(register):
    """Register parameter initializers: classes deriving from ``engine.components.Initializer``.

    Called once when plugins load; selected in a layer's ``init:`` mapping.
    """


@hookspec
def tracegrad_register_datasets(register):
    """Register data sets: classes deriving from ``engine.components.Dataset``.

    Called once when plugins load; selected by the scenario's ``data:``.
    """


@hookspec
def tracegrad_register_gan_losses(register):
    """Register GAN losses: classes deriving from ``engine.gan_components.GanLoss``.

    Called once when plugins load; selected by a GAN scenario's ``loss:``.
    """


@hookspec
def tracegrad_register_gan_tricks(register):
    """Register GAN tricks: classes deriving from ``engine.gan_components.GanTrick``.

    Called once when plugins load; listed in a GAN scenario's ``tricks:``. A trick acts
    through the step hooks of ``GanStepSpecs``.
    """


@hookspec
def tracegrad_register_reporters(register):
    """Register report parts: classes deriving from ``engine.components.Reporter``.

    Called once when plugins load. A reporter adds sections to every trace report
    (``tracegrad report``) or writes reports in a format of its own (see docs/reports.md).
    """


class GanStepSpecs:
    """The named points of a GAN step where a trick acts.

    Each GAN run has its own plugin manager holding the scenario's trick instances (first
    listed, first called); the GAN loop (``engine.gan``) calls these hooks on it. A hook no
    trick implements is never called. ``batch`` is an ``engine.gan_components.GanBatch``;
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
        in each parameter's ``grad``), before D's update: may add to the gradients, e.g. a
        gradient penalty; record the added loss term in ``batch.penalties``."""

    @hookspec
    def tracegrad_gan_after_update(self, network, name, step):
        """Called after each optimizer update of G (``name`` "G") or D (``name`` "D"); may
        change the parameters, e.g. clip D's weights."""

    @hookspec
    def tracegrad_gan_scalars(self, step):
        """Called once per step after both phases: return a dict of numbers for the
        per-step scalars (e.g. {"instance_noise.std": 0.05}), or None."""
