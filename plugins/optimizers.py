"""Built-in optimizers, in order of increasing complexity (as tinygrad's optim.py):
sgd, rmsprop, adagrad, adam, adamw.

Each follows torch.optim's update rule exactly (same defaults, same eps placement, same bias
correction), written out in its ``update_rule`` (the report shows it, and each traced entry's
update with its numbers from ``worked_update``). ``g`` is the gradient, ``p`` the parameter,
``t`` the 1-based step count of that parameter, ``lr`` the learning rate of this step (after
the schedule). Updates happen in place.

Every parameter keeps its state arrays (named as in the trace: ``velocity``, ``m``, ``v``...)
and scratch arrays of its shape, allocated on its first step; later steps update them in place
and write intermediate products into the scratch arrays (numpy's ``out=``), so the step run
at every training step allocates (almost) no new arrays.

Every rule here is elementwise: each number's update depends on its own gradient and state
only. So the parameters of a network are updated together, as one long vector
(``ParameterGroup``): the same arithmetic on the same numbers, in one pass instead of one per
parameter. On a small network that is most of the optimizer's time, as each pass is a dozen
numpy calls whatever the size of the array. ``state(key)`` still answers per parameter.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field, model_validator

from engine import hookimpl
from engine.components import Optimizer, OptimizerConfig, Parameter, UpdateEntry, WorkedUpdate
from engine.i18n import _

Beta = Annotated[float, Field(ge=0, lt=1)]


class ParameterGroup:
    """Parameters that live in one vector: each ``p.value`` becomes a view of ``vector.value``
    (same numbers, same shape), and ``gather`` copies each ``p.grad`` into ``vector.grad``.

    An elementwise update applied to ``vector`` updates every parameter in place.
    """

    def __init__(self, params: list[Parameter]):
        self.params = list(params)
        self.keys = [p.key for p in params]
        values = np.concatenate([p.value.ravel() for p in params])
        self.vector = Parameter("+".join(self.keys), values, np.empty_like(values))
        self.slices, self.views, self.grad_views = [], [], []
        start = 0
        for p in params:
            piece = slice(start, start + p.value.size)
            start = piece.stop
            self.slices.append(piece)
            self.views.append(values[piece].reshape(p.value.shape))
            self.grad_views.append(self.vector.grad[piece].reshape(p.value.shape))
        for p, view in zip(params, self.views):
            p.value = view

    @staticmethod
    def possible(params: list[Parameter]) -> bool:
        """Two or more parameters, all with gradients, of one float dtype."""
        return (
            len(params) > 1
            and all(p.grad is not None for p in params)
            and len({p.value.dtype for p in params}) == 1
        )

    def holds(self, params: list[Parameter]) -> bool:
        """Still the same parameters, each still a view of the vector, each with a gradient."""
        if len(params) != len(self.params):
            return False
        for p, q, view in zip(params, self.params, self.views):
            if p is not q or p.value is not view or p.grad is None:
                return False
        return True

    def gather(self) -> Parameter:
        for p, grad in zip(self.params, self.grad_views):
            np.copyto(grad, p.grad)
        return self.vector

    def part(self, key: str, state: dict[str, Any]) -> dict[str, Any]:
        """Parameter ``key``'s share of the vector's state (arrays cut and reshaped, views)."""
        index = self.keys.index(key)
        piece, shape = self.slices[index], self.views[index].shape
        return {
            name: value[piece].reshape(shape) if isinstance(value, np.ndarray) else value
            for name, value in state.items()
        }


class BufferedOptimizer(Optimizer):
    """An elementwise optimizer whose per-parameter state is a dict of arrays updated in place.

    Subclasses define ``update(params, lr)``, the rule for a list of parameters, and, to use
    ``state_of``, ``new_state(value)`` (the state before the first step). ``step`` hands
    ``update`` the parameters as one ``ParameterGroup`` vector when it can (every parameter
    has a gradient), else one by one.
    Besides the state, each parameter gets scratch arrays of its shape (``scratch``) for
    intermediate products; they are not part of the state and never reach the trace.
    """

    def __init__(self, config):
        super().__init__(config)
        self._scratch: dict[str, list[np.ndarray]] = {}
        self._group: ParameterGroup | None = None

    def update(self, params: list[Parameter], lr: float) -> None:
        raise NotImplementedError

    def step(self, params, lr):
        group = self._group
        if group is not None and not group.holds(params):
            self._ungroup()
            group = None
        if group is None and not self.states and ParameterGroup.possible(params):
            group = self._group = ParameterGroup(params)  # from the first step on
        if group is not None:
            self.update([group.gather()], lr)
        else:
            self.update(params, lr)

    def _ungroup(self) -> None:
        """Back to one state per parameter (a gradient went missing, a value was replaced)."""
        group, self._group = self._group, None
        state = self.states.pop(group.vector.key, None)
        if state is not None:
            for key in group.keys:
                self.states[key] = {
                    name: value.copy() if isinstance(value, np.ndarray) else value
                    for name, value in group.part(key, state).items()
                }
        self._scratch.pop(group.vector.key, None)

    def new_state(self, value: np.ndarray) -> dict[str, Any]:
        raise NotImplementedError

    def state_of(self, p: Parameter) -> dict[str, Any]:
        """The state of ``p``, created by ``new_state`` on its first step."""
        state = self.states.get(p.key)
        if state is None:
            state = self.states[p.key] = self.new_state(p.value)
        return state

    def scratch(self, p: Parameter, count: int = 1) -> list[np.ndarray]:
        """``count`` arrays shaped like ``p``, reused every step (their contents are junk)."""
        arrays = self._scratch.get(p.key)
        if arrays is None or len(arrays) < count:
            arrays = self._scratch[p.key] = [np.empty_like(p.value) for _ in range(count)]
        return arrays[:count]

    def state(self, key: str) -> dict[str, Any]:
        """A copy of the state after the last step, so later steps do not change it."""
        state = self.states.get(key)
        group = self._group
        if state is None and group is not None and key in group.keys:
            state = group.part(key, self.states.get(group.vector.key, {}))
        return {
            name: value.copy() if isinstance(value, np.ndarray) else value
            for name, value in (state or {}).items()
        }


def with_l2(p: Parameter, weight_decay: float, out: np.ndarray) -> np.ndarray:
    """The gradient with the L2 penalty, g + λ·p, written into ``out``; the gradient itself
    (not a copy) when λ = 0."""
    if not weight_decay:
        return p.grad
    np.multiply(p.value, weight_decay, out=out)
    out += p.grad
    return out


def worked_gradient(entry: UpdateEntry, weight_decay: float) -> tuple[str, str, float]:
    """The gradient a rule uses, as (symbol, numbers, value): g, or g + λ·p with an L2 penalty."""
    if not weight_decay:
        return "g", entry.factor(entry.g), entry.g
    return (
        f"(g + λ·{entry.name})",
        f"({entry.number(entry.g)} + {entry.number(weight_decay)} × {entry.factor(entry.p)})",
        entry.g + weight_decay * entry.p,
    )


def worked(entry: UpdateEntry, rule: str, numbers: str, value: float) -> WorkedUpdate:
    """ "W₁ ← W₁ − lr·g = 0.5 − 0.1 × 0.2 = 0.48" from the rule's right-hand side (``rule``,
    with ``p`` the entry's name) and the same with numbers."""
    name = entry.name
    return WorkedUpdate(
        f"{name} ← {name} − {rule} = {entry.number(entry.p)} − {numbers} = {entry.number(value)}",
        value,
    )


