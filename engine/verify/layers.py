"""Each layer kind's claims, re-derived from the values its trace records carry.

A layer's forward record holds its input x and what it computed from x (z, a, x_hat, ...);
its backward record holds the gradient that arrived (dL/da, or dL/dz without activation,
dL/dout for the normalizations) and what it computed from it. Every check recomputes one
recorded quantity from the recorded quantities it depends on, so a single wrong number is
reported once, at the claim that produced it.

    dense           z = x·W + b,  a = f(z)
                    f'(z),  dL/dz = dL/da ⊙ f'(z),  dL/dW = xᵀ·dL/dz,  dL/db = Σ_n dL/dz,
                    dL/dx = dL/dz·Wᵀ
    weight_norm     ‖v_j‖,  W = g·v/‖v‖, then as dense, and
                    dL/dg_j = Σ_i dL/dW_ij·v_ij/‖v_j‖,  dL/dv = (g/‖v‖)·dL/dW - (g·dL/dg/‖v‖²)·v
    activation      a = f(x),  f'(x),  dL/dx = dL/da ⊙ f'(x)
    dropout         mask ∈ {0, 1},  a = x ⊙ mask/(1 - p),  dL/dx = dL/da ⊙ mask/(1 - p)
    gaussian_noise  σ(t) from the annealing schedule,  a = x + noise,  dL/dx = dL/da
    layer_norm, instance_norm, batch_norm
                    μ, σ² (biased), x̂ = (x - μ)/√(σ² + ε),  out = γ ⊙ x̂ + β,
                    running estimates (batch_norm), dL/dγ, dL/dβ, dL/dx̂ = dL/dout ⊙ γ,
                    dL/dx = (n·dL/dx̂ - Σ dL/dx̂ - x̂ ⊙ Σ dL/dx̂ ⊙ x̂) / (n·√(σ² + ε))

The random draws themselves (the dropout mask, the noise) are taken as recorded: checking
them is a question of reproducibility, not of arithmetic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from engine.verify.activations import FORMULAS, formula
from engine.verify.report import Checker, Place


@dataclass
class LayerPass:
    """One layer at one traced step: its config (from the header), its decoded forward and
    backward values, and the parameters the forward pass used (short name -> array).

    ``fused``: the loss took over this (last) layer's activation backward.
    ``previous``: this layer's forward values at the step before (running estimates), ``{}``
    before the first step, None when that step is not traced.
    ``step``, ``total_steps``: where in training (annealed noise).
    """

    place: Place
    kind: str
    config: dict
    forward: dict
    backward: dict | None = None
    params: dict = field(default_factory=dict)
    fused: bool = False
    previous: dict | None = None
    step: int = 0
    total_steps: int = 1


def output_of(values: dict):
    """The array a layer hands to the next one: a, out, or z (a dense layer without
    activation)."""
    for key in ("a", "out", "z"):
        if key in values:
            return key, values[key]
    return None, None


def incoming_of(values: dict):
    """The gradient that arrived at a layer's output: dL/da, dL/dout, or dL/dz."""
    for key in ("dL/da", "dL/dout", "dL/dz"):
        if key in values:
            return key, values[key]
    return None, None


def known(kind: str) -> bool:
    return kind in LAYERS or kind in FORMULAS


def check_forward(check: Checker, layer: LayerPass) -> None:
    rules = LAYERS.get(layer.kind)
    if rules is not None:
        rules[0](check, layer)
    elif layer.kind in FORMULAS:
        activation_forward(check, layer)
    else:
        check.unchecked(f"no rule for layer '{layer.kind}' (forward)")


def check_backward(check: Checker, layer: LayerPass) -> None:
    if layer.backward is None:
        return
    rules = LAYERS.get(layer.kind)
    if rules is not None:
        rules[1](check, layer)
    elif layer.kind in FORMULAS:
        activation_backward(check, layer)
    else:
        check.unchecked(f"no rule for layer '{layer.kind}' (backward)")


