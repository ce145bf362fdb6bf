"""Changes a plugin made in place in a step hook, as the verifier follows them: shared by
the GAN's tricks (``plugins.rules.gan.tricks``) and supervised step plugins
(``plugins.rules.step_plugins``).

On traced steps the loop writes, in the note of a hook that changed gradients or parameters,
their values after it (``grads`` or ``params``). So the values the rest of the step used are
the recorded ones whatever the plugin did, and every other claim is checked against them.
The plugin's own change is compared with its rule's prediction, entry by entry, or counted
"not checked, no rule" with its name: never a pass, never a false failure.
"""

from __future__ import annotations

from collections.abc import Callable

from engine.trace.tensors import decode
from engine.verify.report import SUMMARIZED, Checker, Place

#: A rule's answer for a change that depends on a random draw the trace does not hold.
RANDOM = "a random draw"

#: A rule's answer when no rule accounts for the hook: the change is counted unchecked.
NO_RULE = "no rule"


def follow_edits(
    check: Checker,
    notes: list[dict],
    values: dict,
    field: str,
    predict: Callable[[dict, dict], object],
    unchecked: Callable[[dict], None],
    place: Callable[[dict], Place],
    words: str,
    name: str = "trick",
) -> dict:
    """``values`` ({key: array}) through each note in turn; returns the values after them.

    ``predict(note, values)`` is the rule's answer for the note's change: the values after
    it (a dict), RANDOM, None (the rule cannot say: whole arrays are needed where the trace
    holds summaries) or NO_RULE. A note holding ``field`` has the values after its hook: the
    prediction is compared with them, and they go on. A note without it changed nothing in
    place, unless its rule says otherwise (a trace written before the values were recorded).
    ``name`` is the note's field naming the plugin; ``words`` what the values are.
    """
    for note in notes:
        who = note.get(name)
        predicted = predict(note, dict(values))
        if note.get(field) is None:
            if predicted == RANDOM:
                check.skip(f"{words}: {name} '{who}' adds a random draw")
                values = {}
            elif isinstance(predicted, dict):
                values = predicted
            continue
        recorded = {key: decode(value) for key, value in note[field].items()}
        if predicted == RANDOM:
            check.skip(f"{words}: {name} '{who}' adds a random draw")
        elif isinstance(predicted, dict):
            for key, value in recorded.items():
                if predicted.get(key) is not None:
                    how = f"{who}'s rule ({note.get('hook')})"
                    check.compare(place(note), key, value, predicted[key], how)
        elif predicted == NO_RULE:
            unchecked(note)
        else:
            check.skip(SUMMARIZED, quantity=f"{name} {who}")
        values = {**values, **recorded}
    return values
