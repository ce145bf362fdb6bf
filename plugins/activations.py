"""Built-in activation functions, simplest first.

Each maps z (N, D) to a = f(z) of the same shape. ``derivative`` returns f'(z) elementwise,
written with a where that is cheaper (sigmoid: a(1 - a)), so backward is dL/dz = dL/da * f'(z).
Softmax is not elementwise: its backward is the full Jacobian-vector product.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from engine import hookimpl
from engine.components import Activation, LayerConfig


def sigmoid(z: np.ndarray) -> np.ndarray:
    """σ(z) = 1 / (1 + e^(-z)), without overflow: for z < 0 as e^z / (1 + e^z).

    With e = e^(-|z|) both cases are (1 or e) / (1 + e); the numerator is max(e, [z >= 0]),
    since e <= 1 when z >= 0 and e > 0 always. This gives the same numbers as
    ``np.where(z >= 0, 1 / (1 + e), e / (1 + e))`` at a fraction of the cost: np.where
    branches on every element, and random signs make those branches unpredictable.
    """
    e = np.exp(-np.abs(z))
    return np.maximum(e, z >= 0) / (1.0 + e)


class IdentityConfig(LayerConfig):
    type: Literal["identity"] = "identity"


class Identity(Activation):
    """a = z;  f'(z) = 1."""

    formula = "a = z"
    derivative_formula = "f'(z) = 1"

    def forward(self, z):
        return z

    def derivative(self, z, a):
        return np.ones_like(z)

    def backward(self, z, a, grad_a):
        return grad_a


class SigmoidConfig(LayerConfig):
    type: Literal["sigmoid"] = "sigmoid"


class Sigmoid(Activation):
    """a = σ(z) = 1 / (1 + e^(-z));  f'(z) = σ(z)(1 - σ(z)) = a(1 - a)."""

    formula = "a = σ(z) = 1 / (1 + e^(-z))"
    derivative_formula = "f'(z) = a(1 - a)"

    def forward(self, z):
        return sigmoid(z)

    def derivative(self, z, a):
        return a * (1.0 - a)

    def backward(self, z, a, grad_a):
        """dL/dz = dL/da ⊙ a(1 - a), in one new array instead of three (the same numbers:
        each product is rounded once either way, and a product does not depend on order)."""
        if grad_a.shape != a.shape or grad_a.dtype != a.dtype:
            return super().backward(z, a, grad_a)
        grad_z = np.subtract(1.0, a)
        grad_z *= a
        grad_z *= grad_a
        return grad_z


class TanhConfig(LayerConfig):
    type: Literal["tanh"] = "tanh"


class Tanh(Activation):
    """a = tanh(z);  f'(z) = 1 - a²."""

    formula = "a = tanh(z)"
    derivative_formula = "f'(z) = 1 - a²"

    def forward(self, z):
        return np.tanh(z)

    def derivative(self, z, a):
        return 1.0 - a * a

    def backward(self, z, a, grad_a):
        """dL/dz = dL/da ⊙ (1 - a²), in one new array instead of three (the same numbers:
        each step is rounded once either way, and a product does not depend on order)."""
        if grad_a.shape != a.shape or grad_a.dtype != a.dtype:
            return super().backward(z, a, grad_a)
        grad_z = np.multiply(a, a)
        np.subtract(1.0, grad_z, out=grad_z)
        grad_z *= grad_a
        return grad_z


class ReluConfig(LayerConfig):
    type: Literal["relu"] = "relu"


class Relu(Activation):
    """a = max(0, z);  f'(z) = 1 if z > 0 else 0 (0 at z = 0, as PyTorch)."""

    formula = "a = max(0, z)"
    derivative_formula = "f'(z) = 1 if z > 0 else 0"

    def forward(self, z):
        return np.maximum(z, 0.0)

    def derivative(self, z, a):
        return (z > 0).astype(z.dtype)

    def backward(self, z, a, grad_a):
        return grad_a * (z > 0)


class LeakyReluConfig(LayerConfig):
    type: Literal["leaky_relu"] = "leaky_relu"
    negative_slope: float = Field(0.01, ge=0, description="Slope α for z < 0 (PyTorch: 0.01).")


class LeakyRelu(Activation):
    """a = z if z > 0 else α z;  f'(z) = 1 if z > 0 else α (α at z = 0, as PyTorch)."""

    formula = "a = z if z > 0 else α·z"
    derivative_formula = "f'(z) = 1 if z > 0 else α"

    def forward(self, z):
        slope = self.config.negative_slope
        if 0 < slope <= 1:
            # the same function for 0 < α <= 1, written branch-free: np.where branches on
            # every element and is about ten times slower on random signs
            # (α·z is computed into the array that becomes a: one new array, not two)
            a = np.multiply(z, slope)
            return np.maximum(z, a, out=a)
        return np.where(z > 0, z, slope * z)

    def derivative(self, z, a):
        slope = self.config.negative_slope
        if slope <= 1:  # max([z > 0], α) is 1 or α: the same, branch-free (see forward)
            return np.maximum(z > 0, slope, dtype=z.dtype)
        return np.where(z > 0, 1.0, slope).astype(z.dtype)

    def backward(self, z, a, grad_a):
        """dL/dz = dL/da ⊙ f'(z), the product written into f'(z)'s array instead of a new
        one (the same numbers: each product is rounded once either way)."""
        if grad_a.shape != z.shape or grad_a.dtype != z.dtype:
            return super().backward(z, a, grad_a)
        grad_z = self.derivative(z, a)
        grad_z *= grad_a
        return grad_z