# --- sgd -------------------------------------------------------------------------------------


class SgdConfig(OptimizerConfig):
    type: Literal["sgd"] = "sgd"
    lr: float = Field(
        1e-3, gt=0, description="Learning rate: how far each step moves against the gradient."
    )
    momentum: float = Field(
        0.0,
        ge=0,
        description="Momentum factor μ: how much of the previous step's direction is kept "
        "(0: plain gradient descent; 0.9 is common).",
    )
    dampening: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Dampening τ: the new gradient enters the momentum buffer v scaled by "
        "(1 - τ), from the second step on.",
    )
    nesterov: bool = Field(
        False,
        description="Nesterov momentum: step along g + μ·v instead of v, a look-ahead "
        "(needs momentum > 0 and dampening 0).",
    )
    weight_decay: float = Field(
        0.0,
        ge=0,
        description="L2 penalty λ added to the gradient, g ← g + λ·p: pulls weights towards 0.",
    )

    @model_validator(mode="after")
    def _nesterov_needs_momentum(self):
        if self.nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise ValueError(_("nesterov momentum requires momentum > 0 and dampening = 0"))
        return self


class Sgd(BufferedOptimizer):
    """Stochastic gradient descent (torch.optim.SGD), with momentum, dampening, Nesterov
    momentum and an L2 penalty as options.

    State: ``velocity`` v (when momentum > 0).
    """

    update_rule = (
        "g ← g + λ·p                               (weight_decay λ)\n"
        "v ← g at t = 1, else μ·v + (1 − τ)·g      (momentum μ, dampening τ)\n"
        "g ← g + μ·v if nesterov, else v           (when μ > 0)\n"
        "p ← p − lr·g"
    )

    def worked_update(self, entry):
        config = self.config
        symbol, numbers, g = worked_gradient(entry, config.weight_decay)
        lr = entry.number(entry.lr)
        if not config.momentum:
            return worked(entry, f"lr·{symbol}", f"{lr} × {numbers}", entry.p - entry.lr * g)
        v = entry.state.get("velocity")
        if v is None:
            return None
        if config.nesterov:
            mu = entry.number(config.momentum)
            return worked(
                entry,
                f"lr·({symbol} + μ·v)",
                f"{lr} × ({numbers} + {mu} × {entry.factor(v)})",
                entry.p - entry.lr * (g + config.momentum * v),
            )
        return worked(entry, "lr·v", f"{lr} × {entry.factor(v)}", entry.p - entry.lr * v)

    def update(self, params, lr):
        config = self.config
        momentum, dampening = config.momentum, config.dampening
        for p in params:
            if p.grad is None:
                continue
            (work,) = self.scratch(p)
            g = with_l2(p, config.weight_decay, work)
            if momentum:
                state = self.states.get(p.key)
                if state is None:  # b_1 = g: a copy, as g may be the gradient or scratch
                    velocity = g.copy()
                    self.states[p.key] = {"velocity": velocity}
                else:
                    velocity = state["velocity"]
                    velocity *= momentum
                    if dampening:
                        velocity += (1.0 - dampening) * g
                    else:
                        velocity += g
                if config.nesterov:
                    # g + μ·b, built in ``work`` (which may already hold g)
                    if g is not work:
                        np.copyto(work, g)
                    work += momentum * velocity
                    g = work
                else:
                    g = velocity
            np.multiply(g, lr, out=work)  # lr·g
            p.value -= work


