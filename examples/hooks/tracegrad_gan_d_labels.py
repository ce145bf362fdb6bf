"""One-sided label smoothing: D's real labels 1 become 0.9.

Use it in a scenario::

    kind: gan
    tricks: [{type: soft_real}]
"""

from typing import Literal

import numpy as np

import engine
from plugins.gan.components import GanTrick


class SoftRealConfig(engine.ComponentConfig):
    type: Literal["soft_real"] = "soft_real"


class SoftReal(GanTrick):
    needs_labels = True

    @engine.hookimpl
    def tracegrad_gan_d_labels(self, batch, step):
        batch.real_target = np.minimum(batch.real_target, 0.9)
        return self.change("real targets 1 -> 0.9")


@engine.hookimpl
def tracegrad_register_gan_tricks(register):
    register("soft_real", SoftReal, SoftRealConfig)
