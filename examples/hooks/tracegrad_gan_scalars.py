"""A per-step scalar: 1 on even steps, 0 on odd ones (a column of the run's scalars).

Use it in a scenario::

    kind: gan
    tricks: [{type: step_parity}]
"""

from typing import Literal

import engine
from plugins.gan.components import GanTrick


class StepParityConfig(engine.ComponentConfig):
    type: Literal["step_parity"] = "step_parity"


class StepParity(GanTrick):
    @engine.hookimpl
    def tracegrad_gan_scalars(self, step):
        return {"step_parity.even": 1.0 if step % 2 == 0 else 0.0}


@engine.hookimpl
def tracegrad_register_gan_tricks(register):
    register("step_parity", StepParity, StepParityConfig)
