"""How GAN tricks change a step, as the verifier reads them: a ``TrickRule`` per trick, and
``TrickRules``, a run's tricks in order with their rules.

A trick acts in step hooks (``plugins.gan.hookspecs.GanStepSpecs``), and each change it makes
on a traced step is a ``trick`` note naming the hook. A hook that edits gradients or
parameters in place (``tracegrad_gan_d_gradients``, ``tracegrad_gan_g_gradients``,
``tracegrad_gan_after_update``) has their values after it in the note (``grads``,
``params``), so every other claim is checked against what the optimizer and the next update
really used. The trick's own change is then checked by its rule, or, with no rule, counted
"not checked, no rule" with the trick's name: never a pass, never a false failure.

A plugin adds the rule of its trick with ``tracegrad_register_rules``:
``register("tricks", name, rule)``, ``rule`` a ``TrickRule``.
"""

from __future__ import annotations

from engine.trace.tensors import decode
from engine.verify import rule_table
from engine.verify.report import SUMMARIZED, Checker, Place

#: name -> TrickRule, filled through ``tracegrad_register_rules`` (kind "tricks").
TRICKS = rule_table("tricks")

#: A rule's answer for a change that depends on a random draw the trace does not hold.
RANDOM = "a random draw"

#: Which claims a hook's change touches, in a reader's words.
HOOK_WORDS = {
    "latent": "the latent z",
    "d_input": "D's input",
    "d_labels": "D's labels",
    "g_labels": "G's target",
    "d_gradients": "D's gradients",
    "g_loss": "G's loss",
    "g_gradients": "G's gradients",
    "after_update": "parameters after the update",
    "d_steps": "the number of D updates",
}


class TrickRule:
    """How one GAN trick changes the step, written again from the trick's definition.

    ``hooks`` names the step hooks (short names: "d_labels", "after_update", ...) whose
    changes the rule accounts for; a note from another hook is counted unchecked. Each
    method answers for one kind of change; the defaults say "no change". ``config`` is the
    trick's entry of the scenario's ``tricks`` (a dict).
    """

    hooks: frozenset[str] = frozenset()

    def d_labels(self, config: dict, sets: dict, labels: dict, n: int) -> dict | None:
        """D's label sets ({"real": LabelSet, "fake": LabelSet}) after the trick, from those
        before it; ``labels`` holds the loss's real, fake and generator labels, ``n`` the
        batch size. None: the rule cannot say."""
        return sets

    def g_target(self, config: dict, target: float) -> float | None:
        """G's target label after the trick (None: the rule cannot say)."""
        return target

    #: What of the trick's change is a random draw taken as recorded (e.g. "the replayed
    #: samples: past G(z) drawn from the buffer"); skipped, with this reason, where it acts.
    draws: str = ""

    def d_input(self, config: dict, x, step: int, total: int, note: dict | None):
        """D's input for G's samples after the trick, from ``x`` (G(z)); ``note`` is the
        trick's note of this update from ``tracegrad_gan_d_input`` (None: it left none).
        RANDOM when the trick adds a random draw the trace does not hold."""
        return x

    def input_gradient(self, config: dict, grad, shape: tuple):
        """dL/dG(z) from D's dL/dx at the input ``d_input`` made (``shape``: G(z)'s)."""
        return grad

    def d_rows(self, config: dict, n: int) -> int:
        """How many rows D's input has for a batch of ``n`` samples."""
        return n

    def gradients(self, config: dict, network: str, before: dict) -> dict | str | None:
        """The gradients {key: dL/dθ} after the trick's gradient hook edited them in place,
        from those before; RANDOM when the edit depends on a random draw; None: the rule
        cannot say."""
        return before

    def parameters(self, config: dict, network: str, before: dict) -> dict | None:
        """The parameters after the trick's ``after_update`` hook, from those the update
        left (None: the rule cannot say). A value may be a ``Summary``."""
        return before

    def d_steps(self, config: dict, step: int, d_steps: int) -> int | None:
        """D's updates at ``step`` (the first trick that answers wins); None: no answer."""
        return None

    def scalars(self, config: dict, step: int, total: int) -> dict[str, float]:
        """The per-step scalars the trick adds, e.g. {"instance_noise.std": 0.05}."""
        return {}


def notes_of(group, hook: str, trick: str | None = None) -> list[dict]:
    """The trick notes of one update from ``hook`` (of ``trick`` when given)."""
    return [
        note
        for note in group.other.get("tricks", [])
        if note.get("hook") == hook and (trick is None or note.get("trick") == trick)
    ]


