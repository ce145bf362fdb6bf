"""The worked values image layers write into the trace (``forward_worked``,
``backward_worked``), for conv_transpose2d and the pools as for conv2d: each names one
entry, writes the sum that gives it with numbers, and ends with that entry's value."""

from __future__ import annotations

import re

import numpy as np
import pytest

from tests.test_conv_layers import batch, make_layer, registry  # noqa: F401 - the fixture

TRANSPOSED = [
    ({"channels": 2, "kernel_size": 3}, (2, 3, 4)),
    ({"channels": 3, "kernel_size": 3, "stride": 2, "padding": 1}, (2, 4, 3)),
    ({"channels": 1, "kernel_size": 4, "stride": 2, "padding": 1, "bias": False}, (3, 3, 3)),
    ({"channels": 2, "kernel_size": 2, "stride": 3, "activation": "tanh"}, (1, 3, 2)),
]
POOLS = [
    ({"kernel_size": 2}, (2, 6, 6)),
    ({"kernel_size": 3, "stride": 2}, (1, 7, 7)),  # windows overlap: an input in several
    ({"kernel_size": 2, "stride": 3}, (2, 8, 7)),  # a gap between windows
]


def last_number(text: str) -> float:
    return float(re.findall(r"= (-?[\d.e+-]+)$", text)[0])


def numbers_sum(products: str) -> float:
    """The value of "a×b + c×d + …" as written (4 significant digits each)."""
    products = re.sub(r" \(\d+ zero products? left out\)", "", products)
    return sum(float(a) * float(b) for a, b in re.findall(r"(-?[\d.e+-]+)×(-?[\d.e+-]+)", products))


@pytest.mark.parametrize("options, shape", TRANSPOSED)
def test_conv_transpose2d_worked_examples_agree_with_the_arrays(registry, options, shape):  # noqa: F811
    layer = make_layer(registry, {"type": "conv_transpose2d", **options}, shape)
    x = batch(np.random.default_rng(4), shape)
    a = layer.forward(x, True)
    z = layer.cache["z"]
    forward = layer.forward_worked()
    h, w = z.shape[2] // 2, z.shape[3] // 2
    assert forward.startswith(f"z[0, 0, {h}, {w}] = Σ_{{c,i,j}} x[0, c, i, j]·W[c, 0, u, v]")
    assert last_number(forward) == pytest.approx(z[0, 0, h, w], rel=1e-3, abs=1e-4)
    written = numbers_sum(forward.split(" = ")[-2])
    bias = layer.params["b"].value[0] if "b" in layer.params else 0.0
    if "more)" not in forward:
        assert written + bias == pytest.approx(z[0, 0, h, w], rel=1e-2, abs=1e-3)
    grad_x = layer.backward(np.random.default_rng(5).normal(size=a.shape))
    weights, inputs = layer.backward_worked().split("; ")
    assert weights.startswith("dL/dW[0, 0, 0, 0] = Σ_{n,i,j} x[n, 0, ")
    assert last_number(weights) == pytest.approx(layer.params["W"].grad[0, 0, 0, 0], rel=1e-3)
    i, j = map(int, re.match(r"dL/dx\[0, 0, (\d+), (\d+)\]", inputs).groups())
    assert (i, j) == (shape[1] // 2, shape[2] // 2)
    assert last_number(inputs) == pytest.approx(grad_x[0, 0, i, j], rel=1e-3, abs=1e-4)


@pytest.mark.parametrize("options, shape", POOLS)
def test_max_pool_forward_names_the_maximum(registry, options, shape):  # noqa: F811
    layer = make_layer(registry, {"type": "max_pool2d", **options}, shape)
    x = batch(np.random.default_rng(6), shape)
    out = layer.forward(x, True)
    i, j = out.shape[2] // 2, out.shape[3] // 2
    k, s = options["kernel_size"], options.get("stride", options["kernel_size"])
    text = layer.forward_worked()
    assert text.startswith(f"out[0, 0, {i}, {j}] = max of window ({i}, {j}) of x[0, 0]")
    u, v = np.unravel_index(np.argmax(x[0, 0, i * s : i * s + k, j * s : j * s + k]), (k, k))
    assert text.endswith(f"(at ({u}, {v}) of the window)")
    value = float(re.findall(r"= (-?[\d.e+-]+) \(at", text)[0])
    assert value == pytest.approx(out[0, 0, i, j], rel=1e-3)


@pytest.mark.parametrize("options, shape", POOLS)
def test_avg_pool_worked_examples_agree_with_the_arrays(registry, options, shape):  # noqa: F811
    layer = make_layer(registry, {"type": "avg_pool2d", **options}, shape)
    x = batch(np.random.default_rng(7), shape)
    out = layer.forward(x, True)
    k, s = options["kernel_size"], options.get("stride", options["kernel_size"])
    i, j = out.shape[2] // 2, out.shape[3] // 2
    forward = layer.forward_worked()
    assert forward.startswith(f"out[0, 0, {i}, {j}] = (1/{k * k})·Σ window ({i}, {j}) of x[0, 0]")
    terms = forward.split(" = ")[-2]  # "(x1 + x2 + …) / k²"
    shown = [float(t) for t in re.findall(r"-?[\d.]+(?:e[+-]?\d+)?", terms.split(" / ")[0])]
    assert len(shown) == k * k
    assert sum(shown) / (k * k) == pytest.approx(out[0, 0, i, j], rel=1e-2, abs=1e-3)
    assert last_number(forward) == pytest.approx(out[0, 0, i, j], rel=1e-3, abs=1e-4)
    grad_out = np.random.default_rng(8).normal(size=out.shape)
    grad_x = layer.backward(grad_out)
    parts = layer.backward_worked().split("; ")
    assert f"each of its {k * k} inputs receives dL/dout[0, 0, {i}, {j}] / {k * k}" in parts[0]
    assert last_number(parts[0]) == pytest.approx(grad_out[0, 0, i, j] / k**2, rel=1e-3)
    h, w = i * s, j * s
    if len(parts) == 1:  # the window's first input is in no other window
        assert grad_x[0, 0, h, w] == pytest.approx(grad_out[0, 0, i, j] / k**2)
    else:
        assert parts[1].startswith(f"dL/dx[0, 0, {h}, {w}] = the shares of the ")
        assert last_number(parts[1]) == pytest.approx(grad_x[0, 0, h, w], rel=1e-3, abs=1e-4)
