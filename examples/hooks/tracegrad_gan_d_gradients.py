"""An L2 term on D's weights, λ/2·Σθ², added to D's loss with its gradient λ·θ.

Use it in a scenario::

    kind: gan
    tricks: [{type: d_weight_decay}]
"""

from typing import Literal

import engine
from plugins.gan.components import GanTrick


class DWeightDecayConfig(engine.ComponentConfig):
    type: Literal["d_weight_decay"] = "d_weight_decay"


class DWeightDecay(GanTrick):
    @engine.hookimpl
    def tracegrad_gan_d_gradients(self, batch, discriminator, step):
        decay = 1e-3
        value = sum(0.5 * decay * float((p.value**2).sum()) for p in discriminator.parameters)
        grads = {p.key: decay * p.value for p in discriminator.parameters}
        batch.add_term("d_weight_decay", value, grads=grads, formula="λ/2·Σθ²")


@engine.hookimpl
def tracegrad_register_gan_tricks(register):
    register("d_weight_decay", DWeightDecay, DWeightDecayConfig)
