"""Points in the plane labelled by the sign of x₁·x₂ (a noisy XOR), drawn from the seed.

Use it in a scenario::

    data: {type: quadrants, samples: 16}
"""

from typing import Literal

from pydantic import Field

import engine
from engine.components import Data


class QuadrantsConfig(engine.ComponentConfig):
    type: Literal["quadrants"] = "quadrants"
    samples: int = Field(32, ge=2, description="How many points to draw.")


class Quadrants(engine.Dataset):
    def load(self, ctx):
        x = ctx.rng("data").uniform(-1, 1, size=(self.config.samples, 2))
        y = (x[:, :1] * x[:, 1:] > 0).astype(float)
        return Data(x, y, task="binary")


@engine.hookimpl
def tracegrad_register_datasets(register):
    register("quadrants", Quadrants, QuadrantsConfig)
