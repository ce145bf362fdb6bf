"""Minibatch discrimination (Salimans et al. 2016), a layer for GAN discriminators: each
sample's output gains B numbers that say how close it is to the other samples of its batch,
so D can tell a batch of look-alikes (a collapsing G) from a varied real batch.

    D's layers: [{type: dense, units: 64, activation: leaky_relu},
                 {type: minibatch_discrimination, kernels: 5, kernel_dim: 3},
                 {type: dense, units: 1}]
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from engine import hookimpl
from engine.components import Layer, LayerConfig
from engine.refs import InitRef


class MinibatchDiscriminationConfig(LayerConfig):
    type: Literal["minibatch_discrimination"] = "minibatch_discrimination"
    kernels: int = Field(5, gt=0, description="B: cross-sample features added to each sample.")
    kernel_dim: int = Field(
        3, gt=0, description="C: size of the vector each kernel compares samples by."
    )
    init: dict[str, InitRef] = Field(
        default_factory=dict,
        description="Initial values of T (inputs × B·C): nested lists or an initializer; "
        "default {type: normal, std: 0.1}.",
    )

    def output_shape(self, in_shape):
        if not isinstance(in_shape, int):
            raise ValueError("minibatch_discrimination takes flat samples (N, A)")
        return in_shape + self.kernels

    def parameter_widths(self, in_shape):
        return None if not isinstance(in_shape, int) else (in_shape, self.kernels * self.kernel_dim)


class MinibatchDiscrimination(Layer):
    """Cross-sample features through a learned tensor T (A × B·C, read as A × B × C).

    Forward, for x of shape (N, A):
        M = x·T                        (N, B, C)  row i: B vectors of C numbers for sample i
        c_ijb = exp(-Σ_c |M_ibc - M_jbc|)          how alike samples i and j are for kernel b
        o_ib = Σ_j c_ijb               (N, B)     (j = i included: c_iib = 1)
        out = [x, o]                   (N, A + B)
    Backward, given dL/dout (N, A + B), with dL/do its last B columns and
    s_ijbc = sign(M_ibc - M_jbc):
        dL/dM_ibc = -Σ_j (dL/do_ib + dL/do_jb)·c_ijb·s_ijbc
        dL/dT = xᵀ·dL/dM               (A, B·C)
        dL/dx = dL/dout[:, :A] + dL/dM·Tᵀ
    A sample's o depends on the whole batch, so D judges a batch, not samples one by one.
    """

    formula = "out = [x, o],  o_ib = Σ_j exp(-‖M_ib - M_jb‖₁),  M = x·T"
    #: A sample's output depends on the other samples of its batch (the GAN's grid picture
    #: of D's verdict is left out: it would judge the grid as one batch).
    mixes_samples = True

    def build(self, in_features, ctx, init):
        super().build(in_features, ctx, init)
        config = self.config
        width = config.kernels * config.kernel_dim
        default = {"type": "normal", "std": 0.1}
        self.T = self.add_param(
            "T", init("T", (in_features, width), in_features, width, default=default)
        )
        self.features = in_features
        return in_features + config.kernels

    def forward(self, x, training):
        n, kernels = len(x), self.config.kernels
        M = x @ self.T.value
        blocks = M.reshape(n, kernels, -1)
        c = np.empty((n, n, kernels), dtype=M.dtype)
        for b in range(kernels):  # one kernel at a time: (N, N, C) differences, not (N, N, B, C)
            diff = blocks[:, None, b, :] - blocks[None, :, b, :]
            c[:, :, b] = np.exp(-np.abs(diff).sum(axis=2))
        o = c.sum(axis=1)
        out = np.hstack([x, o])
        self.cache = {"x": x, "M": M, "o": o, "out": out}
        self.similarity = c  # backward needs it; (N, N, B) is too large for the trace
        return out

    def backward(self, grad_out):
        x, M, n = self.cache["x"], self.cache["M"], len(grad_out)
        c, kernels = self.similarity, self.config.kernels
        blocks = M.reshape(n, kernels, -1)
        grad_o = grad_out[:, self.features :]
        grad_M = np.empty_like(blocks)
        for b in range(kernels):
            weight = (grad_o[:, None, b] + grad_o[None, :, b]) * c[:, :, b]  # (N, N)
            sign = np.sign(blocks[:, None, b, :] - blocks[None, :, b, :])  # (N, N, C)
            grad_M[:, b, :] = -np.einsum("ij,ijc->ic", weight, sign)
        grad_M = grad_M.reshape(n, -1)
        self.T.grad = x.T @ grad_M
        grad_x = grad_out[:, : self.features] + grad_M @ self.T.value.T
        self.grad_cache = {
            "dL/dout": grad_out,
            "dL/do": grad_o,
            "dL/dM": grad_M,
            "dL/dT": self.T.grad,
            "dL/dx": grad_x,
        }
        return grad_x

    def backward_values(self):
        return dict(self.grad_cache)

    def describe(self):
        config = self.config
        return f"minibatch_discrimination B={config.kernels} C={config.kernel_dim}"


@hookimpl
def tracegrad_register_layers(register):
    register("minibatch_discrimination", MinibatchDiscrimination, MinibatchDiscriminationConfig)
