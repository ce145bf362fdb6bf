"""Supervised step plugins and the verifier: a plugin from outside the package that changes the
batch, the loss, the gradients or the parameters in the documented hooks never causes a false
failure. The trace holds its note (with the gradients or parameters after the hook), every
other claim is checked against what the step really used, and the plugin's own change is
checked by its rule (``register("step_plugins", name, rule)``) or counted unchecked with the
plugin's name. The plugins are modules written here, as an outside author would."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import engine
from engine.trace import read_trace
from engine.verify import verify_trace

#: Four outside step plugins, one module each: name -> (the plugin, its rule).
PLUGINS = {
    "steeper": (
        '''
class Steeper:
    """g <- 1.5·g before every update (no note: the loop writes one)."""

    name = "steeper"

    @engine.hookimpl
    def tracegrad_supervised_gradients(self, batch, network, step):
        for p in network.parameters:
            p.grad *= 1.5
''',
        """
class SteeperRule(StepPluginRule):
    hooks = frozenset({"gradients"})

    def gradients(self, scenario, before, note):
        return {key: 1.5 * g for key, g in before.items()}
""",
    ),
    "shrink": (
        '''
class Shrink:
    """θ <- 0.9·θ after every update."""

    name = "shrink"

    @engine.hookimpl
    def tracegrad_supervised_after_update(self, network, step):
        for p in network.parameters:
            p.value *= 0.9
        return "θ <- 0.9·θ"
''',
        """
class ShrinkRule(StepPluginRule):
    hooks = frozenset({"after_update"})

    def parameters(self, scenario, before, note):
        return {key: 0.9 * v for key, v in before.items()}
""",
    ),
    "shift": (
        '''
class Shift:
    """x <- x + 0.25, an augmentation of every batch's inputs."""

    name = "shift"

    @engine.hookimpl
    def tracegrad_supervised_batch(self, batch, step):
        batch.x = batch.x + 0.25
        return {"change": "x + 0.25"}
''',
        """
class ShiftRule(StepPluginRule):
    hooks = frozenset({"batch"})

    def batch(self, scenario, x, y, step, note):
        return x + 0.25, y
""",
    ),
    "output_penalty": (
        '''
class OutputPenalty:
    """L <- L + λ·Σŷ²/N, dL/dŷ <- dL/dŷ + 2λ·ŷ/N (λ = 0.1): a loss term."""

    name = "output_penalty"

    @engine.hookimpl
    def tracegrad_supervised_loss(self, batch, step):
        n = len(batch.prediction)
        term = 0.1 * float(np.sum(batch.prediction**2)) / n
        batch.value += term
        batch.grad = batch.grad + 0.2 * batch.prediction / n
        batch.penalties["output_penalty"] = term
