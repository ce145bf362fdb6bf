"""An L2 term on G's weights, λ/2·Σθ², added to G's loss with its gradient λ·θ.

Use it in a scenario::

    kind: gan
    tricks: [{type: g_weight_decay}]
"""

from typing import Literal

import engine
from plugins.gan.components import GanTrick


class GWeightDecayConfig(engine.ComponentConfig):
    type: Literal["g_weight_decay"] = "g_weight_decay"


class GWeightDecay(GanTrick):
    @engine.hookimpl
    def tracegrad_gan_g_gradients(self, batch, generator, step):
        decay = 1e-3
        value = sum(0.5 * decay * float((p.value**2).sum()) for p in generator.parameters)
        grads = {p.key: decay * p.value for p in generator.parameters}
        batch.add_term("g_weight_decay", value, grads=grads, formula="λ/2·Σθ²")


@engine.hookimpl
def tracegrad_register_gan_tricks(register):
    register("g_weight_decay", GWeightDecay, GWeightDecayConfig)