# --- dense and weight_norm ---------------------------------------------------------------


def _activation(check: Checker, layer: LayerPass, config):
    f = formula(config)
    if f is None:
        check.unchecked(f"no rule for activation '{config.get('type')}'")
    return f


def _affine_forward(check: Checker, layer: LayerPass, W, how_W: str) -> None:
    """z = x·W + b and a = f(z), shared by dense and weight_norm."""
    values, place = layer.forward, layer.place
    x, b = values.get("x"), layer.params.get("b")
    has_bias = layer.config.get("bias", True)
    inputs = (x, W, b) if has_bias else (x, W)
    if check.whole("z", *inputs):
        z = x @ W + (b if has_bias else 0.0)
        check.compare(place, "z", values.get("z"), z, f"z = x·W + b, W and b {how_W}")
    if "a" not in values:
        return
    f = _activation(check, layer, layer.config.get("activation"))
    if f is not None and check.whole("a", values.get("z")):
        check.compare(place, "a", values["a"], f.f(values["z"]), f"a = {f.name}(z)")


def _dz(check: Checker, layer: LayerPass, pre: str) -> None:
    """f'(z) and dL/dz = dL/da ⊙ f'(z) (``pre`` names the pre-activation: z or x)."""
    values, grads, place = layer.forward, layer.backward, layer.place
    config = layer.config.get("activation") if pre == "z" else layer.config
    after = "dL/dz" if pre == "z" else "dL/dx"
    if "dL/da" not in grads:
        return
    if layer.fused:
        check.compare(
            place,
            after,
            grads.get(after),
            grads["dL/da"],
            "the loss is fused with this activation: its gradient is already dL/dz, "
            "passed on unchanged",
        )
        return
    f = _activation(check, layer, config)
    if f is None:
        return
    z, a = values.get(pre), values.get("a")
    derivative_name = f"f'({pre})"
    if derivative_name in grads and f.elementwise and check.whole(derivative_name, z):
        check.compare(
            place, derivative_name, grads[derivative_name], f.derivative(z), f"{f.name}'({pre})"
        )
    if check.whole(after, z, a, grads["dL/da"]):
        how = (
            "dL/dz = a ⊙ (dL/da - Σ_k dL/da_k·a_k) (softmax)"
            if not f.elementwise
            else f"{after} = dL/da ⊙ {f.name}'({pre})"
        )
        check.compare(place, after, grads.get(after), f.backward(z, a, grads["dL/da"]), how)


def _affine_backward(check: Checker, layer: LayerPass, W) -> None:
    """dL/dz, dL/dW, dL/db and dL/dx, shared by dense and weight_norm."""
    values, grads, place = layer.forward, layer.backward, layer.place
    _dz(check, layer, "z")
    x, dz = values.get("x"), grads.get("dL/dz")
    if check.whole("dL/dW", x, dz):
        check.compare(place, "dL/dW", grads.get("dL/dW"), x.T @ dz, "dL/dW = xᵀ·dL/dz")
    if "dL/db" in grads and check.whole("dL/db", dz):
        check.compare(place, "dL/db", grads["dL/db"], dz.sum(axis=0), "dL/db = Σ_n dL/dz")
    if check.whole("dL/dx", dz, W):
        check.compare(place, "dL/dx", grads.get("dL/dx"), dz @ W.T, "dL/dx = dL/dz·Wᵀ")


def dense_forward(check: Checker, layer: LayerPass) -> None:
    _affine_forward(check, layer, layer.params.get("W"), "as the update record's before")


def dense_backward(check: Checker, layer: LayerPass) -> None:
    _affine_backward(check, layer, layer.params.get("W"))


def _column_norms(v):
    return np.sqrt(np.sum(v * v, axis=0))


