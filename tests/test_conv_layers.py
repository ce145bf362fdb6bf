"""Image layers: conv2d, max_pool2d, avg_pool2d, upsample2d, flatten, reshape.

Gradients are compared with central differences (engine.gradcheck), forward values with the
formulas written out again here with explicit loops over positions (slow and plain, unlike
the plugin's im2col), and shapes with the output-size formula.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import yaml

import engine
from engine.components import BuildContext
from engine.gradcheck import check_layer
from engine.network import build_network, layer_widths
from engine.plugins import load_registry
from engine.seeds import SeedTree


@pytest.fixture(scope="module")
def registry():
    return load_registry(autoload=False)


def validate(registry, spec: dict):
    return registry.get("layers", spec["type"]).config.model_validate(
        spec, context={"registry": registry}
    )


def make_layer(registry, spec: dict, shape, seed: int = 0):
    """Validate ``spec`` as a scenario would and build it for inputs of ``shape``."""
    ctx = BuildContext(SeedTree(seed), registry, total_steps=10)
    network = build_network([validate(registry, spec)], shape, ctx, lambda path: "<test>")
    return network.layers[0]


def batch(rng, shape, n=3):
    return rng.normal(size=(n, *(shape if isinstance(shape, tuple) else (shape,))))


def assert_gradients_ok(layer, x, tolerance=1e-5):
    results = check_layer(layer, x)
    assert results, "nothing was checked"
    for result in results:
        assert result.ok(tolerance), f"{result.name}: relative error {result.error:.2e}"


def test_the_layers_are_registered(registry):
    names = ("conv2d", "conv_transpose2d", "max_pool2d", "avg_pool2d", "upsample2d")
    for name in (*names, "flatten", "reshape"):
        assert registry.get("layers", name).plugin == "plugins.images"


CONVS = [
    ({"channels": 3, "kernel_size": 3}, (2, 5, 6)),
    ({"channels": 2, "kernel_size": 3, "stride": 2, "padding": 1}, (3, 7, 6)),
    ({"channels": 4, "kernel_size": 2, "stride": 3}, (1, 8, 7)),  # stride leaves pixels out
    ({"channels": 2, "kernel_size": 5, "padding": 2, "bias": False}, (2, 4, 5)),
    ({"channels": 3, "kernel_size": 3, "activation": "tanh"}, (2, 5, 5)),
    ({"channels": 2, "kernel_size": 1, "activation": {"type": "leaky_relu"}}, (3, 3, 4)),
]


@pytest.mark.parametrize("options, shape", CONVS)
def test_conv2d_gradients(registry, options, shape):
    layer = make_layer(registry, {"type": "conv2d", **options}, shape)
    assert_gradients_ok(layer, batch(np.random.default_rng(1), shape))


TRANSPOSED = [
    ({"channels": 3, "kernel_size": 3, "stride": 2, "padding": 1}, (2, 4, 3)),
    ({"channels": 2, "kernel_size": 4, "stride": 2, "padding": 1, "activation": "tanh"}, (3, 3, 3)),
    ({"channels": 2, "kernel_size": 2, "stride": 3, "bias": False}, (1, 2, 3)),
]


@pytest.mark.parametrize("options, shape", TRANSPOSED)
def test_conv_transpose2d_gradients(registry, options, shape):
    layer = make_layer(registry, {"type": "conv_transpose2d", **options}, shape)
    assert_gradients_ok(layer, batch(np.random.default_rng(6), shape))


def test_conv_transpose2d_stamps_its_kernel_by_hand(registry):
    """Each input pixel stamps its value times W onto the output; the stamps of two
    neighbouring pixels (stride 1) overlap in one column, where they add up."""
    W = [[[[1.0, 2.0], [3.0, 4.0]]]]  # (C_in, C_out, 2, 2)
    spec = {
        "type": "conv_transpose2d",
        "channels": 1,
        "kernel_size": 2,
        "stride": 1,
        "bias": False,
        "init": {"W": W},
    }
    layer = make_layer(registry, spec, (1, 1, 2))
    out = layer.forward(np.array([[[[2.0, 10.0]]]]), training=True)
    np.testing.assert_array_equal(out, [[[[2.0, 14.0, 20.0], [6.0, 38.0, 40.0]]]])
    assert layer.out_shape == (1, 2, 3)
    assert layer.params["W"].value.shape == (1, 1, 2, 2)


def test_conv_transpose2d_is_the_adjoint_of_conv2d(registry):
    """⟨conv2d(x), y⟩ = ⟨x, conv_transpose2d(y)⟩ with the same W: the transposed convolution
    is the map conv2d's backward pass applies to dL/dz."""
    rng = np.random.default_rng(8)
    conv = make_layer(
        registry,
        {
            "type": "conv2d",
            "channels": 3,
            "kernel_size": 3,
            "stride": 2,
            "padding": 1,
            "bias": False,
        },
        (2, 7, 7),
    )
    x = rng.normal(size=(2, 2, 7, 7))
    z = conv.forward(x, True)
    transposed = make_layer(
        registry,
        {
            "type": "conv_transpose2d",
            "channels": 2,
            "kernel_size": 3,
            "stride": 2,
            "padding": 1,
            "bias": False,
            "init": {"W": conv.params["W"].value.tolist()},
        },
        z.shape[1:],
    )
    y = rng.normal(size=z.shape)
    back = transposed.forward(y, True)
    assert back.shape == x.shape
    assert np.sum(z * y) == pytest.approx(np.sum(x * back), rel=1e-12)


