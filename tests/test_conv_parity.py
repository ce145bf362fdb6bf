"""Image layers against PyTorch (F.conv2d, F.max_pool2d, F.avg_pool2d, F.interpolate), over
several training steps.

Skipped when torch is not installed. Both sides start from the same explicit parameters
(passed to Tracegrad as nested lists in ``init:``), train full batch in float64 on the same
inputs, and must agree to 1e-9 after STEPS steps. The networks mix strides, padding,
overlapping and non-overlapping windows, and odd sizes whose last rows no window reaches.
"""

from __future__ import annotations

import numpy as np
import pytest

import engine

torch = pytest.importorskip("torch")
F = torch.nn.functional

STEPS = 8
TOLERANCE = 1e-9

#: Each network: input shape per sample, layers (Tracegrad specs), loss, number of targets.
NETWORKS = {
    "strided_padded_conv_max_pool": (
        (2, 9, 7),
        [
            {
                "type": "conv2d",
                "channels": 4,
                "kernel_size": 3,
                "stride": 2,
                "padding": 1,
                "activation": "tanh",
            },
            {"type": "max_pool2d", "kernel_size": 2, "stride": 1},
            {"type": "flatten"},
            {"type": "dense", "units": 3, "activation": "softmax"},
        ],
        "cross_entropy",
        3,
    ),
    "conv_avg_pool_conv": (
        (1, 8, 8),
        [
            {"type": "conv2d", "channels": 3, "kernel_size": 3, "padding": 1, "activation": "relu"},
            {"type": "avg_pool2d", "kernel_size": 3, "stride": 2},
            {
                "type": "conv2d",
                "channels": 2,
                "kernel_size": 2,
                "activation": {"type": "leaky_relu", "negative_slope": 0.2},
            },
            {"type": "flatten"},
            {"type": "dense", "units": 3, "activation": "softmax"},
        ],
        "cross_entropy",
        3,
    ),
    "odd_sizes_max_pool_no_bias": (
        (3, 7, 5),
        [
            {"type": "conv2d", "channels": 2, "kernel_size": 2, "stride": 3, "bias": False},
            {"type": "max_pool2d", "kernel_size": 2},
            {"type": "flatten"},
            {"type": "dense", "units": 2},
        ],
        "mse",
        2,
    ),
    "reshape_transposed_convs": (
        10,
        [
            {"type": "reshape", "shape": [5, 1, 2]},
            {
                "type": "conv_transpose2d",
                "channels": 3,
                "kernel_size": 4,
                "stride": 2,
                "padding": 1,
                "activation": {"type": "leaky_relu", "negative_slope": 0.2},
            },
            {
                "type": "conv_transpose2d",
                "channels": 2,
                "kernel_size": 3,
                "stride": 3,
                "activation": "tanh",
            },
            {"type": "conv2d", "channels": 1, "kernel_size": 3, "stride": 2, "padding": 1},
            {"type": "flatten"},
            {"type": "dense", "units": 2},
        ],
        "mse",
        2,
    ),
    "reshape_upsample_conv": (
        12,
        [
            {"type": "reshape", "shape": [3, 2, 2]},
            {"type": "upsample2d", "scale": 2},
            {"type": "conv2d", "channels": 2, "kernel_size": 3, "padding": 1, "activation": "tanh"},
            {"type": "upsample2d", "scale": 3},
            {"type": "avg_pool2d", "kernel_size": 2},
            {"type": "flatten"},
            {"type": "dense", "units": 2},
        ],
        "mse",
        2,
    ),
}
SAMPLES = 6


def problem(name):
    """Inputs, targets and initial parameters (one dict per layer) for network ``name``."""
    shape, layers, loss, targets = NETWORKS[name]
    rng = np.random.default_rng(sum(map(ord, name)))
    x = rng.normal(size=(SAMPLES, *(shape if isinstance(shape, tuple) else (shape,))))
    if loss == "cross_entropy":
        y = (np.arange(SAMPLES) % targets)[:, None].astype(float)
    else:
        y = rng.normal(size=(SAMPLES, targets))
    channels = shape[0] if isinstance(shape, tuple) else None
    params = []
    for layer in layers:
        values = {}
        if layer["type"] in ("conv2d", "conv_transpose2d"):
            k, c_out = layer["kernel_size"], layer["channels"]
            shape = (c_out, channels, k, k)
            if layer["type"] == "conv_transpose2d":  # torch's ConvTranspose2d: (C_in, C_out, ..)
                shape = (channels, c_out, k, k)
            values = {"W": rng.normal(0.0, 0.5, size=shape)}
            if layer.get("bias", True):
                values["b"] = rng.normal(0.0, 0.2, size=c_out)
            channels = c_out
        elif layer["type"] == "reshape":
            channels = layer["shape"][0]
        params.append(values)
    # the dense layer's inputs: run the shapes through torch once
    features = torch_features(name, x, params)
    dense = next(i for i, layer in enumerate(layers) if layer["type"] == "dense")
    units = layers[dense]["units"]
    params[dense] = {
        "W": rng.normal(0.0, 0.3, size=(features, units)),
        "b": rng.normal(0.0, 0.1, size=units),
    }
    return x, y, params


