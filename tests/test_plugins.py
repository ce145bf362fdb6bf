"""The plugin system: built-ins as plugins, --plugin files, scenario plugins, entry points,
duplicate names, misspelt hooks, and the example plugin package."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

import engine
from engine.errors import PluginError
from engine.plugins import BUILTIN_PLUGINS, load_registry
from tests.conftest import ROOT, SMALL

EXAMPLE = ROOT / "examples" / "plugin-swish"

CUBE_PLUGIN = '''
from typing import Literal
import engine

class CubeConfig(engine.LayerConfig):
    type: Literal["cube"] = "cube"

class Cube(engine.Activation):
    """a = z³;  f'(z) = 3z²."""
    def forward(self, z):
        return z ** 3
    def derivative(self, z, a):
        return 3 * z ** 2

@engine.hookimpl
def tracegrad_register_activations(register):
    register("cube", Cube, CubeConfig)
'''


def test_builtins_are_ordinary_plugins():
    registry = load_registry(autoload=False)
    plugins = {c.plugin for kind in registry.components.values() for c in kind.values()}
    assert plugins <= set(BUILTIN_PLUGINS)
    assert registry.get("layers", "dense").plugin == "plugins.layers"
    for kind in ("layers", "activations", "losses", "optimizers", "initializers", "datasets"):
        assert registry.names(kind), kind


def test_every_builtin_config_field_has_a_description():
    registry = load_registry(autoload=False)
    for kind, components in registry.components.items():
        for name, component in components.items():
            for field_name, field in component.config.model_fields.items():
                if field_name != "type":
                    assert field.description, f"{kind} {name}.{field_name} has no description"
            assert component.implementation.__doc__, f"{kind} {name} has no docstring"


def test_plugin_file_from_the_command_line(cli, write_scenario, tmp_path):
    plugin = tmp_path / "cube.py"
    plugin.write_text(CUBE_PLUGIN)
    path = write_scenario(SMALL.replace("activation: tanh", "activation: cube"))
    assert cli("validate", path).code == 2  # unknown without the plugin
    result = cli("run", path, "--plugin", plugin, "--trace", tmp_path / "run" / "t.jsonl", "-q")
    assert result.code == 0, result
    listing = cli("plugins", "--kind", "activations", "--plugin", plugin)
    assert "cube" in listing.out and str(plugin) in listing.out


def test_scenario_plugins_resolve_relative_to_the_scenario(write_scenario, tmp_path):
    (tmp_path / "plugs").mkdir()
    (tmp_path / "plugs" / "cube.py").write_text(CUBE_PLUGIN)
    path = write_scenario(
        "plugins: [plugs/cube.py]\n" + SMALL.replace("activation: tanh", "activation: cube")
    )
    result = engine.run(path, trace=False)
    assert result.status == "completed"


def test_scenario_plugins_can_be_refused(cli, write_scenario, tmp_path):
    (tmp_path / "cube.py").write_text(CUBE_PLUGIN)
    path = write_scenario("plugins: [cube.py]\n" + SMALL)
    result = cli("validate", path, "--no-plugins-from-scenario")
    assert result.code == 2 and "plugins from scenarios are refused" in result.err


def test_two_plugins_registering_one_name_names_both(tmp_path):
    first, second = tmp_path / "first.py", tmp_path / "second.py"
    first.write_text(CUBE_PLUGIN)
    second.write_text(CUBE_PLUGIN)
    with pytest.raises(PluginError) as error:
        load_registry([str(first), str(second)], autoload=False)
    assert "'cube' is registered twice" in str(error.value)
    assert str(first) in str(error.value) and str(second) in str(error.value)


def test_a_plugin_cannot_take_a_builtin_name(tmp_path):
    plugin = tmp_path / "sig.py"
    plugin.write_text(CUBE_PLUGIN.replace('"cube"', '"sigmoid"'))
    with pytest.raises(PluginError, match="plugins.activations"):
        load_registry([str(plugin)], autoload=False)


def test_a_misspelt_hook_is_an_error(tmp_path):
    plugin = tmp_path / "typo.py"
    plugin.write_text(
        CUBE_PLUGIN.replace("tracegrad_register_activations", "tracegrad_register_activation")
    )
    with pytest.raises(PluginError, match="matches no Tracegrad hook"):
        load_registry([str(plugin)], autoload=False)


def test_a_bad_registration_is_explained(tmp_path):
    plugin = tmp_path / "bad.py"
    plugin.write_text(CUBE_PLUGIN.replace('type: Literal["cube"] = "cube"', "pass"))
    with pytest.raises(PluginError, match=r"needs a field  type: Literal\['cube'\]"):
        load_registry([str(plugin)], autoload=False)


def test_plugins_listing_shows_fields(cli):
    result = cli("plugins", "--kind", "layers")
    assert result.code == 0
    assert "dense  (plugin plugins.layers)  tracegrad 0.1.0" in result.out
    assert "units: int > 0, required - Number of units" in result.out
    assert cli("plugins", "--kind", "nope").code == 2


def test_the_listing_reads_well(cli):
    text = cli("plugins", "--kind", "optimizers").out
    assert "betas: (float in [0, 1), float in [0, 1)), default (0.9, 0.999)" in text
    assert "FieldInfo" not in text and "Annotated" not in text
    assert max(len(line) for line in text.splitlines()) <= 100
    # whole first paragraphs, not cut at the docstring's first line
    flat = " ".join(text.split())
    assert "both corrected for starting at 0." in flat


UNDESCRIBED = """
from typing import Literal
import engine

class CubeConfig(engine.LayerConfig):
    type: Literal["cube"] = "cube"
    power: int = 3

class Cube(engine.Activation):
    def forward(self, z):
        return z ** 3

@engine.hookimpl
def tracegrad_register_activations(register):
    register("cube", Cube, CubeConfig)
"""


def test_a_field_without_a_description_is_refused_naming_the_plugin(tmp_path):
    path = tmp_path / "cube.py"
    path.write_text(UNDESCRIBED, encoding="utf-8")
    with pytest.raises(engine.TracegradError) as error:
        load_registry([str(path)])
    message = str(error.value)
    assert "registering activation 'cube'" in message and "'power' has no description" in message


def _install_example(target):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            str(EXAMPLE),
        ],
        check=True,
    )


@pytest.fixture(scope="module")
def installed_example(tmp_path_factory):
    target = tmp_path_factory.mktemp("site")
    try:
        _install_example(target)
    except subprocess.CalledProcessError as error:  # pragma: no cover - needs a package index
        pytest.fail(f"could not install the example plugin: {error}")
    return target


def _tracegrad(args, site, **env):
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)]), **env}
    return subprocess.run(
        [sys.executable, "-m", "engine", *args],
        capture_output=True,
        text=True,
        env=environment,
        cwd=site,
    )


def test_example_package_loads_from_its_entry_point(installed_example, tmp_path):
    scenario = EXAMPLE / "tracegrad_swish" / "sine_swish.yaml"
    listing = _tracegrad(["plugins", "--kind", "activations"], installed_example)
    assert "swish  (plugin swish)" in listing.stdout, listing.stderr
    result = _tracegrad(
        ["run", str(scenario), "--trace", str(tmp_path / "t.jsonl")], installed_example
    )
    assert result.returncode == 0, result.stderr
    assert "sine-swish: completed" in result.stdout
    loss = float(result.stdout.split("final loss ")[1].split(",")[0])
    assert loss < 0.01
    verified = _tracegrad(["verify", str(tmp_path / "t.jsonl")], installed_example)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "verified: every claim holds" in verified.stdout
    assert "no rule" not in verified.stdout


def test_without_its_rules_the_example_is_partly_verified(installed_example, tmp_path):
    scenario = EXAMPLE / "tracegrad_swish" / "sine_swish.yaml"
    trace = str(tmp_path / "t.jsonl")
    assert (
        _tracegrad(["run", str(scenario), "--trace", trace, "-q"], installed_example).returncode
        == 0
    )
    without = _tracegrad(
        ["verify", trace], installed_example, TRACEGRAD_DISABLE_PLUGINS="swish_rules"
    )
    assert without.returncode == 3, without.stdout + without.stderr
    assert "partly verified" in without.stdout
    assert "no rule for activation 'swish'" in without.stdout
    assert "swish comes from tracegrad-swish 0.1.0: install its rules" in without.stdout
    assert "no rule for loss" in without.stdout or "no rule for log_cosh" in without.stdout
    allowed = _tracegrad(
        ["verify", trace, "--allow-unchecked"],
        installed_example,
        TRACEGRAD_DISABLE_PLUGINS="swish_rules",
    )
    assert allowed.returncode == 0


def test_autoload_can_be_disabled(installed_example):
    listing = _tracegrad(
        ["plugins", "--kind", "activations"],
        installed_example,
        TRACEGRAD_DISABLE_PLUGIN_AUTOLOAD="1",
    )
    assert listing.returncode == 0 and "swish  (plugin swish)" not in listing.stdout


def test_example_components_pass_the_gradient_check():
    from engine.gradcheck import check_loss, check_scenario

    scenario = engine.load_scenario(
        EXAMPLE / "tracegrad_swish" / "sine_swish.yaml",
        plugins=[str(EXAMPLE / "tracegrad_swish" / "__init__.py")],
        autoload=False,
    )
    assert all(r.ok() for r in check_scenario(scenario)), check_scenario(scenario)
    import numpy as np

    loss = scenario.registry.create("losses", scenario.spec.loss)
    rng = np.random.default_rng(0)
    assert check_loss(loss, rng.normal(size=(5, 2)), rng.normal(size=(5, 2))).ok()


def test_plugin_doc_example_in_readme_is_the_example_package():
    readme = (ROOT / "README.md").read_text()
    assert "examples/plugin-swish" in readme
    assert (
        textwrap.dedent("""\
        [project.entry-points.tracegrad]""")
        in readme
    )


def test_the_gradient_check_example_in_the_docs_runs(installed_example):
    guide = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    section = guide.split("## Testing a plugin", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(installed_example), str(ROOT)])}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=environment
    )
    assert done.returncode == 0, done.stderr


def test_the_installed_package_named_by_its_file_is_registered_once(installed_example):
    package_file = installed_example / "tracegrad_swish" / "__init__.py"
    listing = _tracegrad(
        ["plugins", "--kind", "activations", "--plugin", str(package_file)], installed_example
    )
    assert listing.returncode == 0, listing.stderr
    assert listing.stdout.count("swish  (plugin swish)") == 1, listing.stdout


def test_a_different_module_of_the_same_name_is_still_refused(installed_example, tmp_path):
    copy = tmp_path / "tracegrad_swish" / "__init__.py"
    copy.parent.mkdir()
    copy.write_text((installed_example / "tracegrad_swish" / "__init__.py").read_text())
    listing = _tracegrad(["plugins", "--plugin", str(copy)], installed_example)
    assert listing.returncode == 2, listing.stdout
    assert "activation 'swish' is registered twice" in listing.stderr
    assert str(copy) in listing.stderr and "plugin 'swish'" in listing.stderr
    assert "Traceback" not in listing.stderr
