"""Verification rules for swish and log_cosh, written again from their formulas: this module
does not import the components it checks, so ``tracegrad verify`` re-derives every number of
a trace that uses them independently (see docs/plugins.md, "Verify your component")."""

from __future__ import annotations

import numpy as np

import engine
from engine.verify.activations import Formula
from engine.verify.losses import LossValue


def swish(config: dict) -> Formula:
    """a = z·σ(βz);  f'(z) = σ(βz) + βz·σ(βz)(1 − σ(βz))."""
    beta = config.get("beta", 1.0)

    def sigma(z):
        return 1.0 / (1.0 + np.exp(-beta * z))

    return Formula(
        "swish",
        lambda z: z * sigma(z),
        lambda z: sigma(z) + beta * z * sigma(z) * (1.0 - sigma(z)),
    )


def log_cosh(config: dict, y_hat, y, fused=False) -> LossValue:
    """L = mean(log cosh(ŷ − y));  dL/dŷ = tanh(ŷ − y) / (N·K)."""
    d = y_hat - y
    return LossValue(float(np.mean(np.log(np.cosh(d)))), np.tanh(d) / d.size)


@engine.hookimpl
def tracegrad_register_rules(register):
    register("activations", "swish", swish)
    register("losses", "log_cosh", log_cosh)
