"""Keep only G's samples D finds most real: of 2n draws, the n with the largest logit (a
crude, deterministic cousin of the built-in discriminator_rejection).

Use it in a scenario::

    kind: gan
    tricks: [{type: best_half}]
"""

from typing import Literal

import numpy as np

import engine
from plugins.gan.components import GanTrick


class BestHalfConfig(engine.ComponentConfig):
    type: Literal["best_half"] = "best_half"


class BestHalf(GanTrick):
    @engine.hookimpl
    def tracegrad_gan_sample(self, n, draw, discriminator, rng):
        x = draw(2 * n)
        logits = discriminator.forward(x, training=False).reshape(-1)
        return x[np.argsort(-logits, kind="stable")[:n]]


@engine.hookimpl
def tracegrad_register_gan_tricks(register):
    register("best_half", BestHalf, BestHalfConfig)
