"""The step's shortcuts compute exactly the textbook formulas, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from engine.components import Activation
from plugins.activations import Sigmoid, SigmoidConfig, Tanh, TanhConfig


@pytest.mark.parametrize(
    ("activation", "dtype"),
    [
        (Tanh(TanhConfig()), np.float64),
        (Tanh(TanhConfig()), np.float32),
        (Sigmoid(SigmoidConfig()), np.float64),
        (Sigmoid(SigmoidConfig()), np.float32),
    ],
)
def test_activation_backward_is_the_chain_rule_bit_for_bit(activation, dtype):
    """dL/dz = dL/da ⊙ f'(z), as ``Activation.backward`` writes it, to the last bit."""
    rng = np.random.default_rng(3)
    z = (rng.normal(size=(257, 33)) * 4).astype(dtype)
    a = activation.forward(z)
    grad_a = rng.normal(size=z.shape).astype(dtype)
    fast = activation.backward(z, a, grad_a)
    textbook = Activation.backward(activation, z, a, grad_a)
    assert fast.dtype == textbook.dtype
    assert np.array_equal(fast.view(np.uint8), textbook.view(np.uint8))
    wider = grad_a.astype(np.float64)  # a gradient of another dtype: computed as written
    assert np.array_equal(
        activation.backward(z, a, wider), Activation.backward(activation, z, a, wider)
    )
