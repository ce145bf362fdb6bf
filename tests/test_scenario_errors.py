"""Bad input gets a clear error: exit status 2, file:line, what to try, never a traceback."""

from __future__ import annotations

import pytest

from tests.conftest import SMALL


def assert_clean_error(result, *fragments):
    assert result.code == 2, result
    assert "Traceback" not in result.err
    for fragment in fragments:
        assert fragment in result.err, f"{fragment!r} not in {result.err!r}"


def test_yaml_syntax_error_has_line_and_column(cli, write_scenario):
    path = write_scenario("name: x\nmodel:\n  layers: [\n    {type: dense\n")
    assert_clean_error(cli("validate", path), f"{path}:", "YAML error")


def test_unknown_component_suggests_the_closest_name(cli, write_scenario):
    path = write_scenario(SMALL.replace("{type: bce}", "{type: bcee}"))
    result = cli("validate", path)
    assert_clean_error(result, f"{path}:8:", "unknown loss 'bcee'", "Did you mean 'bce'?", "mse")


def test_unknown_activation_suggests_the_closest_name(cli, write_scenario):
    path = write_scenario(SMALL.replace("activation: tanh", "activation: tanhh"))
    assert_clean_error(
        cli("validate", path), f"{path}:6:", "unknown activation 'tanhh'", "Did you mean 'tanh'?"
    )


def test_unknown_layer_type(cli, write_scenario):
    path = write_scenario(SMALL.replace("{type: dense, name: hidden", "{type: dnese, name: hidden"))
    assert_clean_error(
        cli("validate", path), f"{path}:6:", "unknown layer 'dnese'", "Did you mean 'dense'?"
    )


@pytest.mark.parametrize(
    ("old", "new", "line", "fragment"),
    [
        ("units: 3", "units: 0", 6, "greater than 0"),
        ("units: 3", "units: -2", 6, "greater than 0"),
        ("units: 3", "units: three", 6, "valid integer"),
        ("lr: 0.5", "lr: -0.1", 9, "greater than 0"),
        ("lr: 0.5", "lr: .nan", 9, "finite number"),
        ("lr: 0.5", "lr: .inf", 9, "finite number"),
        ("steps: 5", "steps: 1.5", 10, "valid integer"),
        ("steps: 5", "stepz: 5", 10, "unknown key 'stepz'"),
    ],
)
def test_bad_values_point_at_their_line(cli, write_scenario, old, new, line, fragment):
    path = write_scenario(SMALL.replace(old, new))
    assert_clean_error(cli("validate", path), f"{path}:{line}:", fragment)


def test_unknown_key_lists_the_valid_ones(cli, write_scenario):
    path = write_scenario(SMALL.replace("steps: 5", "steps: 5, batchsize: 2"))
    assert_clean_error(
        cli("validate", path),
        "unknown key 'batchsize'",
        "Did you mean 'batch_size'?",
        "Valid keys here: steps, batch_size",
    )


def test_missing_required_field(cli, write_scenario):
    path = write_scenario(SMALL.replace("name: hidden, units: 3,", "name: hidden,"))
    assert_clean_error(cli("validate", path), f"{path}:6:", "missing required key 'units'")


def test_missing_section(cli, write_scenario):
    path = write_scenario(SMALL.replace("train: {steps: 5}\n", ""))
    assert_clean_error(cli("validate", path), "missing required key 'train'")


def test_several_problems_are_all_listed(cli, write_scenario):
    path = write_scenario(SMALL.replace("units: 3", "units: 0").replace("lr: 0.5", "lr: 0"))
    result = cli("validate", path)
    assert_clean_error(result, "2 problems", f"{path}:6:", f"{path}:9:")


def test_explicit_init_of_the_wrong_shape(cli, write_scenario):
    path = write_scenario(
        SMALL.replace("activation: tanh}", "activation: tanh, init: {W: [[1, 2], [3, 4]]}}")
    )
    assert_clean_error(
        cli("validate", path),
        f"{path}:6:",
        "hidden.W",
        "(2, 2)",
        "expected (2, 3)",
        "inputs are the data's features",
    )


def test_init_for_a_parameter_that_does_not_exist(cli, write_scenario):
    path = write_scenario(
        SMALL.replace("activation: tanh}", "activation: tanh, init: {V: {type: constant}}}")
    )
    assert_clean_error(cli("validate", path), "no parameter 'V'", "W, b")


