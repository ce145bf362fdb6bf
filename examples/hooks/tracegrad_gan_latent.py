"""Keep the latent vectors inside [−2, 2] (a truncation trick).

Use it in a scenario::

    kind: gan
    tricks: [{type: latent_clip}]
"""

from typing import Literal

import numpy as np

import engine
from plugins.gan.components import GanTrick


class LatentClipConfig(engine.ComponentConfig):
    type: Literal["latent_clip"] = "latent_clip"


class LatentClip(GanTrick):
    @engine.hookimpl
    def tracegrad_gan_latent(self, batch, step):
        batch.z = np.clip(batch.z, -2.0, 2.0)
        return self.change("z clipped to [-2, 2]")


@engine.hookimpl
def tracegrad_register_gan_tricks(register):
    register("latent_clip", LatentClip, LatentClipConfig)
