"""Optimizer updates, written again from torch.optim's published rules.

An update record holds the parameter before the step (p), its gradient (g), the learning
rate, the change applied, the value after, and the optimizer's state after the step. Each
state entry is recomputed from the state the previous update left (so a stale momentum is
caught) and the recorded gradient; the change applied is recomputed from the recorded state:

    sgd      g' = g + λp;  v = g' at the first step, else μ·v_prev + (1 - τ)·g'
             Δp = -lr·(g' + μ·v if nesterov else v)        (Δp = -lr·g' without momentum)
    rmsprop  g' = g + λp;  s = α·s_prev + (1 - α)·g'²;  centered: ḡ = α·ḡ_prev + (1 - α)·g'
             d = g'/(√(s - ḡ²) + ε)  (√s without centering)
             momentum: u = μ·u_prev + d, Δp = -lr·u;  else Δp = -lr·d
    adagrad  t = t_prev + 1;  g' = g + λp;  sum = sum_prev + g'²
             Δp = -lr/(1 + (t - 1)·η) · g'/(√sum + ε)
    adam     t = t_prev + 1;  g' = g + λp
             m = β1·m_prev + (1 - β1)·g';  v = β2·v_prev + (1 - β2)·g'²
             amsgrad: v_max = max(v_max_prev, v)
             m̂ = m/(1 - β1^t);  v̂ = v/(1 - β2^t)  (v_max/(1 - β2^t) with amsgrad)
             Δp = -lr·m̂/(√v̂ + ε)
    adamw    as adam with g' = g, and Δp = -lr·λ·p - lr·m̂/(√v̂ + ε)

State before the first step: zeros (adagrad's sum: initial_accumulator_value; t = 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.verify.report import Checker, Place

NOT_TRACED = "optimizer state: the step before is not traced, so the state it left is unknown"


@dataclass
class Update:
    """One update record, decoded; ``previous`` is the state the update started from:
    ``{}`` before the first step, None when unknown (the step before is not traced)."""

    place: Place
    config: dict
    before: object
    grad: object
    lr: float
    applied: object
    state: dict
    previous: dict | None


class Rule:
    """Claims of one update: ``state_claim`` recomputes a state entry from the previous
    state, ``applied`` the change from the recorded state."""

    def __init__(self, check: Checker, update: Update):
        self.check, self.update = check, update
        self.config = update.config

    def recorded(self, name: str):
        """A recorded state entry (None when missing; ``state_claim`` reports that)."""
        return self.update.state.get(name)

    def previous(self, name: str, initial=0.0):
        """The state entry the previous update left (``initial`` before the first step;
        None when the step before is not traced)."""
        previous = self.update.previous
        if previous is None:
            return None
        return previous.get(name, initial)

    def state_claim(self, name: str, compute, how: str, *inputs) -> None:
        """Compare the recorded state entry ``name`` with ``compute()``."""
        check, update = self.check, self.update
        if name not in update.state:
            check.fail(
                update.place, name, "missing", "a state entry", "the optimizer state lacks it"
            )
            return
        if update.previous is None:
            check.skip(NOT_TRACED, quantity=name)
            return
        if check.whole(name, *inputs):
            check.compare(update.place, name, update.state[name], compute(), how)

    def applied(self, compute, how: str, *inputs) -> None:
        check, update = self.check, self.update
        if all(i is not None for i in inputs) and check.whole("applied", *inputs):
            how += f", lr = {update.lr:g}"
            check.compare(update.place, "applied", update.applied, compute(), how)
        elif any(i is None for i in inputs):
            check.skip("applied: a state entry it needs is missing")

    def gradient(self):
        """g' = g + λ·p (L2 weight decay); a summarized input is handed on, so the claims
        that need g' are skipped."""
        update, decay = self.update, self.config.get("weight_decay", 0.0)
        if not decay or not isinstance(update.grad, np.ndarray):
            return update.grad  # a summary: the claims that need it are skipped
        if not isinstance(update.before, np.ndarray):
            return update.before
        return update.grad + decay * update.before


def sgd(rule: Rule) -> None:
    config, update = rule.config, rule.update
    momentum, dampening = config.get("momentum", 0.0), config.get("dampening", 0.0)
    g = rule.gradient()
    lr = update.lr
    if not momentum:
        rule.applied(lambda: -lr * g, "Δp = -lr·g", g)
        return
    previous = rule.previous("velocity", None)

    def velocity():
        if previous is None:
            return g
        return momentum * previous + (1.0 - dampening) * g

    first = update.previous is not None and previous is None
    rule.state_claim(
        "velocity",
        velocity,
        "v = g (first step)" if first else f"v = {momentum:g}·v_prev + (1 - {dampening:g})·g",
        g,
        *(() if previous is None else (previous,)),
    )
    v = rule.recorded("velocity")
    if config.get("nesterov"):
        rule.applied(lambda: -lr * (g + momentum * v), f"Δp = -lr·(g + {momentum:g}·v)", g, v)
    else:
        rule.applied(lambda: -lr * v, "Δp = -lr·v", v)


