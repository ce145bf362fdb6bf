"""Instance noise on the real batch only: x ← x + ε, ε ~ N(0, 0.05²), from the trick's own
generator.

Use it in a scenario::

    kind: gan
    tricks: [{type: real_noise}]
"""

from typing import Literal

import engine
from plugins.gan.components import GanTrick


class RealNoiseConfig(engine.ComponentConfig):
    type: Literal["real_noise"] = "real_noise"


class RealNoise(GanTrick):
    @engine.hookimpl
    def tracegrad_gan_d_input(self, batch, step):
        if batch.phase != "d":
            return None
        batch.real = batch.real + self.rng.normal(0.0, 0.05, size=batch.real.shape)
        return self.change("real + N(0, 0.05²)")


@engine.hookimpl
def tracegrad_register_gan_tricks(register):
    register("real_noise", RealNoise, RealNoiseConfig)
