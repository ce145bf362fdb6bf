"""Loss terms on G's side of the game, written as tricks on the GAN step hooks only: feature
matching (a term on D's features whose gradient flows down D into G) and historical averaging
(a term on the parameters, for G and for D). Each is gradient-checked against central
differences, traced, and accepted by the verifier; a trick from outside the package can do
the same."""

from __future__ import annotations

import json

import numpy as np
import pytest

import engine
from engine.gradcheck import numerical_gradient, relative_error
from engine.scenario import load_scenario
from engine.trace import read_trace
from engine.verify import verify_trace
from plugins.gan.build import build_gan
from plugins.gan.components import GanBatch
from tests.test_gan import tiny

N = 8


def trick_of(built, name):
    return next(t for t in built.tricks if t.config.type == name)


def test_feature_matching_gradient_into_g_matches_finite_differences():
    built = build_gan(load_scenario(tiny(tricks=[{"type": "feature_matching", "weight": 0.7}])))
    G, D, trick = built.generator, built.discriminator, trick_of(built, "feature_matching")
    rng = np.random.default_rng(1)
    z, real = rng.standard_normal((N, 2)), rng.standard_normal((N, 2))
    layer = trick.layer
    assert layer == D.layers[-2].name

    def features(x):
        outputs = {}
        D.forward(x, training=True, outputs=outputs)
        return outputs[layer]

    def objective():
        gap = features(real).mean(axis=0) - features(G.forward(z, True)).mean(axis=0)
        return 0.7 * float(gap @ gap)

    batch = GanBatch("g", z=z, real=real)
    D.forward(real, training=True, outputs=batch.features_real)
    D.forward(G.forward(z, True), training=True, outputs=batch.features_fake)
    trick.tracegrad_gan_g_loss(batch=batch, discriminator=D, step=0)
    (term,) = batch.terms
    assert term.value == pytest.approx(objective(), rel=1e-12)
    G.forward(z, True)
    G.backward(term.fake_grad)
    for p in G.parameters:
        analytic = p.grad.copy()
        numeric, _ = numerical_gradient(objective, p.value)
        assert relative_error(analytic, numeric, floor=1e-6) < 1e-6, p.key


@pytest.mark.parametrize("network", ["G", "D"])
def test_historical_averaging_gradient_matches_finite_differences(network):
    scenario = tiny(tricks=[{"type": "historical_averaging", "network": network, "weight": 0.3}])
    built = build_gan(load_scenario(scenario))
    trick = trick_of(built, "historical_averaging")
    net = built.generator if network == "G" else built.discriminator
    history = [{p.key: p.value + 0.1 * k for p in net.parameters} for k in (1, 2, 3)]
    for past in history:  # three updates seen: θ̄ is their mean
        trick.sums = {key: trick.sums.get(key, 0) + value for key, value in past.items()}
    trick.counts[network] = 3

    def objective():
        batch = GanBatch(network.lower(), z=np.zeros((1, 2)))
        trick.add(batch, network)
        return batch.terms[0].value

    batch = GanBatch(network.lower(), z=np.zeros((1, 2)))
    trick.add(batch, network)
    for p in net.parameters:
        numeric, _ = numerical_gradient(objective, p.value)
        assert relative_error(batch.terms[0].grads[p.key], numeric, floor=1e-6) < 1e-6


def run_traced(tmp_path, tricks, **sections):
    scenario = tiny(tricks=tricks, trace={"every": 1}, **sections)
    return engine.run(scenario, trace=tmp_path / "trace.jsonl")


def test_both_terms_are_traced_and_the_trace_verifies(tmp_path):
    tricks = [
        {"type": "feature_matching"},
        {"type": "historical_averaging", "network": "both", "weight": 0.01},
    ]
    result = run_traced(tmp_path, tricks)
    assert result.status == "completed"
    trace = read_trace(tmp_path / "trace.jsonl")
    terms = [r for r in trace.records if r["type"] == "term"]
    assert {(r["network"], r["name"]) for r in terms} == {
        ("G", "feature_matching"),
        ("G", "historical_averaging"),
        ("D", "historical_averaging"),
    }
    g_losses = [r for r in trace.records if r["type"] == "gan_loss" and r["network"] == "G"]
    assert g_losses and set(g_losses[0]["terms"]) == {
        "generator",
        "feature_matching",
        "historical_averaging",
    }
    report = verify_trace(tmp_path / "trace.jsonl")
    assert report.ok, report.format()
    # the terms' own formulas have no rule: their effect on the updates is what is checked
    assert any("feature_matching term" in reason for reason in report.unruled)
    assert not report.complete and report.verdict.startswith("partly verified")


def test_a_changed_term_gradient_is_caught(tmp_path):
    run_traced(tmp_path, [{"type": "historical_averaging", "weight": 0.5}])
    path = tmp_path / "trace.jsonl"
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    term = next(r for r in records if r["type"] == "term" and r["step"] == 2)
    key = next(iter(term["grads"]))
    term["grads"][key] = (np.asarray(term["grads"][key]) * 2 + 0.01).tolist()
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    report = verify_trace(path)
    assert not report.ok
    assert key in report.format()


OUTSIDE_TRICK = '''
import numpy as np
from typing import Literal

import engine
from engine.components import ComponentConfig
from plugins.gan.components import GanTrick


class MeanMatchingConfig(ComponentConfig):
    type: Literal["mean_matching"] = "mean_matching"


class MeanMatching(GanTrick):
    """G's loss + ‖mean x − mean G(z)‖², a term on D's input: its gradient goes into G."""

    def setup(self, run):
        self.mean = run.data.x.mean(axis=0)

    @engine.hookimpl
    def tracegrad_gan_g_loss(self, batch, discriminator, step):
        gap = self.mean - batch.fake.mean(axis=0)
        grad = np.broadcast_to(-2.0 / len(batch.fake) * gap, batch.fake.shape).copy()
        batch.add_term("mean_matching", float(gap @ gap), fake_grad=grad)
        return self.change("matched the means")


@engine.hookimpl
def tracegrad_register_gan_tricks(register):
    register("mean_matching", MeanMatching, MeanMatchingConfig)
'''


def test_a_trick_from_outside_the_package_adds_a_term_to_gs_loss(tmp_path):
    (tmp_path / "mean_matching.py").write_text(OUTSIDE_TRICK, encoding="utf-8")
    scenario = tiny(tricks=[{"type": "mean_matching"}], trace={"every": 1})
    scenario["plugins"] = [str(tmp_path / "mean_matching.py")]
    result = engine.run(scenario, trace=tmp_path / "run" / "trace.jsonl")
    assert result.status == "completed"
    trace = read_trace(tmp_path / "run" / "trace.jsonl")
    assert any(r["type"] == "term" and r["name"] == "mean_matching" for r in trace.records)
    assert verify_trace(tmp_path / "run" / "trace.jsonl").ok
