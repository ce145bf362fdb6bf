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

import pluggy

from engine import hookspecs
from engine.errors import PluginError


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
            raise PluginError(f"'{name}' cannot act on this run's steps: {error}") from error

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

    def call(self, hook: str, /, **kwargs) -> list:
        caller = self.active.get(hook)
        if caller is None:
            return []
        return caller(**kwargs)


def step_plugins(scenario) -> list:
    """The objects plugins offer to act on this run's steps (``tracegrad_step_plugins``)."""
    offered = []
    for answer in reversed(
        scenario.registry.manager.hook.tracegrad_step_plugins(scenario=scenario)
    ):
        offered.extend(answer or [])
    return offered
