"""Activation functions, written again from their definitions (not imported from plugins/).

Each kind gives f(z) and f'(z); softmax, which is not elementwise, gives the product of its
Jacobian with an upstream gradient instead:

    identity    f(z) = z                                   f'(z) = 1
    sigmoid     f(z) = 1 / (1 + e^(-z))                    f'(z) = f(z)(1 - f(z))
    tanh        f(z) = tanh z                              f'(z) = 1 - tanh² z
    relu        f(z) = max(0, z)                           f'(z) = [z > 0]
    leaky_relu  f(z) = z if z > 0 else α z                 f'(z) = 1 if z > 0 else α
    elu         f(z) = z if z > 0 else α (e^z - 1)         f'(z) = 1 if z > 0 else α e^z
    softplus    f(z) = log(1 + e^(βz)) / β                 f'(z) = σ(βz)
    silu        f(z) = z σ(z)                              f'(z) = σ(z)(1 + z(1 - σ(z)))
    softmax     f(z)_i = e^(z_i) / Σ_j e^(z_j)             dL/dz = a ⊙ (dL/da - Σ_i dL/da_i a_i)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


def sigmoid(z: np.ndarray) -> np.ndarray:
    """σ(z) = e^(-log(1 + e^(-z))), which neither overflows nor loses small values."""
    return np.exp(-np.logaddexp(0.0, -z))


@dataclass(frozen=True)
class Formula:
    """An activation: ``f(z)``, ``derivative(z)`` (None when not elementwise) and
    ``backward(z, a, grad_a)`` = dL/dz."""

    name: str
    f: Callable[[np.ndarray], np.ndarray]
    derivative: Callable[[np.ndarray], np.ndarray] | None = None
    jvp: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None

    @property
    def elementwise(self) -> bool:
        return self.derivative is not None

    def backward(self, z: np.ndarray, a: np.ndarray, grad_a: np.ndarray) -> np.ndarray:
        if self.derivative is not None:
            return grad_a * self.derivative(z)
        return self.jvp(a, grad_a)


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _softmax_jvp(a: np.ndarray, grad_a: np.ndarray) -> np.ndarray:
    """dL/dz_j = Σ_i dL/da_i · a_i (δ_ij - a_j)."""
    return a * (grad_a - np.sum(grad_a * a, axis=1, keepdims=True))


def formula(config: dict | None) -> Formula | None:
    """The activation a config names (None means identity); None when the kind is unknown."""
    if config is None:
        return FORMULAS["identity"]({})
    make = FORMULAS.get(config.get("type"))
    return make(config) if make is not None else None


def _identity(config):
    return Formula("identity", lambda z: z + 0.0, lambda z: np.ones_like(z))


def _sigmoid(config):
    def derivative(z):
        s = sigmoid(z)
        return s * (1.0 - s)

    return Formula("sigmoid", sigmoid, derivative)


def _tanh(config):
    return Formula("tanh", np.tanh, lambda z: 1.0 - np.tanh(z) ** 2)


def _relu(config):
    return Formula("relu", lambda z: np.where(z > 0, z, 0.0), lambda z: (z > 0) * 1.0)


def _leaky_relu(config):
    alpha = config.get("negative_slope", 0.01)
    return Formula(
        "leaky_relu",
        lambda z: np.where(z > 0, z, alpha * z),
        lambda z: np.where(z > 0, 1.0, alpha),
    )


def _elu(config):
    alpha = config.get("alpha", 1.0)
    return Formula(
        "elu",
        lambda z: np.where(z > 0, z, alpha * np.expm1(np.minimum(z, 0.0))),
        lambda z: np.where(z > 0, 1.0, alpha * np.exp(np.minimum(z, 0.0))),
    )


def _softplus(config):
    beta = config.get("beta", 1.0)
    return Formula(
        "softplus",
        lambda z: np.logaddexp(0.0, beta * z) / beta,
        lambda z: sigmoid(beta * z),
    )


def _silu(config):
    def derivative(z):
        s = sigmoid(z)
        return s * (1.0 + z * (1.0 - s))

    return Formula("silu", lambda z: z * sigmoid(z), derivative)


def _softmax_formula(config):
    return Formula("softmax", _softmax, None, _softmax_jvp)


FORMULAS = {
    "identity": _identity,
    "sigmoid": _sigmoid,
    "tanh": _tanh,
    "relu": _relu,
    "leaky_relu": _leaky_relu,
    "elu": _elu,
    "softplus": _softplus,
    "silu": _silu,
    "softmax": _softmax_formula,
}
