"""Built-in layers for images: ``conv2d``, ``conv_transpose2d``, ``max_pool2d``,
``avg_pool2d``, ``upsample2d``, ``flatten`` and ``reshape``.

Images are channels first, as in PyTorch: a batch of N images with C channels of H×W pixels
is an array (N, C, H, W), and a layer's input shape (what ``build`` receives) is (C, H, W).
An output size along one axis is

    H_out = ⌊(H + 2·padding - kernel_size) / stride⌋ + 1

Convolution is written as one matrix product for the whole batch (im2col): every receptive
field of every sample becomes a row of X_rows (one strided view, one reshape), every kernel a
row of W_row, and z = X_rows·W_rowᵀ. No Python loop runs over samples or positions; adding
windows back into an image (col2im: conv2d's dL/dx, the pools' backward passes,
conv_transpose2d's forward) loops only over the kernel_size² offsets inside a window.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from pydantic import Field

from engine import hookimpl
from engine.components import Layer, LayerConfig
from engine.i18n import _
from engine.refs import ActivationRef, InitRef
from plugins.layers import WeightedLayer

#: PyTorch's default for Conv2d: kaiming_uniform with a = √5, i.e. U(-1/√fan_in, 1/√fan_in)
#: for W and for b (fan_in = C_in·kh·kw).
TORCH_CONV = {"type": "he_uniform", "gain": math.sqrt(1.0 / 3.0)}

#: Worked examples in the trace list at most this many products before "…".
WORKED_TERMS = 9


def image_shape(in_shape, layer: str) -> tuple[int, int, int]:
    """``in_shape`` as (C, H, W), or a ValueError saying what the layer needs."""
    if isinstance(in_shape, tuple) and len(in_shape) == 3:
        return in_shape
    found = f"{in_shape} numbers per sample" if isinstance(in_shape, int) else f"shape {in_shape}"
    raise ValueError(
        _(
            "{layer} needs images of shape (channels, height, width), found {found}; put {{type: "
            "reshape, shape: [C, H, W]}} before it, or load digits with image: true"
        ).format(layer=layer, found=found)
    )


def output_size(size: int, kernel: int, stride: int, padding: int, axis: str) -> int:
    """⌊(size + 2·padding - kernel)/stride⌋ + 1, or a ValueError when the kernel does not fit."""
    if size + 2 * padding < kernel:
        raise ValueError(
            _("the {kernel}×{kernel} kernel does not fit in the {axis} of {size}{value}").format(
                kernel=kernel,
                axis=axis,
                size=size,
                value=f" + 2·{padding} padding" if padding else "",
            )
        )
    return (size + 2 * padding - kernel) // stride + 1


def windows(x: np.ndarray, kernel: int, stride: int) -> np.ndarray:
    """Every kernel×kernel window of x (N, C, H, W): a view (N, C, H_out, W_out, k, k)."""
    return sliding_window_view(x, (kernel, kernel), axis=(2, 3))[:, :, ::stride, ::stride]


def add_windows(grad_windows: np.ndarray, shape: tuple, stride: int) -> np.ndarray:
    """The adjoint of ``windows``: sum each window's gradient (N, C, H_out, W_out, k, k) back
    into an array of ``shape`` (N, C, H, W); overlapping windows add up."""
    grad = np.zeros(shape, dtype=grad_windows.dtype)
    _, _, h_out, w_out, kh, kw = grad_windows.shape
    for u in range(kh):  # k² slices, each covering every window at once
        for v in range(kw):
            grad[:, :, u : u + stride * h_out : stride, v : v + stride * w_out : stride] += (
                grad_windows[..., u, v]
            )
    return grad


def add_field_rows(grad_fields: np.ndarray, shape: tuple, stride: int) -> np.ndarray:
    """``add_windows`` for the gradients of receptive fields laid out as conv2d's rows,
    (N, H_out, W_out, C, k, k): the same adds in the same order (so the same bits), made
    into a channels-last array, whose slices are contiguous runs of C numbers where the
    channels-first ones are not, then copied channels first (N, C, H, W): the layers before
    sum over it, and numpy's sums follow the memory order."""
    n, c, h, w = shape
    _, h_out, w_out, _, kh, kw = grad_fields.shape
    grad = np.zeros((n, h, w, c), dtype=grad_fields.dtype)
    for u in range(kh):
        for v in range(kw):
            grad[:, u : u + stride * h_out : stride, v : v + stride * w_out : stride] += (
                grad_fields[..., u, v]
            )
    return np.ascontiguousarray(grad.transpose(0, 3, 1, 2))


def tile_windows(grad_windows: np.ndarray, shape: tuple) -> np.ndarray:
    """``add_windows`` for windows side by side (stride = kernel): no two windows overlap, so
    each window's k×k gradient is copied to where it lay, in one pass instead of k² adds;
    the rows and columns no window reached stay 0. The result is ``add_windows``'s, bit for
    bit: adding 0 to each value, as adding into zeros does, turns -0 into +0."""
    n, c, h_out, w_out, kh, kw = grad_windows.shape
    grad = np.zeros(shape, dtype=grad_windows.dtype)
    tiled = grad_windows.transpose(0, 1, 2, 4, 3, 5).reshape(n, c, h_out * kh, w_out * kw)
    np.add(tiled, 0.0, out=grad[:, :, : h_out * kh, : w_out * kw])
    return grad