def conv_by_loops(x, W, b, stride, padding):
    """z[n, o, i, j] = Σ_{c,u,v} W[o, c, u, v]·x_p[n, c, i·s + u, j·s + v] + b[o], one
    output position at a time."""
    x_p = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    n, _, h, w = x_p.shape
    c_out, _, k, _ = W.shape
    h_out, w_out = (h - k) // stride + 1, (w - k) // stride + 1
    z = np.zeros((n, c_out, h_out, w_out))
    for i in range(h_out):
        for j in range(w_out):
            field = x_p[:, :, i * stride : i * stride + k, j * stride : j * stride + k]
            z[:, :, i, j] = np.einsum("ncuv,ocuv->no", field, W) + (0.0 if b is None else b)
    return z


@pytest.mark.parametrize("options, shape", CONVS[:4])
def test_conv2d_forward_matches_the_sum_written_out(registry, options, shape):
    layer = make_layer(registry, {"type": "conv2d", **options}, shape)
    x = batch(np.random.default_rng(2), shape)
    b = layer.params["b"].value if "b" in layer.params else None
    expected = conv_by_loops(
        x, layer.params["W"].value, b, options.get("stride", 1), options.get("padding", 0)
    )
    np.testing.assert_allclose(layer.forward(x, training=True), expected, rtol=1e-12, atol=1e-12)
    assert layer.out_shape == expected.shape[1:]


def test_conv2d_parameters_have_torch_shapes_and_default_bounds(registry):
    layer = make_layer(registry, {"type": "conv2d", "channels": 16, "kernel_size": 3}, (4, 9, 9))
    W, b = layer.params["W"].value, layer.params["b"].value
    assert W.shape == (16, 4, 3, 3) and b.shape == (16,)
    bound = 1.0 / np.sqrt(4 * 3 * 3)  # kaiming_uniform(a=√5): 1/√fan_in for W and b
    assert np.abs(W).max() <= bound and np.abs(b).max() <= bound
    # uniform on [-bound, bound]: the largest of 576 draws comes close to the bound
    assert np.abs(W).max() > 0.95 * bound
    assert W.std() == pytest.approx(bound / np.sqrt(3), rel=0.1)


@pytest.mark.parametrize(
    "spec, shape",
    [
        ({"type": "max_pool2d", "kernel_size": 2}, (2, 6, 4)),
        ({"type": "max_pool2d", "kernel_size": 2}, (2, 5, 7)),  # odd: last row/column unused
        ({"type": "max_pool2d", "kernel_size": 3, "stride": 2}, (2, 7, 7)),  # overlapping
        ({"type": "avg_pool2d", "kernel_size": 2}, (3, 4, 6)),
        ({"type": "avg_pool2d", "kernel_size": 3, "stride": 2}, (2, 7, 6)),
        ({"type": "avg_pool2d", "kernel_size": 2, "stride": 3}, (1, 8, 8)),
        ({"type": "upsample2d"}, (2, 3, 4)),
        ({"type": "upsample2d", "scale": 3}, (1, 2, 2)),
        ({"type": "flatten"}, (2, 3, 4)),
        ({"type": "reshape", "shape": [2, 3, 2]}, 12),
        ({"type": "reshape", "shape": [12]}, (3, 2, 2)),
    ],
)
def test_shape_layer_gradients(registry, spec, shape):
    layer = make_layer(registry, spec, shape)
    assert_gradients_ok(layer, batch(np.random.default_rng(3), shape))


