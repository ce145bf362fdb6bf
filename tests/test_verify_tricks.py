"""GAN tricks and the verifier: a trick from outside the package that edits gradients or
parameters in place, in the documented hooks, never causes a false failure. The trace holds
the values after the hook, every other claim is checked against them, and the trick's own
change is checked by its rule (``register("tricks", name, rule)``) or counted unchecked with
the trick's name. The tricks are plugin modules written here, as an outside author would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import engine
from engine.trace import read_trace
from engine.verify import verify_trace
from tests.test_gan import tiny

#: Outside tricks acting in place: a historical-averaging-like pull of D's gradients, a
#: rescaling of D's weights after its update, an edit of G's gradients that leaves no note,
#: and a change of D's real labels.
OUTSIDE_TRICKS = '''
from typing import Literal

import numpy as np

import engine
from engine.components import ComponentConfig
from plugins.gan.components import GanTrick


class PullConfig(ComponentConfig):
    type: Literal["pull_to_start"] = "pull_to_start"


class PullToStart(GanTrick):
    """D's gradient + 2λ(θ − θ₀), added to p.grad directly (no add_term)."""

    def setup(self, run):
        self.start = {p.key: p.value.copy() for p in run.discriminator.parameters}

    @engine.hookimpl
    def tracegrad_gan_d_gradients(self, batch, discriminator, step):
        for p in discriminator.parameters:
            p.grad = p.grad + 0.02 * (p.value - self.start[p.key])
        return self.change("pulled D's gradients towards θ₀")


class RescaleConfig(ComponentConfig):
    type: Literal["rescale_d"] = "rescale_d"


class RescaleD(GanTrick):
    """θ_D <- 0.9·θ_D after each of D's updates."""

    @engine.hookimpl
    def tracegrad_gan_after_update(self, network, name, step):
        if name != "D":
            return None
        for p in network.parameters:
            p.value *= 0.9
        return self.change("rescaled D by 0.9")


class QuietConfig(ComponentConfig):
    type: Literal["quiet_g_decay"] = "quiet_g_decay"


class QuietGDecay(GanTrick):
    """G's gradient + 0.01·θ, with no note at all."""

    @engine.hookimpl
    def tracegrad_gan_g_gradients(self, batch, generator, step):
        for p in generator.parameters:
            p.grad = p.grad + 0.01 * p.value


class SofterConfig(ComponentConfig):
    type: Literal["softer_real"] = "softer_real"


class SofterReal(GanTrick):
    """D's real labels 1 -> 0.8."""

    needs_labels = True

    @engine.hookimpl
    def tracegrad_gan_d_labels(self, batch, step):
        batch.real_target = np.full_like(batch.real_target, 0.8)
        return self.change("real targets 1 -> 0.8")


class PairConfig(ComponentConfig):
    type: Literal["pair_fakes"] = "pair_fakes"