def tiled_max(x: np.ndarray, kernel: int) -> tuple[np.ndarray, np.ndarray]:
    """max_pool2d's forward pass for windows side by side (stride = kernel) of a finite x:
    (out, argmax), argmax the index u·k + v of the first maximum of each window, as
    ``argmax`` over the window's numbers gives it. Each offset (u, v) of every window at
    once is one strided slice of x, compared with the best so far in k² - 1 passes over
    the output, instead of a copy of every window; the maxima are copied, so the same bits.
    (NaN would need argmax's rule that NaN is the largest: the caller keeps x finite.)"""
    h_out, w_out = x.shape[2] // kernel, x.shape[3] // kernel
    out = x[:, :, : kernel * h_out : kernel, : kernel * w_out : kernel].copy()
    argmax = np.zeros(out.shape, dtype=np.intp)  # np.where keeps intp: an index, as argmax
    for index in range(1, kernel * kernel):
        u, v = divmod(index, kernel)
        offset = x[:, :, u : u + kernel * h_out : kernel, v : v + kernel * w_out : kernel]
        larger = np.greater(offset, out)  # strictly: on ties the first maximum stays
        out = np.where(larger, offset, out)
        argmax = np.where(larger, index, argmax)
    return out, argmax


def tiled_max_backward(argmax: np.ndarray, grad_out: np.ndarray, shape, kernel: int):
    """max_pool2d's dL/dx for windows side by side: offset (u, v) of each window gets
    [argmax = u·k + v]·dL/dout, plus 0, as ``tile_windows`` of the one-hot windows gives it
    (0·dL/dout is -0 or NaN where dL/dout is negative or not finite; + 0 makes -0 +0)."""
    h_out, w_out = argmax.shape[2:]
    grad = np.zeros(shape, dtype=grad_out.dtype)
    for index in range(kernel * kernel):
        u, v = divmod(index, kernel)
        chosen = np.multiply(argmax == index, grad_out)
        np.add(
            chosen,
            0.0,
            out=grad[:, :, u : u + kernel * h_out : kernel, v : v + kernel * w_out : kernel],
        )
    return grad


def im2col(x: np.ndarray, kernel: int, stride: int) -> np.ndarray:
    """The receptive fields of x (N, C, H, W) as columns: X_col (N, C·k·k, H_out·W_out),
    X_col[n, (c, u, v), (i, j)] = x[n, c, i·s + u, j·s + v]."""
    fields = windows(x, kernel, stride)  # (N, C, H_out, W_out, k, k), a view
    n, c, h_out, w_out = fields.shape[:4]
    return fields.transpose(0, 1, 4, 5, 2, 3).reshape(n, c * kernel * kernel, h_out * w_out)


def receptive_rows(x: np.ndarray, kernel: int, stride: int) -> np.ndarray:
    """The receptive fields of x (N, C, H, W) as rows, the whole batch at once:
    X_rows (N·H_out·W_out, C·k·k), X_rows[(n, i, j), (c, u, v)] = x[n, c, i·s + u, j·s + v].
    The same numbers as ``im2col``, laid out for one matrix product over every sample."""
    n, c = x.shape[:2]
    h_out, w_out = (x.shape[2] - kernel) // stride + 1, (x.shape[3] - kernel) // stride + 1
    rows = np.empty((n, h_out, w_out, c, kernel, kernel), dtype=x.dtype)
    channels_last = x.transpose(0, 2, 3, 1)  # a view (N, H, W, C)
    for u in range(kernel):  # k² copies of whole slices: faster than copying the window
        for v in range(kernel):  # view, whose innermost runs are k numbers long
            rows[..., u, v] = channels_last[
                :, u : u + stride * h_out : stride, v : v + stride * w_out : stride
            ]
    return rows.reshape(n * h_out * w_out, c * kernel * kernel)


def rows_to_images(rows: np.ndarray, n: int, h_out: int, w_out: int) -> np.ndarray:
    """(N·H_out·W_out, C) rows, one per position of every sample, as images (N, C, H_out, W_out)."""
    images = rows.reshape(n, h_out, w_out, rows.shape[1]).transpose(0, 3, 1, 2)
    return np.ascontiguousarray(images)


def images_to_rows(images: np.ndarray) -> np.ndarray:
    """The inverse of ``rows_to_images``: (N, C, H, W) -> (N·H·W, C)."""
    return images.transpose(0, 2, 3, 1).reshape(-1, images.shape[1])


def correlate(x: np.ndarray, W: np.ndarray, stride: int = 1, rows=None) -> np.ndarray:
    """Cross-correlation of already padded x (N, C_in, H, W) with kernels W (C_out, C_in, kh,
    kw): out[n, o, i, j] = Σ_{c,u,v} W[o, c, u, v]·x[n, c, i·s + u, j·s + v].

    im2col: the kernels become the rows of W_row (C_out, C_in·k·k), the receptive fields of
    every sample the rows of X_rows (see ``receptive_rows``; pass them as ``rows`` if already
    made), and out = X_rows·W_rowᵀ, one matrix product for the whole batch.
    """
    c_out, _, k, _ = W.shape
    n, h_out, w_out = len(x), (x.shape[2] - k) // stride + 1, (x.shape[3] - k) // stride + 1
    if rows is None:
        rows = receptive_rows(x, k, stride)
    return rows_to_images(rows @ W.reshape(c_out, -1).T, n, h_out, w_out)


def number(value: float) -> str:
    return f"{value:.4g}"


def nested(array: np.ndarray) -> str:
    """A small array as nested lists of 4-digit numbers: [[0.1, 0.2], [0.3, 0.4]]."""
    if array.ndim == 0:
        return number(float(array))
    return "[" + ", ".join(nested(row) for row in array) + "]"


