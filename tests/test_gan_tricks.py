"""Every built-in GAN trick's effect on labels, inputs, parameters and the d_steps schedule;
the gradient penalty's second-order backward; hooks nobody implements are never called;
a third-party trick is a small plugin."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

import engine
from engine.errors import BuildError
from engine.gradcheck import numerical_gradient
from engine.scenario import load_scenario
from engine.steps import StepHooks
from plugins.gan.build import build_gan
from plugins.gan.components import GanBatch, GanTrick
from plugins.gan.hookspecs import GanStepSpecs
from tests.conftest import ROOT
from tests.test_gan import loop_for, tiny

N = 8


def built_with(*tricks, **sections):
    return build_gan(load_scenario(tiny(tricks=list(tricks), **sections)))


def d_batch(built, n=N):
    loss = built.loss
    batch = GanBatch(
        "d",
        z=np.zeros((n, 2)),
        real=np.ones((n, 2)),
        fake=np.zeros((n, 2)),
        real_target=np.full((n, 1), loss.real_label),
        fake_target=np.full((n, 1), loss.fake_label),
    )
    batch.samples = batch.fake
    return batch


def call(built, hook, **kwargs):
    return built.hooks.call(hook, **kwargs)


# --- labels ----------------------------------------------------------------------------------


def test_one_sided_label_smoothing():
    built = built_with({"type": "label_smoothing", "real": 0.9})
    batch = d_batch(built)
    notes = call(built, "tracegrad_gan_d_labels", batch=batch, step=0)
    assert np.all(batch.real_target == 0.9) and np.all(batch.fake_target == 0.0)
    assert notes == [{"trick": "label_smoothing", "change": "real batch: real targets 1 -> 0.9"}]


def test_two_sided_label_smoothing():
    built = built_with({"type": "label_smoothing", "real": 0.9, "fake": 0.1})
    batch = d_batch(built)
    call(built, "tracegrad_gan_d_labels", batch=batch, step=0)
    assert np.all(batch.real_target == 0.9) and np.all(batch.fake_target == 0.1)


def test_soft_labels_drawn_from_ranges():
    built = built_with({"type": "label_smoothing", "real": [0.7, 1.2], "fake": [0.0, 0.3]})
    batch = d_batch(built, n=400)
    call(built, "tracegrad_gan_d_labels", batch=batch, step=0)
    real, fake = batch.real_target, batch.fake_target
    assert real.min() >= 0.7 and real.max() <= 1.2 and real.std() > 0.1
    assert fake.min() >= 0.0 and fake.max() <= 0.3 and len(np.unique(fake)) > 300


def test_label_smoothing_leaves_g_target_alone():
    loop = loop_for(tiny(tricks=[{"type": "label_smoothing", "real": 0.9, "fake": 0.1}]))
    assert loop.hooks.listens("tracegrad_gan_d_labels")
    assert not loop.hooks.listens("tracegrad_gan_g_labels")


def test_noisy_labels_flip_an_exact_fraction():
    built = built_with({"type": "noisy_labels", "fraction": 0.25})
    batch = d_batch(built)
    notes = call(built, "tracegrad_gan_d_labels", batch=batch, step=0)
    assert np.sum(batch.real_target == 0.0) == 2 and np.sum(batch.real_target == 1.0) == 6
    assert np.sum(batch.fake_target == 1.0) == 2 and np.sum(batch.fake_target == 0.0) == 6
    assert "flipped 2 of 8 real targets (1 -> 0)" in notes[0]["change"]


def test_noisy_labels_after_smoothing_reflect_the_smoothed_label():
    built = built_with(
        {"type": "label_smoothing", "real": 0.9},
        {"type": "noisy_labels", "fraction": 0.5, "which": "real"},
    )
    batch = d_batch(built)
    notes = call(built, "tracegrad_gan_d_labels", batch=batch, step=0)
    assert [n["trick"] for n in notes] == ["label_smoothing", "noisy_labels"]  # listed order
    assert sorted(batch.real_target.ravel().round(12).tolist()) == [0.1] * 4 + [0.9] * 4
    assert np.all(batch.fake_target == 0.0)


def test_label_tricks_need_a_loss_with_labels(tmp_path):
    path = tmp_path / "hinge.yaml"
    path.write_text(
        yaml.safe_dump(tiny(loss={"type": "hinge"}, tricks=[{"type": "label_smoothing"}])),
        encoding="utf-8",
    )
    with pytest.raises(BuildError) as error:
        build_gan(load_scenario(path))
    assert "has no labels" in error.value.message
    assert error.value.where.startswith(f"{path}:")


# --- D's input -------------------------------------------------------------------------------


def test_instance_noise_is_annealed_linearly():
    built = built_with({"type": "instance_noise", "std": 0.4})  # 3 steps
    trick = built.tricks[0]
    assert [trick.std(t) for t in (0, 1, 3)] == pytest.approx([0.4, 0.4 * 2 / 3, 0.0])
    built = built_with({"type": "instance_noise", "std": 0.4, "anneal_steps": 1})
    assert built.tricks[0].std(1) == 0.0


def test_instance_noise_on_real_and_fake_inputs():
    built = built_with(
        {"type": "instance_noise", "std": 0.5}, train={"steps": 100, "batch_size": 8}
    )
    batch = d_batch(built, n=4000)
    samples = batch.fake
    notes = call(built, "tracegrad_gan_d_input", batch=batch, step=0)
    assert abs(np.std(batch.real - 1.0) - 0.5) < 0.02 and abs(np.std(batch.fake) - 0.5) < 0.02
    assert batch.samples is samples and np.all(samples == 0.0)  # G's output itself unchanged
    assert notes[0]["change"] == "added N(0, 0.5²) noise to real and fake inputs"
    g_batch = GanBatch("g", z=np.zeros((4000, 2)), fake=np.zeros((4000, 2)))
    notes = call(built, "tracegrad_gan_d_input", batch=g_batch, step=50)
    assert g_batch.real is None and abs(np.std(g_batch.fake) - 0.25) < 0.01
    assert notes[0]["change"] == "added N(0, 0.25²) noise to fake inputs"
    assert call(built, "tracegrad_gan_scalars", step=50) == [{"instance_noise.std": 0.25}]


def test_instance_noise_stops_when_annealed():
    built = built_with({"type": "instance_noise", "std": 0.5})
    batch = d_batch(built)
    assert call(built, "tracegrad_gan_d_input", batch=batch, step=3) == []
    assert np.all(batch.real == 1.0)


# --- parameters ------------------------------------------------------------------------------


def test_weight_clipping_clamps_d_only():
    built = built_with({"type": "weight_clipping", "clip": 0.01})
    g_before = built.generator.state()
    call(built, "tracegrad_gan_after_update", network=built.generator, name="G", step=0)
    for key, value in built.generator.state().items():
        np.testing.assert_array_equal(value, g_before[key])
    big = sum(int(np.sum(np.abs(p.value) > 0.01)) for p in built.discriminator.parameters)
    notes = call(built, "tracegrad_gan_after_update", network=built.discriminator, name="D", step=0)
    assert all(np.abs(p.value).max() <= 0.01 for p in built.discriminator.parameters)
    total = sum(p.value.size for p in built.discriminator.parameters)
    assert notes[0]["change"] == f"clipped {big} of {total} D parameters to [-0.01, 0.01]"


def test_weight_clipping_in_a_run():
    result = engine.run(
        tiny(loss={"type": "wasserstein"}, tricks=[{"type": "weight_clipping", "clip": 0.02}]),
        trace=False,
    )
    assert all(np.abs(v).max() <= 0.02 for k, v in result.params.items() if k.startswith("D."))
    assert any(np.abs(v).max() > 0.02 for k, v in result.params.items() if k.startswith("G."))


def test_gradient_penalty_of_a_linear_critic_by_hand():
    # D(x) = x·w + b has ∇_x D = w for every x: P = λ(‖w‖ - 1)², dP/dw = 2λ(‖w‖ - 1)·w/‖w‖
    layers = {"layers": [{"type": "dense", "units": 1, "init": {"W": [[0.6], [1.2]]}}]}
    built = built_with({"type": "gradient_penalty", "weight": 10.0}, discriminator=layers)
    trick, D = built.tricks[0], built.discriminator
    x = np.random.default_rng(0).normal(size=(5, 2))
    value, grads, norms = trick.penalty(D, x)
    w = np.array([[0.6], [1.2]])
    norm = np.linalg.norm(w)
    assert value == pytest.approx(10.0 * (norm - 1.0) ** 2)
    np.testing.assert_allclose(norms, norm)
    np.testing.assert_allclose(grads["D.dense0.W"], 20.0 * (norm - 1.0) * w / norm)


@pytest.mark.parametrize("at, target", [("interpolates", 1.0), ("real", 0.0)])
def test_gradient_penalty_second_order_backward(at, target):
    """dP/dW of P = λ·mean(‖∇_x D‖ - target)² against finite differences, for a critic of
    dense layers with leaky_relu (inside the layer and as a layer of its own)."""
    layers = {
        "layers": [
            {
                "type": "dense",
                "units": 7,
                "activation": {"type": "leaky_relu", "negative_slope": 0.2},
            },
            {"type": "dense", "units": 5},
            {"type": "leaky_relu", "negative_slope": 0.1},
            {"type": "dense", "units": 1},
        ]
    }
    trick_config = {"type": "gradient_penalty", "weight": 3.0, "target": target, "at": at}
    built = built_with(trick_config, discriminator=layers, loss={"type": "wasserstein"})
    trick, D = built.tricks[0], built.discriminator
    x = np.random.default_rng(1).normal(size=(6, 2))
    _, grads, _ = trick.penalty(D, x)
    for p in D.parameters:
        numeric, _ = numerical_gradient(lambda: trick.penalty(D, x)[0], p.value)
        analytic = grads.get(p.key, np.zeros_like(p.value))  # biases: no effect on ∇_x D
        np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-8, err_msg=p.key)


def test_gradient_penalty_adds_to_d_loss_in_a_run():
    result = engine.run(
        tiny(loss={"type": "wasserstein"}, tricks=[{"type": "gradient_penalty"}]), trace=False
    )
    assert all(np.isfinite(row["d_loss"]) for row in result.history)


def test_gradient_penalty_refuses_layers_without_a_second_order_backward():
    layers = {
        "layers": [
            {"type": "dense", "units": 4, "activation": "tanh"},
            {"type": "dense", "units": 1},
        ]
    }
    with pytest.raises(BuildError) as error:
        built_with({"type": "gradient_penalty"}, discriminator=layers, loss={"type": "wasserstein"})
    assert "second-order backward" in error.value.message and "D.dense0" in error.value.message


# --- the d_steps schedule --------------------------------------------------------------------


def test_d_steps_schedule_values():
    config = {
        "type": "d_steps_schedule",
        "phases": [{"start": 10, "d_steps": 3}, {"start": 20, "d_steps": 1}],
        "boost_first": 2,
        "boost_every": 50,
        "boost_d_steps": 7,
    }
    built = built_with(config, train={"steps": 100, "batch_size": 8, "d_steps": 2})
    answers = {
        step: call(built, "tracegrad_gan_d_steps", step=step, d_steps=2)
        for step in (0, 1, 2, 9, 10, 19, 20, 50, 51)
    }
    assert answers == {0: 7, 1: 7, 2: 2, 9: 2, 10: 3, 19: 3, 20: 1, 50: 7, 51: 1}


def test_d_steps_schedule_in_a_run():
    schedule = {"type": "d_steps_schedule", "boost_first": 1, "boost_d_steps": 4}
    result = engine.run(tiny(tricks=[schedule]), trace=False)
    assert [row["d_steps"] for row in result.history] == [4, 1, 1]


def test_bad_schedule_is_a_validation_error():
    bad = {
        "type": "d_steps_schedule",
        "phases": [{"start": 5, "d_steps": 2}, {"start": 1, "d_steps": 1}],
    }
    with pytest.raises(engine.TracegradError) as error:
        load_scenario(tiny(tricks=[bad]))
    assert "increasing steps" in str(error.value)


# --- the hooks themselves ------------------------------------------------------------------


def test_hooks_nobody_implements_are_not_called():
    hooks = StepHooks(GanStepSpecs, [])
    assert hooks.active == {} and hooks.call("tracegrad_gan_d_labels", batch=None, step=0) == []
    built = built_with({"type": "weight_clipping"})
    assert list(built.hooks.active) == ["tracegrad_gan_after_update"]


class DoubleRealTargets(GanTrick):
    """A third-party trick: real targets 1 -> 2 (for the test only)."""

    @engine.hookimpl
    def tracegrad_gan_d_labels(self, batch, step):
        batch.real_target = batch.real_target * 2.0
        return self.change("real targets 1 -> 2")


class ThirdParty:
    """A plugin object registering the trick above."""

    @engine.hookimpl
    def tracegrad_register_gan_tricks(self, register):
        from typing import Literal

        class DoubleConfig(engine.ComponentConfig):
            type: Literal["double_real_targets"] = "double_real_targets"

        register("double_real_targets", DoubleRealTargets, DoubleConfig)


def test_a_third_party_trick_is_a_small_plugin(tmp_path):
    scenario = load_scenario(
        tiny(tricks=[{"type": "double_real_targets"}], trace={"steps": [0], "last": False}),
        plugins=[ThirdParty()],
    )
    result = engine.run(scenario, run_dir=tmp_path)
    trace = engine.trace.read_trace(tmp_path)
    labels = next(r for r in trace.records if r["type"] == "labels")
    assert np.all(np.asarray(labels["real"]) == 2.0)
    note = next(r for r in trace.records if r["type"] == "trick")
    assert note["change"] == "real targets 1 -> 2" and note["trick"] == "double_real_targets"
    assert result.status == "completed"


class Misspelt(GanTrick):
    @engine.hookimpl
    def tracegrad_gan_d_lables(self, batch, step):
        return None


def test_a_misspelt_trick_hook_is_refused():
    with pytest.raises(engine.TracegradError) as error:
        StepHooks(GanStepSpecs, [Misspelt(type("Config", (), {"type": "misspelt"})())])
    assert "tracegrad_gan_d_lables" in str(error.value)


def test_the_trick_example_in_the_docs_works(tmp_path):
    text = (ROOT / "docs" / "gan.md").read_text(encoding="utf-8")
    section = text.split("## Writing a trick", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    (tmp_path / "fake_as_half.py").write_text(code, encoding="utf-8")
    scenario = tiny(
        plugins=["fake_as_half.py"],
        tricks=[{"type": "fake_as_half", "value": 0.25}],
        trace={"steps": [0], "last": False},
    )
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(scenario), encoding="utf-8")
    engine.run(path, run_dir=tmp_path / "run")
    trace = engine.trace.read_trace(tmp_path / "run")
    labels = next(r for r in trace.records if r["type"] == "labels")
    assert np.all(np.asarray(labels["fake"]) == 0.25)


# --- packing ---------------------------------------------------------------------------------


def test_packing_reshapes_d_input_and_labels():
    loop = loop_for(tiny(tricks=[{"type": "packing", "samples": 2}]))
    assert loop.D.in_features == 4 and loop.G.out_features == 2
    batch = GanBatch("d", z=np.zeros((8, 2)), real=np.arange(16.0).reshape(8, 2))
    batch.fake = batch.samples = -np.arange(16.0).reshape(8, 2)
    notes = loop.call("d_input", [], batch=batch, step=0)
    np.testing.assert_array_equal(batch.real[1], [4.0, 5.0, 6.0, 7.0])  # samples 2 and 3
    assert (
        batch.fake.shape == (4, 4) and notes[0]["change"] == "packed 8 samples into 4 inputs of 2"
    )
    np.testing.assert_array_equal(batch.fake_backward[0](batch.fake), batch.samples)


def test_packing_gradient_reaches_g(tmp_path):
    """G's gradient through a packed D, as the loop computes it, against finite differences
    of L_G(D(pack(G(z))))."""
    loop = loop_for(tiny(tricks=[{"type": "packing", "samples": 2}]))
    z = np.random.default_rng(4).normal(size=(8, 2))
    loop.built.latent = lambda n, rng: z.copy()
    loop.g_update(step=0, update=0, lr=0.0, traced=False)
    G, D, loss = loop.G, loop.D, loop.loss

    def objective():
        logits = D.forward(G.forward(z, True).reshape(4, 4), True)
        return loss.generator(logits, np.ones((4, 1)))[0]

    for p in G.parameters:
        analytic = p.grad.copy()
        numeric, _ = numerical_gradient(objective, p.value)
        np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-8, err_msg=p.key)


def test_packing_in_a_run_and_after_loading(tmp_path):
    scenario = tiny(tricks=[{"type": "packing", "samples": 4}])
    result = engine.run(scenario, run_dir=tmp_path)
    points = result.generate(5, seed=0)
    loaded = engine.load_run(tmp_path)
    np.testing.assert_array_equal(loaded.discriminate(points), result.discriminate(points))
    one = result.discriminate(points[:1])
    packed = result.discriminator.forward(np.tile(points[:1], (1, 4)), training=False)
    np.testing.assert_allclose(one, 1 / (1 + np.exp(-packed)))


def test_packing_needs_a_multiple_of_the_batch_size():
    with pytest.raises(BuildError) as error:
        built_with({"type": "packing", "samples": 3})
    assert "batch_size 8 is not a multiple of 3" in error.value.message


def test_lazy_gradient_penalty_acts_every_k_steps_with_k_times_the_weight():
    config = {"type": "gradient_penalty", "weight": 2.0, "target": 0.0, "at": "real", "every": 3}
    built = built_with(config, loss={"type": "wasserstein"})
    trick, D = built.tricks[0], built.discriminator
    batch = d_batch(built)
    batch.real = np.random.default_rng(0).normal(size=(N, 2))
    for p in D.parameters:
        p.grad = np.zeros_like(p.value)
    assert call(built, "tracegrad_gan_d_gradients", batch=batch, discriminator=D, step=1) == []
    assert batch.penalties == {} and all(not p.grad.any() for p in D.parameters)
    call(built, "tracegrad_gan_d_gradients", batch=batch, discriminator=D, step=3)
    plain, _, _ = trick.penalty(D, batch.real, 2.0)
    assert batch.penalties["gradient_penalty"] == pytest.approx(3 * plain)


class WrongArguments(GanTrick):
    @engine.hookimpl
    def tracegrad_gan_d_labels(self, batch, step, labels):
        return None


def test_a_trick_hook_with_unknown_arguments_is_refused():
    with pytest.raises(engine.TracegradError) as error:
        StepHooks(GanStepSpecs, [WrongArguments(type("Config", (), {"type": "wrong"})())])
    assert "labels" in str(error.value)
