"""Gradient checks: analytic gradients against central finite differences.

    ∂f/∂θ_i ≈ (f(θ + h·e_i) - f(θ - h·e_i)) / 2h           (error O(h²))
    relative error = |analytic - numeric| / max(|analytic| + |numeric|, floor)

With a small h the estimate has two errors: truncation, O(h²), and rounding, about
ε·|f|/h (f is computed to ε·|f|, ε = 2⁻⁵², and the division by 2h magnifies it). On a wide
layer many gradient entries are small, and rounding alone makes them "fail" (xor with 1000
hidden units: entries of 6e-6 missed by 5e-11, a relative 4e-6; the miss falls as 1/h when h
grows, which a wrong formula's would not). So ``check_network`` estimates every entry that
misses by more than RECHECK once more, with Richardson's extrapolation at a larger step,
    D(H) = (f(θ + H·e_i) - f(θ - H·e_i)) / 2H,   ∂f/∂θ_i ≈ (4·D(H/2) - D(H)) / 3   (error O(H⁴))
and keeps the better of the two estimates, not counting in the second the part of the miss
that its own rounding bound explains (about 4·ε·|f|/H, a hundred times smaller than at h):
a wrong gradient misses with both.

One check serves every component: ``check_layer`` for a layer (through a random upstream
gradient G, f = Σ layer(x) ⊙ G), ``check_loss`` for a loss, ``check_scenario`` for a whole
network at its initial parameters. Randomness (dropout masks, noise) is replayed identically
for every evaluation by restarting the context's generators.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.components import Activation, BuildContext, Layer, Loss

DEFAULT_STEP = 1e-6
DEFAULT_TOLERANCE = 1e-6
FLOOR = 1e-8
#: Entries whose relative error exceeds this are estimated again at a larger step.
RECHECK = 1e-8
#: The larger step H of the second estimate.
RECHECK_STEP = 1e-4
#: Multiple of ε·|f| taken as f's rounding error (a margin: a long sum rounds more than once).
ROUNDING = 4


def relative_error(analytic: np.ndarray, numeric: np.ndarray, floor: float = FLOOR) -> float:
    analytic, numeric = np.asarray(analytic), np.asarray(numeric)
    if analytic.size == 0:
        return 0.0
    scale = np.maximum(np.abs(analytic) + np.abs(numeric), floor)
    return float(np.max(np.abs(analytic - numeric) / scale))


def numerical_gradient(
    f, array: np.ndarray, step: float = DEFAULT_STEP, max_entries: int | None = None, rng=None
):
    """Central differences of scalar ``f()`` w.r.t. ``array`` (perturbed in place, restored).

    With ``max_entries``, only that many entries (chosen by ``rng``) are checked; returns the
    gradient estimate and the flat indices that were checked.
    """
    flat = array.reshape(-1)
    indices = np.arange(flat.size)
    if max_entries is not None and flat.size > max_entries:
        rng = rng or np.random.default_rng(0)
        indices = np.sort(rng.choice(flat.size, size=max_entries, replace=False))
    grad = np.zeros(flat.size)
    for i in indices:
        original = flat[i]
        flat[i] = original + step
        plus = f()
        flat[i] = original - step
        minus = f()
        flat[i] = original
        grad[i] = (plus - minus) / (2.0 * step)
    return grad.reshape(array.shape), indices


@dataclass
class CheckResult:
    name: str
    error: float
    checked: int
    total: int

    def ok(self, tolerance: float = DEFAULT_TOLERANCE) -> bool:
        return self.error <= tolerance


def check_layer(
    layer: Layer, x: np.ndarray, training: bool = True, seed: int = 0, step: float = DEFAULT_STEP
) -> list[CheckResult]:
    """Check dL/dx and every parameter gradient of a built layer at input ``x``; a bare
    activation (``Swish(SwishConfig())``) is checked as a layer of its own, a = f(z)."""
    if isinstance(layer, Activation):
        from engine.network import ActivationLayer

        activation = layer
        layer = ActivationLayer(activation.config, activation)
        layer.name = activation.config.type
    ctx: BuildContext | None = getattr(layer, "ctx", None)
    upstream = np.random.default_rng(seed).normal(size=layer.forward(x, training).shape)

    def objective():
        if ctx is not None:
            ctx.reseed()
        return float(np.sum(layer.forward(x, training) * upstream))

    objective()
    grad_x = layer.backward(upstream)
    analytic = {f"{layer.name}.{name}": p.grad.copy() for name, p in layer.params.items()}
    results = []
    numeric_x, _ = numerical_gradient(objective, x, step)
    results.append(
        CheckResult(f"{layer.name}: dL/dx", relative_error(grad_x, numeric_x), x.size, x.size)
    )
    for p in layer.params.values():
        numeric, _ = numerical_gradient(objective, p.value, step)
        results.append(
            CheckResult(p.key, relative_error(analytic[p.key], numeric), p.value.size, p.value.size)
        )
    return results


def check_loss(
    loss: Loss, prediction: np.ndarray, target: np.ndarray, step: float = DEFAULT_STEP
) -> CheckResult:
    """Check dL/dprediction of a loss."""
    loss.forward(prediction, target)
    analytic = loss.backward().copy()
    numeric, _ = numerical_gradient(
        lambda: float(loss.forward(prediction, target)), prediction, step
    )
    return CheckResult(
        f"{loss.config.type}: dL/dprediction",
        relative_error(analytic, numeric),
        prediction.size,
        prediction.size,
    )


def check_network(
    network,
    loss: Loss,
    x: np.ndarray,
    target: np.ndarray,
    ctx: BuildContext,
    max_entries: int = 200,
    step: float = DEFAULT_STEP,
) -> list[CheckResult]:
    """Every parameter's gradient of loss(network(x), target), at the current parameters."""

    def objective():
        ctx.reseed()
        return float(loss.forward(network.forward(x, training=True), target))

    objective()
    network.backward(loss.backward())
    analytic = {p.key: p.grad.copy() for p in network.parameters}
    results = []
    rng = np.random.default_rng(0)
    for p in network.parameters:
        numeric, indices = numerical_gradient(objective, p.value, step, max_entries, rng)
        flat_a, flat_n = analytic[p.key].reshape(-1)[indices], numeric.reshape(-1)[indices]
        errors = entry_errors(flat_a, flat_n)
        again = np.flatnonzero(errors > RECHECK)
        if again.size:  # rounding or a wrong gradient: a second estimate tells them apart
            second, rounding = extrapolated_gradient(objective, p.value, indices[again])
            errors[again] = np.minimum(
                errors[again], entry_errors(flat_a[again], second, rounding=rounding)
            )
        error = float(errors.max()) if errors.size else 0.0
        results.append(CheckResult(p.key, error, len(indices), p.value.size))
    return results


