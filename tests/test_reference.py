"""The hooks and objects reference cannot drift: docs/reference.md is what the code generates,
every hook has an example, and every example runs for real (trained, verified, reported) with
each of its hooks called."""

from __future__ import annotations

import copy
import functools
import importlib.util
import inspect
import sys
import textwrap
from collections import Counter

import pytest
import yaml

import engine
from engine.plugins import load_registry
from engine.reference import EXAMPLES, OUTPUT, all_hooks, generate
from engine.report import write_report
from engine.verify import verify_trace
from tests.test_gan import TINY

SUPERVISED = {
    "name": "hook-example",
    "seed": 0,
    "data": {"type": "xor"},
    "model": {
        "layers": [
            {"type": "dense", "name": "hidden", "units": 3, "activation": "tanh"},
            {"type": "dense", "name": "output", "units": 1, "activation": "sigmoid"},
        ]
    },
    "loss": {"type": "bce"},
    "optimizer": {"type": "sgd", "lr": 0.5},
    "train": {"steps": 3},
    "trace": {"every": 1},
}
GAN = {**copy.deepcopy(TINY), "trace": {"every": 1}}


def test_the_reference_is_what_the_code_generates():
    assert OUTPUT.read_text(encoding="utf-8") == generate(), (
        "docs/reference.md is out of date: run  python -m engine.reference"
    )


def test_every_hook_has_an_example():
    missing = [hook.name for hook in all_hooks(load_registry(autoload=False)) if not hook.example]
    assert not missing, f"hooks without an example in {EXAMPLES}: {missing}"


def test_every_example_is_a_hook():
    names = {hook.name for hook in all_hooks(load_registry(autoload=False))}
    assert {path.stem for path in EXAMPLES.glob("*.py")} <= names


def test_the_objects_a_plugin_meets_are_described():
    text = OUTPUT.read_text(encoding="utf-8")
    for name in (
        "engine.components.Parameter",
        "engine.network.Network",
        "engine.components.BuildContext",
        "engine.components.Data",
        "engine.components.UpdateEntry",
        "engine.scenario.Scenario",
        "plugins.supervised.loop.SupervisedBatch",
        "plugins.gan.components.GanBatch",
        "plugins.gan.components.LossTerm",
        "plugins.gan.components.TrickSetup",
        "engine.trace.reader.Trace",
        "engine.verify.report.Checker",
        "engine.verify.activations.Formula",
        "engine.verify.losses.LossValue",
        "engine.verify.optimizers.Rule",
        "engine.report.document.Report",
    ):
        assert f"### `{name}`" in text, name
    network = text.split("### `engine.network.Network`", 1)[1].split("\n### ", 1)[0]
    assert "- `parameters: list[Parameter]`" in network  # attributes set in __init__
    assert "- `backward_from(name: str, grad: np.ndarray) -> np.ndarray`" in network


WIDGET_SPECS = '''
from engine.hookspecs import hookspec


@hookspec
def tracegrad_register_widgets(register):
    """Register widgets, a kind of component only the widget kind knows."""
'''


def test_hooks_a_new_kind_brings_are_discovered(tmp_path, monkeypatch):
    """A kind registered by an outside plugin brings a hook: the reference lists it, with
    nothing listed by hand."""
    specs = tmp_path / "widget_specs.py"
    specs.write_text(WIDGET_SPECS)
    monkeypatch.syspath_prepend(str(tmp_path))
    import widget_specs

    from plugins.supervised import SupervisedKind

    class WidgetKind(SupervisedKind):
        hookspecs = widget_specs
        component_kinds = {}

    registry = load_registry(autoload=False)
    registry.kinds["widget"] = type(registry.kinds["supervised"])(
        "widget", WidgetKind(), registry.kinds["supervised"].fields, "test"
    )
    text = generate(registry)
    assert "### tracegrad_register_widgets" in text
    assert "Register widgets, a kind of component only the widget kind knows." in text
    assert "## Hooks of the widget kind" in text


# --- every example, run for real --------------------------------------------------------------


def _scenario_of(module) -> dict:
    """The scenario an example's docstring gives (the block after "::"), over the base
    scenario of its kind; a kind of its own gives the whole file."""
    doc = inspect.getdoc(module)
    block = textwrap.dedent(doc.split("::\n", 1)[1])
    command = block.lstrip().startswith("tracegrad ")  # a reporter: the base scenario
    snippet = {} if command else yaml.safe_load(block)
    kind = snippet.get("kind", "supervised")
    if kind not in ("supervised", "gan"):
        return snippet
    scenario = copy.deepcopy(GAN if kind == "gan" else SUPERVISED)
    scenario.update(snippet)
    return scenario


def _spied(path, calls: Counter):
    """The example imported under a module name (so a trace's plugins: can name it), with
    every hook implementation it defines (functions and methods) counting its calls."""
    name = f"hook_example_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)

    def counting(function, hook):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            calls[hook] += 1
            return function(*args, **kwargs)

        return wrapper

    hooks = []
    for attribute, value in list(vars(module).items()):
        if attribute.startswith("tracegrad_") and callable(value):
            setattr(module, attribute, counting(value, attribute))
            hooks.append(attribute)
        elif inspect.isclass(value) and value.__module__ == name:
            for method, function in list(vars(value).items()):
                if method.startswith("tracegrad_"):
                    setattr(value, method, counting(function, method))
                    hooks.append(method)
    return module, hooks


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.py")), ids=lambda p: p.stem)
def test_the_example_runs_and_calls_its_hooks(path, tmp_path, monkeypatch):
    monkeypatch.setenv("TRACEGRAD_DISABLE_PLUGIN_AUTOLOAD", "1")
    calls: Counter = Counter()
    module, hooks = _spied(path, calls)
    try:
        assert path.stem in hooks, f"{path.name} does not implement {path.stem}"
        scenario = {**_scenario_of(module), "plugins": [module.__name__]}
        result = engine.run(scenario, run_dir=tmp_path / "run")
        assert result.status == "completed", result.message
        verified = verify_trace(result.run_dir)
        assert not verified.disagreements, verified.summary()
        if "tracegrad_register_rules" in hooks or "tracegrad_register_trace_checks" in hooks:
            assert verified.ok and verified.complete, verified.summary()
        report = write_report(result.run_dir, tmp_path / "report.html", plugins=[module.__name__])
        assert report.exists()
        uncalled = [hook for hook in hooks if not calls[hook]]
        assert not uncalled, f"{path.name}: hooks never called: {uncalled}"
    finally:
        sys.modules.pop(module.__name__, None)


def test_the_reporter_example_adds_its_section(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACEGRAD_DISABLE_PLUGIN_AUTOLOAD", "1")
    path = EXAMPLES / "tracegrad_register_reporters.py"
    module, _ = _spied(path, Counter())
    try:
        result = engine.run({**SUPERVISED, "plugins": [module.__name__]}, run_dir=tmp_path / "r")
        output = write_report(result.run_dir, tmp_path / "r.md", plugins=[module.__name__])
        text = output.read_text(encoding="utf-8")
        first, last = result.history[0]["loss"], result.history[-1]["loss"]
        assert f"The loss went from {first:.4g} to {last:.4g}." in text
    finally:
        sys.modules.pop(module.__name__, None)
