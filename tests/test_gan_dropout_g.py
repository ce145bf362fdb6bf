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


MEASURE = """
import json, sys
import engine
from tests.test_gan_dropout_g import OFF, SCENARIO
on = engine.run(SCENARIO, trace=False)
off = engine.run(SCENARIO, trace=False, overrides=OFF)
print(json.dumps([[r.metrics["modes"], r.metrics["modes_total"], r.metrics["high_quality"]]
                  for r in (on, off)]))
"""


def test_the_numbers_docs_gan_md_quotes_are_the_full_runs():
    """docs/gan.md: seed 0, 8/8 modes and X% high quality with dropout on at generation,
    Y% for the same trained G without; both full runs, on the pinned code paths."""
    import json
    import os
    import re
    import subprocess
    import sys

    from benchmarks.pinned import PINNED
    from tests.conftest import ROOT

    line = next(
        line
        for line in (ROOT / "docs" / "gan.md").read_text(encoding="utf-8").splitlines()
        if "ring8_dropout_g.yaml` |" in line
    )
    said = re.search(
        r"seed 0, (\d+)/(\d+) modes and (\d+\.\d)% high-quality samples with it, (\d+\.\d)% for",
        line,
    )
    assert said, line
    done = subprocess.run(
        [sys.executable, "-c", MEASURE],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
        env={**os.environ, **PINNED, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr
    (modes, total, on), (_, _, off) = json.loads(done.stdout)
    assert said.groups() == (str(modes), str(total), f"{100 * on:.1f}", f"{100 * off:.1f}")
