"""Plugins: bad paths, modules that are not plugins, misspelt hooks and arguments, wrong
defaults and broken installed plugins each get a clear error naming the plugin."""

from __future__ import annotations

import os
import textwrap

import pytest

from tests.conftest import ROOT, SMALL
from tests.hostile.conftest import clean_error, tracegrad

CONFIG = """
from typing import Literal
from pydantic import Field
import engine

class CubeConfig(engine.LayerConfig):
    type: Literal["cube"] = "cube"
    scale: float = Field({default}, description="a number")

class Cube(engine.Activation):
    \"\"\"a = z³.\"\"\"
    def forward(self, z):
        return z ** 3
    def derivative(self, z, a):
        return 3 * z ** 2
"""


def plugin_file(tmp_path, body: str, name: str = "plug.py", default: str = "1.0"):
    path = tmp_path / name
    path.write_text(CONFIG.replace("{default}", default) + textwrap.dedent(body))
    return path


def scenario_with(write_scenario, plugin: str):
    text = f"plugins: [{plugin}]\n" + SMALL.replace("activation: tanh", "activation: cube")
    return write_scenario(text)


@pytest.mark.parametrize(
    ("plugin", "words"),
    [
        ("../" * 30 + "etc/passwd", "not a .py file"),
        ("/dev/zero", "character device"),
        ("folder.py", "a folder"),
        ("missing.py", "not found"),
    ],
)
def test_a_bad_plugin_path_is_named_at_its_line(cli, write_scenario, tmp_path, plugin, words):
    (tmp_path / "folder.py").mkdir()
    path = scenario_with(write_scenario, plugin)
    result = cli("validate", path)
    clean_error(result, f"{path}:1:", words)
    assert "NoneType" not in result.err


def test_a_module_with_no_hook_is_not_a_plugin(cli, write_scenario):
    path = scenario_with(write_scenario, "os")
    clean_error(cli("validate", path), f"{path}:1:", "not a Tracegrad plugin")


def test_a_plugin_that_is_not_installed(cli, write_scenario):
    path = scenario_with(write_scenario, "no_such_plugin_module")
    clean_error(cli("validate", path), f"{path}:1:", "no_such_plugin_module")


def test_a_misspelt_hook_gets_a_did_you_mean(cli, write_scenario, tmp_path):
    plugin = plugin_file(
        tmp_path,
        """
        @engine.hookimpl
        def tracegrad_register_activation(register):
            register("cube", Cube, CubeConfig)
        """,
    )
    result = cli("validate", scenario_with(write_scenario, "plug.py"))
    clean_error(result, "Did you mean 'tracegrad_register_activations'")
    assert "<module" not in result.err and "plug.py" in result.err
    del plugin


def test_a_misspelt_hook_argument_gets_a_did_you_mean(cli, small, tmp_path):
    plugin = plugin_file(
        tmp_path,
        """
        @engine.hookimpl
        def tracegrad_register_activations(reg):
            reg("cube", Cube, CubeConfig)
        """,
    )
    result = cli("validate", small, "--plugin", plugin)
    clean_error(result, "--plugin", "'reg'", "Did you mean 'register'")


def test_a_wrong_default_names_the_plugin_and_field(cli, write_scenario, tmp_path):
    plugin_file(
        tmp_path,
        """
        @engine.hookimpl
        def tracegrad_register_activations(register):
            register("cube", Cube, CubeConfig)
        """,
        default='"big"',
    )
    result = cli("validate", scenario_with(write_scenario, "plug.py"))
    clean_error(result, "plug.py", "cube", "'scale'", "'big'")


def test_a_trick_hook_argument_mismatch_is_named(tmp_path):
    import engine
    from engine.errors import PluginError
    from engine.steps import StepHooks
    from plugins.gan.components import GanTrick
    from plugins.gan.hookspecs import GanStepSpecs

    class Bad(GanTrick):
        name = "bad"

        def __init__(self):
            pass

        @engine.hookimpl
        def tracegrad_gan_d_steps(self, step, d_step):
            return None

    with pytest.raises(PluginError) as caught:
        StepHooks(GanStepSpecs, [Bad()])
    message = str(caught.value)
    assert "'d_step'" in message and "Did you mean 'd_steps'" in message
    assert "matches no GAN step hook" not in message


@pytest.fixture
def site(tmp_path):
    """A folder on PYTHONPATH holding installed plugins: a broken one and a good one."""
    site = tmp_path / "site"
    for name, module, body in [
        ("broken-plugin", "broken_mod", "raise RuntimeError('half-installed')\n"),
        ("good-plugin", "good_mod", CONFIG.replace("{default}", "1.0") + GOOD_HOOK),
    ]:
        info = site / f"{name.replace('-', '_')}-1.2.3.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.2.3\n")
        short = name.split("-")[0]
        (info / "entry_points.txt").write_text(f"[tracegrad]\n{short} = {module}\n")
        (site / f"{module}.py").write_text(body)
    return site


GOOD_HOOK = """
@engine.hookimpl
def tracegrad_register_activations(register):
    register("cube", Cube, CubeConfig)
"""


def _with_site(site, *args, **env):
    path = os.pathsep.join([str(site), str(ROOT)])
    return tracegrad(*args, env={"PYTHONPATH": path, **env}, cwd=site)


def test_a_broken_installed_plugin_is_named_by_entry_point_and_distribution(site):
    result = _with_site(site, "plugins", "--kind", "activations")
    assert result.code == 2 and "Traceback" not in result.err, result
    for words in ("'broken'", "broken_mod", "broken-plugin 1.2.3", "half-installed"):
        assert words in result.err, result
    assert "TRACEGRAD_DISABLE_PLUGINS=broken" in result.err


def test_one_installed_plugin_can_be_skipped(site):
    result = _with_site(
        site, "plugins", "--kind", "activations", TRACEGRAD_DISABLE_PLUGINS="broken"
    )
    assert result.code == 0, result
    assert "cube" in result.out  # the other installed plugin still loads


def test_a_registration_hook_that_raises_names_the_plugin(cli, small, tmp_path):
    plugin = tmp_path / "raiser.py"
    plugin.write_text(
        "import engine\n\n@engine.hookimpl\ndef tracegrad_register_layers(register):\n"
        "    raise RuntimeError('boom while registering')\n"
    )
    result = cli("validate", small, "--plugin", plugin)
    clean_error(result, "raiser.py", "tracegrad_register_layers", "boom while registering")
