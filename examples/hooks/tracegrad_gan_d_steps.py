"""Two D updates at step 0, then as many as ``train.d_steps`` says.

Use it in a scenario::

    kind: gan
    tricks: [{type: two_d_steps_first}]
"""

from typing import Literal

import engine
from plugins.gan.components import GanTrick


class TwoDStepsFirstConfig(engine.ComponentConfig):
    type: Literal["two_d_steps_first"] = "two_d_steps_first"


class TwoDStepsFirst(GanTrick):
    @engine.hookimpl
    def tracegrad_gan_d_steps(self, step, d_steps):
        return 2 if step == 0 else None  # None: leave the number alone


@engine.hookimpl
def tracegrad_register_gan_tricks(register):
    register("two_d_steps_first", TwoDStepsFirst, TwoDStepsFirstConfig)
