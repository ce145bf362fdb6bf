"""Augment the inputs: add a little noise to every mini-batch, drawn from the run's seed.

Use it in a scenario (it acts on every supervised run while installed)::

    train: {steps: 3}
"""

import numpy as np

import engine


class InputNoise:
    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)

    @engine.hookimpl
    def tracegrad_supervised_batch(self, batch, step):
        batch.x = batch.x + self.rng.normal(0.0, 0.01, size=batch.x.shape)
        return "inputs + N(0, 0.01²)"


@engine.hookimpl
def tracegrad_step_plugins(scenario):
    return [InputNoise(scenario.spec.seed)] if scenario.spec.kind == "supervised" else []
