"""G's target label becomes 0.95 instead of 1.

Use it in a scenario::

    kind: gan
    tricks: [{type: soft_target}]
"""

from typing import Literal

import engine
from plugins.gan.components import GanTrick


class SoftTargetConfig(engine.ComponentConfig):
    type: Literal["soft_target"] = "soft_target"


class SoftTarget(GanTrick):
    needs_labels = True

    @engine.hookimpl
    def tracegrad_gan_g_labels(self, batch, step):
        batch.target = batch.target * 0.95
        return self.change("G target 1 -> 0.95")


@engine.hookimpl
def tracegrad_register_gan_tricks(register):
    register("soft_target", SoftTarget, SoftTargetConfig)
