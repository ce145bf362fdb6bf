"""Sign descent: every entry moves by lr against the sign of its gradient, p ← p − lr·sign(g).

Use it in a scenario::

    optimizer: {type: sign_descent, lr: 0.05}
"""

from typing import Literal

import numpy as np

import engine
from engine.components import WorkedUpdate


class SignDescentConfig(engine.OptimizerConfig):
    type: Literal["sign_descent"] = "sign_descent"


class SignDescent(engine.Optimizer):
    update_rule = "p ← p − lr·sign(g)"

    def step(self, params, lr):
        for p in params:
            if p.grad is not None:
                p.value -= lr * np.sign(p.grad)

    def worked_update(self, entry):
        value = entry.p - entry.lr * np.sign(entry.g)
        numbers = (
            f"{entry.number(entry.p)} − {entry.number(entry.lr)} × sign({entry.number(entry.g)})"
        )
        return WorkedUpdate(
            f"{entry.name} ← {entry.name} − lr·sign(g) = {numbers} = {entry.number(value)}", value
        )


@engine.hookimpl
def tracegrad_register_optimizers(register):
    register("sign_descent", SignDescent, SignDescentConfig)
