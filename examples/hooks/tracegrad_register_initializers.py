"""Draw initial weights uniformly from [−a, a].

Use it in a scenario::

    model:
      layers:
        - type: dense
          name: hidden
          units: 3
          activation: tanh
          init: {W: {type: symmetric_uniform, a: 0.5}}
        - {type: dense, name: output, units: 1, activation: sigmoid}
"""

from typing import Literal

from pydantic import Field

import engine


class SymmetricUniformConfig(engine.ComponentConfig):
    type: Literal["symmetric_uniform"] = "symmetric_uniform"
    a: float = Field(0.1, gt=0, description="Half-width a of the interval [−a, a].")


class SymmetricUniform(engine.Initializer):
    def sample(self, shape, fan_in, fan_out, rng):
        return rng.uniform(-self.config.a, self.config.a, size=shape)


@engine.hookimpl
def tracegrad_register_initializers(register):
    register("symmetric_uniform", SymmetricUniform, SymmetricUniformConfig)
