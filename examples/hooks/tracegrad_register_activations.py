"""The cube as an activation: a = z³, f'(z) = 3z².

Use it in a scenario::

    model:
      layers:
        - {type: dense, name: hidden, units: 3, activation: cube}
        - {type: dense, name: output, units: 1, activation: sigmoid}
"""

from typing import Literal

import engine


class CubeConfig(engine.LayerConfig):
    type: Literal["cube"] = "cube"


class Cube(engine.Activation):
    formula = "a = z³"
    derivative_formula = "f'(z) = 3z²"

    def forward(self, z):
        return z**3

    def derivative(self, z, a):
        return 3 * z**2


@engine.hookimpl
def tracegrad_register_activations(register):
    register("cube", Cube, CubeConfig)