# --- rmsprop ---------------------------------------------------------------------------------


class RmspropConfig(OptimizerConfig):
    type: Literal["rmsprop"] = "rmsprop"
    lr: float = Field(1e-2, gt=0, description="Learning rate: the size of each step.")
    alpha: float = Field(
        0.99,
        ge=0,
        le=1,
        description="Smoothing constant α of the running average of squared gradients "
        "(closer to 1: a longer memory).",
    )
    eps: float = Field(
        1e-8,
        ge=0,
        description="ε added to the root of the average (after the square root) so the "
        "division never divides by 0.",
    )
    momentum: float = Field(
        0.0,
        ge=0,
        description="Momentum factor μ applied to the scaled step (0: no momentum buffer).",
    )
    centered: bool = Field(
        False,
        description="Centered RMSprop: divide by an estimate of the gradient's variance, "
        "E[g²] - E[g]², instead of E[g²].",
    )
    weight_decay: float = Field(
        0.0, ge=0, description="L2 penalty λ added to the gradient, g ← g + λ·p."
    )


class Rmsprop(BufferedOptimizer):
    """RMSprop (torch.optim.RMSprop): divide the step by a running root mean square of the
    gradients, so every weight moves at a similar pace.

    State: ``square_avg`` s; ``grad_avg`` ḡ (centered only); ``momentum_buffer`` u
    (momentum > 0 only).
    """

    update_rule = (
        "g ← g + λ·p                               (weight_decay λ)\n"
        "s ← α·s + (1 − α)·g²                      (square_avg, s₀ = 0)\n"
        "ṽ ← s,  or if centered:\n"
        "    ḡ ← α·ḡ + (1 − α)·g                   (grad_avg, ḡ₀ = 0)\n"
        "    ṽ ← s − ḡ²\n"
        "when momentum μ > 0:\n"
        "    u ← μ·u + g / (√ṽ + ε)                (momentum_buffer, u₀ = 0)\n"
        "    p ← p − lr·u\n"
        "otherwise:\n"
        "    p ← p − lr·g / (√ṽ + ε)"
    )

    def worked_update(self, entry):
        config = self.config
        lr = entry.number(entry.lr)
        if config.momentum > 0:
            u = entry.state.get("momentum_buffer")
            if u is None:
                return None
            return worked(entry, "lr·u", f"{lr} × {entry.factor(u)}", entry.p - entry.lr * u)
        symbol, numbers, g = worked_gradient(entry, config.weight_decay)
        s = entry.state.get("square_avg")
        if s is None:
            return None
        if config.centered:
            mean = entry.state.get("grad_avg")
            if mean is None:
                return None
            root, root_numbers = "√(s − ḡ²)", f"√({entry.number(s)} − {entry.factor(mean)}²)"
            denominator = math.sqrt(s - mean * mean) + config.eps
        else:
            root, root_numbers = "√s", f"√{entry.number(s)}"
            denominator = math.sqrt(s) + config.eps
        return worked(
            entry,
            f"lr·{symbol} / ({root} + ε)",
            f"{lr} × {numbers} / ({root_numbers} + {entry.number(config.eps)})",
            entry.p - entry.lr * g / denominator,
        )

    def new_state(self, value):
        state = {"square_avg": np.zeros_like(value)}
        if self.config.centered:
            state["grad_avg"] = np.zeros_like(value)
        if self.config.momentum > 0:
            state["momentum_buffer"] = np.zeros_like(value)
        return state

    def update(self, params, lr):
        config = self.config
        alpha, eps, momentum = config.alpha, config.eps, config.momentum
        for p in params:
            if p.grad is None:
                continue
            state = self.state_of(p)
            grad_buffer, work = self.scratch(p, 2)
            g = with_l2(p, config.weight_decay, grad_buffer)
            square_avg = state["square_avg"]
            square_avg *= alpha  # s ← α·s + (1 - α)·g²
            np.multiply(g, g, out=work)
            work *= 1.0 - alpha
            square_avg += work
            if config.centered:
                grad_avg = state["grad_avg"]
                grad_avg *= alpha  # ḡ ← α·ḡ + (1 - α)·g
                np.multiply(g, 1.0 - alpha, out=work)
                grad_avg += work
                np.multiply(grad_avg, grad_avg, out=work)  # ṽ = s - ḡ²
                np.subtract(square_avg, work, out=work)
                np.sqrt(work, out=work)
            else:
                np.sqrt(square_avg, out=work)
            work += eps  # work = √ṽ + ε
            np.divide(g, work, out=work)  # g / (√ṽ + ε)
            if momentum > 0:
                buffer = state["momentum_buffer"]
                buffer *= momentum
                buffer += work
                np.multiply(buffer, lr, out=work)
            else:
                work *= lr
            p.value -= work