class EluConfig(LayerConfig):
    type: Literal["elu"] = "elu"
    alpha: float = Field(1.0, gt=0, description="α: the value e^z - 1 is scaled by for z <= 0.")


class Elu(Activation):
    """a = z if z > 0 else α(e^z - 1);  f'(z) = 1 if z > 0 else α e^z = a + α
    (α at z = 0, as PyTorch)."""

    formula = "a = z if z > 0 else α(e^z - 1)"
    derivative_formula = "f'(z) = 1 if z > 0 else a + α"

    def forward(self, z):
        return np.where(z > 0, z, self.config.alpha * np.expm1(np.minimum(z, 0.0)))

    def derivative(self, z, a):
        return np.where(z > 0, 1.0, a + self.config.alpha)


class SoftplusConfig(LayerConfig):
    type: Literal["softplus"] = "softplus"
    beta: float = Field(
        1.0,
        gt=0,
        description="β: softplus(z) = log(1 + e^(βz)) / β; a larger β bends closer to "
        "relu. Default 1.",
    )


class Softplus(Activation):
    """a = log(1 + e^(βz)) / β;  f'(z) = σ(βz). Computed stably with logaddexp.

    PyTorch's Softplus also has threshold=20: where βz > 20 it returns z itself. Here the
    formula is used everywhere (it cannot overflow); the two differ by log(1 + e^(-βz)) / β
    < 2.1e-9 / β there, and the slopes by less than 2.1e-9.
    """

    formula = "a = log(1 + e^(βz)) / β"
    derivative_formula = "f'(z) = σ(βz)"

    def forward(self, z):
        beta = self.config.beta
        return np.logaddexp(0.0, beta * z) / beta

    def derivative(self, z, a):
        return sigmoid(self.config.beta * z)


class SiluConfig(LayerConfig):
    type: Literal["silu"] = "silu"


class Silu(Activation):
    """SiLU (swish with β = 1): a = z σ(z);  f'(z) = σ(z) + z σ(z)(1 - σ(z)).

    The general swish z σ(βz) is deliberately not built in: a plugin can add it.
    """

    formula = "a = z·σ(z)"
    derivative_formula = "f'(z) = σ(z) + z·σ(z)(1 - σ(z))"

    def forward(self, z):
        return z * sigmoid(z)

    def derivative(self, z, a):
        s = sigmoid(z)
        return s + z * s * (1.0 - s)


class SoftmaxConfig(LayerConfig):
    type: Literal["softmax"] = "softmax"


class Softmax(Activation):
    """a_i = e^(z_i) / Σ_j e^(z_j) over each sample's features (shifted by max z for safety).

    Not elementwise: ∂a_i/∂z_j = a_i(δ_ij - a_j), so backward is the Jacobian-vector product
    dL/dz_j = Σ_i dL/da_i a_i(δ_ij - a_j) = a_j (dL/da_j - Σ_i dL/da_i a_i). As the last
    layer before ``cross_entropy`` the two are fused: the loss gives dL/dz = (a - y) / N
    directly and this backward is skipped (the trace's backward record notes it).
    """

    formula = "a_i = e^(z_i) / Σ_j e^(z_j)"
    derivative_formula = "∂a_i/∂z_j = a_i(δ_ij - a_j)"

    def forward(self, z):
        shifted = np.exp(z - z.max(axis=1, keepdims=True))
        return shifted / shifted.sum(axis=1, keepdims=True)

    def derivative(self, z, a):
        return None

    def backward(self, z, a, grad_a):
        return a * (grad_a - np.sum(grad_a * a, axis=1, keepdims=True))


BUILTIN = (
    ("identity", Identity, IdentityConfig),
    ("sigmoid", Sigmoid, SigmoidConfig),
    ("tanh", Tanh, TanhConfig),
    ("relu", Relu, ReluConfig),
    ("leaky_relu", LeakyRelu, LeakyReluConfig),
    ("elu", Elu, EluConfig),
    ("softplus", Softplus, SoftplusConfig),
    ("silu", Silu, SiluConfig),
    ("softmax", Softmax, SoftmaxConfig),
)


@hookimpl
def tracegrad_register_activations(register):
    for name, implementation, config in BUILTIN:
        register(name, implementation, config)
