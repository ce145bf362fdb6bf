"""Conditional GANs (plugins/gan/conditional.py): the label path, the gradients, the trace
checks of plugins/rules/gan/conditional.py, generate/discriminate with labels, bad configs,
and the class fidelity docs/gan.md quotes for cgan_ring8."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import engine
from engine.trace.reader import read_trace
from engine.verify import verify_trace
from plugins.gan.metrics import class_fidelity
from tests.conftest import ROOT, SCENARIOS

TINY = """
name: tiny_cgan
kind: gan
seed: 0
data: {{type: ring, modes: 4, radius: 2.0, std: 0.02, samples: 200}}
latent: {{dim: 2}}
generator:
  layers:
    - {{type: dense, units: 5, activation: leaky_relu}}
    - {{type: dense, units: 2}}
discriminator:
  layers:
    - {{type: dense, units: 6, activation: leaky_relu}}
    - {{type: dense, units: 5, activation: tanh}}
    - {{type: dense, units: 1}}
loss: {{type: non_saturating}}
optimizer:
  generator: {{type: adam, lr: 1.0e-3}}
  discriminator: {{type: adam, lr: 1.0e-3}}
train: {{steps: 3, batch_size: 8}}
tricks: {tricks}
conditional: {conditional}
metrics: {{every: null, samples: 40}}
trace: {{every: 1, max_values: 100000}}
"""

TYPES = ["concat", "projection", "acgan"]


def tiny(write_scenario, conditional: str = "{type: concat}", tricks: str = "[]"):
    return write_scenario(TINY.format(conditional=conditional, tricks=tricks))


@pytest.mark.parametrize("kind", TYPES)
def test_gradients_match_finite_differences(write_scenario, kind):
    scenario = engine.load_scenario(tiny(write_scenario, f"{{type: {kind}}}"))
    results = scenario.kind.gradcheck(scenario)
    keys = {r.name for r in results}
    assert {"G.dense0.W", "D.dense2.W"} <= keys
    if kind == "projection":
        assert "D.embed.E" in keys
    if kind == "acgan":
        assert {"D.classifier.W", "D.classifier.b"} <= keys
    assert all(r.error < 1e-6 for r in results), [(r.name, r.error) for r in results]


@pytest.mark.parametrize("kind", TYPES)
def test_the_label_path_is_traced_and_verified(write_scenario, tmp_path, kind):
    path = tiny(write_scenario, f"{{type: {kind}}}")
    result = engine.run(path, run_dir=tmp_path / "run")
    assert result.status == "completed"
    trace = read_trace(tmp_path / "run" / "trace.jsonl")
    assert trace.header["conditional"]["classes"] == 4
    g_input = next(r for r in trace.records if r["type"] == "forward" and r["layer"] == "G.dense0")
    assert np.asarray(g_input["values"]["x"]).shape == (8, 2 + 4)  # [z, one-hot(y)]
    conditions = [r for r in trace.records if r["type"] == "condition"]
    assert {r["phase"] for r in conditions} == {"d", "g"}
    terms = [r for r in trace.records if r["type"] == "condition_term"]
    assert bool(terms) == (kind != "concat")
    if kind == "acgan":  # the class term of G's loss
        g_loss = next(r for r in trace.records if r["type"] == "gan_loss" and r["network"] == "G")
        assert set(g_loss["terms"]) == {"generator", "class"}
    report = verify_trace(tmp_path / "run")
    assert report.ok and report.complete, report.format()
    # only the report pictures are left out: every claim of both phases was checked whole
    assert set(report.skipped) == {next(r for r in report.skipped if "pictures" in r)}


def _tamper(folder, kind: str, change) -> None:
    path = folder / "trace.jsonl"
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    record = next(r for r in records if r["type"] == kind and r.get("step") == 1)
    change(record)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


@pytest.mark.parametrize(
    ("kind", "record", "change", "caught"),
    [
        (
            "concat",
            "condition",
            lambda r: r["labels"].__setitem__(0, (r["labels"][0] + 1) % 4),
            "with one-hot(y) appended",
        ),
        (
            "projection",
            "condition_term",
            lambda r: r["dL/dfeatures"][0].__setitem__(0, 1.0),
            "dL/dφ(x)",
        ),
        (
            "acgan",
            "condition_term",
            lambda r: r.__setitem__("value", r["value"] + 0.01),
            "class term",
        ),
    ],
)
def test_a_changed_label_or_term_is_caught(write_scenario, tmp_path, kind, record, change, caught):
    engine.run(tiny(write_scenario, f"{{type: {kind}}}"), run_dir=tmp_path / "run")
    _tamper(tmp_path / "run", record, change)
    report = verify_trace(tmp_path / "run", claims_only=True)
    assert not report.ok
    assert caught in report.format()


def test_generate_and_discriminate_take_labels(write_scenario, tmp_path):
    result = engine.run(tiny(write_scenario, "{type: projection}"), trace=False)
    a = result.generate(5, seed=3, labels=2)
    b = result.generate(5, seed=3, labels=[2, 2, 2, 2, 2])
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, result.generate(5, seed=3, labels=1))  # the class matters
    assert result.discriminate(a, labels=2).shape == (5, 1)
    for bad in (4, -1, [0, 1], 1.5):
        with pytest.raises(ValueError, match="labels"):
            result.generate(5, labels=bad)
    with pytest.raises(ValueError, match="labels="):
        result.discriminate(a)
    plain = engine.run(
        SCENARIOS / "gan" / "gaussian_1d.yaml", trace=False, overrides={"train.steps": 2}
    )
    with pytest.raises(ValueError, match="conditional"):
        plain.generate(3, labels=0)


def test_a_loaded_run_draws_the_same_classes(write_scenario, tmp_path):
    result = engine.run(tiny(write_scenario, "{type: acgan}"), run_dir=tmp_path / "run")
    loaded = engine.load_run(tmp_path / "run")
    np.testing.assert_array_equal(
        loaded.generate(6, seed=1, labels=3), result.generate(6, seed=1, labels=3)
    )


@pytest.mark.parametrize(
    ("conditional", "tricks", "data", "expected"),
    [
        ("{type: concatt}", "[]", None, "Did you mean 'concat'"),
        ("{type: projection, init_std: -1}", "[]", None, "init_std"),
        ("{type: concat}", "[{type: packing}]", None, "cannot be combined"),
        ("{type: acgan}", "[{type: experience_replay}]", None, "cannot be combined"),
        ("{type: concat}", "[]", "{type: sine}", "needs class labels"),
        (
            "{type: concat}",
            "[]",
            "{type: ring, modes: 1000000, samples: 1000}",
            "1000000 classes",
        ),
    ],
)
def test_bad_configs_name_the_file_and_line(
    cli, write_scenario, conditional, tricks, data, expected
):
    path = tiny(write_scenario, conditional, tricks)
    if data is not None:
        text = path.read_text().replace(
            "{type: ring, modes: 4, radius: 2.0, std: 0.02, samples: 200}", data
        )
        path.write_text(text)
    result = cli("validate", path)
    assert result.code == 2, result
    assert expected in result.err
    assert f"{path.name}:" in result.err and "Traceback" not in result.err


def test_projection_needs_features(cli, write_scenario):
    path = tiny(write_scenario, "{type: projection}")
    text = path.read_text().replace(
        "    - {type: dense, units: 6, activation: leaky_relu}\n"
        "    - {type: dense, units: 5, activation: tanh}\n",
        "",
    )
    path.write_text(text)
    result = cli("validate", path)
    assert result.code == 2 and "second-to-last" in result.err
    assert f"{path.name}:" in result.err


def test_an_unconditional_header_has_no_conditional_key():
    scenario = engine.load_scenario(SCENARIOS / "gan" / "ring8.yaml")
    assert "conditional" not in scenario.resolved()


def test_cgan_ring8_class_fidelity_of_the_short_run_in_the_docs():
    """docs/gan.md: seed 0 trained for 400 steps (the cosine schedule over 400): class
    fidelity 98.9% on average, the worst class 98.2% (1,000 samples per class)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from class_fidelity import fidelities

    result = engine.run(
        SCENARIOS / "gan" / "cgan_ring8.yaml", trace=False, overrides={"train.steps": 400}
    )
    values = fidelities(result, 0)
    assert len(values) == 8
    assert round(100 * float(np.mean(values)), 1) == 98.9
    assert round(100 * min(values), 1) == 98.2