def worked_sum(products: list[tuple[float, float]], extra: str = "") -> str:
    """ "a×b + c×d + …" for the first WORKED_TERMS products that are not zero, the rest
    counted (zeros of padding or of relu would fill the line with nothing)."""
    nonzero = [(a, b) for a, b in products if a != 0 and b != 0]
    shown = [f"{number(a)}×{number(b)}" for a, b in nonzero[:WORKED_TERMS]]
    rest = len(nonzero) - WORKED_TERMS
    zeros = len(products) - len(nonzero)
    text = " + ".join(shown) or "0"
    if rest > 0:
        text += f" + … ({rest} more)"
    if zeros:
        text += f" ({zeros} zero product{'s' if zeros > 1 else ''} left out)"
    return text + extra


# --- conv2d ------------------------------------------------------------------------------


class Conv2dConfig(LayerConfig):
    type: Literal["conv2d"] = "conv2d"
    channels: int = Field(gt=0, description="Number of output channels (kernels), > 0.")
    kernel_size: int = Field(gt=0, description="Height and width of each kernel, e.g. 3.")
    stride: int = Field(1, gt=0, description="Step between receptive fields, in pixels.")
    padding: int = Field(
        0, ge=0, description="Zeros added on every side of each input channel before the sum."
    )
    activation: ActivationRef = Field(
        None,
        description="Activation applied to z, e.g. relu or {type: leaky_relu, "
        "negative_slope: 0.2}; default: none (a = z).",
    )
    bias: bool = Field(True, description="Learn one bias per output channel; false: none.")
    init: dict[str, InitRef] = Field(
        default_factory=dict,
        description="Initial values per parameter: W (channels, C_in, kernel_size, "
        "kernel_size) as torch.nn.Conv2d.weight, b (channels,); nested lists or an "
        "initializer. Default as PyTorch: U(-1/√fan_in, 1/√fan_in), fan_in = C_in·k·k.",
    )

    def output_shape(self, in_shape):
        c, h, w = image_shape(in_shape, "conv2d")
        k, s, p = self.kernel_size, self.stride, self.padding
        return (
            self.channels,
            output_size(h, k, s, p, "height"),
            output_size(w, k, s, p, "width"),
        )

    def parameter_widths(self, in_shape):
        c = image_shape(in_shape, "conv2d")[0]
        return c * self.kernel_size**2, self.channels


