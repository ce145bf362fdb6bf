"""Note the largest output of every traced forward pass.

Use it in a scenario (it acts on every supervised run while installed)::

    train: {steps: 3}
"""

import engine


class LargestOutput:
    @engine.hookimpl
    def tracegrad_supervised_forward(self, batch, network, step):
        return {"largest_output": float(batch.prediction.max())}


@engine.hookimpl
def tracegrad_step_plugins(scenario):
    return [LargestOutput()] if scenario.spec.kind == "supervised" else []
