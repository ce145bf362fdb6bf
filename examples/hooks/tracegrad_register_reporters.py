"""A report section: the loss at the first and the last step, in one sentence.

Use it in a report::

    tracegrad report runs/xor --plugin examples/hooks/tracegrad_register_reporters.py
"""

from typing import Literal

import engine
from engine.components import Reporter
from engine.report.document import Section, Text


class LossChangeConfig(engine.ComponentConfig):
    type: Literal["loss_change"] = "loss_change"


class LossChange(Reporter):
    order = 15  # after the summary, before the plots

    def sections(self, report):
        loss = report.scalar("loss")
        if len(loss) < 2:
            return []
        section = Section("Loss change", id="loss-change")
        section.add(Text(f"The loss went from {loss[0]:.4g} to {loss[-1]:.4g}."))
        return [section]


@engine.hookimpl
def tracegrad_register_reporters(register):
    register("loss_change", LossChange, LossChangeConfig)