def entry_errors(
    analytic: np.ndarray, numeric: np.ndarray, floor: float = FLOOR, rounding=0.0
) -> np.ndarray:
    """The relative error of each entry (``relative_error`` is their maximum), not counting
    the part of each difference that ``rounding`` (a bound per entry) explains."""
    scale = np.maximum(np.abs(analytic) + np.abs(numeric), floor)
    return np.maximum(np.abs(analytic - numeric) - rounding, 0.0) / scale


def extrapolated_gradient(f, array: np.ndarray, flat_indices, step: float = RECHECK_STEP):
    """(4·D(H/2) - D(H)) / 3 at the given flat indices of ``array`` (truncation O(H⁴)), and
    the bound of its rounding error, ROUNDING·ε·max|f|/H·(4·2 + 1)/3."""
    flat = array.reshape(-1)
    estimates, rounding = np.zeros(len(flat_indices)), np.zeros(len(flat_indices))
    epsilon = np.finfo(np.float64).eps
    for k, i in enumerate(flat_indices):
        original = flat[i]
        central, largest = [], 0.0
        for h in (step, step / 2):
            flat[i] = original + h
            plus = f()
            flat[i] = original - h
            minus = f()
            central.append((plus - minus) / (2.0 * h))
            largest = max(largest, abs(plus), abs(minus))
        flat[i] = original
        estimates[k] = (4.0 * central[1] - central[0]) / 3.0
        rounding[k] = ROUNDING * epsilon * largest / step * 3.0  # (4·2 + 1) / 3 = 3
    return estimates, rounding


def check_scenario(
    scenario, max_entries: int = 200, precision: str | None = "float64"
) -> list[CheckResult]:
    """Gradcheck a scenario at its initial parameters, as its kind defines the objectives
    (a supervised network's loss; a GAN's L_G through D and L_D).

    Built in float64 whatever the scenario's ``precision``: with float32's ~7 digits, the
    differences of the central difference formula would be mostly rounding error.
    ``precision=None`` keeps the scenario's.
    """
    return scenario.kind.gradcheck(scenario, max_entries, precision)