# --- adagrad ---------------------------------------------------------------------------------


class AdagradConfig(OptimizerConfig):
    type: Literal["adagrad"] = "adagrad"
    lr: float = Field(1e-2, gt=0, description="Learning rate: the size of each step.")
    lr_decay: float = Field(
        0.0,
        ge=0,
        description="Learning-rate decay η: step t uses lr / (1 + (t - 1)·η).",
    )
    weight_decay: float = Field(
        0.0, ge=0, description="L2 penalty λ added to the gradient, g ← g + λ·p."
    )
    initial_accumulator_value: float = Field(
        0.0,
        ge=0,
        description="Starting value of the sum of squared gradients (0: the first step "
        "is lr·g/(|g| + ε), about lr·sign(g)).",
    )
    eps: float = Field(
        1e-10,
        ge=0,
        description="ε added to the root of the sum (after the square root) so the "
        "division never divides by 0.",
    )


class Adagrad(BufferedOptimizer):
    """Adagrad (torch.optim.Adagrad): divide the step by the root of the sum of all squared
    gradients so far, so often-updated weights slow down.

    State: ``t`` (steps taken), ``sum``.
    """

    update_rule = (
        "lr_t ← lr / (1 + (t − 1)·η)               (lr_decay η)\n"
        "g ← g + λ·p                               (weight_decay λ)\n"
        "sum ← sum + g²                            (sum₀ = initial_accumulator_value)\n"
        "p ← p − lr_t·g / (√sum + ε)"
    )

    def worked_update(self, entry):
        config = self.config
        total, t = entry.state.get("sum"), entry.state.get("t")
        if total is None or t is None:
            return None
        symbol, numbers, g = worked_gradient(entry, config.weight_decay)
        lr_t = entry.lr / (1.0 + (t - 1) * config.lr_decay)
        return worked(
            entry,
            f"lr_t·{symbol} / (√sum + ε)",
            f"{entry.number(lr_t)} × {numbers} / (√{entry.number(total)} + "
            f"{entry.number(config.eps)})",
            entry.p - lr_t * g / (math.sqrt(total) + config.eps),
        )

    def new_state(self, value):
        return {"t": 0, "sum": np.full_like(value, self.config.initial_accumulator_value)}

    def update(self, params, lr):
        config = self.config
        for p in params:
            if p.grad is None:
                continue
            state = self.state_of(p)
            grad_buffer, work = self.scratch(p, 2)
            state["t"] += 1
            decayed_lr = lr / (1.0 + (state["t"] - 1) * config.lr_decay)
            g = with_l2(p, config.weight_decay, grad_buffer)
            total = state["sum"]
            np.multiply(g, g, out=work)
            total += work
            np.sqrt(total, out=work)
            work += config.eps
            np.divide(g, work, out=work)  # g / (√sum + ε)
            work *= decayed_lr
            p.value -= work


