"""How supervised step plugins change a step, as the verifier reads them: a
``StepPluginRule`` per plugin, and ``StepPlugins``, the notes of one traced step with their
rules.

A step plugin acts in the supervised step hooks (``SupervisedStepSpecs``: ``batch``,
``forward``, ``loss``, ``gradients``, ``after_update``), and each change it makes on a traced
step is a note naming the hook and the plugin (``plugin``). A note of ``gradients`` or
``after_update`` that changed them holds the values after the hook (``grads``, ``params``),
so every other claim is checked against what the optimizer and the next step really used;
a change of the batch or the loss is in the forward and loss records themselves. The
plugin's own change is checked by its rule or, with no rule, counted "not checked, no rule"
with the plugin's name: never a pass, never a false failure.

A plugin adds the rule of its step plugin with ``tracegrad_register_rules``:
``register("step_plugins", name, rule)``, ``name`` the plugin's (its ``name`` attribute,
else its class's name), ``rule`` a ``StepPluginRule``.
"""

from __future__ import annotations

import numpy as np

from engine.verify import rule_table
from engine.verify.losses import LossValue
from engine.verify.report import Checker, Place
from plugins.rules.edits import NO_RULE, RANDOM, follow_edits

#: name -> StepPluginRule, filled through ``tracegrad_register_rules`` (kind "step_plugins").
STEP_PLUGINS = rule_table("step_plugins")

#: What a hook's change touches, in a reader's words.
HOOK_WORDS = {
    "batch": "the inputs and targets",
    "loss": "the loss and dL/dŷ",
    "gradients": "the gradients",
    "after_update": "the parameters after the update",
}


class StepPluginRule:
    """How one step plugin changes a supervised step, written again from its definition.

    ``hooks`` names the hooks ("batch", "loss", "gradients", "after_update") whose changes
    the rule accounts for; a note from another hook is counted unchecked. Each method
    answers for one kind of change; the defaults say "no change". ``scenario`` is the
    trace's scenario (a dict); ``note`` the plugin's note of the hook (None: it left none).
    """

    hooks: frozenset[str] = frozenset()

    def acts(self, scenario: dict) -> bool:
        """Whether the plugin acts on every run of ``scenario``, so that a traced step where
        it left no note is one where its rule must predict no change (checked when no other
        plugin changed the same hook). False: only its notes say when it acts."""
        return False

    def batch(self, scenario: dict, x, y, step: int, note: dict | None):
        """(x, y) after the hook, from the data's batch; RANDOM for a random draw the trace
        does not hold; None: the rule cannot say."""
        return x, y

    def loss(self, scenario: dict, loss: LossValue, prediction, target, step: int, note):
        """The loss (``LossValue(L, dL/dŷ)``) after the hook, from the loss's own."""
        return loss

    def gradients(self, scenario: dict, before: dict, note: dict | None) -> dict | str | None:
        """The gradients {key: dL/dθ} after the hook, from those before it; RANDOM; None."""
        return before

    def parameters(self, scenario: dict, before: dict, note: dict | None) -> dict | None:
        """The parameters after ``after_update``, from those the update left (None: the rule
        cannot say)."""
        return before

    def claims(self, scenario: dict, note: dict, before: dict) -> list[tuple]:
        """The note's own numbers, as (quantity, recorded, expected, how), from the values
        before the hook (e.g. a clip record's norm and scale)."""
        return []


class StepPlugins:
    """One traced step's plugin notes, each with its rule."""

    def __init__(self, scenario: dict, check: Checker):
        self.scenario, self.check = scenario, check
        self.acting = [(name, rule) for name, rule in STEP_PLUGINS.items() if rule.acts(scenario)]

    def rule_of(self, note: dict, hook: str) -> StepPluginRule | None:
        rule = STEP_PLUGINS.get(note.get("plugin"))
        return rule if rule is not None and hook in rule.hooks else None

    def unchecked(self, note: dict) -> None:
        hook = note.get("hook")
        self.check.unchecked(
            f"no rule for step plugin '{note.get('plugin')}': the change it made in {hook} "
            f"({HOOK_WORDS.get(hook, hook)})"
        )

    def uncovered(self, notes: list[dict], hook: str) -> bool:
        """Report each note no rule accounts for; True when there was one."""
        found = [note for note in notes if self.rule_of(note, hook) is None]
        for note in found:
            self.unchecked(note)
        return bool(found)

    def batch(self, records, x, y):
        """The batch (x, y) the forward pass and the loss must see, or None (not checked,
        reported) when a plugin's change cannot be followed."""
        notes = records.notes_of("batch")
        if self.uncovered(notes, "batch"):
            return None
        for note in notes:
            answer = self.rule_of(note, "batch").batch(self.scenario, x, y, records.step, note)
            if answer == RANDOM:
                self.check.skip(f"the batch: step plugin '{note.get('plugin')}' draws at random")
                return None
            if answer is None:
                return None
            x, y = answer
        return x, y

    def loss(self, records, result: LossValue, prediction, target) -> LossValue | None:
        notes = records.notes_of("loss")
        if self.uncovered(notes, "loss"):
            return None
        for note in notes:
            rule = self.rule_of(note, "loss")
            result = rule.loss(self.scenario, result, prediction, target, records.step, note)
            if result is None:
                return None
        return result

    def gradients(self, records, grads: dict) -> dict:
        """The gradients the optimizer must have seen, from the backward pass's."""
        return self._edited(records, "gradients", grads, "grads", "gradients")

    def parameters(self, records, after: dict) -> dict:
        """The parameters the step left, from those its updates left."""
        return self._edited(records, "after_update", after, "params", "parameters")

    def _edited(self, records, hook: str, values: dict, field: str, method: str) -> dict:
        notes = records.notes_of(hook)

        def predict(note, before):
            rule = self.rule_of(note, hook)
            if rule is None:
                return NO_RULE
            place = Place(records.step, f"step plugin {note.get('plugin')}")
            for quantity, recorded, expected, how in rule.claims(self.scenario, note, before):
                self.check.compare(place, quantity, recorded, expected, how)
            return getattr(rule, method)(self.scenario, before, note)

        self.silent(records, hook, values, method, notes)
        return follow_edits(
            self.check,
            notes,
            values,
            field,
            predict,
            self.unchecked,
            lambda note: Place(records.step, f"step plugin {note.get('plugin')}"),
            HOOK_WORDS[hook],
            name="plugin",
        )

    def silent(self, records, hook: str, values: dict, method: str, notes: list) -> None:
        """A plugin that acts on every run and left no note of ``hook`` changed nothing: its
        rule, on the values the hook started from, must agree (unless another plugin acted
        in the hook, whose change it then saw)."""
        if notes:
            return
        for name, rule in self.acting:
            if hook not in rule.hooks:
                continue
            predicted = getattr(rule, method)(self.scenario, dict(values), None)
            if not isinstance(predicted, dict):
                continue
            place = Place(records.step, f"step plugin {name}")
            for key, value in values.items():
                if isinstance(value, np.ndarray) and isinstance(predicted.get(key), np.ndarray):
                    how = f"no note of {hook}: {name}'s rule must leave it unchanged"
                    self.check.compare(place, key, value, predicted[key], how)
