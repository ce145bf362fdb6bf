"""The hooks of a registry, discovered: the core's, and those each registered scenario kind
brings (its registration hooks, ``ScenarioKind.hookspecs``, and its step hooks,
``ScenarioKind.step_specs``). Nothing here lists a hook by name."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from pathlib import Path

from engine import hookspecs
from engine.plugins import Registry, component_kinds

#: The folder of the hooks' examples: one plugin module per hook, named after it.
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "hooks"


@dataclass(frozen=True)
class Hook:
    """One hook: its ``name``, specification ``function``, argument names, whether the first
    answer wins, the group it belongs to and, for a registration hook, the base class of what
    it registers."""

    name: str
    function: object
    arguments: tuple[str, ...]
    firstresult: bool
    group: str
    registers: type | None = None

    @property
    def doc(self) -> str:
        return inspect.cleandoc(self.function.__doc__ or "")

    #: The docstring of the module or class that specifies the hook (it may name the
    #: arguments' types for every hook it holds).
    group_doc: str = ""

    @property
    def argument_types(self) -> dict[str, str]:
        """Argument name -> the class it is, from an annotation or from the hook's (or its
        group's) docstring: "``batch`` is a ``GanBatch``"."""
        from engine.reference.objects import argument_types

        raw = getattr(self.function, "__annotations__", {})
        named = {**argument_types(self.group_doc), **argument_types(self.doc)}
        found = {}
        for name in self.arguments:
            if name in raw:
                found[name] = str(raw[name])
            elif name in named:
                found[name] = named[name]
        return found

    @property
    def example(self) -> Path | None:
        """``examples/hooks/<hook>.py``, else the first example that implements the hook
        (a trace check needs the kind it checks), else None."""
        own = EXAMPLES / f"{self.name}.py"
        if own.exists():
            return own
        for path in sorted(EXAMPLES.glob("*.py")):
            if f"def {self.name}(" in path.read_text(encoding="utf-8"):
                return path
        return None


@dataclass(frozen=True)
class HookGroup:
    """Hooks specified in one place: a hookspec module or a step-spec class."""

    title: str
    where: str
    hooks: tuple[Hook, ...]


def _spec_functions(spec) -> list[tuple[str, object]]:
    """(name, function) of the hooks a module or class specifies, in source order."""
    prefix = f"{hookspecs.PROJECT}_"
    marker = f"{hookspecs.PROJECT}_spec"
    return [
        (name, function)
        for name, function in vars(spec).items()
        if name.startswith(prefix) and callable(function) and hasattr(function, marker)
    ]


def _hooks(spec, group: str, registers: dict[str, type]) -> tuple[Hook, ...]:
    marker = f"{hookspecs.PROJECT}_spec"
    hooks = []
    for name, function in _spec_functions(spec):
        options = getattr(function, marker) or {}
        arguments = tuple(a for a in inspect.signature(function).parameters if a != "self")
        hooks.append(
            Hook(
                name,
                function,
                arguments,
                bool(options.get("firstresult")),
                group,
                registers.get(name),
                inspect.cleandoc(spec.__doc__ or ""),
            )
        )
    return tuple(hooks)


def _where(spec) -> str:
    return spec.__name__ if inspect.ismodule(spec) else f"{spec.__module__}.{spec.__qualname__}"


def hook_groups(registry: Registry) -> list[HookGroup]:
    """The core's hooks, then each scenario kind's (by kind name): registration, then steps."""
    from engine.components import ScenarioKind

    registers = {hook: base for hook, base in component_kinds(registry).values()}
    registers["tracegrad_register_scenario_kinds"] = ScenarioKind
    specs = [("Core hooks", hookspecs)]
    for name in sorted(registry.kinds):
        kind = registry.kinds[name].kind
        if kind.hookspecs is not None:
            specs.append((f"Hooks of the {name} kind", kind.hookspecs))
        if kind.step_specs is not None:
            specs.append((f"Step hooks of the {name} kind", kind.step_specs))
    groups = []
    for title, spec in specs:
        hooks = _hooks(spec, title, registers)
        if hooks:
            groups.append(HookGroup(title, _where(spec), hooks))
    return groups


def all_hooks(registry: Registry) -> list[Hook]:
    return [hook for group in hook_groups(registry) for hook in group.hooks]