# --- adam, adamw -----------------------------------------------------------------------------


class AdamConfig(OptimizerConfig):
    type: Literal["adam"] = "adam"
    lr: float = Field(1e-3, gt=0, description="Learning rate: the largest typical step size.")
    betas: tuple[Beta, Beta] = Field(
        (0.9, 0.999),
        description="[β1, β2], each in [0, 1): decay rates of the running averages of the "
        "gradient (m) and of its square (v); closer to 1: a longer memory.",
    )
    eps: float = Field(
        1e-8,
        ge=0,
        description="ε added to √v̂ (after the square root) so the division never divides by 0.",
    )
    weight_decay: float = Field(
        0.0,
        ge=0,
        description="L2 penalty λ added to the gradient, g ← g + λ·p, before the averages "
        "(for decoupled weight decay use adamw).",
    )
    amsgrad: bool = Field(
        False,
        description="AMSGrad: divide by the largest v seen so far (v_max) instead of the "
        "current v, so the step size never grows back.",
    )


class Adam(BufferedOptimizer):
    """Adam (torch.optim.Adam): momentum on the gradient (m) divided by the root of a running
    average of its square (v), both corrected for starting at 0.

    State: ``t``, ``m``, ``v``, ``v_max`` (amsgrad only); ``m_hat`` and ``v_hat`` are
    computed for the trace from them.
    """

    update_rule = (
        "g ← g + λ·p                               (weight_decay λ, L2)\n"
        "m ← β1·m + (1 − β1)·g                     (m₀ = 0)\n"
        "v ← β2·v + (1 − β2)·g²                    (v₀ = 0)\n"
        "m̂ ← m / (1 − β1^t)\n"
        "v̂ ← v / (1 − β2^t),  or with amsgrad:\n"
        "    v_max ← max(v_max, v);  v̂ ← v_max / (1 − β2^t)\n"
        "p ← p − lr·m̂ / (√v̂ + ε)"
    )

    #: AdamW decays the weights directly instead of adding λ·p to the gradient.
    decoupled_weight_decay = False

    def new_state(self, value):
        state = {"t": 0, "m": np.zeros_like(value), "v": np.zeros_like(value)}
        if self.config.amsgrad:
            state["v_max"] = np.zeros_like(value)
        return state

    def update(self, params, lr):
        config = self.config
        beta1, beta2 = config.betas
        decay = config.weight_decay
        for p in params:
            if p.grad is None:
                continue
            state = self.state_of(p)
            grad_buffer, work = self.scratch(p, 2)
            state["t"] += 1
            t = state["t"]
            if self.decoupled_weight_decay:
                if decay:
                    p.value *= 1.0 - lr * decay  # p ← p − lr·λ·p
                g = p.grad
            else:
                g = with_l2(p, decay, grad_buffer)
            m, v = state["m"], state["v"]
            m *= beta1  # m ← β1·m + (1 - β1)·g
            np.multiply(g, 1.0 - beta1, out=work)
            m += work
            v *= beta2  # v ← β2·v + (1 - β2)·g²
            np.multiply(g, g, out=work)
            work *= 1.0 - beta2
            v += work
            if config.amsgrad:
                np.maximum(state["v_max"], v, out=state["v_max"])
                v = state["v_max"]
            # lr·m̂/(√v̂ + ε) computed as torch does, without the arrays m̂ and v̂:
            #   √v̂ = √v / √(1 - β2^t),   lr·m̂ = (lr / (1 - β1^t))·m
            np.sqrt(v, out=work)
            work /= math.sqrt(1.0 - beta2**t)
            work += config.eps
            np.divide(m, work, out=work)
            work *= lr / (1.0 - beta1**t)
            p.value -= work

    def worked_update(self, entry):
        m, v = entry.state.get("m_hat"), entry.state.get("v_hat")
        if m is None or v is None:
            return None
        eps = self.config.eps
        step = entry.lr * m / (math.sqrt(v) + eps)
        numbers = (
            f"{entry.number(entry.lr)} × {entry.factor(m)} / (√{entry.number(v)} + "
            f"{entry.number(eps)})"
        )
        decay = self.config.weight_decay if self.decoupled_weight_decay else 0.0
        if not decay:
            return worked(entry, "lr·m̂/(√v̂ + ε)", numbers, entry.p - step)
        shrink = f"{entry.number(entry.lr)} × {entry.number(decay)} × {entry.factor(entry.p)}"
        return worked(
            entry,
            f"lr·λ·{entry.name} − lr·m̂/(√v̂ + ε)",
            f"{shrink} − {numbers}",
            entry.p - entry.lr * decay * entry.p - step,
        )

    def state(self, key):
        state = super().state(key)
        if not state:
            return state
        beta1, beta2 = self.config.betas
        t = state["t"]
        state["m_hat"] = state["m"] / (1.0 - beta1**t)
        state["v_hat"] = state["v_max" if self.config.amsgrad else "v"] / (1.0 - beta2**t)
        return state


