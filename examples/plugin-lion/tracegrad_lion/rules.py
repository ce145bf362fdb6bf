"""The verification rule for Lion, written again from the paper's update: this module does
not import the optimizer it checks, so ``tracegrad verify`` re-derives every update of a
trace independently (docs/plugins.md, "Verify your component").

An update record holds the parameter before the step (p), the gradient (g), lr, the change
applied and the state after the step (``c`` and ``m``). From the state the previous update
left (m_prev; 0 before the first step):

    c  = β1·m_prev + (1 - β1)·g
    m  = β2·m_prev + (1 - β2)·g
    Δp = -lr·(sign(c) + λ·p)
"""

from __future__ import annotations

import numpy as np

import engine
from engine.verify.optimizers import Rule


def lion(rule: Rule) -> None:
    beta1, beta2 = rule.config.get("betas", (0.9, 0.99))
    decay = rule.config.get("weight_decay", 0.0)
    update = rule.update
    g, p, lr = update.grad, update.before, update.lr
    m_prev = rule.previous("m")
    rule.state_claim(
        "c",
        lambda: beta1 * m_prev + (1.0 - beta1) * g,
        f"c = {beta1:g}·m_prev + (1 - {beta1:g})·g",
        g,
        m_prev,
    )
    rule.state_claim(
        "m",
        lambda: beta2 * m_prev + (1.0 - beta2) * g,
        f"m = {beta2:g}·m_prev + (1 - {beta2:g})·g",
        g,
        m_prev,
    )
    c = rule.recorded("c")
    rule.applied(
        lambda: -lr * (np.sign(c) + decay * p),
        f"Δp = -lr·(sign(c) + {decay:g}·p)",
        c,
        p,
    )


@engine.hookimpl
def tracegrad_register_rules(register):
    register("optimizers", "lion", lion)
