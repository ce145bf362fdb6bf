"""The example plugin packages beside examples/plugin-swish, each installed as a third-party
author's users would install it (pip, into a folder of its own) and run through the command
line: plugin-lion, an optimizer with state; plugin-g-grad-clip, a GAN trick on G's side with
its verification rule; plugin-svmlight, a data set read from a file format; plugin-csv-report,
a report format and a report section."""

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
PACKAGES = ("plugin-lion", "plugin-g-grad-clip", "plugin-svmlight", "plugin-csv-report")


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


def test_lion_update_is_worked_out_in_the_report(site, lion_trace, tmp_path):
    """The report shows Lion's rule and each entry's update with its numbers, and every line
    arrives at the value the trace recorded."""
    from engine.report.numbers import fmt

    output = tmp_path / "lion.md"
    result = tracegrad(site, "report", lion_trace, "-o", output)
    assert result.returncode == 0, result.stderr
    text = output.read_text(encoding="utf-8")
    assert "p ← p − lr·(sign(c) + λ·p)" in text
    record = next(
        json.loads(line)
        for line in lion_trace.read_text().splitlines()
        if '"update"' in line and '"hidden.W"' in line
    )
    after = np.asarray(record["after"]).ravel()
    for column, value in enumerate(after, start=1):
        entry = "W₁" + str(column).translate(str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉"))
        expected = f"{entry} ← {entry} − lr·(sign(c) + λ·{entry}) = "
        line = next(line for line in text.splitlines() if expected in line)
        assert line.rstrip().rstrip("$").rstrip().endswith(f"= {fmt(value)}"), line
    quoted = "W₁₁ ← W₁₁ − lr·(sign(c) + λ·W₁₁) = -0.249866 − 0.01 × (sign(-0.0149749) + "
    quoted += "0.01 × (-0.249866)) = -0.239841"
    assert quoted in text  # the line the README and docs/plugins.md quote
    for doc in (EXAMPLES / "plugin-lion" / "README.md", ROOT / "docs" / "plugins.md"):
        assert quoted in doc.read_text(encoding="utf-8"), doc


# --- plugin-svmlight -------------------------------------------------------------------------

SVMLIGHT = EXAMPLES / "plugin-svmlight" / "tracegrad_svmlight"


def test_svmlight_parses_sparse_lines_comments_and_labels():
    svmlight = load_module(SVMLIGHT / "__init__.py", "example_svmlight")
    text = "# a comment line\n+1 1:0.5 3:-1.2   # label +1\n\n-1 2:7\n"
    labels, rows = svmlight.parse(text, "t.svm")
    assert labels == [1.0, -1.0] and rows == [{0: 0.5, 2: -1.2}, {1: 7.0}]
    y, classes = svmlight.targets(labels, "binary", "t.svm")
    assert y.tolist() == [[1.0], [0.0]] and classes == 2


def test_svmlight_is_listed_and_trains_xor_from_its_file(site, tmp_path):
    listing = tracegrad(site, "plugins", "--kind", "datasets")
    assert "svmlight  (plugin svmlight)  tracegrad-svmlight 0.1.0" in listing.stdout
    trace = tmp_path / "t.jsonl"
    result = tracegrad(site, "run", SVMLIGHT / "xor_svmlight.yaml", "--trace", trace)
    assert result.returncode == 0, result.stderr
    assert "accuracy 100.0%" in result.stdout and final_loss(result.stdout) < 0.01
    header = json.loads(trace.read_text().splitlines()[0])
    x = [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]  # the missing features are 0
    assert header["data"]["features"] == 2
    verified = tracegrad(site, "verify", trace)
    assert verified.returncode == 0 and "verified: every claim holds" in verified.stdout
    records = [json.loads(line) for line in trace.read_text().splitlines()]
    forward = next(r for r in records if r["type"] == "forward" and r["step"] == 0)
    assert forward["values"]["x"] == x


MALFORMED = [
    ("+1 1:0.5\n-1 2\n", "bad.svm:2: '2' is not index:value"),
    ("+1 1:0.5\nmaybe 1:1\n", "bad.svm:2: the label 'maybe' is not a number"),
    ("+1 2:0.5 1:1\n", "bad.svm:1: feature index 1 after 2: indices must increase"),
    ("# only\n\n+1 0:1\n", "bad.svm:3: feature index '0' is not a whole number ≥ 1"),
    ("+1 1:nan\n", "bad.svm:1: feature 1 is nan"),
    ("+1 1:1\n2 1:0\n", "bad.svm: binary labels are -1/+1 or 0/1"),
    ("# nothing here\n", "bad.svm has no samples"),
]


@pytest.mark.parametrize("content, message", MALFORMED, ids=[m for _, m in MALFORMED])
def test_a_malformed_svmlight_file_is_a_located_error(site, tmp_path, content, message):
    (tmp_path / "bad.svm").write_text(content)
    scenario = (SVMLIGHT / "xor_svmlight.yaml").read_text().replace("xor.svm", "bad.svm")
    (tmp_path / "bad.yaml").write_text(scenario)
    result = tracegrad(site, "run", tmp_path / "bad.yaml", "--trace", tmp_path / "t.jsonl")
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr, result.stderr
    assert "bad.yaml:4" in result.stderr  # the scenario's data: line
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "t.jsonl").exists()