def weight_norm_forward(check: Checker, layer: LayerPass) -> None:
    values, place = layer.forward, layer.place
    v, g = layer.params.get("v"), layer.params.get("g")
    if check.whole("‖v‖", v):
        check.compare(place, "‖v‖", values.get("‖v‖"), _column_norms(v), "‖v_j‖ = √(Σ_i v_ij²)")
    if check.whole("W", v, g):
        check.compare(place, "W", values.get("W"), g * v / _column_norms(v), "W = g·v/‖v‖")
    _affine_forward(check, layer, values.get("W"), "W as recorded, b as the update's before")


def weight_norm_backward(check: Checker, layer: LayerPass) -> None:
    values, grads, place = layer.forward, layer.backward, layer.place
    W = values.get("W")
    _affine_backward(check, layer, W)
    v, g, dW = layer.params.get("v"), layer.params.get("g"), grads.get("dL/dW")
    if check.whole("dL/dg", v, dW):
        norms = _column_norms(v)
        check.compare(
            place,
            "dL/dg",
            grads.get("dL/dg"),
            np.sum(dW * v, axis=0) / norms,
            "dL/dg_j = Σ_i dL/dW_ij·v_ij/‖v_j‖",
        )
    dg = grads.get("dL/dg")
    if check.whole("dL/dv", v, g, dW, dg):
        norms = _column_norms(v)
        check.compare(
            place,
            "dL/dv",
            grads.get("dL/dv"),
            (g / norms) * dW - (g * dg / norms**2) * v,
            "dL/dv = (g/‖v‖)·dL/dW - (g·dL/dg/‖v‖²)·v",
        )


# --- an activation standing as a layer ---------------------------------------------------


def activation_forward(check: Checker, layer: LayerPass) -> None:
    f = _activation(check, layer, layer.config)
    x = layer.forward.get("x")
    if f is not None and check.whole("a", x):
        check.compare(layer.place, "a", layer.forward.get("a"), f.f(x), f"a = {f.name}(x)")


def activation_backward(check: Checker, layer: LayerPass) -> None:
    _dz(check, layer, "x")


# --- stochastic layers -------------------------------------------------------------------


def dropout_forward(check: Checker, layer: LayerPass) -> None:
    values, place = layer.forward, layer.place
    x, mask = values.get("x"), values.get("mask")
    if mask is None:  # evaluation: the identity
        if check.whole("a", x):
            check.compare(place, "a", values.get("a"), x, "a = x (no mask: evaluation)")
        return
    p = layer.config.get("rate", 0.5)
    if check.whole("mask", mask):
        entries = np.asarray(mask)
        check.holds(
            place,
            "mask",
            bool(np.all((entries == 0) | (entries == 1))),
            "values other than 0 and 1",
            "only 0 (dropped) and 1 (kept)",
        )
    if check.whole("a", x, mask):
        check.compare(place, "a", values.get("a"), x * mask / (1.0 - p), f"a = x ⊙ m/(1 - {p:g})")


def dropout_backward(check: Checker, layer: LayerPass) -> None:
    mask, grads = layer.forward.get("mask"), layer.backward
    grad_a = grads.get("dL/da")
    if mask is None:
        if check.whole("dL/dx", grad_a):
            check.compare(layer.place, "dL/dx", grads.get("dL/dx"), grad_a, "dL/dx = dL/da")
        return
    p = layer.config.get("rate", 0.5)
    if check.whole("dL/dx", grad_a, mask):
        check.compare(
            layer.place,
            "dL/dx",
            grads.get("dL/dx"),
            grad_a * mask / (1.0 - p),
            f"dL/dx = dL/da ⊙ m/(1 - {p:g})",
        )


def annealed_std(config: dict, step: int, total_steps: int) -> float:
    """σ(t), progress r = t/(T - 1) clamped to [0, 1]: constant σ₀; linear σ₀ + (σ₁ - σ₀)r;
    cosine σ₁ + (σ₀ - σ₁)(1 + cos πr)/2; exponential σ₀(σ₁/σ₀)^r."""
    start, end, schedule = config.get("std"), config.get("end_std"), config.get("schedule")
    if schedule in (None, "constant"):
        return start
    r = min(max(step / max(total_steps - 1, 1), 0.0), 1.0)
    if schedule == "linear":
        return start + (end - start) * r
    if schedule == "cosine":
        return end + (start - end) * (1.0 + math.cos(math.pi * r)) / 2.0
    return start * (end / start) ** r


