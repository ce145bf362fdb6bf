"""Every hook of the core, in one place; a scenario kind declares its own step hooks.

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
def tracegrad_register_reporters(register):
    """Register report parts: classes deriving from ``engine.components.Reporter``.

    Called once when plugins load. A reporter adds sections to every trace report
    (``tracegrad report``) or writes reports in a format of its own (see docs/reports.md).
    """


@hookspec
def tracegrad_register_scenario_kinds(register):
    """Register kinds of scenario: ``register(name, implementation, fields)``.

    ``implementation`` derives from ``engine.components.ScenarioKind``; ``fields`` is the
    kind's base scenario model, a subclass of ``engine.scenario.ScenarioBase`` with
    ``kind: Literal[name]``. Called once when plugins load, before the other registration
    hooks (a kind may bring kinds of component of its own). The built-ins register
    ``supervised`` and ``gan``; a scenario file selects one with ``kind:`` (default
    ``supervised``).
    """


@hookspec
def tracegrad_step_plugins(scenario):
    """Objects that act on one run's steps: return a list (or None).

    Called once at the start of every run (and gradient check) with the validated
    ``scenario``; each object implements some of the step hooks of the scenario's kind
    (``scenario.kind.step_specs``: ``SupervisedStepSpecs`` in ``plugins/supervised.py``,
    ``GanStepSpecs`` in ``plugins/gan/hookspecs.py``), and lives for that run only. Return
    [] for a scenario that is not your business (e.g. another kind).
    """


@hookspec
def tracegrad_register_trace_checks(register):
    """Register how traces of a scenario kind are verified: ``register(kind, check)``.

    ``check(trace, checker) -> int`` walks a trace of that kind (an
    ``engine.trace.reader.Trace``) and compares each recorded claim with an independent
    derivation through ``checker`` (``engine.verify.report.Checker``), returning the number
    of steps it checked. ``tracegrad verify`` calls this once, on a plugin manager that holds
    only the rule modules (``engine.verify.RULE_PLUGINS``), installed plugins and the
    trace's own plugins: the rules never import the components they check.
    """


@hookspec
def tracegrad_register_rules(register):
    """Register verification rules for components: ``register(kind, name, rule)``.

    ``kind`` is "activations", "losses", "optimizers" or "layers" and ``name`` the
    component's ``type``, or a kind a scenario kind's rules read (the GAN's "tricks": a
    ``plugins.rules.gan.tricks.TrickRule`` saying how the trick changes labels, inputs,
    gradients or parameters). An activation's rule is ``rule(config) -> Formula``
    (``engine.verify.activations.Formula(name, f, derivative)``: a(z) and f'(z) from the
    config's dict); a loss's ``rule(config, y_hat, y, fused) -> LossValue(value, grad)``
    (``engine.verify.losses``); an optimizer's ``rule(Rule)`` checks one update record
    (``engine.verify.optimizers``). Called once by ``tracegrad verify`` on the plugin manager
    of rule modules (see ``tracegrad_register_trace_checks``): write the rule again from the
    component's formula, in a module that does not import the component. A component with no
    rule is reported "not checked, no rule" and the verdict is "partly verified".
    """