def rmsprop(rule: Rule) -> None:
    config, update = rule.config, rule.update
    alpha, eps = config.get("alpha", 0.99), config.get("eps", 1e-8)
    momentum, lr = config.get("momentum", 0.0), update.lr
    g = rule.gradient()
    s_prev = rule.previous("square_avg")
    rule.state_claim(
        "square_avg",
        lambda: alpha * s_prev + (1.0 - alpha) * g * g,
        f"s = {alpha:g}·s_prev + (1 - {alpha:g})·g²",
        g,
        s_prev,
    )
    s = rule.recorded("square_avg")
    centered = config.get("centered", False)
    if centered:
        mean_prev = rule.previous("grad_avg")
        rule.state_claim(
            "grad_avg",
            lambda: alpha * mean_prev + (1.0 - alpha) * g,
            f"ḡ = {alpha:g}·ḡ_prev + (1 - {alpha:g})·g",
            g,
            mean_prev,
        )
    mean = rule.recorded("grad_avg") if centered else 0.0
    root = "√(s - ḡ²)" if centered else "√s"

    def direction():
        return g / (np.sqrt(s - mean * mean) + eps)

    if momentum:
        u_prev = rule.previous("momentum_buffer")
        rule.state_claim(
            "momentum_buffer",
            lambda: momentum * u_prev + direction(),
            f"u = {momentum:g}·u_prev + g/({root} + ε)",
            g,
            s,
            mean,
            u_prev,
        )
        u = rule.recorded("momentum_buffer")
        rule.applied(lambda: -lr * u, "Δp = -lr·u", u)
    else:
        rule.applied(lambda: -lr * direction(), f"Δp = -lr·g/({root} + ε)", g, s, mean)


def adagrad(rule: Rule) -> None:
    config, update = rule.config, rule.update
    eps, decay = config.get("eps", 1e-10), config.get("lr_decay", 0.0)
    g = rule.gradient()
    t_prev = rule.previous("t", 0)
    rule.state_claim("t", lambda: t_prev + 1, "t = t_prev + 1", t_prev)
    sum_prev = rule.previous("sum", config.get("initial_accumulator_value", 0.0))
    rule.state_claim("sum", lambda: sum_prev + g * g, "sum = sum_prev + g²", g, sum_prev)
    t, total = rule.recorded("t"), rule.recorded("sum")
    lr = update.lr

    def applied():
        return -(lr / (1.0 + (t - 1) * decay)) * g / (np.sqrt(total) + eps)

    rule.applied(applied, f"Δp = -lr/(1 + (t - 1)·{decay:g})·g/(√sum + {eps:g})", g, t, total)


def adam(rule: Rule, decoupled: bool = False) -> None:
    config, update = rule.config, rule.update
    beta1, beta2 = config.get("betas", (0.9, 0.999))
    eps, amsgrad = config.get("eps", 1e-8), config.get("amsgrad", False)
    decay, lr, p = config.get("weight_decay", 0.0), update.lr, update.before
    g = update.grad if decoupled else rule.gradient()
    t_prev = rule.previous("t", 0)
    rule.state_claim("t", lambda: t_prev + 1, "t = t_prev + 1", t_prev)
    m_prev, v_prev = rule.previous("m"), rule.previous("v")
    rule.state_claim(
        "m",
        lambda: beta1 * m_prev + (1.0 - beta1) * g,
        f"m = {beta1:g}·m_prev + (1 - {beta1:g})·g",
        g,
        m_prev,
    )
    rule.state_claim(
        "v",
        lambda: beta2 * v_prev + (1.0 - beta2) * g * g,
        f"v = {beta2:g}·v_prev + (1 - {beta2:g})·g²",
        g,
        v_prev,
    )
    t, m, v = rule.recorded("t"), rule.recorded("m"), rule.recorded("v")
    if amsgrad:
        v_max_prev = rule.previous("v_max")
        rule.state_claim(
            "v_max", lambda: np.maximum(v_max_prev, v), "v_max = max(v_max_prev, v)", v, v_max_prev
        )
        v = rule.recorded("v_max")
    check, place = rule.check, update.place
    for name, value, beta, source in (("m_hat", m, beta1, "m"), ("v_hat", v, beta2, "v")):
        if name not in update.state:
            check.fail(place, name, "missing", "a state entry", "the optimizer state lacks it")
        elif t is not None and value is not None and check.whole(name, value):
            source = "v_max" if name == "v_hat" and amsgrad else source
            check.compare(
                place,
                name,
                update.state[name],
                value / (1.0 - beta**t),
                f"{name} = {source}/(1 - {beta:g}^t), t = {float(t):g}",
            )
    m_hat, v_hat = rule.recorded("m_hat"), rule.recorded("v_hat")
    if decoupled:
        rule.applied(
            lambda: -lr * decay * p - lr * m_hat / (np.sqrt(v_hat) + eps),
            f"Δp = -lr·{decay:g}·p - lr·m̂/(√v̂ + {eps:g})",
            p,
            m_hat,
            v_hat,
        )
    else:
        rule.applied(
            lambda: -lr * m_hat / (np.sqrt(v_hat) + eps),
            f"Δp = -lr·m̂/(√v̂ + {eps:g})",
            m_hat,
            v_hat,
        )


def adamw(rule: Rule) -> None:
    adam(rule, decoupled=True)


RULES = {"sgd": sgd, "rmsprop": rmsprop, "adagrad": adagrad, "adam": adam, "adamw": adamw}


def check_update(check: Checker, update: Update) -> None:
    """Every claim of one update record: its state and the change applied."""
    rule = RULES.get(update.config.get("type"))
    if update.lr is None:
        check.skip("applied and state: the update record has no lr", quantity="lr")
        return
    if rule is None:
        check.unchecked(f"no rule for optimizer '{update.config.get('type')}'")
        return
    rule(Rule(check, update))
