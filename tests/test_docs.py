"""The plugin author's guide cannot drift: every hook has its section, every kind its docs."""

from __future__ import annotations

import inspect
import re

from engine import hookspecs
from engine.plugins import KINDS, load_registry
from tests.conftest import ROOT

GUIDE = (ROOT / "docs" / "plugins.md").read_text()


def _hook_names() -> list[str]:
    """The core's hooks and those every registered scenario kind brings (its registration
    hooks and its step hooks)."""
    modules = [hookspecs]
    step_specs = []
    for entry in load_registry().kinds.values():
        if entry.kind.hookspecs is not None:
            modules.append(entry.kind.hookspecs)
        if entry.kind.step_specs is not None:
            step_specs.append(entry.kind.step_specs)
    names = []
    for module in modules:
        names += [
            name
            for name, _ in inspect.getmembers(module, inspect.isfunction)
            if name.startswith("tracegrad_")
        ]
    for cls in step_specs:
        names += [name for name in vars(cls) if name.startswith("tracegrad_")]
    return names


def test_every_hook_has_a_section_in_the_plugin_guide():
    sections = set(re.findall(r"^### (tracegrad_\w+)$", GUIDE, flags=re.M))
    hooks = set(_hook_names())
    assert hooks, "no hooks found"
    assert hooks - sections == set(), "hooks without a section in docs/plugins.md"
    assert sections - hooks == set(), "sections in docs/plugins.md for hooks that do not exist"


def test_every_kind_has_its_registration_hook_documented():
    for hook, _ in KINDS.values():
        assert f"### {hook}" in GUIDE


def test_every_hook_has_a_docstring():
    for name, function in inspect.getmembers(hookspecs, inspect.isfunction):
        if name.startswith("tracegrad_"):
            assert function.__doc__, name


def test_the_verify_your_component_code_is_the_example_plugins_rules_module():
    section = GUIDE.split("## Verify your component", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    rules = (ROOT / "examples" / "plugin-swish" / "tracegrad_swish" / "rules.py").read_text()
    body = rules.split("from __future__ import annotations\n\n", 1)[1]
    assert code.strip() == body.strip()
    toml = section.split("```toml\n", 1)[1].split("```", 1)[0]
    assert toml.strip() in (ROOT / "examples" / "plugin-swish" / "pyproject.toml").read_text()


def test_the_verify_your_trick_code_is_the_example_tricks_rules_module():
    section = GUIDE.split("## Verify your trick", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    package = ROOT / "examples" / "plugin-g-grad-clip"
    rules = (package / "tracegrad_g_grad_clip" / "rules.py").read_text()
    body = rules.split("from __future__ import annotations\n\n", 1)[1]
    assert code.strip() == body.strip()
    toml = section.split("```toml\n", 1)[1].split("```", 1)[0]
    assert toml.strip() in (package / "pyproject.toml").read_text()
