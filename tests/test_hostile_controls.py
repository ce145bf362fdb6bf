"""Controls for the hostile corpus (tests/hostile/): what its refusals must leave working.

Each passed before the hostile fixes too; they fail if a fix refuses too much.
"""

from __future__ import annotations

import engine
from engine.trace import read_trace
from tests.conftest import SMALL

SLIGHTLY_WRONG = """
from typing import Literal
import numpy as np
import engine

class OffConfig(engine.LayerConfig):
    type: Literal["off_tanh"] = "off_tanh"

class OffTanh(engine.Activation):
    \"\"\"tanh with a derivative 0.01% too large.\"\"\"
    def forward(self, z):
        return np.tanh(z)
    def derivative(self, z, a):
        return (1 - a * a) * (1 + 1e-4)

@engine.hookimpl
def tracegrad_register_activations(register):
    register("off_tanh", OffTanh, OffConfig)
"""


def test_a_duplicate_key_is_still_refused(cli, write_scenario):
    path = write_scenario(SMALL + "seed: 2\n")
    result = cli("validate", path)
    assert result.code == 2 and f"{path}:11:" in result.err and "appears twice" in result.err


def test_anchors_and_aliases_still_work(write_scenario):
    text = SMALL.replace(
        "    - {type: dense, name: hidden, units: 3, activation: tanh}",
        "    - &h {type: dense, name: hidden, units: 3, activation: tanh}",
    ).replace("train: {steps: 5}", "train: {steps: 5}\ndescription: &d text\nnotes: *d")
    assert engine.load_scenario(write_scenario(text.replace("notes: *d", ""))).spec.seed == 1


def test_ordinary_names_still_work(write_scenario, tmp_path):
    path = write_scenario(SMALL.replace("name: hidden", "name: hidden_1-a"))
    result = engine.run(path, run_dir=tmp_path / "run")
    assert "hidden_1-a.W" in engine.load_run(result.run_dir).params


def test_large_limits_are_read_exactly(cli, write_scenario):
    small = write_scenario(SMALL)
    assert cli("validate", small, "--limit", "steps=1e18").code == 0
    assert cli("validate", small, "--limit", "steps=20_000_000").code == 0


def test_a_slightly_wrong_derivative_still_fails_on_a_wide_layer(cli, write_scenario, tmp_path):
    plugin = tmp_path / "off.py"
    plugin.write_text(SLIGHTLY_WRONG)
    text = SMALL.replace("units: 3, activation: tanh", "units: 1000, activation: off_tanh")
    path = write_scenario(text)
    result = cli("gradcheck", path, "--plugin", plugin)
    assert result.code == 1, result
    assert "hidden.W" in result.out and "FAIL" in result.out


def test_a_trace_through_a_symbolic_link(cli, write_scenario, tmp_path):
    small = write_scenario(SMALL)
    real = tmp_path / "elsewhere" / "t.jsonl"
    real.parent.mkdir()
    link = tmp_path / "out" / "t.jsonl"
    link.parent.mkdir()
    link.symlink_to(real)
    assert cli("run", small, "--trace", link, "-q").code == 0
    assert link.is_symlink() and read_trace(real).status == "completed"
