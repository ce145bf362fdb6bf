"""The opt-in per-step scalar handoff_zeros: the fraction of exact zeros in dL/dG(z), the
gradient D hands to G (metrics.gradient_sparsity)."""

from __future__ import annotations

import numpy as np

import engine
from engine.trace import read_trace
from tests.test_gan import tiny

#: Four features seen as a 1×2×2 image, max-pooled to one number: each sample's gradient
#: reaches only the input that was the maximum, so exactly 3 of its 4 entries are 0.
POOLED_D = {
    "layers": [
        {"type": "reshape", "shape": [1, 2, 2]},
        {"type": "max_pool2d", "kernel_size": 2},
        {"type": "flatten"},
        {"type": "dense", "units": 1},
    ]
}
FOUR_FEATURES_G = {
    "layers": [{"type": "dense", "units": 5, "activation": "tanh"}, {"type": "dense", "units": 4}]
}
DATA = {"type": "inline", "x": [[0.1, 0.2, 0.3, 0.4], [0.4, 0.3, 0.2, 0.1]] * 4, "y": [[0.0]] * 8}


def run(tmp_path, **sections):
    result = engine.run(tiny(trace={"steps": [0, 2]}, **sections), run_dir=tmp_path / "run")
    return result, read_trace(tmp_path / "run")


def test_off_by_default(tmp_path):
    result, _ = run(tmp_path)
    assert all("handoff_zeros" not in row for row in result.history)


def test_the_fraction_of_zeros_of_the_handoff_record(tmp_path):
    metrics = {"every": None, "samples": 100, "mmd_samples": 50, "gradient_sparsity": True}
    result, trace = run(tmp_path, metrics=metrics)
    assert len(result.history) == 3
    for step in (0, 2):
        handoff = next(r for r in trace.step_records(step) if r["type"] == "handoff")
        grad = np.asarray(handoff["dL/dG(z)"])
        assert result.history[step]["handoff_zeros"] == np.mean(grad == 0.0)
    assert trace.history()[1]["handoff_zeros"] == result.history[1]["handoff_zeros"]


def test_max_pooling_on_the_input_zeroes_three_quarters(tmp_path):
    metrics = {"every": None, "samples": 100, "mmd_samples": 50, "gradient_sparsity": True}
    result, _ = run(
        tmp_path, metrics=metrics, data=DATA, generator=FOUR_FEATURES_G, discriminator=POOLED_D
    )
    assert [row["handoff_zeros"] for row in result.history] == [0.75, 0.75, 0.75]


def test_the_switch_is_kept_in_the_run_folder_only_when_on(tmp_path):
    """Off, the resolved scenario (trace header, scenario.yaml) is what it was before the
    switch existed, so traces of scenarios without it do not change; on, it is kept, so a
    reloaded run knows it."""
    metrics = {"every": None, "samples": 100, "mmd_samples": 50, "gradient_sparsity": True}
    run(tmp_path / "on", metrics=metrics)
    run(tmp_path / "off")
    on = read_trace(tmp_path / "on" / "run").header["scenario"]["metrics"]
    off = read_trace(tmp_path / "off" / "run").header["scenario"]["metrics"]
    assert on["gradient_sparsity"] is True and "gradient_sparsity" not in off
    assert engine.load_run(tmp_path / "on" / "run").scenario.spec.metrics.gradient_sparsity