def test_max_pool_forward_and_mask_by_hand(registry):
    layer = make_layer(registry, {"type": "max_pool2d", "kernel_size": 2}, (1, 4, 4))
    x = np.array(
        [
            [
                [
                    [1.0, 2.0, 0.0, -1.0],
                    [4.0, 3.0, 5.0, 0.5],
                    [0.0, 0.0, -2.0, -3.0],
                    [7.0, 0.0, -1.0, -4.0],
                ]
            ]
        ]
    )
    out = layer.forward(x, training=True)
    np.testing.assert_array_equal(out, [[[[4.0, 5.0], [7.0, -1.0]]]])
    grad_out = np.array([[[[10.0, 20.0], [30.0, 40.0]]]])
    grad_x = layer.backward(grad_out)
    mask = layer.backward_values()["mask"]
    expected_mask = np.zeros((1, 1, 4, 4))
    expected_mask[0, 0, [1, 1, 3, 3], [0, 2, 0, 2]] = 1.0
    np.testing.assert_array_equal(mask, expected_mask)
    np.testing.assert_array_equal(grad_x[0, 0, [1, 1, 3, 3], [0, 2, 0, 2]], [10, 20, 30, 40])
    assert grad_x.sum() == 100.0
    # ties: the first maximum in reading order takes the gradient (as PyTorch)
    layer.forward(np.zeros((1, 1, 4, 4)), training=True)
    layer.backward(np.ones((1, 1, 2, 2)))
    assert layer.backward_values()["mask"][0, 0, ::2, ::2].tolist() == [[1, 1], [1, 1]]
    assert layer.backward_values()["mask"].sum() == 4


def test_avg_pool_and_upsample_by_hand(registry):
    pool = make_layer(registry, {"type": "avg_pool2d", "kernel_size": 2}, (1, 2, 4))
    x = np.arange(8.0).reshape(1, 1, 2, 4)
    np.testing.assert_array_equal(pool.forward(x, True), [[[[2.5, 4.5]]]])
    np.testing.assert_array_equal(
        pool.backward(np.array([[[[4.0, 8.0]]]])), [[[[1, 1, 2, 2], [1, 1, 2, 2]]]]
    )
    up = make_layer(registry, {"type": "upsample2d"}, (1, 1, 2))
    np.testing.assert_array_equal(
        up.forward(np.array([[[[1.0, 2.0]]]]), True), [[[[1, 1, 2, 2], [1, 1, 2, 2]]]]
    )
    np.testing.assert_array_equal(up.backward(np.arange(8.0).reshape(1, 1, 2, 4)), [[[[10, 18]]]])


def test_flatten_is_row_major_like_torch_flatten(registry):
    layer = make_layer(registry, {"type": "flatten"}, (2, 2, 3))
    x = np.arange(24.0).reshape(2, 2, 2, 3)
    np.testing.assert_array_equal(layer.forward(x, True), np.arange(24.0).reshape(2, 12))
    assert layer.out_shape == 12


def _last_number(text: str) -> float:
    return float(re.findall(r"= (-?[\d.e+-]+)$", text.split("; ")[-1])[0])