def noise_forward(check: Checker, layer: LayerPass) -> None:
    values, place = layer.forward, layer.place
    x, noise = values.get("x"), values.get("noise")
    if noise is None:
        if check.whole("a", x):
            check.compare(place, "a", values.get("a"), x, "a = x (no noise: evaluation)")
        return
    if "std" in values:
        check.compare(
            place,
            "std",
            values["std"],
            annealed_std(layer.config, layer.step, layer.total_steps),
            f"σ(t) at step {layer.step} of {layer.total_steps}, "
            f"schedule {layer.config.get('schedule', 'constant')}",
        )
    if check.whole("a", x, noise):
        check.compare(place, "a", values.get("a"), x + noise, "a = x + noise")


def noise_backward(check: Checker, layer: LayerPass) -> None:
    grads = layer.backward
    if check.whole("dL/dx", grads.get("dL/da")):
        check.compare(layer.place, "dL/dx", grads.get("dL/dx"), grads["dL/da"], "dL/dx = dL/da")


# --- normalizations ------------------------------------------------------------------------


def _normalize_forward(check: Checker, layer: LayerPass, axis: int) -> None:
    """μ, σ² over ``axis``, x̂ and out (statistics as recorded when they are not batch ones)."""
    values, place, config = layer.forward, layer.place, layer.config
    eps = config.get("eps", 1e-5)
    x = values.get("x")
    if "mean" in values and check.whole("mean", x):
        check.compare(place, "mean", values["mean"], x.mean(axis=axis), "μ = mean of x")
        check.compare(
            place, "var", values.get("var"), x.var(axis=axis), "σ² = mean of (x - μ)² (biased)"
        )
    if "mean" in values:
        mean, var, how = values.get("mean"), values.get("var"), "x̂ = (x - μ)/√(σ² + ε)"
    else:  # batch_norm in evaluation
        mean, var = values.get("running_mean"), values.get("running_var")
        how = "x̂ = (x - running_mean)/√(running_var + ε) (evaluation)"
    if check.whole("x_hat", x, mean, var):
        if axis == 1:
            mean, var = np.asarray(mean)[:, None], np.asarray(var)[:, None]
        check.compare(place, "x_hat", values.get("x_hat"), (x - mean) / np.sqrt(var + eps), how)
    x_hat = values.get("x_hat")
    if config.get("affine", layer.kind != "instance_norm"):
        gamma, beta = layer.params.get("gamma"), layer.params.get("beta")
        if check.whole("out", x_hat, gamma, beta):
            check.compare(place, "out", values.get("out"), gamma * x_hat + beta, "out = γ ⊙ x̂ + β")
    elif check.whole("out", x_hat):
        check.compare(place, "out", values.get("out"), x_hat, "out = x̂ (no affine)")


