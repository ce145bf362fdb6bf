"""The cube activation and its verification rule, written again from the formula
(a = z³, f'(z) = 3z²); a real package keeps the rule in a module of its own that does not
import the component (docs/plugins.md, "Verify your component").

Use it in a scenario::

    model:
      layers:
        - {type: dense, name: hidden, units: 3, activation: cubed}
        - {type: dense, name: output, units: 1, activation: sigmoid}
"""

from typing import Literal

import engine
from engine.verify.activations import Formula


class CubedConfig(engine.LayerConfig):
    type: Literal["cubed"] = "cubed"


class Cubed(engine.Activation):
    formula, derivative_formula = "a = z³", "f'(z) = 3z²"

    def forward(self, z):
        return z**3

    def derivative(self, z, a):
        return 3 * z**2


def cubed_rule(config: dict) -> Formula:
    return Formula("cubed", lambda z: z**3, lambda z: 3 * z**2)


@engine.hookimpl
def tracegrad_register_activations(register):
    register("cubed", Cubed, CubedConfig)


@engine.hookimpl
def tracegrad_register_rules(register):
    register("activations", "cubed", cubed_rule)
