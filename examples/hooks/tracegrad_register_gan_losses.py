"""A least-squares GAN loss with fixed labels: L_D = ½ mean (l_real − 1)² + ½ mean l_fake²,
L_G = ½ mean (l_fake − 1)², each with dL/dl = (l − t) / N.

Use it in a scenario::

    kind: gan
    loss: {type: half_squares}
"""

from typing import Literal

import engine
from plugins.gan.components import GanLoss


class HalfSquaresConfig(engine.ComponentConfig):
    type: Literal["half_squares"] = "half_squares"


class HalfSquares(GanLoss):
    formula = "L_D = ½(l_real − 1)² + ½ l_fake²,  L_G = ½(l_fake − 1)²"
    output = "score"

    @staticmethod
    def _half_square(logits, target):
        d = logits - target
        return float(0.5 * (d * d).mean()), d / len(logits)

    def d_real(self, logits, target):
        return self._half_square(logits, target)

    def d_fake(self, logits, target):
        return self._half_square(logits, target)

    def generator(self, logits, target):
        return self._half_square(logits, target)


@engine.hookimpl
def tracegrad_register_gan_losses(register):
    register("half_squares", HalfSquares, HalfSquaresConfig)
