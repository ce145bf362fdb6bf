"""Clamp D's parameters to [−1, 1] after each of its updates.

Use it in a scenario::

    kind: gan
    tricks: [{type: clip_d}]
"""

from typing import Literal

import numpy as np

import engine
from plugins.gan.components import GanTrick


class ClipDConfig(engine.ComponentConfig):
    type: Literal["clip_d"] = "clip_d"


class ClipD(GanTrick):
    @engine.hookimpl
    def tracegrad_gan_after_update(self, network, name, step):
        if name != "D":
            return None
        for p in network.parameters:
            np.clip(p.value, -1.0, 1.0, out=p.value)
        return self.change("D clipped to [-1, 1]")


@engine.hookimpl
def tracegrad_register_gan_tricks(register):
    register("clip_d", ClipD, ClipDConfig)
