"""Formulas with the trace's numbers substituted, for the static walkthrough.

    loss_lines(loss, record)            L = 0.5 · Σ (ŷ − y)² = 0.5 · ((0.332906 − 0.01)² + …)
                                        ∂L/∂ŷ₁ = 2 · 0.5 · (ŷ₁ − y₁) = 1 × (0.332906 − 0.01)
    derivative(activation, j, z, a, f') f'(z₁) = a₁(1 − a₁) = 0.332906 × (1 − 0.332906)

A line is written only when its numbers give the trace's own value (to float precision), so
every equation is one a reader can check by hand; otherwise the caller keeps the plain value.
The step player (``player``) writes its equations with the same functions, so the page's
two views of a step cannot disagree.
"""

from __future__ import annotations

import math

import numpy as np

from engine.report.numbers import factor, fmt, sub


def loss_lines(loss: dict | None, record: dict, prediction, truth, grad):
    """(the loss's value with its numbers, ∂L/∂ŷⱼ derived for sample 1) as lists of lines;
    None when the loss has no substituted form here (or the numbers do not give the trace's
    values). ``loss`` is the scenario's loss config."""
    if not all(isinstance(v, np.ndarray) for v in (prediction, truth, grad)):
        return None
    if prediction.ndim != 2 or prediction.shape != truth.shape:
        return None
    squared = squared_error(loss or {}, record, prediction, truth, grad)
    if squared is None:
        return None
    gradient = [f"sample 1 of {len(prediction)}:"] if len(prediction) > 1 else []
    for j in range(prediction.shape[1]):
        gradient.append(f"∂L/∂ŷ{sub(j)} = {squared['derivative'](j)}{fmt(grad[0, j])}")
    return squared["loss"].split("\n"), gradient


def squared_error(loss: dict, record: dict, prediction, truth, dL) -> dict | None:
    """The mean squared error with its numbers, L = s · Σ (ŷ − y)² (÷ N for the mean), and
    ∂L/∂ŷ = 2s(ŷ − y) (÷ N); written only when the numbers give the trace's own values."""
    if (loss or {}).get("type") != "mse" or record.get("loss") not in (None, "mse"):
        return None
    scale, mean = float(loss.get("scale", 1.0)), loss.get("reduction", "mean") == "mean"
    count = prediction.size
    divide = count if mean else 1
    with np.errstate(all="ignore"):  # a diverged step's NaN/inf: no equation, no warning
        value = scale * float(np.sum((prediction - truth) ** 2)) / divide
    slope = 2 * scale / divide
    if not np.isclose(value, record["value"], rtol=1e-9, atol=0):
        return None
    if not np.allclose(slope * (prediction - truth), dL, rtol=1e-9, atol=1e-300):
        return None
    head = f"{fmt(scale)} · " if scale != 1 else ""
    tail = f" / {count}" if mean else ""
    text = f"L = {head}Σ (ŷ − y)²{tail}"
    if count <= 8:
        terms = " + ".join(
            f"({fmt(p)} − {factor(t)})²" for p, t in zip(prediction.ravel(), truth.ravel())
        )
        text += f"\n  = {head}({terms}){tail}"
    text += f"\n  = {fmt(record['value'])}"

    def derivative(j: int, n: int = 0) -> str:
        return (
            f"2 · {fmt(scale)}{tail} · (ŷ{sub(j)} − y{sub(j)}) = {fmt(slope)} × "
            f"({fmt(prediction[n, j])} − {factor(truth[n, j])}) = "
        )

    return {"loss": text, "derivative": derivative}


#: activation -> (rule, f'(z) from z and a, the rule with numbers)
ACTIVATION_DERIVATIVES = {
    "sigmoid": ("a(1 − a)", lambda z, a: a * (1 - a), lambda z, a: f"{fmt(a)} × (1 − {fmt(a)})"),
    "tanh": ("1 − a²", lambda z, a: 1 - a * a, lambda z, a: f"1 − {factor(a)}²"),
}


def _sigma(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


def _smooth_rule(name: str):
    """(rule, value, numbers) for sigmoid and tanh, subscripted for unit j."""
    rule, value, numbers = ACTIVATION_DERIVATIVES[name]

    def write(j, z, a, options):
        return rule.replace("a", f"a{sub(j)}"), value(z, a), numbers(z, a)

    return write


def _relu(j, z, a, options):
    s = sub(j)
    return f"1 if z{s} > 0 else 0", float(z > 0), _which(s, z)


def _leaky_relu(j, z, a, options):
    s, slope = sub(j), float(options.get("negative_slope", 0.01))
    return f"1 if z{s} > 0 else α", 1.0 if z > 0 else slope, _which(s, z) + f", α = {fmt(slope)}"


def _elu(j, z, a, options):
    s, alpha = sub(j), float(options.get("alpha", 1.0))
    rule = f"1 if z{s} > 0 else a{s} + α"
    if z > 0:
        return rule, 1.0, _which(s, z)
    return rule, a + alpha, f"{fmt(a)} + {factor(alpha)}"


def _softplus(j, z, a, options):
    s, beta = sub(j), float(options.get("beta", 1.0))
    return f"σ(β·z{s})", _sigma(beta * z), f"σ({fmt(beta)} × {factor(z)})"


def _silu(j, z, a, options):
    s, sig = sub(j), _sigma(z)
    value = sig + z * sig * (1.0 - sig)
    numbers = f"{fmt(sig)} + {factor(z)} × {fmt(sig)} × (1 − {fmt(sig)})"
    return f"σ(z{s}) + z{s}·σ(z{s})(1 − σ(z{s}))", value, numbers


def _which(s: str, z: float) -> str:
    return f"z{s} = {fmt(z)} {'>' if z > 0 else '≤'} 0"


#: activation -> write(j, z, a, options) -> (rule, its value, the rule with numbers)
RULES = {
    "sigmoid": _smooth_rule("sigmoid"),
    "tanh": _smooth_rule("tanh"),
    "relu": _relu,
    "leaky_relu": _leaky_relu,
    "elu": _elu,
    "softplus": _softplus,
    "silu": _silu,
}
PIECEWISE = ("relu", "leaky_relu")


def derivative(activation: dict | None, j: int, z: float, a: float, local: float) -> str | None:
    """What follows "f'(zⱼ) = " for unit j: the rule, its numbers and the trace's value, e.g.
    "a₁(1 − a₁) = 0.332906 × (1 − 0.332906) = 0.22208"; for relu-like rules the branch and
    why, "1 if z₁ > 0 else 0 = 1 (z₁ = 0.525 > 0)". None for an activation without a rule here
    (or numbers that do not give the trace's f'(z))."""
    name = (activation or {}).get("type")
    write = RULES.get(name)
    if write is None or not all(math.isfinite(v) for v in (z, a, local)):
        return None
    rule, value, numbers = write(j, float(z), float(a), activation)
    if not math.isclose(value, float(local), rel_tol=1e-9, abs_tol=1e-12):
        return None
    if name in PIECEWISE or (name == "elu" and z > 0):
        return f"{rule} = {fmt(local)} ({numbers})"
    return f"{rule} = {numbers} = {fmt(local)}"