# --- plugin-csv-report -----------------------------------------------------------------------

CSV_REPORT = EXAMPLES / "plugin-csv-report"


@pytest.fixture(scope="module")
def sine_run(site, tmp_path_factory):
    trace = tmp_path_factory.mktemp("sine") / "t.jsonl"
    scenario = ROOT / "scenarios" / "sine.yaml"
    result = tracegrad(site, "run", scenario, "--trace", trace, "--set", "train.steps=120")
    assert result.returncode == 0, result.stderr
    return trace


def _scalars(trace: Path) -> dict:
    from engine.trace import read_trace

    return read_trace(trace).scalars


def test_the_csv_format_holds_every_scalar_of_every_step(site, sine_run, tmp_path):
    import csv

    listing = tracegrad(site, "plugins", "--kind", "reporters")
    assert "scalars_csv  (plugin csv_report)  tracegrad-csv-report 0.1.0" in listing.stdout
    output = tmp_path / "scalars.csv"
    result = tracegrad(site, "report", sine_run, "-o", output)
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(output.open()))
    scalars = _scalars(sine_run)
    assert len(rows) == len(scalars["step"]) == 120
    assert set(rows[0]) == set(scalars)
    for name in ("loss", "lr"):
        assert [float(r[name]) for r in rows] == [float(v) for v in scalars[name]]


def test_the_milestones_section_names_the_first_step_below_each_fraction(site, sine_run, tmp_path):
    output = tmp_path / "report.md"
    result = tracegrad(site, "report", sine_run, "-o", output)
    assert result.returncode == 0, result.stderr
    text = output.read_text(encoding="utf-8")
    loss = [float(v) for v in _scalars(sine_run)["loss"]]
    assert f"The loss at step 0 was L₀ = {loss[0]:.6g}." in text
    for fraction in (0.5, 0.1, 0.01):
        below = next((i for i, v in enumerate(loss) if v < fraction * loss[0]), None)
        reached = "not reached" if below is None else f"step {below} (L = {loss[below]:.6g})"
        assert f"| {fraction:g} × L₀ = {fraction * loss[0]:.6g} | {reached} |" in text


def test_without_the_package_the_csv_format_is_unknown(sine_run, tmp_path):
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "engine", "report", str(sine_run), "-o", str(tmp_path / "s.csv")],
        capture_output=True,
        text=True,
        env=environment,
    )
    assert result.returncode == 2 and "cannot tell the report format" in result.stderr


def test_the_numbers_the_example_readmes_quote_are_measured(site, tmp_path):
    """The lines quoted in plugin-csv-report's and plugin-svmlight's READMEs come from the
    bundled scenarios they name."""
    trace = tmp_path / "xor" / "trace.jsonl"
    assert tracegrad(site, "run", ROOT / "scenarios" / "xor.yaml", "--trace", trace).returncode == 0
    for output in (tmp_path / "s.csv", tmp_path / "r.md"):
        assert tracegrad(site, "report", trace.parent, "-o", output).returncode == 0
    readme = (CSV_REPORT / "README.md").read_text(encoding="utf-8")
    csv_lines = (tmp_path / "s.csv").read_text().splitlines()
    assert f"    {csv_lines[0]}\n    {csv_lines[1]}\n" in readme
    quoted = "| 0.5 × L₀ = 0.357887 | step 39 (L = 0.349543) |"
    assert quoted in readme and quoted in (tmp_path / "r.md").read_text(encoding="utf-8")
    run = tracegrad(site, "run", SVMLIGHT / "xor_svmlight.yaml", "--trace", tmp_path / "x.jsonl")
    line = run.stdout.split(", 0.")[0].split(" s,")[0]
    assert "xor-svmlight: completed, 300 steps, final loss 0.000548098, accuracy 100.0%" in line
    svm_readme = (EXAMPLES / "plugin-svmlight" / "README.md").read_text(encoding="utf-8")
    assert "final loss 0.000548098, accuracy 100.0%" in svm_readme