class AdamwConfig(AdamConfig):
    type: Literal["adamw"] = "adamw"
    weight_decay: float = Field(
        0.01,
        ge=0,
        description="Decoupled weight decay λ: every step first shrinks the weights, "
        "p ← p − lr·λ·p, apart from the gradient.",
    )


class Adamw(Adam):
    """AdamW (torch.optim.AdamW): Adam with decoupled weight decay. The weights shrink
    directly instead of λ·p being added to the gradient (where Adam's division by √v̂
    would scale it).

    State: as adam (``t``, ``m``, ``v``, ``m_hat``, ``v_hat``, ``v_max``).
    """

    update_rule = (
        "p ← p − lr·λ·p                            (weight_decay λ, first)\n"
        "m ← β1·m + (1 − β1)·g\n"
        "v ← β2·v + (1 − β2)·g²\n"
        "m̂ ← m / (1 − β1^t)\n"
        "v̂ ← v / (1 − β2^t),  or with amsgrad:\n"
        "    v_max ← max(v_max, v);  v̂ ← v_max / (1 − β2^t)\n"
        "p ← p − lr·m̂ / (√v̂ + ε)"
    )

    decoupled_weight_decay = True


@hookimpl
def tracegrad_register_optimizers(register):
    register("sgd", Sgd, SgdConfig)
    register("rmsprop", Rmsprop, RmspropConfig)
    register("adagrad", Adagrad, AdagradConfig)
    register("adam", Adam, AdamConfig)
    register("adamw", Adamw, AdamwConfig)
