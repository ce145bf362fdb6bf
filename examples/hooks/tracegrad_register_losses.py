"""Half the mean squared error: L = Σ (ŷ − y)² / (2N), dL/dŷ = (ŷ − y) / N.

Use it in a scenario::

    loss: {type: half_mse}
"""

from typing import Literal

import engine


class HalfMseConfig(engine.ComponentConfig):
    type: Literal["half_mse"] = "half_mse"


class HalfMse(engine.Loss):
    formula = "L = Σ (ŷ − y)² / (2N)"

    def forward(self, prediction, target):
        self.cache = {"d": prediction - target}
        return float((self.cache["d"] ** 2).sum() / (2 * len(prediction)))

    def backward(self):
        return self.cache["d"] / len(self.cache["d"])


@engine.hookimpl
def tracegrad_register_losses(register):
    register("half_mse", HalfMse, HalfMseConfig)
