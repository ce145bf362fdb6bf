"""The exceptions a user can see. Each says what was expected, what was found, where, and
what to try; the command line prints them without a traceback and exits with status 2."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from engine.i18n import N_, _

#: The words for component kinds that messages name, so that they are translated with them.
KIND_WORDS = (
    N_("layer"), N_("layers"), N_("activation"), N_("activations"), N_("loss"), N_("losses"),
    N_("optimizer"), N_("optimizers"), N_("schedule"), N_("schedules"), N_("initializer"),
    N_("initializers"), N_("dataset"), N_("datasets"), N_("reporter"), N_("reporters"),
    N_("gan_loss"), N_("gan_losses"), N_("gan_trick"), N_("gan_tricks"), N_("kind"),
    N_("kinds"), N_("data set"), N_("trick"), N_("component"), N_("supervised"), N_("gan"),
    N_("completed"), N_("interrupted"), N_("diverged"), N_("failed"), N_("regression"),
    N_("binary"), N_("multiclass"), N_("accuracy"), N_("val accuracy"), N_("modes"),
    N_("high quality"), N_("w1"), N_("mmd2"), N_("spread"), N_("real"), N_("fake"),
)  # fmt: skip


class TracegradError(Exception):
    """An error caused by the user's input, printed as ``where: error: message`` + hint.

    ``where`` is a location such as ``scenario.yaml:12:5`` or ``--set train.steps``.
    """

    exit_code = 2

    def __init__(self, message: str, where: str | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.where = where
        self.hint = hint

    def __str__(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        if self.hint:
            text += "\n  " + _("hint: {hint}").format(hint=self.hint)
        return text


class ScenarioError(TracegradError):
    """A scenario file (or override) that cannot be read or does not validate."""

    def __init__(
        self,
        message: str,
        where: str | None = None,
        hint: str | None = None,
        problems: list[str] | None = None,
    ):
        super().__init__(message, where, hint)
        self.problems = problems or []

    def __str__(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        text += "".join(f"\n  {problem}" for problem in self.problems)
        if self.hint:
            text += "\n  " + _("hint: {hint}").format(hint=self.hint)
        return text


class PluginError(TracegradError):
    """A plugin that fails to load or registers something invalid."""


class BuildError(TracegradError):
    """A valid scenario that cannot be built, e.g. layer sizes that do not chain."""


class TraceError(TracegradError):
    """A trace file that cannot be read."""


def unknown_name_message(kind: str, name: str, known: Iterable[str]) -> str:
    known = sorted(known)
    singular = singular_of(kind)
    close = difflib.get_close_matches(str(name), known, n=1)
    guess = _(" Did you mean '{name}'?").format(name=close[0]) if close else ""
    return _("unknown {singular} '{name}'.{guess} Registered {kind}: {known}").format(
        singular=_(singular), name=name, guess=guess, kind=_(kind), known=", ".join(known)
    )


def singular_of(kind: str) -> str:
    """ "losses" -> "loss", "layers" -> "layer", "gan_tricks" -> "gan_trick"."""
    return kind[:-2] if kind.endswith("sses") else kind.removesuffix("s")