''',
        """
class OutputPenaltyRule(StepPluginRule):
    hooks = frozenset({"loss"})

    def loss(self, scenario, loss, prediction, target, step, note):
        n = len(prediction)
        term = 0.1 * float(np.sum(prediction**2)) / n
        return LossValue(loss.value + term, loss.grad + 0.2 * prediction / n)
""",
    ),
}

PLUGIN_MODULE = """
import numpy as np

import engine

{code}

@engine.hookimpl
def tracegrad_step_plugins(scenario):
    return [{cls}()] if scenario.spec.kind == "supervised" else []
"""

RULE_MODULE = """
import numpy as np

import engine
from engine.verify.losses import LossValue
from plugins.rules.step_plugins import StepPluginRule

{code}

@engine.hookimpl
def tracegrad_register_rules(register):
    register("step_plugins", "{name}", {cls}Rule())
"""

#: Inline data (so x is checked against the data's batch), mini-batches of 2, mse.
SCENARIO = {
    "name": "step-plugins",
    "seed": 0,
    "data": {"type": "inline", "x": [[0, 0], [0, 1], [1, 0], [1, 1]], "y": [[0], [1], [1], [0]]},
    "model": {
        "layers": [
            {"type": "dense", "name": "hidden", "units": 3, "activation": "tanh"},
            {"type": "dense", "name": "output", "units": 1},
        ]
    },
    "loss": {"type": "mse"},
    "optimizer": {"type": "sgd", "lr": 0.1},
    "train": {"steps": 4, "batch_size": 2},
    "trace": {"every": 1},
}


def class_of(name: str) -> str:
    return "".join(part.title() for part in name.split("_"))


@pytest.fixture
def outside(tmp_path, monkeypatch):
    """Writes the plugins (and, with ``rules``, their rules) as modules importable by name;
    runs the scenario with them and returns the trace's path."""
    monkeypatch.syspath_prepend(str(tmp_path))

    def make(names, rules=False, train=None, folder="run"):
        modules = []
        for name in names:
            plugin, rule = PLUGINS[name]
            text = PLUGIN_MODULE.format(code=plugin, cls=class_of(name))
            (tmp_path / f"outside_{name}.py").write_text(text, encoding="utf-8")
            modules.append(f"outside_{name}")
            if rules:
                text = RULE_MODULE.format(code=rule, name=name, cls=class_of(name))
                (tmp_path / f"outside_{name}_rules.py").write_text(text, encoding="utf-8")
                modules.append(f"outside_{name}_rules")
        scenario = json.loads(json.dumps(SCENARIO))
        scenario["train"].update(train or {})
        scenario["plugins"] = modules
        path = tmp_path / folder / "trace.jsonl"
        assert engine.run(scenario, trace=path).status == "completed"
        return path

    return make


def reasons(report) -> str:
    return "\n".join(report.unruled)


def verify_in_a_fresh_process(path, tmp_path, *args) -> subprocess.CompletedProcess:
    """``tracegrad verify`` in its own process: a rule, once registered, stays for the
    process, so a run with rules must not leave them to the tests without."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.getcwd()])}
    return subprocess.run(
        [sys.executable, "-m", "engine", "verify", str(path), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


@pytest.mark.parametrize(
    ("name", "hook", "words"),
    [
        ("steeper", "gradients", "the gradients"),
        ("shrink", "after_update", "the parameters after the update"),
        ("shift", "batch", "the inputs and targets"),
        ("output_penalty", "loss", "the loss and dL/dŷ"),
    ],
)
def test_an_outside_step_plugin_is_partly_verified_never_a_disagreement(outside, name, hook, words):
    path = outside([name])
    notes = [r for r in read_trace(path).records if r.get("plugin") == name]
    assert len(notes) == 4 and all(n["type"] == "hook" and n["hook"] == hook for n in notes)
    report = verify_trace(path)
    assert not report.disagreements, report.format()
    assert not report.problems, report.problems
    reason = f"no rule for step plugin '{name}': the change it made in {hook} ({words})"
    assert reason in reasons(report), reasons(report)
    # the header's providers say where the plugin comes from
    assert f"({name} comes from plugin outside_{name}: install its rules" in reasons(report)
    assert report.verdict.startswith("partly verified")


def test_a_gradient_edit_with_no_note_is_recorded_with_the_values_after_it(outside):
    notes = [r for r in read_trace(outside(["steeper"])).records if r.get("plugin") == "steeper"]
    assert all(n["change"] == "changed the gradients (no note)" for n in notes)
    assert all(set(n["grads"]) == {"hidden.W", "hidden.b", "output.W", "output.b"} for n in notes)


def test_only_a_change_of_gradients_or_parameters_writes_values(outside):
    records = read_trace(outside(["shift", "output_penalty"])).records
    notes = [r for r in records if r["type"] == "hook"]
    assert len(notes) == 8
    assert not any("grads" in n or "params" in n for n in notes)


def test_the_claims_a_plugin_does_not_touch_are_still_checked(outside):
    """With an unknown gradient edit, every claim but the edited gradients' is checked:
    the same count as with no plugin, give or take the gradients' claims it changes."""
    alone = verify_trace(outside([], folder="alone"))
    report = verify_trace(outside(["steeper", "shrink"], folder="both"))
    assert not report.disagreements, report.format()
    assert report.claims >= alone.claims


def test_an_edited_gradient_in_a_note_is_caught(outside):
    path = outside(["steeper"])
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    note = next(r for r in records if r.get("plugin") == "steeper" and r["step"] == 1)
    note["grads"]["output.W"] = (np.asarray(note["grads"]["output.W"]) + 0.5).tolist()
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    report = verify_trace(path, claims_only=True)
    wrong = [d for d in report.disagreements if d.quantity == "grad"]
    assert wrong and wrong[0].place.step == 1, report.format()


def test_an_edited_parameter_in_a_note_is_caught(outside):
    path = outside(["shrink"])
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    note = next(r for r in records if r.get("plugin") == "shrink" and r["step"] == 1)
    note["params"]["hidden.b"] = (np.asarray(note["params"]["hidden.b"]) + 0.5).tolist()
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    report = verify_trace(path, claims_only=True)
    wrong = [d for d in report.disagreements if d.quantity == "before"]
    assert wrong and wrong[0].place.step == 2, report.format()


def test_with_their_rules_every_change_is_checked(outside, tmp_path):
    path = outside(list(PLUGINS), rules=True)
    done = verify_in_a_fresh_process(path, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "verified: every claim holds" in done.stdout
    assert "not checked" not in done.stdout


def test_a_wrong_rule_is_a_disagreement_at_the_plugin(outside, tmp_path):
    path = outside(["steeper"], rules=True)
    rules = tmp_path / "outside_steeper_rules.py"
    rules.write_text(rules.read_text().replace("1.5 * g", "1.4 * g"), encoding="utf-8")
    done = verify_in_a_fresh_process(path, tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "step plugin steeper" in done.stdout
    assert "steeper's rule (gradients)" in done.stdout


# --- gradient clipping, the built-in step plugin, through its rule --------------------------


def test_clipping_verifies_completely_through_its_rule(outside):
    for train in (
        {"clip_norm": 0.05},
        {"clip_value": 0.01},
        {"clip_norm": 0.05, "clip_value": 0.02},
    ):
        path = outside([], train=train, folder="clip" + "_".join(train))
        notes = [r for r in read_trace(path).records if r.get("plugin") == "gradient_clipping"]
        assert notes and all("grads" in n for n in notes)
        report = verify_trace(path)
        assert report.ok and report.complete, report.format()


def test_an_edited_clip_scale_is_caught(outside):
    path = outside([], train={"clip_norm": 0.05})
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    clip = next(r for r in records if r["type"] == "clip")
    clip["scale"] *= 0.5
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    report = verify_trace(path, claims_only=True)
    assert any(d.quantity == "scale" for d in report.disagreements), report.format()


def test_a_deleted_clip_record_is_caught(outside):
    """With the clip record gone, the rule says clipping had to act: the gradients the
    optimizer used are no longer the backward pass's."""
    path = outside([], train={"clip_norm": 0.05})
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines = [line for line in lines if '"type":"clip"' not in line]
    path.write_text("".join(lines), encoding="utf-8")
    report = verify_trace(path, claims_only=True)
    assert report.disagreements, report.format()
    assert any(d.place.where == "step plugin gradient_clipping" for d in report.disagreements)


def test_clipping_beside_an_outside_gradient_edit(outside):
    """Clipping acts first (its clip record), the outside edit after (its hook note): the
    records of one hook come in the order the plugins acted, clipping's change is checked
    by its rule and the other's is counted unchecked."""
    path = outside(["steeper"], train={"clip_norm": 0.05})
    kinds = [(r["type"], r.get("plugin")) for r in read_trace(path).records if r["step"] == 0]
    notes = [kind for kind in kinds if kind[0] in ("clip", "hook")]
    assert notes[:2] == [("clip", "gradient_clipping"), ("hook", "steeper")], kinds
    report = verify_trace(path)
    assert not report.disagreements and not report.problems, report.format()
    assert list(report.unruled) == [
        "no rule for step plugin 'steeper': the change it made in gradients (the gradients) "
        "(steeper comes from plugin outside_steeper: install its rules to check it)"
    ]
