"""The GAN loop: alternation (D's updates, then G's through a frozen D), G learning only
through D, the trace of a step, results, run folders and ``engine.load_run``."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest

import engine
from engine.lifecycle import Run
from engine.scenario import load_scenario
from engine.trace import read_trace
from plugins.gan.build import build_gan
from plugins.gan.loop import GanLoop

TINY = {
    "name": "tiny-gan",
    "kind": "gan",
    "seed": 3,
    "data": {"type": "ring", "modes": 4, "radius": 1.0, "std": 0.05, "samples": 200},
    "latent": {"dim": 2},
    "generator": {
        "layers": [
            {"type": "dense", "units": 5, "activation": "tanh"},
            {"type": "dense", "units": 2},
        ]
    },
    "discriminator": {
        "layers": [
            {
                "type": "dense",
                "units": 6,
                "activation": {"type": "leaky_relu", "negative_slope": 0.2},
            },
            {"type": "dense", "units": 1},
        ]
    },
    "loss": {"type": "non_saturating"},
    "optimizer": {
        "generator": {"type": "sgd", "lr": 0.05},
        "discriminator": {"type": "sgd", "lr": 0.05},
    },
    "train": {"steps": 3, "batch_size": 8},
    "metrics": {"every": None, "samples": 100, "mmd_samples": 50},
}


def tiny(**sections) -> dict:
    """The tiny GAN scenario with whole top-level sections replaced."""
    scenario = copy.deepcopy(TINY)
    scenario.update(copy.deepcopy(sections))
    return scenario


def loop_for(scenario: dict) -> GanLoop:
    loaded = load_scenario(scenario)
    built = build_gan(loaded)
    return GanLoop(built, Run(loaded, built, False, None))


# --- alternation ---------------------------------------------------------------------------


def test_d_is_frozen_while_g_learns():
    loop = loop_for(tiny())
    d_before = loop.D.state()
    g_before = loop.G.state()
    loop.g_update(step=0, update=0, lr=0.05, traced=False)
    for key, value in loop.D.state().items():
        np.testing.assert_array_equal(value, d_before[key])
    assert any(not np.array_equal(v, g_before[k]) for k, v in loop.G.state().items())
    assert all(p.grad is None for p in loop.D.parameters)  # D's gradients were discarded


def test_g_is_untouched_while_d_learns():
    loop = loop_for(tiny())
    g_before = loop.G.state()
    for p in loop.G.parameters:
        p.grad = None
    loop.d_update(step=0, update=0, lr=0.05, traced=False)
    for key, value in loop.G.state().items():
        np.testing.assert_array_equal(value, g_before[key])
    assert all(p.grad is None for p in loop.G.parameters)  # G's backward never ran


def test_g_learns_only_through_d():
    """Changing the real data changes D's gradient but not G's: G never sees the data."""
    grads = {}
    for shift in (0.0, 5.0):
        loop = loop_for(tiny())
        loop.x_all = loop.x_all + shift
        loop.d_update(step=0, update=0, lr=0.0, traced=False)  # lr 0: D stays as built
        d_grad = [p.grad.copy() for p in loop.D.parameters]
        loop.g_update(step=0, update=0, lr=0.0, traced=False)
        grads[shift] = (d_grad, [p.grad.copy() for p in loop.G.parameters])
    for a, b in zip(grads[0.0][1], grads[5.0][1]):
        np.testing.assert_array_equal(a, b)
    assert any(not np.allclose(a, b) for a, b in zip(grads[0.0][0], grads[5.0][0]))


def test_each_step_runs_d_steps_then_g_steps():
    loop = loop_for(tiny(train={"steps": 2, "batch_size": 8, "d_steps": 2, "g_steps": 3}))
    order = []
    for name, optimizer in loop.built.optimizers.items():
        original = optimizer.step

        def step(params, lr, name=name, original=original):
            order.append(name)
            original(params, lr)

        optimizer.step = step
    loop.step(0, traced=False)
    assert order == ["D", "D", "G", "G", "G"]


# --- a whole run and its trace ---------------------------------------------------------------


@pytest.fixture(scope="module")
def traced_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gan-run")
    scenario = tiny(
        tricks=[{"type": "label_smoothing", "real": 0.9}],
        trace={"steps": [0], "last": True},
        metrics={"every": 2, "samples": 100, "mmd_samples": 50},
    )
    result = engine.run(scenario, run_dir=folder)
    return result, read_trace(folder)


def test_per_step_scalars(traced_run):
    result, trace = traced_run
    assert result.status == "completed" and len(result.history) == 3
    for row in result.history:
        for key in ("d_loss", "g_loss", "D(x)", "D(G(z))", "grad_norm.G", "grad_norm.D"):
            assert np.isfinite(row[key]), key
        assert row["lr.G"] == row["lr.D"] == 0.05
    assert [("modes" in row) for row in result.history] == [False, True, True]
    assert trace.history()[1]["modes"] == result.history[1]["modes"]
    assert 0 <= result.metrics["high_quality"] <= 1 and result.metrics["modes_total"] == 4


def test_trace_of_a_step_shows_both_phases(traced_run):
    _, trace = traced_run
    records = trace.step_records(0)
    kinds = [(r["type"], r.get("network"), r.get("phase"), r.get("batch")) for r in records]
    d_forward = [k for k in kinds if k[0] == "forward" and k[2] == "d"]
    assert {k[3] for k in d_forward} == {"real", "fake"}
    assert ("loss", "D", "d", "real") in kinds and ("loss", "D", "d", "fake") in kinds
    assert ("update", "D", "d", None) in kinds and ("update", "G", "g", None) in kinds
    assert ("forward", "D", "g", "fake") in kinds and ("backward", "G", "g", None) in kinds
    # D's updates come before G's, and G's backward after D's backward in the G phase
    first = {k: kinds.index(k) for k in reversed(kinds)}
    assert first[("update", "D", "d", None)] < first[("forward", "G", "g", None)]
    assert first[("backward", "D", "g", None)] < first[("backward", "G", "g", None)]


def test_trace_records_that_d_was_frozen(traced_run):
    _, trace = traced_run
    frozen = [r for r in trace.records if r["type"] == "frozen"]
    assert [r["step"] for r in frozen] == [0, 2]
    assert all(r["unchanged"] and r["max_abs_change"] == 0.0 for r in frozen)
    # and independently: D's parameters in the G-phase forward are those after D's update
    records = trace.step_records(0)
    after = {
        r["param"]: r["after"] for r in records if r["type"] == "update" and r["network"] == "D"
    }
    g_forward = [r for r in records if r["type"] == "forward" and r["phase"] == "g"]
    assert any(r["network"] == "D" for r in g_forward)
    assert after  # D was updated in the D phase


def test_trace_labels_and_handoff(traced_run):
    _, trace = traced_run
    records = trace.step_records(0)
    labels = [r for r in records if r["type"] == "labels"]
    assert np.allclose(labels[0]["real"], 0.9) and np.allclose(labels[0]["fake"], 0.0)
    assert np.allclose(labels[1]["target"], 1.0)
    note = next(r for r in records if r["type"] == "trick")
    assert note["trick"] == "label_smoothing" and "real targets 1 -> 0.9" in note["change"]
    assert note["hook"] == "d_labels" and note["phase"] == "d"
    handoff = next(r for r in records if r["type"] == "handoff")
    d_backward = [
        r for r in records if r["type"] == "backward" and r["network"] == "D" and r["phase"] == "g"
    ]
    first_d_layer = next(r for r in d_backward if r["index"] == 0)
    assert handoff["dL/dG(z)"] == first_d_layer["values"]["dL/dx"]
    assert all(r.get("frozen") for r in d_backward)


def test_generate_discriminate_and_load_run(traced_run):
    result, _ = traced_run
    samples = result.generate(7, seed=5)
    assert samples.shape == (7, 2)
    np.testing.assert_array_equal(samples, result.generate(7, seed=5))
    assert not np.array_equal(result.generate(7), result.generate(7))
    scores = result.discriminate(samples)
    assert scores.shape == (7, 1) and np.all((scores > 0) & (scores < 1))
    saved = np.load(result.run_dir / "params.npz")
    assert sorted(saved.files) == sorted(result.params)
    assert any(k.startswith("G.") for k in saved.files) and any(
        k.startswith("D.") for k in saved.files
    )
    loaded = engine.load_run(result.run_dir)
    np.testing.assert_array_equal(loaded.generate(7, seed=5), samples)
    np.testing.assert_array_equal(loaded.discriminate(samples), scores)


def test_named_layers_get_the_network_prefix():
    layers = {
        "layers": [
            {"type": "dense", "name": "hidden", "units": 4, "activation": "tanh"},
            {"type": "dense", "name": "out", "units": 2},
        ]
    }
    d_layers = {
        "layers": [
            {"type": "dense", "name": "hidden", "units": 4, "activation": "relu"},
            {"type": "dense", "name": "out", "units": 1},
        ]
    }
    built = build_gan(load_scenario(tiny(generator=layers, discriminator=d_layers)))
    assert [layer.name for layer in built.generator.layers] == ["G.hidden", "G.out"]
    assert "D.hidden.W" in built.state() and "G.hidden.W" in built.state()


@pytest.mark.parametrize("distribution", ["normal", "uniform", "spherical"])
def test_latent_distributions(distribution):
    built = build_gan(load_scenario(tiny(latent={"dim": 3, "distribution": distribution})))
    z = built.latent(2000, np.random.default_rng(0))
    assert z.shape == (2000, 3)
    if distribution == "uniform":
        assert z.min() >= -1 and z.max() <= 1 and abs(z.mean()) < 0.05
    elif distribution == "spherical":
        np.testing.assert_allclose(np.linalg.norm(z, axis=1), 1.0)
    else:
        assert abs(z.std() - 1.0) < 0.05


def test_a_run_is_reproducible():
    first = engine.run(tiny(), trace=False)
    second = engine.run(tiny(), trace=False)
    for key, value in first.params.items():
        np.testing.assert_array_equal(value, second.params[key])


def test_describe_names_both_networks():
    built = build_gan(load_scenario(tiny()))
    text = built.describe()
    assert text.startswith("gan: G dense 2→5, tanh, dense 5→2; D dense 2→6, leaky_relu")
    assert text.endswith(f"{2 * 5 + 5 + 5 * 2 + 2 + 2 * 6 + 6 + 6 + 1} parameters")


def test_traced_steps_picture_real_and_generated_samples_over_d(tmp_path):
    """Each traced step has a ``gan_samples`` record written whole, and the report plots it."""
    from engine.report import write_report
    from engine.trace import read_trace

    path = Path(__file__).parent.parent / "scenarios" / "gan" / "ring8.yaml"
    result = engine.run(path, trace=tmp_path / "trace.jsonl", overrides={"train.steps": 3})
    trace = read_trace(result.trace_path)
    pictures = [r for r in trace.records if r["type"] == "gan_samples"]
    assert [r["step"] for r in pictures] == trace.traced_steps
    first = pictures[0]
    assert np.asarray(first["real"]).shape == (256, 2)
    assert np.asarray(first["fake"]).shape == (256, 2)
    grid = np.asarray(first["grid"]["D"])
    assert grid.shape == (40, 40) and np.all((grid > 0) & (grid < 1))  # probabilities
    html = write_report(tmp_path, tmp_path / "report.html").read_text()
    assert html.count("samples-step-") >= len(trace.traced_steps)
