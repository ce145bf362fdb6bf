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


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("shape", "k"), [((3, 2, 8, 8), 2), ((2, 3, 7, 9), 2), ((2, 1, 9, 9), 3)])
def test_side_by_side_windows_add_back_as_add_windows_bit_for_bit(dtype, shape, k):
    """The pools' backward passes with stride = kernel: one copy equals the k² adds."""
    from plugins.images import add_windows, tile_windows, windows

    rng = np.random.default_rng(7)
    n, c, h, w = shape
    h_out, w_out = (h - k) // k + 1, (w - k) // k + 1
    grad = rng.normal(size=(n, c, h_out, w_out, k, k)).astype(dtype)
    grad[0, 0, 0, 0] = [[-0.0] * k] * k  # 0 · (negative dL/dout), as the one-hot product gives
    grad[0, 0, 0, 1, 0, 0] = np.nan
    expected = add_windows(grad, shape, k)
    fast = tile_windows(grad, shape)
    assert fast.dtype == expected.dtype
    assert np.array_equal(fast.view(np.uint8), expected.view(np.uint8))
    assert windows(fast, k, k).shape == grad.shape


def test_side_by_side_windows_of_a_broadcast_share_as_add_windows():
    """avg_pool2d hands each window dL/dout / k² as a broadcast (read-only) view."""
    from plugins.images import add_windows, tile_windows

    grad_out = np.random.default_rng(8).normal(size=(2, 3, 3, 4))
    share = np.broadcast_to((grad_out / 4)[..., None, None], (*grad_out.shape, 2, 2))
    expected = add_windows(share, (2, 3, 7, 8), 2)
    assert np.array_equal(tile_windows(share, (2, 3, 7, 8)).view(np.uint8), expected.view(np.uint8))
