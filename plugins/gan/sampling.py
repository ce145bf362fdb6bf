"""Discriminator rejection sampling (Azadi et al. 2019): after training, D decides which of
G's samples to keep.

At D's optimum for the minimax or non-saturating loss, D(x) = p_data(x) / (p_data(x) + p_G(x)),
so D's logit l(x) = log D(x) − log(1 − D(x)) = log(p_data(x) / p_G(x)). Keeping each sample
G(z) with probability

    a(x) = min(1, exp(l(x) − M + γ)),   M = max_x l(x)

turns samples of p_G into samples of p_data (with γ = 0 and D at its optimum: a(x) ∝
p_data/p_G, M making a ≤ 1). M is the largest logit among the ``burn_in`` samples first drawn
and every sample drawn since (the paper's estimate); γ > 0 accepts more samples, at the cost of
exactness. The samples G puts between the modes, where p_data ≈ 0, get l ≪ M and are rejected.

Training never calls it: D and G learn exactly as without it, and every trace claim is the
same. It acts where G's samples are drawn for their own sake: the sample measures (modes,
high-quality share, W1/MMD) and ``generate``. The trace's pictures of G's samples stay G(z)
itself, so a report shows what G learned and the measures what the two networks give together.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from engine import hookimpl
from engine.components import ComponentConfig
from engine.i18n import _
from plugins.gan.components import GanTrick

#: Draws stop after this many times n samples; the rest is filled with the best-scored draws.
MAX_DRAWS_PER_SAMPLE = 100


class DiscriminatorRejectionConfig(ComponentConfig):
    type: Literal["discriminator_rejection"] = "discriminator_rejection"
    burn_in: int = Field(
        10000,
        ge=1,
        le=1_000_000,
        description="Samples drawn first to estimate M, the largest logit of D.",
    )
    gamma: float = Field(
        0.0,
        ge=0,
        le=50,
        description="γ: accept with min(1, exp(l − M + γ)); 0 is exact rejection sampling.",
    )


def acceptance(logits: np.ndarray, most: float, gamma: float) -> np.ndarray:
    """a = min(1, exp(l − M + γ)) for each logit l."""
    return np.exp(np.minimum(logits - most + gamma, 0.0))


class DiscriminatorRejection(GanTrick):
    """Keep each of G's samples with probability min(1, exp(l − M + γ)), l being D's logit;
    the measures and generate use the kept samples, the pictures show G(z) itself."""

    def setup(self, run):
        super().setup(run)
        if run.loss.output != "probability":
            raise ValueError(
                _(
                    "discriminator_rejection reads D's logit as log(p_data/p_G), which holds "
                    "for a loss with a sigmoid (minimax, non_saturating), not for '{loss}'"
                ).format(loss=run.loss.config.type)
            )
        if run.discriminator.in_features != run.generator.out_features:
            raise ValueError(
                _("discriminator_rejection judges single samples; D here judges packs of them")
            )
        self.accepted_share: float | None = None

    @hookimpl
    def tracegrad_gan_sample(self, n, draw, discriminator, rng):
        if n <= 0:
            return draw(0)  # nothing to choose from
        config, kept, pool, pool_logits = self.config, [], [], []
        drawn, accepted, most = 0, 0, -np.inf
        size = max(int(n), config.burn_in)
        while accepted < n and drawn < MAX_DRAWS_PER_SAMPLE * max(int(n), 1):
            x = draw(size)
            logits = discriminator.forward(x, training=False).reshape(-1)
            most = max(most, float(np.max(logits)))
            keep = rng.random(len(x)) < acceptance(logits, most, config.gamma)
            kept.append(x[keep])
            pool.append(x[~keep])
            pool_logits.append(logits[~keep])
            drawn, accepted = drawn + len(x), accepted + int(np.count_nonzero(keep))
            size = max(int(n), 1)
        self.accepted_share = accepted / drawn
        samples = np.concatenate(kept)[: int(n)]
        if len(samples) < n:  # D rejects nearly everything: the best-scored draws fill up
            rest = np.concatenate(pool)[np.argsort(-np.concatenate(pool_logits))]
            samples = np.concatenate([samples, rest[: int(n) - len(samples)]])
        return samples


@hookimpl
def tracegrad_register_gan_tricks(register):
    register("discriminator_rejection", DiscriminatorRejection, DiscriminatorRejectionConfig)