def torch_forward(name, x, params):
    """The network in torch: channels first, W (C_out, C_in, k, k) as torch.nn.Conv2d."""
    _, layers, _, _ = NETWORKS[name]
    a = x
    for layer, values in zip(layers, params):
        kind = layer["type"]
        if kind == "conv2d":
            a = F.conv2d(
                a,
                values["W"],
                values.get("b"),
                stride=layer.get("stride", 1),
                padding=layer.get("padding", 0),
            )
        elif kind == "conv_transpose2d":
            a = F.conv_transpose2d(
                a,
                values["W"],
                values.get("b"),
                stride=layer.get("stride", 1),
                padding=layer.get("padding", 0),
            )
        elif kind == "max_pool2d":
            a = F.max_pool2d(a, layer["kernel_size"], layer.get("stride"))
        elif kind == "avg_pool2d":
            a = F.avg_pool2d(a, layer["kernel_size"], layer.get("stride"))
        elif kind == "upsample2d":
            a = F.interpolate(a, scale_factor=layer["scale"], mode="nearest")
        elif kind == "flatten":
            a = torch.flatten(a, 1)
        elif kind == "reshape":
            a = a.reshape(len(a), *layer["shape"])
        elif kind == "dense":
            if not values:
                return a
            a = a @ values["W"] + values["b"]
        activation = layer.get("activation")
        if isinstance(activation, dict):
            a = F.leaky_relu(a, activation["negative_slope"])
        elif activation in ("tanh", "relu"):
            a = getattr(torch, activation)(a)
    return a


def torch_features(name, x, params):
    """The number of inputs of the dense layer, from torch's own shapes."""
    tensors = [{key: torch.tensor(value) for key, value in p.items()} for p in params]
    return torch_forward(name, torch.tensor(x), tensors).shape[1]


def tracegrad_params(name) -> dict[str, np.ndarray]:
    shape, layers, loss, _ = NETWORKS[name]
    x, y, params = problem(name)
    specs = []
    for index, (layer, values) in enumerate(zip(layers, params)):
        spec = {**layer, "name": f"l{index}"}
        if values:
            spec["init"] = {key: value.tolist() for key, value in values.items()}
        specs.append(spec)
    scenario = {
        "name": "conv_parity",
        "data": {
            "type": "inline",
            "x": x.tolist(),
            "y": y.tolist(),
            "task": "multiclass" if loss == "cross_entropy" else "regression",
        },
        "model": {"layers": specs},
        "loss": {"type": loss},
        "optimizer": {"type": "sgd", "lr": 0.1, "momentum": 0.9},
        "train": {"steps": STEPS},
    }
    result = engine.run(scenario, trace=False)
    assert result.status == "completed"
    return result.params


def torch_params(name) -> dict[str, np.ndarray]:
    _, layers, loss, _ = NETWORKS[name]
    x, y, params = problem(name)
    tensors = [
        {key: torch.tensor(value, requires_grad=True) for key, value in p.items()} for p in params
    ]
    flat = [t for p in tensors for t in p.values()]
    optimizer = torch.optim.SGD(flat, lr=0.1, momentum=0.9)
    x = torch.tensor(x)
    for _ in range(STEPS):
        optimizer.zero_grad()
        out = torch_forward(name, x, tensors)
        if loss == "cross_entropy":
            value = F.cross_entropy(out, torch.tensor(y[:, 0], dtype=torch.long))
        else:
            value = torch.mean((out - torch.tensor(y)) ** 2)
        value.backward()
        optimizer.step()
    return {
        f"l{index}.{key}": value.detach().numpy()
        for index, p in enumerate(tensors)
        for key, value in p.items()
    }


def parity_errors(name) -> dict[str, float]:
    ours, theirs = tracegrad_params(name), torch_params(name)
    assert set(ours) == set(theirs)
    return {key: float(np.max(np.abs(ours[key] - theirs[key]))) for key in theirs}