class TrickRules:
    """A run's tricks in the scenario's order, each with its rule (None when no plugin
    brings one), and the claims they change."""

    def __init__(self, configs: list[dict], check: Checker, total: int):
        self.items = [(config, TRICKS.get(config.get("type"))) for config in configs]
        self.check, self.total = check, total

    def rule_of(self, name: str | None):
        for config, rule in self.items:
            if config.get("type") == name:
                return config, rule
        return None, None

    def unknown(self) -> list[str]:
        """The tricks with no rule."""
        return [config.get("type") for config, rule in self.items if rule is None]

    def covers(self, rule, hook: str) -> bool:
        return rule is not None and hook in rule.hooks

    def unchecked(self, name, hook: str, network: str = "") -> None:
        what = HOOK_WORDS.get(hook, hook)
        where = f"{network}'s " if network and hook == "after_update" else ""
        self.check.unchecked(
            f"no rule for trick '{name}': the change it made in {hook} ({where}{what})"
        )

    def acting(self, group, hook: str):
        """(config, rule, notes) of each trick in order, with its notes of ``hook``."""
        for config, rule in self.items:
            yield config, rule, notes_of(group, hook, config.get("type"))

    def unknown_in(self, group, hook: str) -> bool:
        """Whether a trick no rule accounts for left a note of ``hook`` in this update."""
        return any(
            not self.covers(self.rule_of(note.get("trick"))[1], hook)
            for note in notes_of(group, hook)
        )

    def uncovered(self, group, hook: str) -> bool:
        """Report every note of ``hook`` no rule accounts for; True when there was one."""
        found = False
        for config, rule, notes in self.acting(group, hook):
            if notes and not self.covers(rule, hook):
                self.unchecked(config.get("type"), hook, group.network)
                found = True
        known = {config.get("type") for config, _ in self.items}
        for note in notes_of(group, hook):  # a step plugin's note, not a scenario trick
            if note.get("trick") not in known:
                self.unchecked(note.get("trick"), hook, group.network)
                found = True
        return found

    # --- labels -------------------------------------------------------------------------

    def d_label_sets(self, group, sets: dict, labels: dict, n: int) -> dict | None:
        """D's label sets after every trick; None (and reported) when one is unknown."""
        if self.uncovered(group, "d_labels"):
            return None
        for config, rule in self.items:
            if rule is not None and sets is not None:
                sets = rule.d_labels(config, sets, labels, n)
        return sets

    def g_target(self, group, target: float) -> float | None:
        if self.uncovered(group, "g_labels"):
            return None
        for config, rule in self.items:
            if rule is not None and target is not None:
                target = rule.g_target(config, target)
        return target

    # --- D's input ------------------------------------------------------------------------

    def d_input(self, group, x, step: int):
        """D's input for G's samples from ``x``: each rule in order; RANDOM or None (not
        checked, reported) when a trick's change cannot be followed."""
        if self.uncovered(group, "d_input"):
            return None
        for config, rule, notes in self.acting(group, "d_input"):
            if rule is not None and x is not None and x is not RANDOM:
                x = rule.d_input(config, x, step, self.total, notes[0] if notes else None)
                if notes and rule.draws:
                    self.check.skip(f"D's input: {rule.draws}")
        return x

    def input_gradient(self, grad, shape: tuple):
        for config, rule in reversed(self.items):
            if rule is not None and grad is not None:
                grad = rule.input_gradient(config, grad, shape)
        return grad

    def d_rows(self, n: int) -> int:
        for config, rule in self.items:
            if rule is not None:
                n = rule.d_rows(config, n)
        return n

    # --- gradients and parameters, edited in place -----------------------------------------

    def edited_gradients(self, group, hook: str, expected: dict) -> dict:
        """The gradients after ``hook``: each note's recorded ``grads`` in turn, its change
        checked by the trick's rule. Returns what the optimizer must have seen before the
        added terms ({} when it cannot be known)."""
        return self._edited(group, hook, expected, "grads", "gradients")

    def left_parameters(self, group, values: dict) -> dict:
        """The parameters an update left after its ``after_update`` hooks (a key is left
        out when a trick changed it in a way the trace and the rules cannot say)."""
        return self._edited(group, "after_update", values, "params", "parameters")

    def _edited(self, group, hook: str, values: dict, field: str, method: str) -> dict:
        """``values`` through each note of ``hook``: a note holding ``field`` (the values
        after the hook; written only when the hook changed them) has its change checked by
        the trick's rule, or counted unchecked; a note without it changed nothing in place,
        unless the rule says otherwise (a trace written before the values were recorded)."""
        for note in notes_of(group, hook):
            name = note.get("trick")
            config, rule = self.rule_of(name)
            covered = self.covers(rule, hook)
            predicted = (
                getattr(rule, method)(config, group.network, dict(values)) if covered else None
            )
            if note.get(field) is None:
                if predicted == RANDOM:
                    self.check.skip(f"{HOOK_WORDS[hook]}: trick '{name}' adds a random draw")
                    values = {}
                elif isinstance(predicted, dict):
                    values = predicted
                continue
            recorded = {key: decode(value) for key, value in note[field].items()}
            if predicted == RANDOM:
                self.check.skip(f"{HOOK_WORDS[hook]}: trick '{name}' adds a random draw")
            elif isinstance(predicted, dict):
                place = Place(group.step, f"trick {name}", group.label())
                for key, value in recorded.items():
                    if predicted.get(key) is not None:
                        self.check.compare(
                            place, key, value, predicted[key], f"{name}'s rule ({hook})"
                        )
            elif covered:  # the rule needs whole arrays where the trace holds summaries
                self.check.skip(SUMMARIZED, quantity=f"trick {name}")
            else:
                self.unchecked(name, hook, group.network)
            values = {**values, **recorded}
        return values

    # --- the schedule and the scalars -------------------------------------------------------

    def d_steps(self, step: int, d_steps: int) -> tuple[int, bool]:
        """D's updates at ``step`` and whether every trick has a rule (so the number is
        known, not merely the one no known trick changed)."""
        whole = all(rule is not None for _, rule in self.items)
        for config, rule in self.items:
            answer = None if rule is None else rule.d_steps(config, step, d_steps)
            if answer is not None:
                return answer, whole
        return d_steps, whole

    def scalars(self, step: int) -> dict[str, float]:
        found = {}
        for config, rule in self.items:
            if rule is not None:
                found.update(rule.scalars(config, step, self.total))
        return found