class Conv2d(WeightedLayer):
    """A 2-D convolution (cross-correlation, as in every deep-learning library) with an
    optional activation.

    Forward, for x of shape (N, C_in, H, W), kernels W (C_out, C_in, k, k), b (C_out,),
    stride s, padding p, x_p = x padded with p zeros on each side:
        z[n, o, i, j] = Σ_{c,u,v} W[o, c, u, v]·x_p[n, c, i·s + u, j·s + v] + b[o]
                                                   (N, C_out, H_out, W_out)
        a = f(z)                                   (N, C_out, H_out, W_out)
    Textbook form, one product per sample: z_n = W_row·X_col,n + b, with W_row
    (C_out, C_in·k·k) and X_col,n (C_in·k·k, H_out·W_out) the receptive fields (im2col).
    Backward, given dL/da:
        dL/dz = dL/da ⊙ f'(z)
        dL/dW[o, c, u, v] = Σ_{n,i,j} dL/dz[n, o, i, j]·x_p[n, c, i·s + u, j·s + v]
                          = Σ_n dL/dz_n·X_col,nᵀ   (the input correlated with dL/dz)
        dL/db[o] = Σ_{n,i,j} dL/dz[n, o, i, j]
        dL/dx = the full convolution of dL/dz with the flipped kernel: dL/dz with s - 1
                zeros between entries (stride), padded by k - 1, correlated with W rotated
                180° with C_in and C_out swapped; then the padding p is cut off.
    Computed for the whole batch at once (the same sums in another order): the receptive
    fields of every sample are the rows of X_rows (N·H_out·W_out, C_in·k·k), made once in the
    forward pass and kept for the backward one, and dL/dz as rows G (N·H_out·W_out, C_out):
        z     = X_rows·W_rowᵀ + b                  one matrix product
        dL/dW = Gᵀ·X_rows                          one matrix product
        dL/dx = col2im(G·W_row)                    one product, then each window's gradient
                                                   added back where the window lay (k² adds)
    ``tests/test_conv_layers.py`` checks the two forms agree.
    """

    formula = "z = W ⋆ x + b,  a = f(z)"
    takes_images = True

    def build(self, in_features, ctx, init):
        super().build(in_features, ctx, init)
        config = self.config
        out_shape = config.output_shape(in_features)
        c_in, k = in_features[0], config.kernel_size
        fan_in, fan_out = c_in * k * k, config.channels * k * k
        self.activation = (
            ctx.create("activations", config.activation) if config.activation is not None else None
        )
        shape = (config.channels, c_in, k, k)
        self.W = self.add_param("W", init("W", shape, fan_in, fan_out, default=TORCH_CONV))
        self.b = (
            self.add_param("b", init("b", (config.channels,), fan_in, fan_out, default=TORCH_CONV))
            if config.bias
            else None
        )
        return out_shape

    def _pad(self, x):
        p = self.config.padding
        if not p:
            return x
        n, c, h, w = x.shape
        padded = np.zeros((n, c, h + 2 * p, w + 2 * p), dtype=x.dtype)  # np.pad's result,
        padded[:, :, p : p + h, p : p + w] = x  # without its general machinery
        return padded

    def forward(self, x, training):
        k, s = self.config.kernel_size, self.config.stride
        x_p = self._pad(x)
        # kept for dL/dW: the backward pass needs the same receptive fields
        self.rows = receptive_rows(x_p, k, s)
        z = correlate(x_p, self.W.value, s, rows=self.rows)
        if self.b is not None:
            z += self.b.value[:, None, None]
        a = self.activation.forward(z) if self.activation is not None else z
        self.cache = {"x": x, "z": z, "a": a}
        return a

    def backward(self, grad_a):
        x, z, a = self.cache["x"], self.cache["z"], self.cache["a"]
        grad_z = self.activation.backward(z, a, grad_a) if self.activation is not None else grad_a
        s, p, k = self.config.stride, self.config.padding, self.config.kernel_size
        n, c_out, h_out, w_out = grad_z.shape
        c_in, h_p, w_p = x.shape[1], x.shape[2] + 2 * p, x.shape[3] + 2 * p
        grad_rows = images_to_rows(grad_z)  # G (N·H_out·W_out, C_out)
        W_row = self.W.value.reshape(c_out, -1)  # (C_out, C_in·k·k)
        if self.param_grads_needed:
            # dL/dW = Gᵀ·X_rows: Σ over every sample and position of dL/dz times its field
            self.W.grad = (grad_rows.T @ self.rows).reshape(self.W.value.shape)
            if self.b is not None:
                self.b.grad = grad_z.sum(axis=(0, 2, 3))
        grad_x = None  # the data's gradient, when no one reads it
        if self.input_grad_needed:
            # dL/dx: each position's gradient for its receptive field, G·W_row, added back
            # where the field lay (col2im): the full convolution with the flipped kernel
            grad_fields = (grad_rows @ W_row).reshape(n, h_out, w_out, c_in, k, k)
            grad_x_p = add_field_rows(grad_fields, (n, c_in, h_p, w_p), s)
            grad_x = grad_x_p[:, :, p : p + x.shape[2], p : p + x.shape[3]]
        self.grad_cache = {"dL/da": grad_a, "dL/dz": grad_z, "dL/dx": grad_x}
        return grad_x

    def _centre(self):
        """The output position worked through in the trace: sample 0, channel 0, the middle."""
        _, _, h_out, w_out = self.cache["z"].shape
        return h_out // 2, w_out // 2

    def forward_worked(self):
        """z at one output position as the sum it is, with numbers."""
        i, j = self._centre()
        s, k = self.config.stride, self.config.kernel_size
        field = self._pad(self.cache["x"])[0, :, i * s : i * s + k, j * s : j * s + k]
        kernel = self.W.value[0]
        products = list(zip(kernel.reshape(-1).tolist(), field.reshape(-1).tolist()))
        bias = f" + b[0] {number(self.b.value[0])}" if self.b is not None else ""
        where = f"x_p[0, :, {i * s}:{i * s + k}, {j * s}:{j * s + k}]"
        return (
            f"z[0, 0, {i}, {j}] = Σ W[0] ⊙ {where}{' + b[0]' if bias else ''} = "
            + worked_sum(products, bias)
            + f" = {number(self.cache['z'][0, 0, i, j])}"
        )

    def backward_worked(self):
        """dL/dW[0, 0, 0, 0] as the correlation of the input with dL/dz, and dL/dx at one
        input position as the full convolution with the flipped kernel, with numbers."""
        s, p, k = self.config.stride, self.config.padding, self.config.kernel_size
        grad_z, W = self.grad_cache["dL/dz"], self.W.value
        _, c_out, h_out, w_out = grad_z.shape
        x_p = self._pad(self.cache["x"])
        field = x_p[:, 0, : s * h_out : s, : s * w_out : s]  # u = v = 0 of every window
        products = list(zip(grad_z[:, 0].reshape(-1).tolist(), field.reshape(-1).tolist()))
        at = "i, j" if s == 1 else f"{s}i, {s}j"
        weights = (
            f"dL/dW[0, 0, 0, 0] = Σ_{{n,i,j}} dL/dz[n, 0, i, j]·x_p[n, 0, {at}] = "
            + worked_sum(products)
            + f" = {number(self.W.grad[0, 0, 0, 0])}"
        )
        # dL/dx_p[0, 0, h, w] = Σ_{o,u,v} W[o, 0, u, v]·dL/dz[0, o, (h - u)/s, (w - v)/s] over
        # the windows that contain (h, w): a full convolution with the flipped kernel
        h, w = x_p.shape[2] // 2, x_p.shape[3] // 2
        products = []
        for o in range(c_out):
            for u in range(k):
                for v in range(k):
                    i, j = h - u, w - v
                    if i % s == 0 and j % s == 0 and 0 <= i // s < h_out and 0 <= j // s < w_out:
                        products.append((W[o, 0, u, v], grad_z[0, o, i // s, j // s]))
        total = sum(a * b for a, b in products)
        rows = f"{h} - u, {w} - v" if s == 1 else f"({h} - u)/{s}, ({w} - v)/{s}"
        inputs = f"dL/dx[0, 0, {h - p}, {w - p}] = " + (f"dL/dx_p[0, 0, {h}, {w}] = " if p else "")
        inputs += f"Σ_{{o,u,v}} W[o, 0, u, v]·dL/dz[0, o, {rows}] over the windows that hold it = "
        inputs += (worked_sum(products) if products else "0 (no window holds it)") + (
            f" = {number(total)}"
        )
        if 0 <= h - p < self.cache["x"].shape[2] and 0 <= w - p < self.cache["x"].shape[3]:
            return weights + "; " + inputs
        return weights

    def describe(self):
        config = self.config
        text = f"conv2d {self.W.value.shape[1]}→{config.channels}, {config.kernel_size}×"
        text += f"{config.kernel_size}"
        if config.stride != 1:
            text += f", stride {config.stride}"
        if config.padding:
            text += f", padding {config.padding}"
        if config.activation is not None:
            text += f", {config.activation.type}"
        return text


# --- conv_transpose2d --------------------------------------------------------------------


class ConvTranspose2dConfig(Conv2dConfig):
    type: Literal["conv_transpose2d"] = "conv_transpose2d"
    padding: int = Field(
        0, ge=0, description="Rows and columns cut from every side of the output, as PyTorch."
    )
    init: dict[str, InitRef] = Field(
        default_factory=dict,
        description="Initial values per parameter: W (C_in, channels, kernel_size, "
        "kernel_size) as torch.nn.ConvTranspose2d.weight, b (channels,); nested lists or an "
        "initializer. Default as PyTorch: U(-1/√fan_in, 1/√fan_in), fan_in = channels·k·k.",
    )

    def output_shape(self, in_shape):
        c, h, w = image_shape(in_shape, "conv_transpose2d")
        k, s, p = self.kernel_size, self.stride, self.padding
        sizes = [(size - 1) * s - 2 * p + k for size in (h, w)]
        if min(sizes) < 1:
            raise ValueError(
                _("padding {p} cuts away the whole {h}×{w} output").format(p=p, h=h, w=w)
            )
        return (self.channels, *sizes)

    def parameter_widths(self, in_shape):
        c = image_shape(in_shape, "conv_transpose2d")[0]
        return c * self.kernel_size**2, self.channels


class ConvTranspose2d(Conv2d):
    """A transposed convolution (sometimes called deconvolution): the backward pass of
    conv2d's dL/dx used as a forward pass, to grow an image (a GAN generator's upsampling).

    Forward, for x of shape (N, C_in, H, W), W (C_in, C_out, k, k) as
    torch.nn.ConvTranspose2d.weight, b (C_out,), stride s, padding p: every input pixel
    stamps its kernel, scaled, onto the output, s pixels apart,
        z_p[n, o, i·s + u, j·s + v] += Σ_c x[n, c, i, j]·W[c, o, u, v]    ((H - 1)·s + k rows)
        z = z_p without p rows and columns on each side + b[o]            (N, C_out, H_out, W_out)
        a = f(z),   H_out = (H - 1)·s - 2p + k
    computed as one matrix product, Z_col = W_rowᵀ·x (N, C_out·k·k, H·W), then col2im.
    Backward, given dL/da, with dL/dz_p = dL/dz padded with p zeros:
        dL/dz = dL/da ⊙ f'(z)
        dL/dx[n, c, i, j] = Σ_{o,u,v} W[c, o, u, v]·dL/dz_p[n, o, i·s + u, j·s + v]
                          (an ordinary convolution of dL/dz_p with stride s)
        dL/dW[c, o, u, v] = Σ_{n,i,j} x[n, c, i, j]·dL/dz_p[n, o, i·s + u, j·s + v]
        dL/db[o] = Σ_{n,i,j} dL/dz[n, o, i, j]
    """

    formula = "z = Wᵀ ⋆ x + b,  a = f(z)"

    def build(self, in_features, ctx, init):
        Layer.build(self, in_features, ctx, init)
        config = self.config
        out_shape = config.output_shape(in_features)
        c_in, k = in_features[0], config.kernel_size
        fan_in, fan_out = config.channels * k * k, c_in * k * k  # torch's, from W's shape
        self.activation = (
            ctx.create("activations", config.activation) if config.activation is not None else None
        )
        shape = (c_in, config.channels, k, k)
        self.W = self.add_param("W", init("W", shape, fan_in, fan_out, default=TORCH_CONV))
        self.b = (
            self.add_param("b", init("b", (config.channels,), fan_in, fan_out, default=TORCH_CONV))
            if config.bias
            else None
        )
        return out_shape

    def forward(self, x, training):
        s, p, k = self.config.stride, self.config.padding, self.config.kernel_size
        n, c_in, h, w = x.shape
        c_out = self.config.channels
        columns = self.W.value.reshape(c_in, -1).T @ x.reshape(n, c_in, h * w)
        stamps = columns.reshape(n, c_out, k, k, h, w).transpose(0, 1, 4, 5, 2, 3)
        z_p = add_windows(stamps, (n, c_out, (h - 1) * s + k, (w - 1) * s + k), s)
        z = z_p[:, :, p : z_p.shape[2] - p, p : z_p.shape[3] - p]
        if self.b is not None:
            z = z + self.b.value[:, None, None]
        a = self.activation.forward(z) if self.activation is not None else z
        self.cache = {"x": x, "z": z, "a": a}
        return a

    def backward(self, grad_a):
        x, z, a = self.cache["x"], self.cache["z"], self.cache["a"]
        grad_z = self.activation.backward(z, a, grad_a) if self.activation is not None else grad_a
        s, k = self.config.stride, self.config.kernel_size
        grad_z_p = self._pad(grad_z)
        rows = receptive_rows(grad_z_p, k, s)  # (N·H·W, C_out·k·k), the whole batch
        grad_x = correlate(grad_z_p, self.W.value, s, rows=rows)  # W (C_in, C_out, k, k)
        # dL/dW[c, (o, u, v)] = Σ_{n,i,j} x[n, c, i, j]·dL/dz_p[n, o, i·s + u, j·s + v]
        self.W.grad = (images_to_rows(x).T @ rows).reshape(self.W.value.shape)
        if self.b is not None:
            self.b.grad = grad_z.sum(axis=(0, 2, 3))
        self.grad_cache = {"dL/da": grad_a, "dL/dz": grad_z, "dL/dx": grad_x}
        return grad_x

    def forward_worked(self):
        """z at one output position as the sum of the kernel stamps that reach it."""
        s, p, k = self.config.stride, self.config.padding, self.config.kernel_size
        x, W, z = self.cache["x"], self.W.value, self.cache["z"]
        h, w = z.shape[2] // 2, z.shape[3] // 2
        products = []  # x[0, c, i, j]·W[c, 0, u, v] with i·s + u = h + p, j·s + v = w + p
        for c in range(x.shape[1]):
            for i in range(x.shape[2]):
                for j in range(x.shape[3]):
                    u, v = h + p - i * s, w + p - j * s
                    if 0 <= u < k and 0 <= v < k:
                        products.append((x[0, c, i, j], W[c, 0, u, v]))
        bias = f" + b[0] {number(self.b.value[0])}" if self.b is not None else ""
        where = (
            f"i·{s} + u = {h + p}, j·{s} + v = {w + p}"
            if s != 1
            else (f"i + u = {h + p}, j + v = {w + p}")
        )
        return (
            f"z[0, 0, {h}, {w}] = Σ_{{c,i,j}} x[0, c, i, j]·W[c, 0, u, v] over the stamps "
            f"that reach it ({where}){' + b[0]' if bias else ''} = "
            + worked_sum(products, bias)
            + f" = {number(z[0, 0, h, w])}"
        )

    def backward_worked(self):
        """dL/dW[0, 0, 0, 0] as the correlation of x with dL/dz_p, and dL/dx at one input
        position as the ordinary convolution of dL/dz_p with the kernel, with numbers."""
        s, k = self.config.stride, self.config.kernel_size
        x, W = self.cache["x"], self.W.value
        grad_z_p = self._pad(self.grad_cache["dL/dz"])
        _, _, h, w = x.shape
        at = "i, j" if s == 1 else f"{s}i, {s}j"
        field = grad_z_p[:, 0, : s * h : s, : s * w : s]  # u = v = 0 of every stamp
        products = list(zip(x[:, 0].reshape(-1).tolist(), field.reshape(-1).tolist()))
        weights = (
            f"dL/dW[0, 0, 0, 0] = Σ_{{n,i,j}} x[n, 0, i, j]·dL/dz_p[n, 0, {at}] = "
            + worked_sum(products)
            + f" = {number(self.W.grad[0, 0, 0, 0])}"
        )
        i, j = h // 2, w // 2
        window = grad_z_p[0, :, i * s : i * s + k, j * s : j * s + k]
        products = list(zip(W[0].reshape(-1).tolist(), window.reshape(-1).tolist()))
        inputs = (
            f"dL/dx[0, 0, {i}, {j}] = Σ_{{o,u,v}} W[0, o, u, v]·dL/dz_p[0, o, {i * s} + u, "
            f"{j * s} + v] = "
            + worked_sum(products)
            + f" = {number(self.grad_cache['dL/dx'][0, 0, i, j])}"
        )
        return weights + "; " + inputs

    def describe(self):
        c_in, c_out = self.W.value.shape[:2]
        rest = super().describe().split(", ", 1)[1]  # the kernel, stride, ... as for conv2d
        return f"conv_transpose2d {c_in}→{c_out}, {rest}"


# --- pooling -----------------------------------------------------------------------------


class PoolConfig(LayerConfig):
    kernel_size: int = Field(gt=0, description="Height and width of each window, e.g. 2.")
    stride: int | None = Field(
        None, gt=0, description="Step between windows; default: kernel_size (no overlap)."
    )

    @property
    def step(self) -> int:
        return self.stride or self.kernel_size

    def output_shape(self, in_shape):
        c, h, w = image_shape(in_shape, self.type)
        k, s = self.kernel_size, self.step
        return c, output_size(h, k, s, 0, "height"), output_size(w, k, s, 0, "width")


class MaxPool2dConfig(PoolConfig):
    type: Literal["max_pool2d"] = "max_pool2d"


class AvgPool2dConfig(PoolConfig):
    type: Literal["avg_pool2d"] = "avg_pool2d"


class Pool2d(Layer):
    takes_images = True

    def build(self, in_features, ctx, init):
        super().build(in_features, ctx, init)
        return self.config.output_shape(in_features)

    def backward_values(self):
        return dict(self.grad_cache)

    def describe(self):
        k, s = self.config.kernel_size, self.config.step
        return f"{self.config.type} {k}×{k}" + (f", stride {s}" if s != k else "")

    def _middle(self):
        """The window worked through in the trace: sample 0, channel 0, the middle one;
        (i, j, the window's numbers, its text "window (i, j) of x[0, 0], rows .. columns ..")."""
        k, s = self.config.kernel_size, self.config.step
        out = self.cache["out"]
        i, j = out.shape[2] // 2, out.shape[3] // 2
        window = self.cache["x"][0, 0, i * s : i * s + k, j * s : j * s + k]
        where = (
            f"window ({i}, {j}) of x[0, 0], rows {i * s}..{i * s + k - 1} and columns "
            f"{j * s}..{j * s + k - 1}, = {nested(window)}"
        )
        return i, j, window, where


class MaxPool2d(Pool2d):
    """The largest value of each window, per channel.

    Forward, for x of shape (N, C, H, W), windows k×k, stride s:
        out[n, c, i, j] = max_{u,v} x[n, c, i·s + u, j·s + v]       (N, C, H_out, W_out)
    Backward, given dL/dout: each window hands its gradient to the input that was its
    maximum (the first one on ties, as PyTorch), the others get nothing:
        dL/dx[n, c, h, w] = Σ over windows whose argmax is (h, w) of dL/dout
        mask[n, c, h, w]  = how many windows chose x[n, c, h, w] (0 or 1 without overlap)
    """

    formula = "out = max over each k×k window"

    def forward(self, x, training):
        k, s = self.config.kernel_size, self.config.step
        if k == s and np.isfinite(np.add.reduce(x, axis=None)):
            out, argmax = tiled_max(x, k)
        else:
            fields = windows(x, k, s)
            flat = fields.reshape(*fields.shape[:4], k * k)
            argmax = flat.argmax(axis=-1)
            out = np.take_along_axis(flat, argmax[..., None], axis=-1)[..., 0]
        self.cache = {"x": x, "out": out}
        self.argmax = argmax
        return out

    def _one_hot(self):
        """(N, C, H_out, W_out, k, k): 1 at each window's argmax, 0 elsewhere."""
        k = self.config.kernel_size
        one_hot = np.arange(k * k) == self.argmax[..., None]
        return one_hot.reshape(*self.argmax.shape, k, k)

    def backward(self, grad_out):
        shape, k, s = self.cache["x"].shape, self.config.kernel_size, self.config.step
        if k == s:  # windows side by side: each input is in one window at most
            grad_x = tiled_max_backward(self.argmax, grad_out, shape, k)
        else:
            grad_windows = self._one_hot() * grad_out[..., None, None]
            grad_x = add_windows(grad_windows, shape, s)
        self.grad_cache = {"dL/dout": grad_out, "dL/dx": grad_x}
        return grad_x

    def backward_values(self):
        """dL/dout, mask (how many windows chose each input; only for the trace), dL/dx."""
        mask = add_windows(
            self._one_hot().astype(self.grad_cache["dL/dx"].dtype),
            self.cache["x"].shape,
            self.config.step,
        )
        return {
            "dL/dout": self.grad_cache["dL/dout"],
            "mask": mask,
            "dL/dx": self.grad_cache["dL/dx"],
        }

    def forward_worked(self):
        """The middle window of sample 0, channel 0 and the maximum it keeps."""
        k = self.config.kernel_size
        i, j, window, where = self._middle()
        u, v = divmod(int(self.argmax[0, 0, i, j]), k)
        return (
            f"out[0, 0, {i}, {j}] = max of {where} = {number(window[u, v])} (at ({u}, {v}) of "
            f"the window)"
        )

    def backward_worked(self):
        """Where the middle window of sample 0, channel 0 sent its gradient."""
        k, s = self.config.kernel_size, self.config.step
        i, j, window, where = self._middle()
        u, v = divmod(int(self.argmax[0, 0, i, j]), k)
        grad = self.grad_cache["dL/dout"][0, 0, i, j]
        return (
            f"{where}: its maximum {number(window[u, v])} "
            f"is at ({u}, {v}), so dL/dx[0, 0, {i * s + u}, {j * s + v}] receives "
            f"dL/dout[0, 0, {i}, {j}] = {number(grad)}, the other {k * k - 1} entries of the "
            f"window nothing"
        )


class AvgPool2d(Pool2d):
    """The mean of each window, per channel.

    Forward, for x of shape (N, C, H, W), windows k×k, stride s:
        out[n, c, i, j] = (1/k²)·Σ_{u,v} x[n, c, i·s + u, j·s + v]  (N, C, H_out, W_out)
    Backward, given dL/dout: every input of a window gets an equal share,
        dL/dx[n, c, h, w] = Σ over windows containing (h, w) of dL/dout/k²
    """

    formula = "out = mean over each k×k window"

    def forward(self, x, training):
        k, s = self.config.kernel_size, self.config.step
        out = windows(x, k, s).mean(axis=(-2, -1))
        self.cache = {"x": x, "out": out}
        return out

    def backward(self, grad_out):
        k, s = self.config.kernel_size, self.config.step
        share = np.broadcast_to((grad_out / (k * k))[..., None, None], (*grad_out.shape, k, k))
        shape = self.cache["x"].shape
        grad_x = tile_windows(share, shape) if k == s else add_windows(share, shape, s)
        self.grad_cache = {"dL/dout": grad_out, "dL/dx": grad_x}
        return grad_x

    def forward_worked(self):
        """The middle window of sample 0, channel 0 and its mean, with numbers."""
        k = self.config.kernel_size
        i, j, window, where = self._middle()
        terms = " + ".join(number(value) for value in window.reshape(-1))
        return (
            f"out[0, 0, {i}, {j}] = (1/{k * k})·Σ {where} = ({terms}) / {k * k} = "
            f"{number(self.cache['out'][0, 0, i, j])}"
        )

    def backward_worked(self):
        """The middle window's gradient shared out, and one input's sum of shares."""
        k, s = self.config.kernel_size, self.config.step
        i, j, _, where = self._middle()
        grad_out = self.grad_cache["dL/dout"]
        grad = grad_out[0, 0, i, j]
        shares = (
            f"{where}: each of its {k * k} inputs receives dL/dout[0, 0, {i}, {j}] / {k * k} = "
            f"{number(grad)} / {k * k} = {number(grad / (k * k))}"
        )
        h, w = i * s, j * s  # the window's first input, and every window that holds it
        holding = [
            (a, b)
            for a in range(grad_out.shape[2])
            for b in range(grad_out.shape[3])
            if a * s <= h < a * s + k and b * s <= w < b * s + k
        ]
        if len(holding) == 1:
            return shares
        terms = " + ".join(f"{number(grad_out[0, 0, a, b])}/{k * k}" for a, b in holding)
        return (
            f"{shares}; dL/dx[0, 0, {h}, {w}] = the shares of the {len(holding)} windows that "
            f"hold it = {terms} = {number(self.grad_cache['dL/dx'][0, 0, h, w])}"
        )


# --- upsampling and changes of shape -----------------------------------------------------


class Upsample2dConfig(LayerConfig):
    type: Literal["upsample2d"] = "upsample2d"
    scale: int = Field(2, gt=0, description="Each pixel becomes a scale×scale block (nearest).")

    def output_shape(self, in_shape):
        c, h, w = image_shape(in_shape, "upsample2d")
        return c, h * self.scale, w * self.scale


class Upsample2d(Layer):
    """Nearest-neighbour upsampling: each pixel repeated into an r×r block.

    Forward, for x of shape (N, C, H, W), scale r:
        out[n, c, h, w] = x[n, c, ⌊h/r⌋, ⌊w/r⌋]                    (N, C, r·H, r·W)
    Backward, given dL/dout:
        dL/dx[n, c, i, j] = Σ_{u,v < r} dL/dout[n, c, i·r + u, j·r + v]  (N, C, H, W)
    """

    formula = "out = x, each pixel an r×r block"
    takes_images = True

    def build(self, in_features, ctx, init):
        super().build(in_features, ctx, init)
        return self.config.output_shape(in_features)

    def forward(self, x, training):
        r = self.config.scale
        out = x.repeat(r, axis=2).repeat(r, axis=3)
        self.cache = {"x": x, "out": out}
        return out

    def backward(self, grad_out):
        r = self.config.scale
        n, c, h, w = self.cache["x"].shape
        grad_x = grad_out.reshape(n, c, h, r, w, r).sum(axis=(3, 5))
        self.grad_cache = {"dL/dout": grad_out, "dL/dx": grad_x}
        return grad_x

    def backward_values(self):
        return dict(self.grad_cache)

    def describe(self):
        return f"upsample2d ×{self.config.scale}, nearest"


class FlattenConfig(LayerConfig):
    type: Literal["flatten"] = "flatten"

    def output_shape(self, in_shape):
        return math.prod(in_shape) if isinstance(in_shape, tuple) else in_shape


class ReshapeConfig(LayerConfig):
    type: Literal["reshape"] = "reshape"
    shape: list[int] = Field(
        min_length=1,
        description="Shape of each sample after the layer, e.g. [1, 8, 8] (channels, height, "
        "width) for 64 numbers; the number of values must stay the same.",
    )

    def output_shape(self, in_shape):
        count = math.prod(in_shape) if isinstance(in_shape, tuple) else in_shape
        if any(size <= 0 for size in self.shape) or math.prod(self.shape) != count:
            raise ValueError(
                _("shape {shape} holds {prod} values, but each sample has {count}").format(
                    shape=self.shape, prod=math.prod(self.shape), count=count
                )
            )
        return self.shape[0] if len(self.shape) == 1 else tuple(self.shape)


class Reshape(Layer):
    """Regroup each sample's numbers, in row-major (C) order, as torch.reshape.

    Forward, for x of shape (N, *in):  out = x.reshape(N, *shape)
    Backward, given dL/dout:           dL/dx = dL/dout.reshape(N, *in)
    ``flatten`` is the reshape to one axis: (N, C, H, W) -> (N, C·H·W), as torch.flatten(x, 1).
    """

    formula = "out = x, regrouped"
    takes_images = True

    def build(self, in_features, ctx, init):
        super().build(in_features, ctx, init)
        self.out_shape = self.config.output_shape(in_features)
        return self.out_shape

    def forward(self, x, training):
        shape = self.out_shape if isinstance(self.out_shape, tuple) else (self.out_shape,)
        out = x.reshape(len(x), *shape)
        self.cache = {"x": x, "out": out}
        return out

    def backward(self, grad_out):
        grad_x = grad_out.reshape(self.cache["x"].shape)
        self.grad_cache = {"dL/dout": grad_out, "dL/dx": grad_x}
        return grad_x

    def backward_values(self):
        return dict(self.grad_cache)

    def describe(self):
        shape = self.out_shape if isinstance(self.out_shape, tuple) else (self.out_shape,)
        return f"{self.config.type} → {'×'.join(map(str, shape))}"


@hookimpl
def tracegrad_register_layers(register):
    register("conv2d", Conv2d, Conv2dConfig)
    register("conv_transpose2d", ConvTranspose2d, ConvTranspose2dConfig)
    register("max_pool2d", MaxPool2d, MaxPool2dConfig)
    register("avg_pool2d", AvgPool2d, AvgPool2dConfig)
    register("upsample2d", Upsample2d, Upsample2dConfig)
    register("flatten", Reshape, FlattenConfig)
    register("reshape", Reshape, ReshapeConfig)
