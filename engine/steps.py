"""Step hooks: the named points of a training step where plugins act.

Each scenario kind declares its step hooks as a hookspec class (``ScenarioKind.step_specs``);
each run gets its own plugin manager, ``StepHooks``, holding the objects that act on that run:
the kind's own (a GAN's tricks) and whatever plugins return from
``tracegrad_step_plugins(scenario)`` (gradient clipping, for instance). First registered,
first called. A hook nobody implements is never called, so an unused hook costs one dict
lookup per step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pluggy

from engine import hookspecs
from engine.errors import PluginError
from engine.i18n import _


class StepHooks:
    """A run's step-hook manager; ``call(hook, **kwargs)`` returns the hook's results."""

    def __init__(self, specs: type, plugins: list, names: list[str] | None = None):
        self.specs = specs
        self.manager = pluggy.PluginManager(hookspecs.PROJECT)
        self.manager.add_hookspecs(specs)
        names = names or [f"{index}.{type(p).__name__}" for index, p in enumerate(plugins)]
        for index in reversed(range(len(plugins))):  # pluggy calls the last registered first
            self._register(plugins[index], names[index])
        self.active = {
            name: getattr(self.manager.hook, name)
            for name in self.names()
            if getattr(self.manager.hook, name).get_hookimpls()
        }

    def _register(self, plugin, name: str) -> None:
        """Register one object, naming a misspelt hook or argument (with "did you mean")."""
        from engine.plugins import hook_problems

        problems = hook_problems(plugin, f"'{name}'", self.specs)
        if problems:
            raise PluginError("; ".join(problems), hint=self._hint())
        try:
            self.manager.register(plugin, name=name)
            self.manager.check_pending()
        except pluggy.PluginValidationError as error:
            raise PluginError(
                _("'{name}' cannot act on this run's steps: {error}").format(name=name, error=error)
            ) from error

    def _hint(self) -> str:
        return "the step hooks are: " + ", ".join(self.names())

    def names(self) -> list[str]:
        return [name for name in vars(self.specs) if name.startswith("tracegrad_")]

    def listens(self, hook: str) -> bool:
        return hook in self.active

    def implementations(self, hook: str) -> list[tuple[str, Callable[..., Any]]]:
        """(plugin name, call(**kwargs)) of each implementation of ``hook``, in the order
        ``call`` runs them: a caller that must see what each one changed calls them one at
        a time."""
        caller = self.active.get(hook)
        if caller is None:
            return []

        def bound(impl):
            return lambda **kwargs: impl.function(*(kwargs[name] for name in impl.argnames))

        return [(impl.plugin_name, bound(impl)) for impl in reversed(caller.get_hookimpls())]

    def call_watched(self, hook: str, values: Callable[[], dict], **kwargs) -> list:
        """``call`` one implementation at a time, for a hook that may change in place what
        ``values()`` returns (copies of gradients or parameters, or a batch's arrays).
        Returns (plugin name, note, values after it or None when it changed nothing) of
        each implementation that returned a note or changed them: a trace then holds what
        the next part of the step really used, whatever a plugin said of its change."""
        called = []
        for name, implementation in self.implementations(hook):
            before = values()
            note = implementation(**kwargs)
            after = values()
            changed = after.keys() != before.keys() or any(
                not _same(after[key], before[key]) for key in after
            )
            if note or changed:
                called.append((name, note, after if changed else None))
        return called

    def call(self, hook: str, /, **kwargs) -> list:
        caller = self.active.get(hook)
        if caller is None:
            return []
        return caller(**kwargs)


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is b
    return np.array_equal(a, b, equal_nan=True)


def copies(network, what: str) -> dict:
    """Copies of a network's gradients (``what`` "grads") or parameter values ("params"),
    by key: what ``StepHooks.call_watched`` compares before and after a hook."""
    if what == "grads":
        return {p.key: None if p.grad is None else p.grad.copy() for p in network.parameters}
    return {p.key: p.value.copy() for p in network.parameters}


def plugin_name(plugin) -> str:
    """How traces and verification rules name a step plugin: its ``name`` attribute, else
    its class's name."""
    return getattr(plugin, "name", None) or type(plugin).__name__


def offered_step_plugins(scenario) -> list[tuple[str, object]]:
    """(provider, object) of each object plugins offer to act on this run's steps
    (``tracegrad_step_plugins``), in the order they are called; the provider is the
    distribution that brings it ("tracegrad 0.1.0"), for the trace header's ``providers``."""
    from engine.plugins import provider_of

    offered = []
    # pluggy calls the last registered first; a run's order is the first registered first
    for impl in scenario.registry.manager.hook.tracegrad_step_plugins.get_hookimpls():
        answer = impl.function(*({"scenario": scenario}[name] for name in impl.argnames))
        offered.extend((provider_of(impl.plugin_name), plugin) for plugin in answer or [])
    return offered


def step_plugins(scenario) -> list:
    """The objects plugins offer to act on this run's steps (``tracegrad_step_plugins``)."""
    return [plugin for _, plugin in offered_step_plugins(scenario)]