@pytest.mark.parametrize("name", NETWORKS)
def test_training_matches_torch(name):
    errors = parity_errors(name)
    worst = max(errors, key=errors.get)
    assert errors[worst] <= TOLERANCE, f"{worst}: max |tracegrad - torch| = {errors[worst]:.2e}"


def test_training_moved_the_parameters():
    """The comparison is worth something only if training changed the parameters."""
    name = "conv_avg_pool_conv"
    _, _, params = problem(name)
    trained = tracegrad_params(name)
    assert np.max(np.abs(trained["l0.W"] - params[0]["W"])) > 1e-3
    assert np.max(np.abs(trained["l2.W"] - params[2]["W"])) > 1e-3


def test_default_conv_init_has_torch_bounds():
    """Tracegrad's default conv2d init draws from torch's U(-1/√fan_in, 1/√fan_in)."""
    conv = torch.nn.Conv2d(3, 8, 3)
    fan_in = 3 * 3 * 3
    scenario = {
        "name": "init",
        "data": {"type": "inline", "x": np.zeros((2, 3, 5, 5)).tolist(), "y": [[0.0], [1.0]]},
        "model": {
            "layers": [
                {"type": "conv2d", "name": "c", "channels": 8, "kernel_size": 3},
                {"type": "flatten"},
                {"type": "dense", "units": 1},
            ]
        },
        "loss": {"type": "mse"},
        "optimizer": {"type": "sgd", "lr": 0.1},
        "train": {"steps": 1},
    }
    from plugins.supervised.build import build

    W = build(engine.load_scenario(scenario)).network.layers[0].params["W"].value
    assert W.shape == tuple(conv.weight.shape)
    bound = 1.0 / np.sqrt(fan_in)
    assert np.abs(W).max() <= bound
    assert np.abs(conv.weight.detach().numpy()).max() <= bound


#: One layer alone, forward and backward against torch autograd: (spec, sample shape, torch).
SINGLE_LAYERS = {
    "conv2d": (
        {"type": "conv2d", "channels": 3, "kernel_size": 3, "stride": 2, "padding": 1},
        (2, 9, 8),
        lambda x, W, b: F.conv2d(x, W, b, stride=2, padding=1),
    ),
    "conv_transpose2d": (
        {"type": "conv_transpose2d", "channels": 3, "kernel_size": 4, "stride": 2, "padding": 1},
        (2, 5, 4),
        lambda x, W, b: F.conv_transpose2d(x, W, b, stride=2, padding=1),
    ),
    "max_pool2d": (
        {"type": "max_pool2d", "kernel_size": 3, "stride": 2},
        (2, 9, 8),
        lambda x: F.max_pool2d(x, 3, 2),
    ),
    "avg_pool2d": (
        {"type": "avg_pool2d", "kernel_size": 2},
        (2, 7, 9),
        lambda x: F.avg_pool2d(x, 2),
    ),
    "upsample2d": (
        {"type": "upsample2d", "scale": 2},
        (2, 3, 5),
        lambda x: F.interpolate(x, scale_factor=2, mode="nearest"),
    ),
    "flatten": ({"type": "flatten"}, (2, 3, 5), lambda x: torch.flatten(x, 1)),
}


def single_layer_errors(name) -> dict[str, float]:
    """max |tracegrad - torch| of the output, dL/dx and each parameter gradient."""
    from engine.plugins import load_registry
    from tests.test_conv_layers import make_layer

    spec, shape, function = SINGLE_LAYERS[name]
    layer = make_layer(load_registry(autoload=False), spec, shape)
    rng = np.random.default_rng(7)
    x = rng.normal(size=(4, *shape))
    out = layer.forward(x, training=True)
    upstream = rng.normal(size=out.shape)
    grad_x = layer.backward(upstream)
    x_t = torch.tensor(x, requires_grad=True)
    params = [torch.tensor(p.value, requires_grad=True) for p in layer.params.values()]
    out_t = function(x_t, *params)
    out_t.backward(torch.tensor(upstream))
    errors = {
        "out": np.abs(out - out_t.detach().numpy()).max(),
        "dL/dx": np.abs(grad_x - x_t.grad.numpy()).max(),
    }
    for (key, p), tensor in zip(layer.params.items(), params):
        errors[f"dL/d{key}"] = np.abs(p.grad - tensor.grad.numpy()).max()
    return {key: float(value) for key, value in errors.items()}


@pytest.mark.parametrize("name", SINGLE_LAYERS)
def test_single_layer_matches_torch(name):
    errors = single_layer_errors(name)
    worst = max(errors, key=errors.get)
    assert errors[worst] <= 1e-12, f"{name} {worst}: max |tracegrad - torch| = {errors[worst]:.2e}"
