"""The step's shortcuts compute exactly the textbook formulas, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from engine.components import Activation
from plugins.activations import (
    LeakyRelu,
    LeakyReluConfig,
    Sigmoid,
    SigmoidConfig,
    Tanh,
    TanhConfig,
)


@pytest.mark.parametrize(
    ("activation", "dtype"),
    [
        (Tanh(TanhConfig()), np.float64),
        (Tanh(TanhConfig()), np.float32),
        (Sigmoid(SigmoidConfig()), np.float64),
        (Sigmoid(SigmoidConfig()), np.float32),
        (LeakyRelu(LeakyReluConfig(negative_slope=0.2)), np.float64),
        (LeakyRelu(LeakyReluConfig(negative_slope=0.2)), np.float32),
        (LeakyRelu(LeakyReluConfig(negative_slope=1.5)), np.float64),
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


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("size", [65, 256, 1000, 4099])
def test_trace_summary_is_numpys_mean_and_std_bit_for_bit(dtype, size):
    """The trace's summary of a large array: min, max, mean and std exactly as numpy's."""
    from engine.trace import tensors

    rng = np.random.default_rng(size)
    for scale in (1e-8, 1.0, 3e7):
        array = (rng.normal(size=(size,)) * scale + scale / 3).astype(dtype)
        summary = tensors.encode(array.reshape(1, -1), max_values=64)
        textbook = [array.min(), array.max(), array.mean(), array.std()]
        assert [summary[key] for key in ("min", "max", "mean", "std")] == [
            float(value) for value in textbook
        ]


def test_scalar_column_repeat_only_when_every_value_is_the_same():
    from engine.trace.writer import encode_column

    assert encode_column([0.5] * 100) == {"repeat": 0.5}
    assert encode_column([3] * 4) == {"repeat": 3}
    assert "f64" in encode_column([0.5] * 99 + [0.25])
    assert "f64" in encode_column([1.0, 1, 1.0])  # an int among floats is not a constant column
    assert encode_column([0.5, float("nan")]) == [0.5, "nan"]


@pytest.mark.parametrize("slope", [0.01, 0.2, 1.0])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_leaky_relu_forward_is_max_of_z_and_slope_z_bit_for_bit(slope, dtype):
    rng = np.random.default_rng(5)
    z = (rng.normal(size=(129, 65)) * 3).astype(dtype)
    z[0, :3] = [0.0, -0.0, np.nan]
    a = LeakyRelu(LeakyReluConfig(negative_slope=slope)).forward(z)
    textbook = np.where(z > 0, z, slope * z)
    assert a.dtype == textbook.dtype
    assert np.array_equal(a.view(np.uint8), textbook.view(np.uint8))
