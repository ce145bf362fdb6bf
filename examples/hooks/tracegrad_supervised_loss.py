"""Note the loss L and the size of its gradient ‖dL/dŷ‖ on every traced step, before the
backward pass (a hook may also change ``batch.value`` and ``batch.grad`` together).

Use it in a scenario (it acts on every supervised run while installed)::

    train: {steps: 3}
"""

import numpy as np

import engine


class LossNote:
    @engine.hookimpl
    def tracegrad_supervised_loss(self, batch, step):
        return {"loss": batch.value, "grad_norm": float(np.linalg.norm(batch.grad))}


@engine.hookimpl
def tracegrad_step_plugins(scenario):
    return [LossNote()] if scenario.spec.kind == "supervised" else []
