"""A step plugin that counts the steps it saw and notes the loss of each traced step.

Use it in a scenario (it acts on every supervised run while installed)::

    train: {steps: 3}
"""

import engine


class LossNotes:
    def __init__(self):
        self.steps = 0

    @engine.hookimpl
    def tracegrad_supervised_loss(self, batch, step):
        self.steps += 1
        return f"loss {batch.value:.4g} at step {step}"  # a ``hook`` record on traced steps


@engine.hookimpl
def tracegrad_step_plugins(scenario):
    if scenario.spec.kind != "supervised":
        return []  # not this plugin's business
    return [LossNotes()]
