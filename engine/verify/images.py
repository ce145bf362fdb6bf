"""The image layers' claims, re-derived from their trace records.

Written independently of the layers themselves: where the layers use one matrix product
(im2col) or a full convolution with the flipped kernel, these rules add up the k² shifted
slices of the input, one kernel offset (u, v) at a time. x_p is x padded with p zeros.

    conv2d      z[n, o, i, j] = Σ_{c,u,v} W[o, c, u, v]·x_p[n, c, i·s + u, j·s + v] + b[o],
                a = f(z),  f'(z),  dL/dz = dL/da ⊙ f'(z),
                dL/dW[o, c, u, v] = Σ_{n,i,j} dL/dz[n, o, i, j]·x_p[n, c, i·s + u, j·s + v],
                dL/db[o] = Σ_{n,i,j} dL/dz[n, o, i, j],
                dL/dx_p[n, c, i·s + u, j·s + v] += Σ_o W[o, c, u, v]·dL/dz[n, o, i, j]
    conv_transpose2d
                z_p[n, o, i·s + u, j·s + v] += Σ_c x[n, c, i, j]·W[c, o, u, v], z = z_p cut by
                p on each side + b[o],  a = f(z),  dL/dz as for conv2d, and with dL/dz_p =
                dL/dz padded by p: dL/dx[n, c, i, j] = Σ_{o,u,v} W[c, o, u, v]·dL/dz_p[n, o,
                i·s + u, j·s + v],  dL/dW[c, o, u, v] = Σ_{n,i,j} x[n, c, i, j]·dL/dz_p[...]
    max_pool2d  out = max of each window,  mask = how often each input was a window's
                (first) maximum,  dL/dx = dL/dout sent to each window's maximum
    avg_pool2d  out = mean of each window,  dL/dx = dL/dout/k² sent to every input of a window
    upsample2d  out[n, c, h, w] = x[n, c, ⌊h/r⌋, ⌊w/r⌋],  dL/dx = sums of dL/dout over r×r blocks
    flatten, reshape   out = x regrouped row-major,  dL/dx = dL/dout regrouped back
"""

from __future__ import annotations

import numpy as np

from engine.verify.layers import LayerPass, _activation, _dz
from engine.verify.report import Checker


def _pad(x, p: int):
    return np.pad(x, ((0, 0), (0, 0), (p, p), (p, p))) if p else x


def _slices(h_out: int, w_out: int, s: int, u: int, v: int):
    """The entries x_p[:, :, i·s + u, j·s + v] for every output position (i, j)."""
    return (slice(None), slice(None), slice(u, u + s * h_out, s), slice(v, v + s * w_out, s))


def _sizes(config: dict, default_stride: int = 1):
    k = config.get("kernel_size")
    return k, config.get("stride") or (k if default_stride is None else default_stride)


# --- conv2d ------------------------------------------------------------------------------


def conv2d_forward(check: Checker, layer: LayerPass) -> None:
    values, place, config = layer.forward, layer.place, layer.config
    x, W, b = values.get("x"), layer.params.get("W"), layer.params.get("b")
    has_bias = config.get("bias", True)
    k, s = _sizes(config)
    p = config.get("padding", 0)
    if check.whole("z", x, W, *((b,) if has_bias else ())):
        x_p = _pad(x, p)
        h_out = (x_p.shape[2] - k) // s + 1
        w_out = (x_p.shape[3] - k) // s + 1
        z = np.zeros((x.shape[0], W.shape[0], h_out, w_out))
        for u in range(k):
            for v in range(k):
                z += np.einsum("nchw,oc->nohw", x_p[_slices(h_out, w_out, s, u, v)], W[:, :, u, v])
        if has_bias:
            z += b[:, None, None]
        check.compare(
            place,
            "z",
            values.get("z"),
            z,
            "z[n, o, i, j] = Σ_{c,u,v} W[o, c, u, v]·x_p[n, c, i·s + u, j·s + v] + b[o], W and b "
            "as the update record's before",
        )
    _check_activation(check, layer)