def test_class_fidelity_counts_only_good_samples_of_the_asked_mode():
    centers = np.array([[0.0, 0.0], [1.0, 0.0]])
    samples = np.array([[0.0, 0.0], [0.001, 0.0], [1.0, 0.0], [0.2, 0.0]])
    # mode 0: two good samples of mode 0, one of mode 1, one too far from any mode
    assert class_fidelity(samples, 0, centers, std=0.01) == 0.5


def test_validate_names_the_conditioning(cli, write_scenario):
    result = cli("validate", tiny(write_scenario, "{type: acgan}"))
    assert result.code == 0 and "conditional acgan (4 classes)" in result.out


# --- a plugin's conditioning and its rule (register("conditionings", name, rule)) ---------


def signed_rule(scale: int) -> str:
    """The rule module of docs/plugins.md's "Verify your conditioning", with D's input
    [x, scale·one-hot(y) − 1] (2 is the plugin's own formula)."""
    guide = (ROOT / "docs" / "plugins.md").read_text("utf-8")
    section = guide.split("## Verify your conditioning", 1)[1].split("\n## ", 1)[0]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    assert "2 * labels - 1" in code
    return code.replace("2 * labels - 1", f"{scale} * labels - 1")


def _signed_run(tmp_path, monkeypatch, rule_scale=None):
    """The conditioning of examples/hooks/tracegrad_register_gan_conditionings.py run as an
    outside module (with, when ``rule_scale`` is given, a rule module d_input = [x, s·y − 1]);
    ``tracegrad verify`` of it in a fresh process."""
    example = ROOT / "examples" / "hooks" / "tracegrad_register_gan_conditionings.py"
    (tmp_path / "outside_signed.py").write_text(example.read_text("utf-8"), encoding="utf-8")
    modules = ["outside_signed"]
    if rule_scale is not None:
        rule = signed_rule(rule_scale)
        (tmp_path / "outside_signed_rules.py").write_text(rule, encoding="utf-8")
        modules.append("outside_signed_rules")
    monkeypatch.syspath_prepend(str(tmp_path))
    scenario = {
        "kind": "gan",
        "name": "signed-cgan",
        "seed": 0,
        "data": {"type": "ring", "modes": 4, "radius": 2.0, "std": 0.02, "samples": 512},
        "latent": {"dim": 2},
        "generator": {
            "layers": [
                {"type": "dense", "units": 8, "activation": "tanh"},
                {"type": "dense", "units": 2},
            ]
        },
        "discriminator": {
            "layers": [
                {"type": "dense", "units": 8, "activation": "tanh"},
                {"type": "dense", "units": 1},
            ]
        },
        "train": {"steps": 4, "batch_size": 16},
        "loss": {"type": "non_saturating"},
        "optimizer": {
            "generator": {"type": "adam", "lr": 0.01},
            "discriminator": {"type": "adam", "lr": 0.01},
        },
        "conditional": {"type": "signed_concat"},
        "trace": {"every": 2, "max_values": 100000},
        "plugins": modules,
    }
    path = tmp_path / "run" / "trace.jsonl"
    assert engine.run(scenario, trace=path).status == "completed"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    return subprocess.run(
        [sys.executable, "-m", "engine", "verify", str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_a_plugin_conditioning_without_a_rule_is_unchecked_never_a_disagreement(
    tmp_path, monkeypatch
):
    done = _signed_run(tmp_path, monkeypatch)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "no rule for conditioning 'signed_concat'" in done.stdout
    assert "disagreements: 0" in done.stdout


def test_a_plugin_conditioning_with_its_rule_is_verified(tmp_path, monkeypatch):
    done = _signed_run(tmp_path, monkeypatch, rule_scale=2)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no rule for conditioning" not in done.stdout


def test_a_wrong_conditioning_rule_is_a_disagreement(tmp_path, monkeypatch):
    done = _signed_run(tmp_path, monkeypatch, rule_scale=3)  # [x, 3·y − 1]: not the plugin's
    assert done.returncode == 1, done.stdout + done.stderr
