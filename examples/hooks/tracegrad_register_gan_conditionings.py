"""A conditioning: like ``concat``, but D sees the class as ±1 columns, 2·one-hot(y) − 1,
so every label column carries a signal (−1 for "not this class").

Use it in a scenario::

    kind: gan
    name: signed-cgan
    seed: 0
    data: {type: ring, modes: 4, radius: 2.0, std: 0.02, samples: 512}
    latent: {dim: 2}
    generator: {layers: [{type: dense, units: 8, activation: tanh}, {type: dense, units: 2}]}
    discriminator: {layers: [{type: dense, units: 8, activation: tanh}, {type: dense, units: 1}]}
    loss: {type: non_saturating}
    optimizer:
      generator: {type: adam, lr: 0.01}
      discriminator: {type: adam, lr: 0.01}
    train: {steps: 4, batch_size: 16}
    conditional: {type: signed_concat}
    trace: {every: 2}
"""

from typing import Literal

import numpy as np

import engine
from plugins.gan.conditional import Concat, one_hot


class SignedConcatConfig(engine.ComponentConfig):
    type: Literal["signed_concat"] = "signed_concat"


class SignedConcat(Concat):
    """D([x, 2·one-hot(y) − 1]), G([z, one-hot(y)])."""

    formula = "G([z, one-hot(y)]), D([x, 2·one-hot(y) − 1])"

    def d_input(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.hstack([x, 2 * one_hot(y, self.classes, x.dtype) - 1])


@engine.hookimpl
def tracegrad_register_gan_conditionings(register):
    register("signed_concat", SignedConcat, SignedConcatConfig)
