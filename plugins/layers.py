"""Built-in layers with weights: ``dense``.

Normalization layers live in ``plugins/normalization.py``, stochastic ones (dropout, noise)
in ``plugins/noise.py``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from engine import hookimpl
from engine.components import Layer, LayerConfig
from engine.refs import ActivationRef, InitRef

XAVIER_UNIFORM = {"type": "xavier_uniform"}
ZEROS = {"type": "constant", "value": 0.0}


class DenseConfig(LayerConfig):
    type: Literal["dense"] = "dense"
    units: int = Field(gt=0, description="Number of units (outputs) of the layer, > 0.")
    activation: ActivationRef = Field(
        None,
        description="Activation applied to z, e.g. sigmoid or {type: leaky_relu, "
        "negative_slope: 0.2}; default: none (a = z).",
    )
    bias: bool = Field(True, description="Learn a bias b (z = x·W + b); false: z = x·W.")
    init: dict[str, InitRef] = Field(
        default_factory=dict,
        description="Initial values per parameter (W, b): nested lists, W of shape (inputs, "
        "units) with W[i][j] joining input i to unit j, or an initializer such as "
        "{type: normal, std: 0.1}. Default: W xavier_uniform, b zeros.",
    )


class WeightedLayer(Layer):
    """What a layer z = g(x; W, b), a = f(z) shows the trace, shared by dense and the
    convolutions: forward x, z and a (a only with an activation: else a = z), backward dL/da
    and f'(z) (unless the loss was fused with the activation), dL/dz, dL/dW, dL/db, dL/dx.
    The layer's ``forward`` fills ``cache`` (x, z, a) and ``backward`` ``grad_cache``."""

    #: Set when the build fuses this layer's activation with the loss (see Loss.fuse).
    note: str | None = None

    def forward_values(self):
        values = dict(self.cache)
        if self.activation is None:
            del values["a"]  # a = z: one array, not two
        return values

    def backward_values(self):
        values = {}
        if self.activation is not None and self.note is None:  # fused: the loss gave dL/dz
            values["dL/da"] = self.grad_cache["dL/da"]
            derivative = self.activation.derivative(self.cache["z"], self.cache["a"])
            if derivative is not None:
                values["f'(z)"] = derivative
        values["dL/dz"] = self.grad_cache["dL/dz"]
        values["dL/dW"] = self.W.grad
        if self.b is not None:
            values["dL/db"] = self.b.grad
        values["dL/dx"] = self.grad_cache["dL/dx"]
        return values


class Dense(WeightedLayer):
    """A fully connected layer with an optional activation.

    Forward, for x of shape (N, D), W (D, M), b (M,):
        z = x·W + b        (N, M)
        a = f(z)           (N, M)
    Backward, given dL/da (N, M):
        dL/dz = dL/da ⊙ f'(z)     (N, M)  (a Jacobian-vector product for softmax)
        dL/dW = xᵀ·dL/dz          (D, M)
        dL/db = Σ_n dL/dz         (M,)
        dL/dx = dL/dz·Wᵀ          (N, D)  handed to the layer before
    When the loss is fused with the activation (softmax + cross_entropy), the loss hands
    dL/dz directly: f'(z) is skipped and ``note`` says so in the trace.
    """

    formula = "z = x·W + b,  a = f(z)"

    def build(self, in_features, ctx, init):
        super().build(in_features, ctx, init)
        units = self.config.units
        self.activation = (
            ctx.create("activations", self.config.activation)
            if self.config.activation is not None
            else None
        )
        self.W = self.add_param(
            "W", init("W", (in_features, units), in_features, units, default=XAVIER_UNIFORM)
        )
        self.b = (
            self.add_param("b", init("b", (units,), in_features, units, default=ZEROS))
            if self.config.bias
            else None
        )
        return units

    def forward(self, x, training):
        z = x @ self.W.value
        if self.b is not None:
            z += self.b.value
        a = self.activation.forward(z) if self.activation is not None else z
        self.cache = {"x": x, "z": z, "a": a}
        return a

    def backward(self, grad_a):
        x, z, a = self.cache["x"], self.cache["z"], self.cache["a"]
        grad_z = self.activation.backward(z, a, grad_a) if self.activation is not None else grad_a
        if self.param_grads_needed:
            self.W.grad = x.T @ grad_z
            if self.b is not None:
                self.b.grad = np.add.reduce(grad_z, axis=0)  # Σ_n, as grad_z.sum(axis=0) does
        grad_x = grad_z @ self.W.value.T if self.input_grad_needed else None
        self.grad_cache = {"dL/da": grad_a, "dL/dz": grad_z, "dL/dx": grad_x}
        return grad_x

    def describe(self):
        activation = self.config.activation.type if self.config.activation is not None else ""
        shape = f"{self.W.value.shape[0]}→{self.config.units}"
        return f"dense {shape}" + (f", {activation}" if activation else "")


@hookimpl
def tracegrad_register_layers(register):
    register("dense", Dense, DenseConfig)
