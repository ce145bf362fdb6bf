"""The example plugin packages beside examples/plugin-swish, each installed as a third-party
author's users would install it (pip, into a folder of its own) and run through the command
line: plugin-lion, an optimizer with state; plugin-g-grad-clip, a GAN trick on G's side with
its verification rule."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import ROOT

EXAMPLES = ROOT / "examples"
PACKAGES = ("plugin-lion", "plugin-g-grad-clip")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Every example package installed into one folder, as ``pip install`` would."""
    target = tmp_path_factory.mktemp("site")
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps"]
    command += ["--target", str(target), *(str(EXAMPLES / n) for n in PACKAGES)]
    try:
        subprocess.run(command, check=True)
    except subprocess.CalledProcessError as error:  # pragma: no cover - needs a package index
        pytest.fail(f"could not install the example plugins: {error}")
    return target


def tracegrad(site: Path, *args, **env) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)]), **env}
    return subprocess.run(
        [sys.executable, "-m", "engine", *map(str, args)],
        capture_output=True,
        text=True,
        env=environment,
        cwd=site,
    )


def load_module(path: Path, name: str):
    """An example's module imported from its source file (for tests of its parts)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # pydantic resolves the config's annotations through it
    spec.loader.exec_module(module)
    return module


def final_loss(stdout: str) -> float:
    return float(stdout.split("final loss ")[1].split(",")[0])


# --- plugin-lion -----------------------------------------------------------------------------

LION = EXAMPLES / "plugin-lion" / "tracegrad_lion"


def test_lion_update_is_the_papers_formula():
    from engine.components import Parameter

    lion = load_module(LION / "__init__.py", "example_lion")
    config = lion.LionConfig(lr=0.1, betas=(0.9, 0.99), weight_decay=0.5)
    optimizer = lion.Lion(config)
    rng = np.random.default_rng(0)
    theta = rng.normal(size=(3, 2))
    p = Parameter("layer.W", theta.copy())
    m = np.zeros_like(theta)
    for _ in range(3):  # the second and third steps start from a non-zero momentum
        g = rng.normal(size=theta.shape)
        p.grad = g.copy()
        optimizer.step([p], 0.1)
        c = 0.9 * m + 0.1 * g
        theta = theta - 0.1 * (np.sign(c) + 0.5 * theta)
        m = 0.99 * m + 0.01 * g
        np.testing.assert_allclose(p.value, theta, rtol=1e-12, atol=1e-15)
        state = optimizer.state("layer.W")
        np.testing.assert_allclose(state["m"], m, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(state["c"], c, rtol=1e-12, atol=1e-15)


def test_lion_state_is_a_copy_and_steps_are_lr():
    from engine.components import Parameter

    lion = load_module(LION / "__init__.py", "example_lion")
    optimizer = lion.Lion(lion.LionConfig(lr=0.1))
    p = Parameter("w", np.ones(2), np.ones(2))
    optimizer.step([p], 0.1)
    first = optimizer.state("w")
    optimizer.step([p], 0.1)
    assert np.allclose(first["m"], 0.01)  # (1 - β2)·g after one step, not changed since
    assert np.allclose(optimizer.state("w")["m"], 0.99 * 0.01 + 0.01)
    # without weight decay every entry moves by exactly lr, whatever the gradient's size
    assert np.allclose(p.value, 1.0 - 2 * 0.1)


@pytest.fixture(scope="module")
def lion_trace(site, tmp_path_factory):
    trace = tmp_path_factory.mktemp("lion") / "t.jsonl"
    result = tracegrad(site, "run", LION / "sine_lion.yaml", "--trace", trace)
    assert result.returncode == 0, result.stderr
    assert "sine-lion: completed, 600 steps" in result.stdout
    assert final_loss(result.stdout) < 0.05
    return trace


def test_lion_is_listed_from_its_package(site):
    listing = tracegrad(site, "plugins", "--kind", "optimizers")
    assert "lion  (plugin lion)  tracegrad-lion 0.1.0" in listing.stdout, listing.stdout


def test_lion_trace_records_its_state(lion_trace):
    records = [json.loads(line) for line in lion_trace.read_text().splitlines()]
    updates = [r for r in records if r["type"] == "update"]
    assert updates and {u["optimizer"] for u in updates} == {"lion"}
    assert all(set(u["state"]) == {"c", "m"} for u in updates)


def test_lion_trace_verifies_completely(site, lion_trace):
    verified = tracegrad(site, "verify", lion_trace)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "verified: every claim holds" in verified.stdout
    assert "no rule" not in verified.stdout


def test_without_its_rules_lion_is_partly_verified(site, lion_trace):
    without = tracegrad(site, "verify", lion_trace, TRACEGRAD_DISABLE_PLUGINS="lion_rules")
    assert without.returncode == 3, without.stdout + without.stderr
    assert "partly verified" in without.stdout
    assert "no rule for optimizer 'lion'" in without.stdout


def test_lion_rule_catches_a_wrong_update(site, lion_trace, tmp_path):
    lines = lion_trace.read_text().splitlines()
    for i, line in enumerate(lines):
        record = json.loads(line)
        if record["type"] == "update" and record["step"] == 1:
            record["applied"] = (-np.asarray(record["applied"])).tolist()  # the wrong sign
            lines[i] = json.dumps(record)
            break
    edited = tmp_path / "edited.jsonl"
    edited.write_text("\n".join(lines) + "\n")
    result = tracegrad(site, "verify", edited, "--claims-only")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "applied" in result.stdout and "Δp = -lr·(sign(c)" in result.stdout


# --- plugin-g-grad-clip ----------------------------------------------------------------------

G_CLIP = EXAMPLES / "plugin-g-grad-clip" / "tracegrad_g_grad_clip"


def test_g_grad_clip_rescales_gs_gradient_to_the_norm():
    """g <- g·c/(‖g‖ + 1e-6) when ‖g‖ > c; a gradient already short enough is left alone."""
    from types import SimpleNamespace

    clip = load_module(G_CLIP / "__init__.py", "example_g_grad_clip")
    trick = clip.GGradClip(clip.GGradClipConfig(max_norm=0.5))
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal((3, 2)), rng.standard_normal(2)]
    generator = SimpleNamespace(parameters=[SimpleNamespace(grad=g.copy()) for g in grads])
    norm = np.sqrt(sum(float(np.sum(g * g)) for g in grads))
    assert norm > 0.5
    note = trick.tracegrad_gan_g_gradients(batch=None, generator=generator, step=0)
    assert note["trick"] == "g_grad_clip" and "-> 0.5" in note["change"]
    for p, g in zip(generator.parameters, grads):
        np.testing.assert_allclose(p.grad, g * 0.5 / (norm + 1e-6), rtol=1e-15)
    after = np.sqrt(sum(float(np.sum(p.grad * p.grad)) for p in generator.parameters))
    assert after == pytest.approx(0.5, rel=1e-5)
    assert trick.tracegrad_gan_g_gradients(batch=None, generator=generator, step=1) is None


@pytest.fixture(scope="module")
def g_clip_trace(site, tmp_path_factory):
    trace = tmp_path_factory.mktemp("g_clip") / "t.jsonl"
    result = tracegrad(site, "run", G_CLIP / "ring8_g_clip.yaml", "--trace", trace)
    assert result.returncode == 0, result.stderr
    assert "ring8-g-clip: completed, 300 steps" in result.stdout
    return trace


def test_g_grad_clip_is_listed_from_its_package(site):
    listing = tracegrad(site, "plugins", "--kind", "gan_tricks")
    assert "g_grad_clip  (plugin g_grad_clip)  tracegrad-g-grad-clip 0.1.0" in listing.stdout


def test_g_grad_clip_trace_holds_gs_gradients_after_the_hook(g_clip_trace):
    records = [json.loads(line) for line in g_clip_trace.read_text().splitlines()]
    notes = [r for r in records if r["type"] == "trick" and r["trick"] == "g_grad_clip"]
    assert notes and all(n["hook"] == "g_gradients" and "grads" in n for n in notes)
    updates = {(r["step"], r["param"]): r for r in records if r["type"] == "update"}
    for note in notes:  # what G's optimizer used is the clipped gradient
        for key, grad in note["grads"].items():
            np.testing.assert_array_equal(updates[(note["step"], key)]["grad"], grad)


def test_g_grad_clip_trace_verifies_completely(site, g_clip_trace):
    verified = tracegrad(site, "verify", g_clip_trace)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "verified: every claim holds" in verified.stdout
    assert "no rule" not in verified.stdout


def test_without_its_rules_g_grad_clip_is_partly_verified(site, g_clip_trace):
    disabled = {"TRACEGRAD_DISABLE_PLUGINS": "g_grad_clip_rules"}
    without = tracegrad(site, "verify", g_clip_trace, **disabled)
    assert without.returncode == 3, without.stdout + without.stderr
    assert "no rule for trick 'g_grad_clip'" in without.stdout
    assert "comes from tracegrad-g-grad-clip 0.1.0: install its rules" in without.stdout


def test_g_grad_clip_rule_catches_a_wrong_clip(site, g_clip_trace, tmp_path):
    lines = g_clip_trace.read_text().splitlines()
    for i, line in enumerate(lines):
        record = json.loads(line)
        if record["type"] == "trick" and record.get("trick") == "g_grad_clip":
            key = next(iter(record["grads"]))
            record["grads"][key] = (np.asarray(record["grads"][key]) * 1.01).tolist()
            lines[i] = json.dumps(record)
            break
    edited = tmp_path / "edited.jsonl"
    edited.write_text("\n".join(lines) + "\n")
    result = tracegrad(site, "verify", edited, "--claims-only")
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"trick g_grad_clip: {key}" in result.stdout
    assert "g_grad_clip's rule (g_gradients)" in result.stdout
