"""The hooks and objects reference (docs/reference.md), generated from the code so it cannot
drift: ``python -m engine.reference`` writes it, ``tests/test_reference.py`` regenerates it
and compares, and runs every hook's example.

It covers every hook the plugin manager knows (discovered from the hookspec modules and the
registered scenario kinds, never listed by hand), with its arguments, its docstring and its
example (``examples/hooks/<hook>.py``); then the contracts and every object a hook hands a
plugin, with each public attribute and method (``engine.reference.objects``).
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

from engine.reference.hooks import EXAMPLES, Hook, all_hooks, hook_groups
from engine.reference.objects import (
    bases,
    class_index,
    discover,
    members,
    names_in_annotation,
    names_in_doc,
    qualified_name,
    resolve,
)

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "docs" / "reference.md"

__all__ = ["EXAMPLES", "OUTPUT", "Hook", "all_hooks", "generate", "hook_groups", "main"]


def _registry():
    """The built-ins only: what installed packages add is not part of the reference."""
    from engine.plugins import load_registry

    return load_registry(autoload=False)


def contracts(registry) -> list[type]:
    """The classes a plugin derives from: every kind's base class, the scenario kind and its
    loop, and the config bases."""
    from engine import components
    from engine.plugins import component_kinds

    found = [base for _, base in component_kinds(registry).values()]
    found += [components.ScenarioKind, components.StepLoop]
    found += [components.ComponentConfig, components.LayerConfig, components.OptimizerConfig]
    return list(dict.fromkeys(found))


def hook_objects(hook: Hook, index) -> list[type]:
    """Classes a hook hands over or names: its arguments' annotations, its docstring's names."""
    home = sys.modules[hook.function.__module__]
    texts = [t for a in hook.argument_types.values() for t in names_in_annotation(a)]
    texts += names_in_doc(hook.doc)
    found = [resolve(text, home, index) for text in texts]
    if hook.registers is not None:
        found.append(hook.registers)
    return [c for c in dict.fromkeys(found) if c is not None]


def _anchor(cls) -> str:
    return qualified_name(cls).replace(".", "-").lower()


def _link(cls) -> str:
    return f"[`{cls.__name__}`](#{_anchor(cls)})"


def _hook_section(hook: Hook, index) -> list[str]:
    home = sys.modules[hook.function.__module__]
    types = {
        name: found.__name__
        for name, text in hook.argument_types.items()
        if (found := resolve(text, home, index)) is not None
    }
    arguments = ", ".join(f"{a}: {types[a]}" if a in types else a for a in hook.arguments)
    lines = [f"### {hook.name}", "", f"`{hook.name}({arguments})`"]
    if hook.firstresult:
        lines[-1] += " — first answer wins (`firstresult`)"
    lines += ["", hook.doc, ""]
    objects = hook_objects(hook, index)
    if objects:
        lines += ["Objects: " + ", ".join(_link(c) for c in objects) + ".", ""]
    if hook.example is not None:
        relative = hook.example.relative_to(ROOT).as_posix()
        lines += [
            f"Example ([`{relative}`](../{relative}), run by `tests/test_reference.py`):",
            "",
            "```python",
            hook.example.read_text(encoding="utf-8").rstrip(),
            "```",
            "",
        ]
    return lines


def _class_section(cls) -> list[str]:
    lines = [f'<a id="{_anchor(cls)}"></a>', "", f"### `{qualified_name(cls)}`", ""]
    derived = bases(cls)
    if derived:
        lines += ["Derives from " + ", ".join(_link(b) for b in derived) + ".", ""]
    doc = inspect.cleandoc(cls.__doc__ or "")
    if doc:
        lines += [doc, ""]
    for member in members(cls):
        if member.kind == "method":
            head = f"- `{member.name}{member.signature}`"
        elif member.kind == "property":
            head = f"- `{member.name}` (property)"
        else:
            head = (
                f"- `{member.name}: {member.signature}`"
                if member.signature
                else f"- `{member.name}`"
            )
        text = member.doc.replace("\n", "\n  ") if member.doc else ""
        lines.append(f"{head}: {text}" if text else head)
    lines.append("")
    return lines


def generate(registry=None) -> str:
    """The reference as Markdown text."""
    registry = registry or _registry()
    index = class_index()
    groups = hook_groups(registry)
    roots = contracts(registry)
    for group in groups:
        for hook in group.hooks:
            roots += hook_objects(hook, index)
    roots = list(dict.fromkeys(roots))
    specs = {registry.kinds[k].kind.step_specs for k in registry.kinds}
    found = [c for c in discover(roots, index) if c not in specs]
    contract_set = set(contracts(registry))
    lines = [
        "# Hooks and objects reference",
        "",
        "Generated from the code by `python -m engine.reference`; do not edit by hand",
        "(`tests/test_reference.py` regenerates it and fails when it differs). The guide is",
        "[plugins.md](plugins.md); this page lists every hook with its arguments and a",
        "working example, then the contracts a component derives from and every object a",
        "hook hands a plugin, with each public attribute and method.",
        "",
        "## Hooks",
        "",
    ]
    for group in groups:
        names = ", ".join(f"[{h.name}](#{h.name})" for h in group.hooks)
        lines.append(f"- {group.title} (`{group.where}`): {names}")
    lines.append("")
    for group in groups:
        lines += [f"## {group.title}", "", f"Specified in `{group.where}`.", ""]
        for hook in group.hooks:
            lines += _hook_section(hook, index)
    for title, classes in (
        ("Contracts", [c for c in found if c in contract_set]),
        ("Objects", [c for c in found if c not in contract_set]),
    ):
        lines += [f"## {title}", ""]
        lines += [f"- {_link(c)} (`{c.__module__}`)" for c in classes] + [""]
        for cls in classes:
            lines += _class_section(cls)
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the reference to docs/reference.md (or the path given)."""
    argv = sys.argv[1:] if argv is None else argv
    output = Path(argv[0]) if argv else OUTPUT
    output.write_text(generate(), encoding="utf-8")
    print(f"wrote {output}")
    return 0
