"""A GAN trick: G's target label becomes 0.9 instead of 1 (a softer goal for G).

Use it in a scenario::

    kind: gan
    tricks: [{type: soft_g_target}]
"""

from typing import Literal

import engine
from plugins.gan.components import GanTrick


class SoftGTargetConfig(engine.ComponentConfig):
    type: Literal["soft_g_target"] = "soft_g_target"


class SoftGTarget(GanTrick):
    needs_labels = True

    @engine.hookimpl
    def tracegrad_gan_g_labels(self, batch, step):
        batch.target = batch.target * 0.9
        return self.change("G's target 1 -> 0.9")


@engine.hookimpl
def tracegrad_register_gan_tricks(register):
    register("soft_g_target", SoftGTarget, SoftGTargetConfig)