class PairFakes(GanTrick):
    """D sees G's samples two by two, side by side (as packing does), in both phases."""

    def d_input_features(self, features):
        return 2 * features

    @engine.hookimpl
    def tracegrad_gan_d_input(self, batch, step):
        shape = batch.fake.shape
        batch.fake = batch.fake.reshape(len(batch.fake) // 2, -1)
        batch.fake_backward.append(lambda grad: grad.reshape(shape))
        if batch.real is not None:
            batch.real = batch.real.reshape(len(batch.real) // 2, -1)
        return self.change("paired the samples")


@engine.hookimpl
def tracegrad_register_gan_tricks(register):
    register("pair_fakes", PairFakes, PairConfig)
    register("pull_to_start", PullToStart, PullConfig)
    register("rescale_d", RescaleD, RescaleConfig)
    register("quiet_g_decay", QuietGDecay, QuietConfig)
    register("softer_real", SofterReal, SofterConfig)
'''

#: The rules of two of them, in a module that imports no trick.
OUTSIDE_RULES = """
import engine
from plugins.rules.gan.tricks import TrickRule


class RescaleDRule(TrickRule):
    hooks = frozenset({"after_update"})

    def __init__(self, factor):
        self.factor = factor

    def parameters(self, config, network, before):
        if network != "D":
            return before
        return {key: None if v is None else self.factor * v for key, v in before.items()}


class SofterRealRule(TrickRule):
    hooks = frozenset({"d_labels"})

    def d_labels(self, config, sets, labels, n):
        sets["real"].intervals = [(0.8, 0.8)]
        return sets


@engine.hookimpl
def tracegrad_register_rules(register):
    register("tricks", "rescale_d", RescaleDRule(FACTOR))
    register("tricks", "softer_real", SofterRealRule())
"""


@pytest.fixture
def outside(tmp_path, monkeypatch):
    """Writes the tricks (and their rules, ``rules_factor``) as modules importable by name."""
    monkeypatch.syspath_prepend(str(tmp_path))

    def make(tricks, rules_factor=None, name="run"):
        (tmp_path / "outside_tricks.py").write_text(OUTSIDE_TRICKS, encoding="utf-8")
        plugins = ["outside_tricks"]
        if rules_factor is not None:
            module = f"outside_rules_{str(rules_factor).replace('.', '_')}"
            text = OUTSIDE_RULES.replace("FACTOR", repr(rules_factor))
            (tmp_path / f"{module}.py").write_text(textwrap.dedent(text), encoding="utf-8")
            plugins.append(module)
        scenario = tiny(tricks=[{"type": t} for t in tricks], trace={"every": 1})
        scenario["plugins"] = plugins
        path = tmp_path / name / "trace.jsonl"
        result = engine.run(scenario, trace=path)
        assert result.status == "completed"
        return path

    return make


def reasons(report) -> str:
    return "\n".join(report.unruled)


def test_a_gradient_edit_in_d_gradients_is_recorded_and_never_a_false_failure(outside):
    path = outside(["pull_to_start"])
    notes = [r for r in read_trace(path).records if r.get("trick") == "pull_to_start"]
    # the values after the hook, once it changed them (at step 0 θ = θ₀: nothing to pull)
    assert notes and all(("grads" in note) == (note["step"] > 0) for note in notes)
    report = verify_trace(path)
    assert not report.disagreements, report.format()
    assert not report.problems
    assert "no rule for trick 'pull_to_start'" in reasons(report)
    assert "d_gradients (D's gradients)" in reasons(report)
    assert report.verdict.startswith("partly verified")


def test_a_weight_rescale_after_ds_update_does_not_blame_g(outside):
    path = outside(["rescale_d"])
    report = verify_trace(path)
    assert not report.disagreements, report.format()
    assert "no rule for trick 'rescale_d'" in reasons(report)
    assert "after_update (D's parameters after the update)" in reasons(report)
    assert "unchanged by G's phase" not in report.format()


def test_an_edit_with_no_note_is_recorded_all_the_same(outside):
    path = outside(["quiet_g_decay"])
    notes = [r for r in read_trace(path).records if r.get("trick") == "quiet_g_decay"]
    assert notes and all(n["hook"] == "g_gradients" and "grads" in n for n in notes)
    assert "(no note)" in notes[0]["change"]
    report = verify_trace(path)
    assert not report.disagreements, report.format()
    assert "no rule for trick 'quiet_g_decay'" in reasons(report)


def test_an_unknown_trick_leaves_every_other_claim_checked(outside):
    """Built-in label smoothing's labels are still checked next to an unknown trick."""
    alone = verify_trace(outside([], name="alone"))
    path = outside(["rescale_d", "pull_to_start"], name="mixed")
    report = verify_trace(path)
    assert not report.disagreements, report.format()
    # the only claims lost are the tricks' own: the checked count does not fall
    assert report.claims >= alone.claims


def test_an_unknown_label_trick_is_unchecked_not_failed(outside):
    report = verify_trace(outside(["softer_real"]))
    assert not report.disagreements, report.format()
    assert "no rule for trick 'softer_real'" in reasons(report)
    assert "D's labels" in reasons(report)


def test_an_unknown_trick_that_reshapes_ds_input_is_unchecked_not_failed(outside):
    report = verify_trace(outside(["pair_fakes"]))
    assert not report.disagreements, report.format()
    assert "no rule for trick 'pair_fakes': the change it made in d_input" in reasons(report)


def test_with_their_rules_the_changes_are_checked(outside):
    report = verify_trace(outside(["rescale_d", "softer_real"], rules_factor=0.9))
    assert report.ok and report.complete, report.format()
    assert not report.unruled


def test_a_wrong_rule_is_a_disagreement_at_the_trick(outside, tmp_path):
    """A rule that says 0.8 where the trick scales by 0.9 (in a fresh process: a rule,
    once registered, stays for the process)."""
    path = outside(["rescale_d"], rules_factor=0.8)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.getcwd()])}
    done = subprocess.run(
        [sys.executable, "-m", "engine", "verify", str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "D update 0, trick rescale_d" in done.stdout
    assert "rescale_d's rule (after_update)" in done.stdout


def test_an_edited_value_after_the_hook_is_caught_without_a_rule(outside):
    path = outside(["rescale_d"])
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    note = next(r for r in records if r.get("trick") == "rescale_d" and r["step"] == 1)
    key = next(iter(note["params"]))
    note["params"][key] = (np.asarray(note["params"][key]) + 0.5).tolist()
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    report = verify_trace(path, claims_only=True)
    assert any(d.quantity == "before" for d in report.disagreements), report.format()


def test_a_hook_that_changes_nothing_adds_no_values():
    """Historical averaging's after_update only keeps its average: no note, no values."""
    import tempfile
    from pathlib import Path

    scenario = tiny(tricks=[{"type": "historical_averaging"}], trace={"every": 1})
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "trace.jsonl"
        engine.run(scenario, trace=path)
        notes = [r for r in read_trace(path).records if r["type"] == "trick"]
    assert notes and not any("params" in n or "grads" in n for n in notes)


def test_rule_modules_import_no_component_loop_or_kind():
    """Every rule module, built-in or in an example package, imports only the verifier's
    pieces (``engine.verify``, ``engine.trace``, ``plugins.rules``): never what it checks."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    modules = [*(root / "plugins" / "rules").rglob("*.py"), *root.glob("examples/*/*/rules.py")]
    assert len(modules) >= 10
    for path in modules:
        own = path.parent.name  # an example's own package: its components
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                assert not (top == "plugins" and not name.startswith("plugins.rules")), path
                assert top != own, path
                if top == "engine":
                    assert name in ("engine", "engine.hookspecs") or name.startswith(
                        ("engine.verify", "engine.trace")
                    ), (path, name)
