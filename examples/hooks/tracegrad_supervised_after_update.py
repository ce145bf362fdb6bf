"""A max-norm constraint: after each update, every weight matrix column has norm ≤ 2.

Use it in a scenario (it acts on every supervised run while installed)::

    train: {steps: 3}
"""

import numpy as np

import engine


class MaxNorm:
    @engine.hookimpl
    def tracegrad_supervised_after_update(self, network, step):
        for p in network.parameters:
            if p.key.endswith(".W"):
                norms = np.linalg.norm(p.value, axis=0, keepdims=True)
                p.value *= np.minimum(1.0, 2.0 / np.maximum(norms, 1e-12))


@engine.hookimpl
def tracegrad_step_plugins(scenario):
    return [MaxNorm()] if scenario.spec.kind == "supervised" else []
