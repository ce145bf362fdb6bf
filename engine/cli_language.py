"""``--lang`` for every command, and argparse's own words (usage, option titles) translated.

The language must be known before the parser is built, because help texts are translated as
they are added: ``choose_language(argv)`` reads ``--lang`` from the raw arguments first, then
the environment (engine/i18n.py), and raises a TracegradError for a language without a catalog.
"""

from __future__ import annotations

import argparse

from engine import i18n
from engine.i18n import LANGUAGES, _, set_language


class Formatter(argparse.HelpFormatter):
    """argparse's formatter with its "usage:" prefix in the current language."""

    def add_usage(self, usage, actions, groups, prefix=None):
        super().add_usage(usage, actions, groups, _("usage: ") if prefix is None else prefix)


def lang_from_argv(argv: list[str]) -> str | None:
    """The value of the last ``--lang X`` or ``--lang=X`` among the raw arguments."""
    found = None
    for index, argument in enumerate(argv):
        if argument == "--":
            break
        if argument == "--lang" and index + 1 < len(argv):
            found = argv[index + 1]
        elif argument.startswith("--lang="):
            found = argument.removeprefix("--lang=")
    return found


def choose_language(argv: list[str]) -> str | None:
    """Set the process's language from ``--lang``, else the environment (checked now, so a
    wrong TRACEGRAD_LANG is an error before anything runs); return the choice it replaced."""
    previous = i18n._chosen
    code = lang_from_argv(argv)
    if code is None:
        i18n.check_environment()
    set_language(code)
    return previous


def restore_language(previous: str | None) -> None:
    set_language(previous)


def add_lang_argument(parser: argparse.ArgumentParser, suppress: bool) -> None:
    parser.add_argument(
        "--lang",
        metavar="LANG",
        default=argparse.SUPPRESS if suppress else None,
        help=_(
            "language of messages and reports: {known} (default: TRACEGRAD_LANG, then "
            "LANGUAGE, LC_ALL, LC_MESSAGES, LANG, then en)"
        ).format(known=", ".join(LANGUAGES)),
    )


def localize(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Translate the titles and the help option argparse adds by itself."""
    parser._positionals.title = _("positional arguments")
    parser._optionals.title = _("options")
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            action.help = _("show this help message and exit")
        if isinstance(action, argparse._VersionAction):
            action.help = _("show program's version number and exit")
    return parser
