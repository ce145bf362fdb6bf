"""Built-in normalization layers, simplest first: ``layer_norm``, ``instance_norm``,
``batch_norm`` and ``weight_norm``.

The first three standardize activations, x̂ = (x - μ) / √(σ² + ε), then scale and shift
them with learnable γ and β; they differ in what μ and σ² are averaged over:

    layer_norm      each sample over its D features                 μ, σ² of shape (N,)
    instance_norm   each sample over its D features (one channel)   μ, σ² of shape (N,)
    batch_norm      each feature over the N samples of the batch    μ, σ² of shape (D,)

``weight_norm`` normalizes weights rather than activations: a dense layer whose W = g·v/‖v‖.
Variances are biased (divide by the count, not count - 1), as in PyTorch.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from engine import hookimpl
from engine.components import Layer, LayerConfig
from engine.errors import BuildError
from engine.i18n import _
from engine.refs import InitRef
from plugins.layers import DenseConfig

ONES = {"type": "constant", "value": 1.0}
ZEROS = {"type": "constant", "value": 0.0}
XAVIER_UNIFORM = {"type": "xavier_uniform"}

EPS_DESCRIPTION = "ε added to the variance before the square root, > 0 (avoids dividing by 0)."
AFFINE_INIT_DESCRIPTION = (
    "Initial values per parameter (gamma, beta): nested lists or an initializer such as "
    "{type: constant, value: 2.0}. Default: gamma ones, beta zeros."
)


def normalize_backward(grad_x_hat: np.ndarray, x_hat: np.ndarray, std: np.ndarray, axis: int):
    """dL/dx of x̂ = (x - μ) / std, with μ and σ² the mean and biased variance over ``axis``
    (n entries each) and std = √(σ² + ε) kept with that axis (keepdims):

        dL/dx = (n·dL/dx̂ - Σ dL/dx̂ - x̂ ⊙ Σ (dL/dx̂ ⊙ x̂)) / (n·std)      (sums over axis)
    """
    n = x_hat.shape[axis]
    total = grad_x_hat.sum(axis=axis, keepdims=True)
    projected = np.sum(grad_x_hat * x_hat, axis=axis, keepdims=True)
    return (n * grad_x_hat - total - x_hat * projected) / (n * std)


# --- layer norm and instance norm: each sample over its features -----------------------------


class LayerNormConfig(LayerConfig):
    type: Literal["layer_norm"] = "layer_norm"
    eps: float = Field(1e-5, gt=0, description=EPS_DESCRIPTION)
    affine: bool = Field(
        True,
        description="Learn a scale gamma and a shift beta per feature (out = gamma ⊙ x_hat "
        "+ beta); false: out = x_hat.",
    )
    init: dict[str, InitRef] = Field(default_factory=dict, description=AFFINE_INIT_DESCRIPTION)


class SampleNorm(Layer):
    """Shared by layer_norm and instance_norm: standardize each sample (row) over its
    features; subclasses say the shape of γ and β."""

    def affine_shape(self, features: int) -> tuple[int, ...]:
        raise NotImplementedError

    def build(self, in_features, ctx, init):
        super().build(in_features, ctx, init)
        self.gamma = self.beta = None
        if self.config.affine:
            shape = self.affine_shape(in_features)
            self.gamma = self.add_param(
                "gamma", init("gamma", shape, in_features, in_features, default=ONES)
            )
            self.beta = self.add_param(
                "beta", init("beta", shape, in_features, in_features, default=ZEROS)
            )
        return in_features

    def forward(self, x, training):
        mean = x.mean(axis=1, keepdims=True)
        var = x.var(axis=1, keepdims=True)
        std = np.sqrt(var + self.config.eps)
        x_hat = (x - mean) / std
        out = self.gamma.value * x_hat + self.beta.value if self.config.affine else x_hat
        self.cache = {"x": x, "mean": mean, "var": var, "std": std, "x_hat": x_hat, "out": out}
        return out

    def backward(self, grad_out):
        x_hat, std = self.cache["x_hat"], self.cache["std"]
        if self.config.affine:
            self.gamma.grad = self.sum_to_param(grad_out * x_hat)
            self.beta.grad = self.sum_to_param(grad_out)
            grad_x_hat = grad_out * self.gamma.value
        else:
            grad_x_hat = grad_out
        grad_x = normalize_backward(grad_x_hat, x_hat, std, axis=1)
        self.grad_cache = {"dL/dout": grad_out, "dL/dx_hat": grad_x_hat, "dL/dx": grad_x}
        return grad_x

    def sum_to_param(self, values: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def forward_values(self):
        cache = self.cache
        return {
            "x": cache["x"],
            "mean": cache["mean"][:, 0],
            "var": cache["var"][:, 0],
            "x_hat": cache["x_hat"],
            "out": cache["out"],
        }

    def backward_values(self):
        values = {"dL/dout": self.grad_cache["dL/dout"], "dL/dx_hat": self.grad_cache["dL/dx_hat"]}
        if self.config.affine:
            values["dL/dgamma"] = self.gamma.grad
            values["dL/dbeta"] = self.beta.grad
        values["dL/dx"] = self.grad_cache["dL/dx"]
        return values


class LayerNorm(SampleNorm):
    """Layer normalization (Ba, Kiros & Hinton 2016), as torch.nn.LayerNorm(D).

    Forward, for x of shape (N, D), γ and β of shape (D,):
        μ_n  = (1/D) Σ_d x_nd                          (N,)
        σ²_n = (1/D) Σ_d (x_nd - μ_n)²                 (N,)   biased
        x̂    = (x - μ) / √(σ² + ε)                    (N, D)
        out  = γ ⊙ x̂ + β                              (N, D)  (out = x̂ without affine)
    The same in training and evaluation: no batch statistics, no running estimates.
    Backward, given dL/dout (N, D):
        dL/dγ = Σ_n dL/dout ⊙ x̂                       (D,)
        dL/dβ = Σ_n dL/dout                            (D,)
        dL/dx̂ = dL/dout ⊙ γ                           (N, D)
        dL/dx = (D·dL/dx̂ - Σ_d dL/dx̂ - x̂ ⊙ Σ_d dL/dx̂ ⊙ x̂) / (D·√(σ² + ε))   (N, D)
    With D = 1 every x̂ is 0: layer norm needs at least two features to carry information.
    """

    formula = "x̂ = (x - μ_sample) / √(σ²_sample + ε),  out = γ ⊙ x̂ + β"

    def affine_shape(self, features):
        return (features,)

    def sum_to_param(self, values):
        return values.sum(axis=0)

    def describe(self):
        return "layer_norm" + ("" if self.config.affine else " (no affine)")


class InstanceNormConfig(LayerConfig):
    type: Literal["instance_norm"] = "instance_norm"
    eps: float = Field(1e-5, gt=0, description=EPS_DESCRIPTION)
    affine: bool = Field(
        False,
        description="Learn one scale gamma and one shift beta for the single channel, shared "
        "by all features (out = gamma·x_hat + beta), as torch's InstanceNorm1d(1, "
        "affine=True); default false, as torch.",
    )
    init: dict[str, InitRef] = Field(
        default_factory=dict,
        description="Initial values per parameter (gamma, beta), each one number in a list "
        "such as [2.0], or an initializer. Default: gamma ones, beta zeros.",
    )


class InstanceNorm(SampleNorm):
    """Instance normalization (Ulyanov, Vedaldi & Lempitsky 2016) for feature vectors.

    torch.nn.InstanceNorm1d normalizes an input (N, C, L) per sample and per channel over
    the length L. Tracegrad's x (N, D) is read as (N, 1, D): one channel of length D. So
    each sample is standardized over its D features, and the optional affine has one γ and
    one β for the one channel:

    Forward, for x of shape (N, D), γ and β of shape (1,):
        μ_n  = (1/D) Σ_d x_nd,   σ²_n = (1/D) Σ_d (x_nd - μ_n)²      (N,)
        x̂    = (x - μ) / √(σ² + ε)                                  (N, D)
        out  = γ·x̂ + β                                              (N, D)
    The same in training and evaluation (torch's default track_running_stats=False).
    Backward, given dL/dout (N, D):
        dL/dγ = Σ_n Σ_d dL/dout ⊙ x̂,   dL/dβ = Σ_n Σ_d dL/dout     (1,)
        dL/dx̂ = γ·dL/dout
        dL/dx = (D·dL/dx̂ - Σ_d dL/dx̂ - x̂ ⊙ Σ_d dL/dx̂ ⊙ x̂) / (D·√(σ² + ε))

    Relation to layer norm: x̂ is exactly layer norm's x̂; without affine the two layers are
    identical, with affine layer norm learns one γ_d, β_d per feature, instance norm a single
    γ, β. The difference shows with images x (N, C, H, W): instance norm standardizes each
    sample's channel over its H×W pixels (μ of shape (N, C), γ one per channel: style
    transfer removes each image's per-channel contrast), layer norm each sample over all
    C×H×W values (μ of shape (N,)), batch norm each channel over N×H×W (μ of shape (C,)).
    """

    formula = "x̂ = (x - μ_sample) / √(σ²_sample + ε),  out = γ·x̂ + β  (one γ, β)"

    def affine_shape(self, features):
        return (1,)

    def sum_to_param(self, values):
        return np.array([values.sum()])

    def describe(self):
        return "instance_norm" + (" (affine)" if self.config.affine else "")


# --- batch norm: each feature over the batch -------------------------------------------------


class BatchNormConfig(LayerConfig):
    type: Literal["batch_norm"] = "batch_norm"
    momentum: float = Field(
        0.1,
        ge=0,
        le=1,
        description="Weight of the current batch in the running estimates: running = "
        "(1 - momentum)·running + momentum·batch (PyTorch's convention), 0..1.",
    )
    eps: float = Field(1e-5, gt=0, description=EPS_DESCRIPTION)
    affine: bool = Field(
        True,
        description="Learn a scale gamma and a shift beta per feature (out = gamma ⊙ x_hat "
        "+ beta); false: out = x_hat.",
    )
    init: dict[str, InitRef] = Field(default_factory=dict, description=AFFINE_INIT_DESCRIPTION)


class BatchNorm(Layer):
    """Batch normalization (Ioffe & Szegedy 2015), as torch.nn.BatchNorm1d(D) on (N, D).

    Forward in training, for x of shape (N, D), γ and β of shape (D,):
        μ   = (1/N) Σ_n x_n                           (D,)   batch mean
        σ²  = (1/N) Σ_n (x_n - μ)²                    (D,)   biased batch variance
        x̂   = (x - μ) / √(σ² + ε)                    (N, D)
        out = γ ⊙ x̂ + β                              (N, D)  (out = x̂ without affine)
    and the running estimates (not parameters: no gradient, the optimizer leaves them alone)
    move towards the batch statistics, the variance unbiased as in PyTorch:
        running_mean ← (1 - m)·running_mean + m·μ
        running_var  ← (1 - m)·running_var  + m·σ²·N / (N - 1)
    They start at 0 and 1. In evaluation the running estimates replace μ and σ²:
        out = γ ⊙ (x - running_mean) / √(running_var + ε) + β
    Training needs N ≥ 2 samples per batch (the variance of one sample is 0 and x̂ would be
    0): with N = 1 the forward pass raises an error, as PyTorch does.

    Backward in training, given dL/dout (N, D) (μ and σ² depend on every x_n):
        dL/dγ = Σ_n dL/dout ⊙ x̂                      (D,)
        dL/dβ = Σ_n dL/dout                           (D,)
        dL/dx̂ = dL/dout ⊙ γ                          (N, D)
        dL/dx = (N·dL/dx̂ - Σ_n dL/dx̂ - x̂ ⊙ Σ_n dL/dx̂ ⊙ x̂) / (N·√(σ² + ε))   (N, D)
    In evaluation μ and σ² are constants: dL/dx = dL/dx̂ / √(running_var + ε).
    """

    formula = "x̂ = (x - μ_batch) / √(σ²_batch + ε),  out = γ ⊙ x̂ + β"

    def build(self, in_features, ctx, init):
        super().build(in_features, ctx, init)
        self.gamma = self.beta = None
        if self.config.affine:
            self.gamma = self.add_param(
                "gamma", init("gamma", (in_features,), in_features, in_features, default=ONES)
            )
            self.beta = self.add_param(
                "beta", init("beta", (in_features,), in_features, in_features, default=ZEROS)
            )
        self.running_mean = np.zeros(in_features, dtype=ctx.dtype)
        self.running_var = np.ones(in_features, dtype=ctx.dtype)
        self.buffers = {"running_mean": self.running_mean, "running_var": self.running_var}
        self.training = True
        return in_features

    def forward(self, x, training):
        n = x.shape[0]
        if training:
            if n < 2:
                raise BuildError(
                    _(
                        "batch_norm layer '{name}' got a batch of {n} sample in training; it "
                        "normalizes each feature over the batch, which needs at least 2 samples"
                    ).format(name=self.name, n=n),
                    hint=_(
                        "use train.batch_size >= 2 (and at least 2 samples), or layer_norm, "
                        "which normalizes each sample on its own"
                    ),
                )
            mean = x.mean(axis=0)
            var = x.var(axis=0)
            m = self.config.momentum
            self.running_mean *= 1.0 - m
            self.running_mean += m * mean
            self.running_var *= 1.0 - m
            self.running_var += m * var * n / (n - 1)
        else:
            mean, var = self.running_mean.copy(), self.running_var.copy()
        std = np.sqrt(var + self.config.eps)
        x_hat = (x - mean) / std
        out = self.gamma.value * x_hat + self.beta.value if self.config.affine else x_hat
        self.cache = {"x": x, "mean": mean, "var": var, "std": std, "x_hat": x_hat, "out": out}
        self.training = training
        return out

    def backward(self, grad_out):
        x_hat, std = self.cache["x_hat"], self.cache["std"]
        if self.config.affine:
            self.gamma.grad = np.sum(grad_out * x_hat, axis=0)
            self.beta.grad = grad_out.sum(axis=0)
            grad_x_hat = grad_out * self.gamma.value
        else:
            grad_x_hat = grad_out
        if self.training:
            grad_x = normalize_backward(grad_x_hat, x_hat, std, axis=0)
        else:
            grad_x = grad_x_hat / std
        self.grad_cache = {"dL/dout": grad_out, "dL/dx_hat": grad_x_hat, "dL/dx": grad_x}
        return grad_x

    def forward_values(self):
        cache = self.cache
        values = {"x": cache["x"]}
        if self.training:
            values["mean"], values["var"] = cache["mean"], cache["var"]
        values["running_mean"] = self.running_mean.copy()
        values["running_var"] = self.running_var.copy()
        values["x_hat"], values["out"] = cache["x_hat"], cache["out"]
        return values

    def backward_values(self):
        values = {"dL/dout": self.grad_cache["dL/dout"], "dL/dx_hat": self.grad_cache["dL/dx_hat"]}
        if self.config.affine:
            values["dL/dgamma"] = self.gamma.grad
            values["dL/dbeta"] = self.beta.grad
        values["dL/dx"] = self.grad_cache["dL/dx"]
        return values

    def describe(self):
        return f"batch_norm {len(self.running_mean)}" + (
            "" if self.config.affine else " (no affine)"
        )


# --- weight norm: a dense layer with W = g·v/‖v‖ --------------------------------------------


class WeightNormConfig(DenseConfig):
    """The options of ``dense``; only the parameters to initialize differ."""

    type: Literal["weight_norm"] = "weight_norm"
    init: dict[str, InitRef] = Field(
        default_factory=dict,
        description="Initial values per parameter (v, g, b): nested lists, v of shape "
        "(inputs, units) like a dense W, g and b one number per unit, or an initializer. "
        "Default: v xavier_uniform, g = ‖v‖ of each column (so W starts equal to v), b zeros.",
    )


class WeightNorm(Layer):
    """A dense layer with weight normalization (Salimans & Kingma 2016), as torch's
    weight_norm(nn.Linear(D, M), dim=0): the length of each unit's weight vector is the
    learnable g, its direction v/‖v‖.

    Forward, for x of shape (N, D), v (D, M), g (M,), b (M,):
        ‖v_j‖ = √(Σ_i v_ij²)           (M,)    one norm per unit (column of v)
        W_ij  = g_j · v_ij / ‖v_j‖      (D, M)
        z     = x·W + b                 (N, M)
        a     = f(z)                    (N, M)
    Backward, given dL/da (N, M): first as a dense layer,
        dL/dz = dL/da ⊙ f'(z),  dL/dW = xᵀ·dL/dz,  dL/db = Σ_n dL/dz,  dL/dx = dL/dz·Wᵀ
    then through W = g·v/‖v‖ (from ∂W_kj/∂v_ij = g_j (δ_ki/‖v_j‖ - v_kj v_ij/‖v_j‖³)):
        dL/dg_j  = Σ_i dL/dW_ij · v_ij / ‖v_j‖                          (M,)
        dL/dv_ij = (g_j / ‖v_j‖)·dL/dW_ij - (g_j · dL/dg_j / ‖v_j‖²)·v_ij   (D, M)
    dL/dv is dL/dW scaled and with its component along v removed: an update never changes
    ‖v‖ to first order, so g alone sets the scale.
    When the loss is fused with the activation (softmax + cross_entropy), the loss hands
    dL/dz directly, as for dense: f'(z) is skipped and ``note`` says so in the trace.
    """

    formula = "W = g·v/‖v‖,  z = x·W + b,  a = f(z)"
    #: Set when the build fuses this layer's activation with the loss (see Loss.fuse).
    note: str | None = None

    def build(self, in_features, ctx, init):
        super().build(in_features, ctx, init)
        units = self.config.units
        self.activation = (
            ctx.create("activations", self.config.activation)
            if self.config.activation is not None
            else None
        )
        v = init("v", (in_features, units), in_features, units, default=XAVIER_UNIFORM)
        norms = np.linalg.norm(v, axis=0)
        if not np.all(norms > 0):
            raise BuildError(
                _(
                    "column {int} of {name}.v is all zeros, and W = g·v/‖v‖ needs ‖v‖ > 0 for "
                    "every unit"
                ).format(int=int(np.argmin(norms)), name=self.name),
                init.where((*init.path, "init", "v")),
                hint=_("give every column of v a non-zero entry (its direction)"),
            )
        self.v = self.add_param("v", v)
        if "g" in self.config.init:
            self.g = self.add_param("g", init("g", (units,), in_features, units, default=ONES))
        else:
            self.g = self.add_param("g", norms.astype(ctx.dtype))
        self.b = (
            self.add_param("b", init("b", (units,), in_features, units, default=ZEROS))
            if self.config.bias
            else None
        )
        return units

    def weight(self) -> tuple[np.ndarray, np.ndarray]:
        """(W, ‖v‖) from the current v and g."""
        norms = np.linalg.norm(self.v.value, axis=0)
        return self.v.value * (self.g.value / norms), norms

    def forward(self, x, training):
        W, norms = self.weight()
        z = x @ W
        if self.b is not None:
            z += self.b.value
        a = self.activation.forward(z) if self.activation is not None else z
        self.cache = {"x": x, "‖v‖": norms, "W": W, "z": z, "a": a}
        return a

    def backward(self, grad_a):
        x, z, a = self.cache["x"], self.cache["z"], self.cache["a"]
        W, norms = self.cache["W"], self.cache["‖v‖"]
        grad_z = self.activation.backward(z, a, grad_a) if self.activation is not None else grad_a
        grad_W = x.T @ grad_z
        v, g = self.v.value, self.g.value
        self.g.grad = np.sum(grad_W * v, axis=0) / norms
        self.v.grad = (g / norms) * grad_W - (g * self.g.grad / norms**2) * v
        if self.b is not None:
            self.b.grad = grad_z.sum(axis=0)
        grad_x = grad_z @ W.T
        self.grad_cache = {"dL/da": grad_a, "dL/dz": grad_z, "dL/dW": grad_W, "dL/dx": grad_x}
        return grad_x

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
        values["dL/dW"] = self.grad_cache["dL/dW"]
        values["dL/dg"] = self.g.grad
        values["dL/dv"] = self.v.grad
        if self.b is not None:
            values["dL/db"] = self.b.grad
        values["dL/dx"] = self.grad_cache["dL/dx"]
        return values

    def describe(self):
        activation = self.config.activation.type if self.config.activation is not None else ""
        shape = f"{self.v.value.shape[0]}→{self.config.units}"
        return f"weight_norm {shape}" + (f", {activation}" if activation else "")


@hookimpl
def tracegrad_register_layers(register):
    register("layer_norm", LayerNorm, LayerNormConfig)
    register("instance_norm", InstanceNorm, InstanceNormConfig)
    register("batch_norm", BatchNorm, BatchNormConfig)
    register("weight_norm", WeightNorm, WeightNormConfig)