@pytest.mark.parametrize("options, shape", CONVS[:3])
def test_conv2d_worked_examples_agree_with_the_arrays(registry, options, shape):
    layer = make_layer(registry, {"type": "conv2d", **options}, shape)
    x = batch(np.random.default_rng(4), shape)
    z = layer.forward(x, True)
    forward = layer.forward_worked()
    i, j = z.shape[2] // 2, z.shape[3] // 2
    assert forward.startswith(f"z[0, 0, {i}, {j}] = Σ W[0] ⊙ x_p[0, :, ")
    assert _last_number(forward) == pytest.approx(z[0, 0, i, j], rel=1e-3, abs=1e-4)
    grad_x = layer.backward(np.random.default_rng(5).normal(size=z.shape))
    weights, _, inputs = layer.backward_worked().partition("; ")
    assert _last_number(weights) == pytest.approx(layer.params["W"].grad[0, 0, 0, 0], rel=1e-3)
    h, w = map(int, re.match(r"dL/dx\[0, 0, (\d+), (\d+)\]", inputs).groups())
    assert _last_number(inputs) == pytest.approx(grad_x[0, 0, h, w], rel=1e-3, abs=1e-4)


def test_output_shapes_follow_the_size_formula(registry):
    # ⌊(H + 2p - k)/s⌋ + 1
    layer = make_layer(
        registry,
        {"type": "conv2d", "channels": 5, "kernel_size": 3, "stride": 2, "padding": 1},
        (1, 8, 7),
    )
    assert layer.out_shape == (5, 4, 4)
    pool = make_layer(registry, {"type": "max_pool2d", "kernel_size": 3, "stride": 2}, (5, 9, 8))
    assert pool.out_shape == (5, 4, 3)


def test_parameter_widths_chain_through_image_layers(registry):
    specs = [
        validate(registry, spec)
        for spec in (
            {"type": "conv2d", "channels": 8, "kernel_size": 3, "padding": 1},
            {"type": "max_pool2d", "kernel_size": 2},
            {"type": "flatten"},
            {"type": "dense", "units": 10},
        )
    ]
    widths = layer_widths(specs, (1, 8, 8), ("model", "layers"))
    assert [width[1:] for width in widths] == [(9, 8), (8 * 4 * 4, 10)]
    network = build_network(specs, (1, 8, 8), BuildContext(SeedTree(0), registry), str)
    assert network.parameter_count == sum(i * u + u for _, i, u in widths)


def image_scenario(layers, x_shape=(4, 1, 6, 6), classes=2) -> str:
    """A YAML scenario on inline images (N, C, H, W), one layer a line."""
    rng = np.random.default_rng(0)
    scenario = {
        "name": "images",
        "data": {
            "type": "inline",
            "x": np.round(rng.normal(size=x_shape), 3).tolist(),
            "y": [[k % classes] for k in range(x_shape[0])],
            "task": "multiclass",
        },
        "loss": {"type": "cross_entropy"},
        "optimizer": {"type": "sgd", "lr": 0.1},
        "train": {"steps": 2},
    }
    text = yaml.safe_dump(scenario, default_flow_style=None, width=10_000)
    return text + "model:\n  layers:\n" + "".join(f"    - {layer}\n" for layer in layers)


def assert_clean_error(result, *fragments):
    assert result.code == 2, result
    assert "Traceback" not in result.err
    for fragment in fragments:
        assert fragment in result.err, f"{fragment!r} not in {result.err!r}"


def line_of(text: str, fragment: str) -> int:
    return next(number for number, line in enumerate(text.splitlines(), 1) if fragment in line)


def test_inline_images_train(cli, write_scenario, tmp_path):
    text = image_scenario(
        [
            "{type: conv2d, name: conv, channels: 2, kernel_size: 3, activation: relu}",
            "{type: max_pool2d, kernel_size: 2}",
            "{type: flatten}",
            "{type: dense, name: out, units: 2, activation: softmax}",
        ]
    )
    result = engine.run(write_scenario(text), trace=tmp_path / "run" / "trace.jsonl")
    assert result.status == "completed"
    assert result.params["conv.W"].shape == (2, 1, 3, 3)
    assert result.params["out.W"].shape == (2 * 2 * 2, 2)


def test_dense_after_images_asks_for_flatten(cli, write_scenario):
    text = image_scenario(
        [
            "{type: conv2d, name: conv, channels: 2, kernel_size: 3}",
            "{type: dense, name: out, units: 2, activation: softmax}",
        ]
    )
    path = write_scenario(text)
    assert_clean_error(
        cli("validate", path),
        f"{path}:{line_of(text, 'name: out')}:",
        "layer 'out' (dense) takes flat inputs",
        "shape (2, 4, 4) come from layer 'conv', conv2d",
        "{type: flatten}",
    )


