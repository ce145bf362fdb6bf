"""Names of layers: a defined character set, so a name can never be cut short in
params.npz (NUL), split into two keys (a dot) or escape a file name (a slash)."""

from __future__ import annotations

import pytest

import engine
from tests.conftest import SMALL
from tests.hostile.conftest import clean_error


@pytest.mark.parametrize("name", ["hid\\0den", "a.b", "../x", "two words", "line\\nbreak"])
def test_a_layer_name_outside_the_character_set_is_refused(cli, write_scenario, name):
    path = write_scenario(SMALL.replace("name: hidden", f'name: "{name}"'))
    clean_error(cli("validate", path), f"{path}:6:", "name")


def test_nul_cannot_collapse_two_parameters(write_scenario, tmp_path):
    text = SMALL.replace("name: hidden", 'name: "out\\0a"')
    text = text.replace("name: output", 'name: "out\\0b"')
    with pytest.raises(engine.TracegradError):
        engine.run(write_scenario(text), run_dir=tmp_path / "run")
    assert not (tmp_path / "run" / "params.npz").exists()