def _normalize_backward(check: Checker, layer: LayerPass, axis: int, train: bool) -> None:
    values, grads, place, config = layer.forward, layer.backward, layer.place, layer.config
    grad_out, x_hat = grads.get("dL/dout"), values.get("x_hat")
    affine = config.get("affine", layer.kind != "instance_norm")
    if affine:
        gamma = layer.params.get("gamma")
        per_feature = layer.kind != "instance_norm"
        if check.whole("dL/dgamma", grad_out, x_hat):
            product = grad_out * x_hat
            expected = product.sum(axis=0) if per_feature else np.array([product.sum()])
            check.compare(
                place, "dL/dgamma", grads.get("dL/dgamma"), expected, "dL/dγ = Σ dL/dout ⊙ x̂"
            )
        if check.whole("dL/dbeta", grad_out):
            expected = grad_out.sum(axis=0) if per_feature else np.array([grad_out.sum()])
            check.compare(place, "dL/dbeta", grads.get("dL/dbeta"), expected, "dL/dβ = Σ dL/dout")
        if check.whole("dL/dx_hat", grad_out, gamma):
            check.compare(
                place, "dL/dx_hat", grads.get("dL/dx_hat"), grad_out * gamma, "dL/dx̂ = dL/dout ⊙ γ"
            )
    elif check.whole("dL/dx_hat", grad_out):
        check.compare(place, "dL/dx_hat", grads.get("dL/dx_hat"), grad_out, "dL/dx̂ = dL/dout")
    eps = config.get("eps", 1e-5)
    g = grads.get("dL/dx_hat")
    var = values.get("var" if train else "running_var")
    if not check.whole("dL/dx", g, x_hat, var):
        return
    std = np.sqrt(np.asarray(var) + eps)
    if axis == 1:
        std = std[:, None]
    if not train:
        check.compare(
            place, "dL/dx", grads.get("dL/dx"), g / std, "dL/dx = dL/dx̂/√(running_var + ε)"
        )
        return
    n = x_hat.shape[axis]
    total = g.sum(axis=axis, keepdims=True)
    projected = np.sum(g * x_hat, axis=axis, keepdims=True)
    check.compare(
        place,
        "dL/dx",
        grads.get("dL/dx"),
        (n * g - total - x_hat * projected) / (n * std),
        "dL/dx = (n·dL/dx̂ - Σ dL/dx̂ - x̂ ⊙ Σ dL/dx̂ ⊙ x̂)/(n·√(σ² + ε))",
    )


def sample_norm_forward(check: Checker, layer: LayerPass) -> None:
    _normalize_forward(check, layer, axis=1)


def sample_norm_backward(check: Checker, layer: LayerPass) -> None:
    _normalize_backward(check, layer, axis=1, train=True)


def batch_norm_forward(check: Checker, layer: LayerPass) -> None:
    _normalize_forward(check, layer, axis=0)
    values, place = layer.forward, layer.place
    if "mean" not in values:
        return
    if layer.previous is None:
        check.skip("batch_norm running estimates: the step before is not traced", 2)
        return
    m = layer.config.get("momentum", 0.1)
    mean, var, x = values.get("mean"), values.get("var"), values.get("x")
    previous_mean = layer.previous.get("running_mean", 0.0)
    previous_var = layer.previous.get("running_var", 1.0)
    if check.whole("running_mean", mean, previous_mean):
        check.compare(
            place,
            "running_mean",
            values.get("running_mean"),
            (1.0 - m) * previous_mean + m * mean,
            f"running_mean = (1 - {m:g})·running_mean_prev + {m:g}·μ",
        )
    if check.whole("running_var", var, previous_var, x):
        n = x.shape[0]
        check.compare(
            place,
            "running_var",
            values.get("running_var"),
            (1.0 - m) * previous_var + m * var * n / (n - 1),
            f"running_var = (1 - {m:g})·running_var_prev + {m:g}·σ²·N/(N - 1)",
        )


def batch_norm_backward(check: Checker, layer: LayerPass) -> None:
    _normalize_backward(check, layer, axis=0, train="mean" in layer.forward)


LAYERS = {
    "dense": (dense_forward, dense_backward),
    "weight_norm": (weight_norm_forward, weight_norm_backward),
    "dropout": (dropout_forward, dropout_backward),
    "gaussian_noise": (noise_forward, noise_backward),
    "layer_norm": (sample_norm_forward, sample_norm_backward),
    "instance_norm": (sample_norm_forward, sample_norm_backward),
    "batch_norm": (batch_norm_forward, batch_norm_backward),
}

# The image layers' rules live in their own module, which builds on the helpers above.
from engine.verify.images import IMAGE_LAYERS  # noqa: E402

LAYERS.update(IMAGE_LAYERS)
