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


def _bits_equal(fast, expected) -> bool:
    return fast.dtype == expected.dtype and np.array_equal(
        np.ascontiguousarray(fast).view(np.uint8), np.ascontiguousarray(expected).view(np.uint8)
    )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("shape", "k"), [((3, 2, 8, 8), 2), ((2, 3, 7, 9), 2), ((2, 1, 9, 9), 3)])
def test_side_by_side_max_as_argmax_over_each_window(dtype, shape, k):
    """max_pool2d with stride = kernel: k² - 1 comparisons give argmax's first maximum and
    the same maxima, ties (relu's zeros, +0 against -0) included."""
    from plugins.images import tiled_max, windows

    rng = np.random.default_rng(9)
    x = np.maximum(rng.normal(size=shape), 0.0).astype(dtype)  # many ties at 0
    x[0, 0, :k, :k] = -0.0
    x[0, 0, 0, 1] = 0.0  # +0 after -0 in one window: equal, so the first (-0) is kept
    x[-1, -1, :k, :k] = 1.5  # every entry of a window the same
    fields = windows(x, k, k)
    flat = fields.reshape(*fields.shape[:4], k * k)
    argmax = flat.argmax(axis=-1)
    expected = np.take_along_axis(flat, argmax[..., None], axis=-1)[..., 0]
    out, fast_argmax = tiled_max(x, k)
    assert _bits_equal(out, expected)
    assert np.array_equal(fast_argmax, argmax) and fast_argmax.dtype == argmax.dtype


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_side_by_side_max_backward_as_the_one_hot_windows(dtype):
    """dL/dx of max_pool2d with stride = kernel: [argmax = u·k + v]·dL/dout + 0 per offset
    equals tile_windows of the one-hot windows times dL/dout, -0, inf and NaN included."""
    from plugins.images import tile_windows, tiled_max_backward

    rng = np.random.default_rng(10)
    k, shape = 2, (2, 3, 7, 8)
    argmax = rng.integers(0, k * k, size=(2, 3, 3, 4))
    grad_out = rng.normal(size=argmax.shape).astype(dtype)
    grad_out[0, 0, 0, :3] = [-0.0, np.inf, np.nan]
    one_hot = (np.arange(k * k) == argmax[..., None]).reshape(*argmax.shape, k, k)
    expected = tile_windows(one_hot * grad_out[..., None, None], shape)
    assert _bits_equal(tiled_max_backward(argmax, grad_out, shape, k), expected)


def test_max_pool_takes_argmax_when_x_is_not_finite():
    """NaN is the largest number for argmax; the comparisons would skip it, so a
    non-finite input takes the window copy and argmax."""
    from plugins.images import MaxPool2d, MaxPool2dConfig

    pool = MaxPool2d(MaxPool2dConfig(kernel_size=2))
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    x[0, 0, 0, 0] = np.nan
    out = pool.forward(x, training=True)
    assert np.isnan(out[0, 0, 0, 0]) and pool.argmax[0, 0, 0, 0] == 0
    assert pool.argmax[0, 0, 1, 1] == 3 and out[0, 0, 1, 1] == 15.0


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("shape", "k", "s"), [((3, 2, 8, 8), 3, 1), ((2, 3, 9, 7), 3, 2)])
def test_receptive_rows_and_their_adds_back_as_the_window_view(dtype, shape, k, s):
    """conv2d's rows made by k² slice copies equal the copy of the window view, and their
    gradients added back channels last equal ``add_windows`` of the channels-first view."""
    from plugins.images import add_field_rows, add_windows, receptive_rows, windows

    rng = np.random.default_rng(11)
    x = rng.normal(size=shape).astype(dtype)
    fields = windows(x, k, s)
    n, c, h_out, w_out = fields.shape[:4]
    expected = fields.transpose(0, 2, 3, 1, 4, 5).reshape(n * h_out * w_out, c * k * k)
    rows = receptive_rows(x, k, s)
    assert _bits_equal(rows, expected)
    grad_fields = rng.normal(size=(n, h_out, w_out, c, k, k)).astype(dtype)
    added = add_field_rows(grad_fields, shape, s)
    assert added.flags.c_contiguous  # the layers before sum over it in memory order
    assert _bits_equal(added, add_windows(grad_fields.transpose(0, 3, 1, 2, 4, 5), shape, s))


def test_conv_padding_as_np_pad():
    from plugins.images import Conv2d, Conv2dConfig

    conv = Conv2d(Conv2dConfig(channels=2, kernel_size=3, padding=2))
    x = np.random.default_rng(12).normal(size=(2, 3, 4, 5)).astype(np.float32)
    assert _bits_equal(conv._pad(x), np.pad(x, ((0, 0), (0, 0), (2, 2), (2, 2))))


@pytest.mark.parametrize("scenario", ["cnn_digits.yaml", "moons.yaml"])
def test_a_backward_pass_that_skips_what_no_one_reads_computes_the_rest_alike(scenario):
    """``Network.backward(input_grad=False)`` leaves out the data's gradient (the first
    layer's dL/dx), ``param_grads=False`` the parameters' gradients; what is computed is the
    full pass's, bit for bit, and the layers' flags are back to True afterwards."""
    from pathlib import Path

    import engine
    from plugins.supervised.build import build

    path = Path(__file__).parent.parent / "scenarios" / scenario
    built = build(engine.load_scenario(path, {"train.validation_split": 0.0}))
    network, x = built.network, built.data.x[:16]
    out = network.forward(x, training=True)
    grad = np.random.default_rng(13).normal(size=out.shape)
    full_x = network.backward(grad)
    full = {p.key: p.grad.copy() for p in network.parameters}
    for p in network.parameters:
        p.grad = None
    assert network.backward(grad, input_grad=False) is None
    assert all(_bits_equal(p.grad, full[p.key]) for p in network.parameters)
    for p in network.parameters:
        p.grad = None
    assert _bits_equal(network.backward(grad, param_grads=False), full_x)
    assert all(p.grad is None for p in network.parameters)
    layers = network.layers
    assert all(layer.input_grad_needed and layer.param_grads_needed for layer in layers)
