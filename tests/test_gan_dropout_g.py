"""scenarios/gan/ring8_dropout_g.yaml: dropout in G kept on when generating (keep_in_eval).

The evaluation masks come from their own random generator, so keeping dropout on at
generation changes G's samples but not a single number of training."""

from __future__ import annotations

import numpy as np

import engine
from tests.conftest import SCENARIOS

SCENARIO = SCENARIOS / "gan" / "ring8_dropout_g.yaml"
OFF = {"generator.layers.1.keep_in_eval": False, "generator.layers.3.keep_in_eval": False}


def test_g_keeps_dropout_on_when_generating():
    spec = engine.load_scenario(SCENARIO).spec
    dropouts = [layer for layer in spec.generator.layers if layer.type == "dropout"]
    assert len(dropouts) == 2 and all(layer.keep_in_eval for layer in dropouts)

    steps = {"train.steps": 60, "metrics.every": None, "metrics.samples": 200}
    on = engine.run(SCENARIO, trace=False, overrides=steps)
    off = engine.run(SCENARIO, trace=False, overrides={**steps, **OFF})
    # the same training, step by step
    assert [row["g_loss"] for row in on.history] == [row["g_loss"] for row in off.history]
    np.testing.assert_array_equal(on.params["G.dense0.W"], off.params["G.dense0.W"])
    # a fixed z gives new samples on every call with dropout on, the same ones without
    assert not np.array_equal(on.generate(50, seed=1), on.generate(50, seed=1))
    np.testing.assert_array_equal(off.generate(50, seed=1), off.generate(50, seed=1))