def _check_activation(check: Checker, layer: LayerPass) -> None:
    """a = f(z) of a layer with an activation, when both are in the trace."""
    values = layer.forward
    if "a" not in values:
        return
    f = _activation(check, layer, layer.config.get("activation"))
    if f is not None and check.whole("a", values.get("z")):
        check.compare(layer.place, "a", values["a"], f.f(values["z"]), f"a = {f.name}(z)")


def conv2d_backward(check: Checker, layer: LayerPass) -> None:
    values, grads, place, config = layer.forward, layer.backward, layer.place, layer.config
    _dz(check, layer, "z")
    k, s = _sizes(config)
    p = config.get("padding", 0)
    x, dz, W = values.get("x"), grads.get("dL/dz"), layer.params.get("W")
    if check.whole("dL/dW", x, dz):
        x_p = _pad(x, p)
        h_out, w_out = dz.shape[2:]
        dW = np.zeros((dz.shape[1], x.shape[1], k, k))
        for u in range(k):
            for v in range(k):
                field = x_p[_slices(h_out, w_out, s, u, v)]
                dW[:, :, u, v] = np.einsum("nohw,nchw->oc", dz, field)
        check.compare(
            place,
            "dL/dW",
            grads.get("dL/dW"),
            dW,
            "dL/dW[o, c, u, v] = Σ_{n,i,j} dL/dz[n, o, i, j]·x_p[n, c, i·s + u, j·s + v]",
        )
    if "dL/db" in grads and check.whole("dL/db", dz):
        check.compare(
            place, "dL/db", grads["dL/db"], dz.sum(axis=(0, 2, 3)), "dL/db[o] = Σ_{n,i,j} dL/dz"
        )
    if check.whole("dL/dx", x, dz, W):
        h_out, w_out = dz.shape[2:]
        dx_p = np.zeros(_pad(x, p).shape)
        for u in range(k):
            for v in range(k):
                dx_p[_slices(h_out, w_out, s, u, v)] += np.einsum(
                    "nohw,oc->nchw", dz, W[:, :, u, v]
                )
        check.compare(
            place,
            "dL/dx",
            grads.get("dL/dx"),
            dx_p[:, :, p : p + x.shape[2], p : p + x.shape[3]],
            "dL/dx_p[n, c, i·s + u, j·s + v] += Σ_o W[o, c, u, v]·dL/dz[n, o, i, j], "
            "padding cut off",
        )


# --- conv_transpose2d --------------------------------------------------------------------


def conv_transpose_forward(check: Checker, layer: LayerPass) -> None:
    values, place, config = layer.forward, layer.place, layer.config
    x, W, b = values.get("x"), layer.params.get("W"), layer.params.get("b")
    has_bias = config.get("bias", True)
    k, s = _sizes(config)
    p = config.get("padding", 0)
    if check.whole("z", x, W, *((b,) if has_bias else ())):
        n, _, h, w = x.shape
        z_p = np.zeros((n, W.shape[1], (h - 1) * s + k, (w - 1) * s + k))
        for u in range(k):
            for v in range(k):
                z_p[_slices(h, w, s, u, v)] += np.einsum("nchw,co->nohw", x, W[:, :, u, v])
        z = z_p[:, :, p : z_p.shape[2] - p, p : z_p.shape[3] - p]
        if has_bias:
            z = z + b[:, None, None]
        check.compare(
            place,
            "z",
            values.get("z"),
            z,
            "z_p[n, o, i·s + u, j·s + v] += Σ_c x[n, c, i, j]·W[c, o, u, v], cut by the "
            "padding, + b[o]",
        )
    _check_activation(check, layer)


