"""The gradient check on wide layers: rounding in the finite differences is not reported
as an error (xor with 1000 hidden units passes), while a derivative that is wrong by 1e-4
still fails."""

from __future__ import annotations

from tests.conftest import SMALL

XOR = "scenarios/xor.yaml"

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


def test_a_wide_layer_passes(cli):
    from tests.conftest import ROOT

    result = cli("gradcheck", ROOT / XOR, "--set", "model.layers.0.units=1000")
    assert result.code == 0, result
    assert "FAIL" not in result.out and "4 of 4 parameters" in result.out


def test_a_slightly_wrong_derivative_still_fails_on_a_wide_layer(cli, write_scenario, tmp_path):
    plugin = tmp_path / "off.py"
    plugin.write_text(SLIGHTLY_WRONG)
    text = SMALL.replace("units: 3, activation: tanh", "units: 1000, activation: off_tanh")
    path = write_scenario(text)
    result = cli("gradcheck", path, "--plugin", plugin)
    assert result.code == 1, result
    assert "hidden.W" in result.out and "FAIL" in result.out


def test_vanishing_gradients_pass(cli):
    # gradients of 1e-8 and less in the first layers: rounding dominated the old estimate
    from tests.conftest import ROOT

    for name in ("vanishing_relu.yaml", "vanishing_sigmoid.yaml"):
        result = cli("gradcheck", ROOT / "scenarios" / name)
        assert result.code == 0 and "FAIL" not in result.out, (name, result)
