"""A layer that scales its input by one learned number: out = s·x, dL/ds = Σ dL/dout·x.

Use it in a scenario::

    model:
      layers:
        - {type: dense, name: hidden, units: 3, activation: tanh}
        - {type: scale, name: gain}
        - {type: dense, name: output, units: 1, activation: sigmoid}
"""

from typing import Literal

import numpy as np

import engine


class ScaleConfig(engine.LayerConfig):
    type: Literal["scale"] = "scale"


class Scale(engine.Layer):
    formula = "out = s·x"

    def build(self, in_features, ctx, init):
        super().build(in_features, ctx, init)
        self.s = self.add_param(
            "s", init("s", (1,), 1, 1, default={"type": "constant", "value": 1.0})
        )
        return in_features

    def forward(self, x, training):
        self.cache = {"x": x, "out": self.s.value[0] * x}
        return self.cache["out"]

    def backward(self, grad_out):
        self.s.grad = np.array([np.sum(grad_out * self.cache["x"])])
        return grad_out * self.s.value[0]


@engine.hookimpl
def tracegrad_register_layers(register):
    register("scale", Scale, ScaleConfig)