def conv_transpose_backward(check: Checker, layer: LayerPass) -> None:
    values, grads, place, config = layer.forward, layer.backward, layer.place, layer.config
    _dz(check, layer, "z")
    k, s = _sizes(config)
    p = config.get("padding", 0)
    x, dz, W = values.get("x"), grads.get("dL/dz"), layer.params.get("W")
    if check.whole("dL/dW", x, dz):
        h, w = x.shape[2:]
        dz_p = _pad(dz, p)
        dW = np.zeros((x.shape[1], dz.shape[1], k, k))
        for u in range(k):
            for v in range(k):
                dW[:, :, u, v] = np.einsum("nchw,nohw->co", x, dz_p[_slices(h, w, s, u, v)])
        check.compare(
            place,
            "dL/dW",
            grads.get("dL/dW"),
            dW,
            "dL/dW[c, o, u, v] = Σ_{n,i,j} x[n, c, i, j]·dL/dz_p[n, o, i·s + u, j·s + v]",
        )
    if "dL/db" in grads and check.whole("dL/db", dz):
        check.compare(
            place, "dL/db", grads["dL/db"], dz.sum(axis=(0, 2, 3)), "dL/db[o] = Σ_{n,i,j} dL/dz"
        )
    if check.whole("dL/dx", x, dz, W):
        h, w = x.shape[2:]
        dz_p = _pad(dz, p)
        dx = np.zeros(x.shape)
        for u in range(k):
            for v in range(k):
                dx += np.einsum("nohw,co->nchw", dz_p[_slices(h, w, s, u, v)], W[:, :, u, v])
        check.compare(
            place,
            "dL/dx",
            grads.get("dL/dx"),
            dx,
            "dL/dx[n, c, i, j] = Σ_{o,u,v} W[c, o, u, v]·dL/dz_p[n, o, i·s + u, j·s + v]",
        )


# --- pooling -----------------------------------------------------------------------------


def _window_maxima(x, k: int, s: int):
    """(max of each window, flat index into x of its first maximum in reading order)."""
    n, c, h, w = x.shape
    h_out, w_out = (h - k) // s + 1, (w - k) // s + 1
    flat_index = np.arange(x.size).reshape(x.shape)
    best = np.full((n, c, h_out, w_out), -np.inf)
    where = np.zeros((n, c, h_out, w_out), dtype=np.int64)
    for u in range(k):
        for v in range(k):
            candidate = x[_slices(h_out, w_out, s, u, v)]
            larger = candidate > best  # strict: ties keep the earlier entry
            best = np.where(larger, candidate, best)
            where = np.where(larger, flat_index[_slices(h_out, w_out, s, u, v)], where)
    return best, where


def max_pool_forward(check: Checker, layer: LayerPass) -> None:
    x = layer.forward.get("x")
    k, s = _sizes(layer.config, default_stride=None)
    if check.whole("out", x):
        best, _ = _window_maxima(x, k, s)
        check.compare(
            layer.place, "out", layer.forward.get("out"), best, f"out = max of each {k}×{k} window"
        )


def max_pool_backward(check: Checker, layer: LayerPass) -> None:
    x, grads = layer.forward.get("x"), layer.backward
    k, s = _sizes(layer.config, default_stride=None)
    grad_out = grads.get("dL/dout")
    if not check.whole("dL/dx", x, grad_out):
        return
    _, where = _window_maxima(x, k, s)
    if "mask" in grads:
        mask = np.bincount(where.reshape(-1), minlength=x.size).reshape(x.shape)
        check.compare(
            layer.place,
            "mask",
            grads["mask"],
            mask,
            "mask = how many windows have this input as their (first) maximum",
        )
    grad_x = np.bincount(where.reshape(-1), weights=grad_out.reshape(-1), minlength=x.size)
    check.compare(
        layer.place,
        "dL/dx",
        grads.get("dL/dx"),
        grad_x.reshape(x.shape),
        "dL/dx = dL/dout of each window, at the window's maximum; 0 elsewhere",
    )