def test_conv_after_dense_names_both_layers_and_shapes(cli, write_scenario):
    text = image_scenario(
        [
            "{type: flatten}",
            "{type: dense, name: hidden, units: 9}",
            "{type: conv2d, name: conv, channels: 2, kernel_size: 3}",
        ]
    )
    path = write_scenario(text)
    assert_clean_error(
        cli("validate", path),
        f"{path}:{line_of(text, 'name: conv')}:",
        "layer 'conv' (conv2d) cannot take 9 inputs",
        "come from layer 'hidden'",
        "(channels, height, width)",
        "reshape",
    )


def test_a_kernel_larger_than_the_image_is_explained(cli, write_scenario):
    text = image_scenario(
        [
            "{type: conv2d, name: c1, channels: 2, kernel_size: 3}",
            "{type: max_pool2d, name: pool, kernel_size: 5}",
        ]
    )
    path = write_scenario(text)
    assert_clean_error(
        cli("validate", path),
        f"{path}:{line_of(text, 'name: pool')}:",
        "layer 'pool' (max_pool2d) cannot take inputs of shape (2, 4, 4)",
        "from layer 'c1', conv2d",
        "5×5 kernel does not fit",
    )


def test_explicit_conv_init_of_the_wrong_shape(cli, write_scenario):
    text = image_scenario(
        ["{type: conv2d, name: c, channels: 2, kernel_size: 2, init: {W: [[[[0.0, 1.0]]]]}}"]
    )
    path = write_scenario(text)
    assert_clean_error(
        cli("validate", path), "c.W", "expected (2, 1, 2, 2)", "2 lists of 1 channels"
    )


def test_ragged_inline_images_are_a_scenario_error(cli, write_scenario):
    path = write_scenario(
        "name: ragged\ndata: {type: inline, x: [[[[1, 2], [3, 4]]], [[[1, 2]]]], y: [[0], [1]]}\n"
        "model: {layers: [{type: flatten}]}\nloss: {type: mse}\n"
        "optimizer: {type: sgd, lr: 0.1}\ntrain: {steps: 1}\n"
    )
    assert_clean_error(cli("validate", path), f"{path}:2:", "same, non-empty shape", "(1, 1, 2)")


def test_digits_as_images():
    scenario = engine.load_scenario(
        {
            "name": "digits_images",
            "data": {"type": "digits", "image": True, "samples": 50},
            "model": {"layers": [{"type": "flatten"}, {"type": "dense", "units": 10}]},
            "loss": {"type": "cross_entropy"},
            "optimizer": {"type": "sgd", "lr": 0.1},
            "train": {"steps": 1},
        }
    )
    flat = engine.load_scenario({**scenario.resolved(), "data": {"type": "digits", "samples": 50}})
    from plugins.supervised.build import build

    images, rows = build(scenario).data.x, build(flat).data.x
    assert images.shape == (50, 1, 8, 8)
    np.testing.assert_array_equal(images.reshape(50, 64), rows)


def test_whole_network_gradients_through_every_image_layer(tmp_path):
    """check_scenario on a network with every image layer, smooth activations and inputs
    without ties (so no max-pool window sits at a kink)."""
    from engine.gradcheck import check_scenario

    rng = np.random.default_rng(11)
    scenario = engine.load_scenario(
        {
            "name": "images_gradcheck",
            "data": {
                "type": "inline",
                "x": rng.normal(size=(5, 2, 7, 6)).tolist(),
                "y": rng.normal(size=(5, 2)).tolist(),
            },
            "model": {
                "layers": [
                    {
                        "type": "conv2d",
                        "channels": 3,
                        "kernel_size": 3,
                        "stride": 2,
                        "padding": 1,
                        "activation": "tanh",
                    },
                    {"type": "upsample2d"},
                    {"type": "max_pool2d", "kernel_size": 3, "stride": 2},
                    {"type": "avg_pool2d", "kernel_size": 2, "stride": 1},
                    {"type": "flatten"},
                    {"type": "reshape", "shape": [3, 1, 2]},
                    {"type": "flatten"},
                    {"type": "dense", "units": 2},
                ]
            },
            "loss": {"type": "mse"},
            "optimizer": {"type": "sgd", "lr": 0.1},
            "train": {"steps": 1},
        }
    )
    results = check_scenario(scenario)
    assert [r.name for r in results] == ["conv2d0.W", "conv2d0.b", "dense7.W", "dense7.b"]
    for result in results:
        assert result.ok(1e-6), f"{result.name}: relative error {result.error:.2e}"


