"""A term on G's samples as D sees them: c·mean(x²), its gradient 2c·x / size at D's input.

Use it in a scenario::

    kind: gan
    tricks: [{type: sample_energy}]
"""

from typing import Literal

import engine
from plugins.gan.components import GanTrick


class SampleEnergyConfig(engine.ComponentConfig):
    type: Literal["sample_energy"] = "sample_energy"


class SampleEnergy(GanTrick):
    @engine.hookimpl
    def tracegrad_gan_g_loss(self, batch, discriminator, step):
        c, x = 1e-2, batch.fake
        batch.add_term("sample_energy", c * float((x**2).mean()), fake_grad=2 * c * x / x.size)


@engine.hookimpl
def tracegrad_register_gan_tricks(register):
    register("sample_energy", SampleEnergy, SampleEnergyConfig)