def avg_pool_forward(check: Checker, layer: LayerPass) -> None:
    x = layer.forward.get("x")
    k, s = _sizes(layer.config, default_stride=None)
    if check.whole("out", x):
        h_out, w_out = (x.shape[2] - k) // s + 1, (x.shape[3] - k) // s + 1
        total = sum(x[_slices(h_out, w_out, s, u, v)] for u in range(k) for v in range(k))
        check.compare(
            layer.place,
            "out",
            layer.forward.get("out"),
            total / (k * k),
            f"out = mean of each {k}×{k} window",
        )


def avg_pool_backward(check: Checker, layer: LayerPass) -> None:
    x, grads = layer.forward.get("x"), layer.backward
    k, s = _sizes(layer.config, default_stride=None)
    grad_out = grads.get("dL/dout")
    if check.whole("dL/dx", x, grad_out):
        h_out, w_out = grad_out.shape[2:]
        grad_x = np.zeros(x.shape)
        for u in range(k):
            for v in range(k):
                grad_x[_slices(h_out, w_out, s, u, v)] += grad_out / (k * k)
        check.compare(
            layer.place,
            "dL/dx",
            grads.get("dL/dx"),
            grad_x,
            f"dL/dx = Σ over the windows holding the input of dL/dout/{k * k}",
        )


# --- upsampling and changes of shape -----------------------------------------------------


def upsample_forward(check: Checker, layer: LayerPass) -> None:
    x, r = layer.forward.get("x"), layer.config.get("scale", 2)
    if check.whole("out", x):
        rows = np.arange(x.shape[2] * r) // r
        columns = np.arange(x.shape[3] * r) // r
        check.compare(
            layer.place,
            "out",
            layer.forward.get("out"),
            x[:, :, rows[:, None], columns[None, :]],
            "out[n, c, h, w] = x[n, c, ⌊h/r⌋, ⌊w/r⌋]",
        )


def upsample_backward(check: Checker, layer: LayerPass) -> None:
    x, grads, r = layer.forward.get("x"), layer.backward, layer.config.get("scale", 2)
    grad_out = grads.get("dL/dout")
    if check.whole("dL/dx", x, grad_out):
        grad_x = sum(grad_out[:, :, u::r, v::r] for u in range(r) for v in range(r))
        check.compare(
            layer.place,
            "dL/dx",
            grads.get("dL/dx"),
            grad_x,
            f"dL/dx = sum of dL/dout over each {r}×{r} block",
        )


def reshape_forward(check: Checker, layer: LayerPass) -> None:
    x = layer.forward.get("x")
    shape = layer.config.get("shape", [-1])  # flatten: one axis
    if check.whole("out", x):
        check.compare(
            layer.place,
            "out",
            layer.forward.get("out"),
            np.reshape(x, (x.shape[0], *shape)),
            f"out = x regrouped row-major as (N, {', '.join(map(str, shape))})",
        )


def reshape_backward(check: Checker, layer: LayerPass) -> None:
    x, grads = layer.forward.get("x"), layer.backward
    grad_out = grads.get("dL/dout")
    if check.whole("dL/dx", x, grad_out):
        check.compare(
            layer.place,
            "dL/dx",
            grads.get("dL/dx"),
            np.reshape(grad_out, x.shape),
            "dL/dx = dL/dout regrouped back to the shape of x",
        )


IMAGE_LAYERS = {
    "conv2d": (conv2d_forward, conv2d_backward),
    "conv_transpose2d": (conv_transpose_forward, conv_transpose_backward),
    "max_pool2d": (max_pool_forward, max_pool_backward),
    "avg_pool2d": (avg_pool_forward, avg_pool_backward),
    "upsample2d": (upsample_forward, upsample_backward),
    "flatten": (reshape_forward, reshape_backward),
    "reshape": (reshape_forward, reshape_backward),
}