def test_conv_transpose2d_default_init_uses_torchs_fan_in(registry):
    """torch computes a ConvTranspose2d's fan_in from W's dimension 1: C_out·k·k."""
    spec = {"type": "conv_transpose2d", "channels": 6, "kernel_size": 3}
    layer = make_layer(registry, spec, (20, 3, 3))
    W, b = layer.params["W"].value, layer.params["b"].value
    assert W.shape == (20, 6, 3, 3)
    bound = 1.0 / np.sqrt(6 * 3 * 3)
    assert np.abs(W).max() <= bound and np.abs(b).max() <= bound
    assert np.abs(W).max() > 0.95 * bound  # 1080 uniform draws reach close to the bound


def conv_per_sample(x, W, b, grad_z, stride, padding):
    """Conv2d's textbook form, one matrix product per sample (the class docstring):
    z_n = W_row·X_col,n + b,  dL/dW = Σ_n dL/dz_n·X_col,nᵀ,  dL/dx = the full convolution of
    the dilated dL/dz with the flipped kernel, the padding cut off."""
    from plugins.images import im2col

    x_p = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    c_out, c_in, k, _ = W.shape
    W_row = W.reshape(c_out, -1)
    n, _, h_out, w_out = grad_z.shape
    z, grad_W = np.zeros(grad_z.shape), np.zeros(W_row.shape)
    grad_x_p = np.zeros(x_p.shape)
    flipped = W[:, :, ::-1, ::-1].transpose(1, 0, 2, 3).reshape(c_in, -1)
    for s_ in range(n):
        columns = im2col(x_p[s_ : s_ + 1], k, stride)[0]  # X_col,n (C_in·k·k, H_out·W_out)
        z[s_] = (W_row @ columns).reshape(c_out, h_out, w_out) + (
            0.0 if b is None else b[:, None, None]
        )
        grad_rows = grad_z[s_].reshape(c_out, -1)
        grad_W += grad_rows @ columns.T
        dilated = np.zeros((1, c_out, (h_out - 1) * stride + 1, (w_out - 1) * stride + 1))
        dilated[0, :, ::stride, ::stride] = grad_z[s_]
        rest_h = x_p.shape[2] - (dilated.shape[2] + k - 1)
        rest_w = x_p.shape[3] - (dilated.shape[3] + k - 1)
        full = np.pad(dilated, ((0, 0), (0, 0), (k - 1, k - 1 + rest_h), (k - 1, k - 1 + rest_w)))
        grad_x_p[s_] = (flipped @ im2col(full, k, 1)[0]).reshape(x_p.shape[1:])
    grad_x = grad_x_p[:, :, padding : padding + x.shape[2], padding : padding + x.shape[3]]
    return z, grad_W.reshape(W.shape), grad_x


@pytest.mark.parametrize("options, shape", CONVS[:4])
def test_conv2d_batched_products_equal_the_per_sample_textbook_form(registry, options, shape):
    layer = make_layer(registry, {"type": "conv2d", **options}, shape)
    rng = np.random.default_rng(5)
    x = batch(rng, shape, n=4)
    z = layer.forward(x, training=True)
    grad_z = rng.normal(size=z.shape)
    grad_x = layer.backward(grad_z)
    b = layer.params["b"].value if "b" in layer.params else None
    stride, padding = options.get("stride", 1), options.get("padding", 0)
    z_ref, grad_W_ref, grad_x_ref = conv_per_sample(
        x, layer.params["W"].value, b, grad_z, stride, padding
    )
    np.testing.assert_allclose(z, z_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.params["W"].grad, grad_W_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grad_x, grad_x_ref, rtol=1e-12, atol=1e-12)
