"""The gradient check on wide layers and vanishing gradients: rounding in the finite
differences is not reported as an error (xor with 1000 hidden units passes). That a wrong
derivative still fails is checked in tests/test_hostile_controls.py."""

from __future__ import annotations

XOR = "scenarios/xor.yaml"


def test_a_wide_layer_passes(cli):
    from tests.conftest import ROOT

    result = cli("gradcheck", ROOT / XOR, "--set", "model.layers.0.units=1000")
    assert result.code == 0, result
    assert "FAIL" not in result.out and "4 of 4 parameters" in result.out


def test_vanishing_gradients_pass(cli):
    # gradients of 1e-8 and less in the first layers: rounding dominated the old estimate
    from tests.conftest import ROOT

    for name in ("vanishing_relu.yaml", "vanishing_sigmoid.yaml"):
        result = cli("gradcheck", ROOT / "scenarios" / name)
        assert result.code == 0 and "FAIL" not in result.out, (name, result)