def test_layer_sizes_that_cannot_chain(cli, write_scenario):
    path = write_scenario(
        SMALL.replace(
            "{type: dense, name: output, units: 1, activation: sigmoid}",
            "{type: dense, name: output, units: 1, activation: sigmoid, init: {W: [[1], [2]]}}",
        )
    )
    assert_clean_error(cli("validate", path), "output.W", "expected (3, 1)", "layer 'hidden'")


def test_output_that_does_not_fit_the_targets(cli, write_scenario):
    path = write_scenario(SMALL.replace("name: output, units: 1", "name: output, units: 2"))
    assert_clean_error(
        cli("validate", path), "last layer 'output' gives 2 outputs", "1 target columns"
    )


def test_missing_file(cli, tmp_path):
    assert_clean_error(cli("run", tmp_path / "nope.yaml"), "scenario file not found")


def test_folder_instead_of_file(cli, tmp_path):
    assert_clean_error(cli("validate", tmp_path), "is a folder")


def test_not_utf8(cli, tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: caf\xe9\n".encode("latin-1"))
    assert_clean_error(cli("validate", path), "not UTF-8")


def test_python_tags_are_refused(cli, write_scenario):
    path = write_scenario("name: !!python/object/apply:os.system ['echo hacked']\n")
    assert_clean_error(cli("validate", path), f"{path}:1:", "not allowed")


def test_duplicate_keys_are_refused(cli, write_scenario):
    path = write_scenario(SMALL + "seed: 2\n")
    assert_clean_error(cli("validate", path), "key 'seed' appears twice")


def test_not_a_mapping(cli, write_scenario):
    path = write_scenario("- just\n- a list\n")
    assert_clean_error(cli("validate", path), "a scenario is a mapping")


def test_override_of_an_unknown_key_lists_the_valid_ones(cli, write_scenario):
    path = write_scenario(SMALL)
    assert_clean_error(
        cli("validate", path, "--set", "train.stepz=3"),
        "--set train.stepz",
        "unknown key 'stepz'",
        "Valid keys here: steps",
    )


def test_override_without_equals(cli, write_scenario):
    assert_clean_error(
        cli("validate", write_scenario(SMALL), "--set", "train.steps"), "--set expects key=value"
    )


def test_override_with_a_bad_value(cli, write_scenario):
    assert_clean_error(
        cli("validate", write_scenario(SMALL), "--set", "train.steps=-1"),
        "--set train.steps",
        "greater than 0",
    )


def test_plugin_that_fails_to_import(cli, write_scenario, tmp_path):
    broken = tmp_path / "broken_plugin.py"
    broken.write_text("import numpy\nraise RuntimeError('the plugin is broken on purpose')\n")
    result = cli("validate", write_scenario(SMALL), "--plugin", broken)
    assert_clean_error(
        result, "failed to import", "RuntimeError: the plugin is broken on purpose", "--debug"
    )


def test_debug_shows_the_traceback(write_scenario, tmp_path):
    from engine.cli import main
    from engine.errors import PluginError

    broken = tmp_path / "broken_plugin.py"
    broken.write_text("raise RuntimeError('boom')\n")
    with pytest.raises(PluginError):
        main(["--debug", "validate", str(write_scenario(SMALL)), "--plugin", str(broken)])


def test_missing_plugin_module(cli, write_scenario):
    assert_clean_error(
        cli("validate", write_scenario(SMALL), "--plugin", "no_such_module_xyz"),
        "No module named 'no_such_module_xyz'",
    )


@pytest.mark.parametrize(
    ("override", "fragment", "limit"),
    [
        ("train.steps=100000000", "number of steps (100,000,000)", "--limit steps="),
        ("model.layers.0.units=20000000", "parameter count", "--limit parameters="),
        ("train.batch_size=1000000", "batch size", "--limit batch_size="),
        ("trace.every=1", "estimated trace size", "--limit trace_bytes="),
    ],
)
def test_oversized_scenarios_are_refused_before_they_start(
    cli, write_scenario, override, fragment, limit
):
    path = write_scenario(SMALL.replace("steps: 5", "steps: 5000000"))
    result = cli("validate", path, "--set", override)
    assert_clean_error(result, fragment, "exceeds the limit", limit)


def test_limits_can_be_raised(cli, write_scenario, monkeypatch):
    path = write_scenario(SMALL)
    assert cli("validate", path, "--limit", "steps=3").code == 2
    assert cli("validate", path, "--limit", "steps=30").code == 0
    monkeypatch.setenv("TRACEGRAD_LIMITS", "steps=3")
    assert cli("validate", path).code == 2
    assert_clean_error(cli("validate", path, "--limit", "stepz=3"), "unknown limit 'stepz'")
