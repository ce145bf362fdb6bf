"""Built-in GAN losses, from the original game to the Wasserstein critic.

Every loss is written on D's logits l (D's last layer has no activation): where a
probability is meant, D(x) = σ(l), and the logarithms are computed from l directly, which
never overflows and never takes log 0:

    -log σ(l)     = softplus(-l)          -log(1 - σ(l)) = softplus(l)
    softplus(l)   = max(l, 0) + log(1 + e^(-|l|))
    BCE(l, t)     = -t·log σ(l) - (1 - t)·log(1 - σ(l)) = softplus(l) - t·l
    dBCE/dl       = σ(l) - t

Each term is a mean over the N samples of the batch, so each gradient carries a 1/N.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from engine import hookimpl
from engine.components import ComponentConfig
from plugins.gan.components import GanLoss


def softplus(l: np.ndarray) -> np.ndarray:
    """log(1 + e^l) without overflow."""
    return np.maximum(l, 0.0) + np.log1p(np.exp(-np.abs(l)))


def sigmoid(l: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(l))
    return np.where(l >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def bce(l: np.ndarray, t: np.ndarray) -> tuple[float, np.ndarray]:
    """mean BCE(l, t) and its gradient (σ(l) - t) / N."""
    n = len(l)
    return float(np.mean(softplus(l) - t * l)), (sigmoid(l) - t) / n


# --- the original game ----------------------------------------------------------------------


class MinimaxConfig(ComponentConfig):
    type: Literal["minimax"] = "minimax"


class Minimax(GanLoss):
    """The original game: D maximizes, G minimizes V(D, G) (Goodfellow et al. 2014).

        V = E_x[log D(x)] + E_z[log(1 - D(G(z)))],   D(x) = σ(l(x))
        L_D = -V = mean BCE(l_real, 1) + mean BCE(l_fake, 0)
                 = mean softplus(-l_real) + mean softplus(l_fake)
        L_G = V's second term = mean log(1 - D(G(z))) = -mean softplus(l_fake)
        dL_D/dl = (σ(l) - t) / N,    dL_G/dl = -σ(l) / N

    With a target t for G (1 unless a trick changes it): L_G = -mean BCE(l_fake, 1 - t).
    G's gradient -σ(l)/N vanishes when D confidently rejects G's samples (σ(l) -> 0): the
    saturation that ``non_saturating`` avoids.
    """

    formula = "L_D = -log D(x) - log(1 - D(G(z))),  L_G = log(1 - D(G(z)))"
    real_formula = "-log D(x) = softplus(-l)"
    fake_formula = "-log(1 - D(G(z))) = softplus(l)"
    generator_formula = "log(1 - D(G(z))) = -softplus(l)"

    def d_real(self, logits, target):
        return bce(logits, target)

    def d_fake(self, logits, target):
        return bce(logits, target)

    def generator(self, logits, target):
        value, grad = bce(logits, 1.0 - target)
        return -value, -grad


class NonSaturatingConfig(ComponentConfig):
    type: Literal["non_saturating"] = "non_saturating"


class NonSaturating(Minimax):
    """G maximizes log D(G(z)) instead of minimizing log(1 - D(G(z))); D as in minimax.

    Goodfellow et al. (2014), section 3: G's gradient is strong exactly when D wins.

        L_D = mean softplus(-l_real) + mean softplus(l_fake)
        L_G = -mean log D(G(z)) = mean BCE(l_fake, 1) = mean softplus(-l_fake)
        dL_G/dl = (σ(l) - t) / N     (t = 1: G's samples labelled "real")
    """

    formula = "L_D = -log D(x) - log(1 - D(G(z))),  L_G = -log D(G(z))"
    generator_formula = "-log D(G(z)) = softplus(-l)"

    def generator(self, logits, target):
        return bce(logits, target)


# --- other divergences ----------------------------------------------------------------------


class LeastSquaresConfig(ComponentConfig):
    type: Literal["least_squares"] = "least_squares"
    real_label: float = Field(1.0, description="b: the output D is trained to give real data.")
    fake_label: float = Field(0.0, description="a: the output D is trained to give G's samples.")
    generator_label: float = Field(1.0, description="c: the output G wants D to give its samples.")


class LeastSquares(GanLoss):
    """Least squares GAN: squared distance of D's raw output l to labels (Mao et al. 2017).

        L_D = ½ mean (l_real - b)² + ½ mean (l_fake - a)²,   dL_D/dl = (l - t) / N
        L_G = ½ mean (l_fake - c)²,                          dL_G/dl = (l - c) / N

    with labels a = 0, b = 1, c = 1 (Mao et al. also use a = -1, b = 1, c = 0). Samples far on
    the right side of the boundary still get a gradient, unlike with the sigmoid.
    """

    formula = "L_D = ½(D(x) - b)² + ½(D(G(z)) - a)²,  L_G = ½(D(G(z)) - c)²"
    real_formula = "½(l - b)²"
    fake_formula = "½(l - a)²"
    generator_formula = "½(l - c)²"
    output = "score"

    def __init__(self, config):
        super().__init__(config)
        self.real_label = config.real_label
        self.fake_label = config.fake_label
        self.generator_label = config.generator_label

    @staticmethod
    def _half_square(logits, target):
        diff = logits - target
        return float(0.5 * np.mean(diff * diff)), diff / len(logits)

    def d_real(self, logits, target):
        return self._half_square(logits, target)

    def d_fake(self, logits, target):
        return self._half_square(logits, target)

    def generator(self, logits, target):
        return self._half_square(logits, target)


class HingeConfig(ComponentConfig):
    type: Literal["hinge"] = "hinge"


class Hinge(GanLoss):
    """Hinge loss on D's raw score l, no labels (Lim & Ye 2017; Miyato et al. 2018).

        L_D = mean max(0, 1 - l_real) + mean max(0, 1 + l_fake)
        dL_D/dl_real = -[l_real < 1] / N,   dL_D/dl_fake = [l_fake > -1] / N
        L_G = -mean l_fake,                 dL_G/dl = -1 / N

    D stops pushing on samples already beyond the margin (real l ≥ 1, fake l ≤ -1).
    """

    formula = "L_D = max(0, 1 - D(x)) + max(0, 1 + D(G(z))),  L_G = -D(G(z))"
    real_formula = "max(0, 1 - l)"
    fake_formula = "max(0, 1 + l)"
    generator_formula = "-l"
    uses_labels = False
    output = "score"

    def d_real(self, logits, target):
        n = len(logits)
        return float(np.mean(np.maximum(0.0, 1.0 - logits))), np.where(logits < 1.0, -1.0 / n, 0.0)

    def d_fake(self, logits, target):
        n = len(logits)
        return float(np.mean(np.maximum(0.0, 1.0 + logits))), np.where(logits > -1.0, 1.0 / n, 0.0)

    def generator(self, logits, target):
        return float(-np.mean(logits)), np.full_like(logits, -1.0 / len(logits))


class WassersteinConfig(ComponentConfig):
    type: Literal["wasserstein"] = "wasserstein"


class Wasserstein(GanLoss):
    """Wasserstein GAN (Arjovsky et al. 2017): D is a critic, its score l has no sigmoid.

    E[l_real] - E[l_fake] estimates the Wasserstein-1 distance while D is 1-Lipschitz (keep
    it so with the ``weight_clipping`` or ``gradient_penalty`` trick):

        L_D = mean l_fake - mean l_real,   dL_D/dl_real = -1 / N,  dL_D/dl_fake = 1 / N
        L_G = -mean l_fake,                dL_G/dl = -1 / N

    -L_D is the critic's distance estimate. No labels, no sigmoid. The WGAN defaults:
    RMSProp, lr 5e-5, clip 0.01, d_steps 5.
    """

    formula = "L_D = D(G(z)) - D(x),  L_G = -D(G(z))"
    real_formula = "-l"
    fake_formula = "l"
    generator_formula = "-l"
    uses_labels = False
    output = "score"

    def d_real(self, logits, target):
        return float(-np.mean(logits)), np.full_like(logits, -1.0 / len(logits))

    def d_fake(self, logits, target):
        return float(np.mean(logits)), np.full_like(logits, 1.0 / len(logits))

    def generator(self, logits, target):
        return float(-np.mean(logits)), np.full_like(logits, -1.0 / len(logits))


BUILTIN = (
    ("minimax", Minimax, MinimaxConfig),
    ("non_saturating", NonSaturating, NonSaturatingConfig),
    ("least_squares", LeastSquares, LeastSquaresConfig),
    ("hinge", Hinge, HingeConfig),
    ("wasserstein", Wasserstein, WassersteinConfig),
)


@hookimpl
def tracegrad_register_gan_losses(register):
    for name, implementation, config in BUILTIN:
        register(name, implementation, config)
