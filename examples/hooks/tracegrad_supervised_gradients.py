"""Clip every gradient entry to [−0.1, 0.1] before the update.

Use it in a scenario (it acts on every supervised run while installed)::

    train: {steps: 3}
"""

import numpy as np

import engine


class ClipEntries:
    @engine.hookimpl
    def tracegrad_supervised_gradients(self, batch, network, step):
        for p in network.parameters:
            np.clip(p.grad, -0.1, 0.1, out=p.grad)
        return "every gradient entry clipped to [-0.1, 0.1]"


@engine.hookimpl
def tracegrad_step_plugins(scenario):
    return [ClipEntries()] if scenario.spec.kind == "supervised" else []
