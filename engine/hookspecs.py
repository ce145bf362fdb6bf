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
