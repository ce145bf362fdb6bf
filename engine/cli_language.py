"""``--lang`` for every command, and argparse's own words (usage, option titles) translated.

The language must be known before the parser is built, because help texts are translated as
they are added: ``choose_language(argv)`` reads ``--lang`` from the raw arguments first, then
the environment (engine/i18n.py), and raises a TracegradError for a language without a catalog.
"""

from __future__ import annotations

import argparse
import re
import sys

from engine import i18n
from engine.i18n import LANGUAGES, N_, _, set_language


class Formatter(argparse.HelpFormatter):
    """argparse's formatter with its "usage:" prefix in the current language."""

    def add_usage(self, usage, actions, groups, prefix=None):
        super().add_usage(usage, actions, groups, _("usage: ") if prefix is None else prefix)


#: argparse's own error messages (English only) and the translatable template of each.
ARGPARSE_MESSAGES = [
    (r"argument (?P<argument>.+?): (?P<message>.*)", N_("argument {argument}: {message}")),
    (r"the following arguments are required: (?P<names>.*)",
     N_("the following arguments are required: {names}")),
    (r"unrecognized arguments: (?P<names>.*)", N_("unrecognized arguments: {names}")),
    (r"invalid choice: (?P<value>.*) \(choose from (?P<choices>.*)\)",
     N_("invalid choice: {value} (choose from {choices})")),
    (r"invalid (?P<type>\w+) value: (?P<value>.*)", N_("invalid {type} value: {value}")),
    (r"expected one argument", N_("expected one argument")),
    (r"expected at most one argument", N_("expected at most one argument")),
    (r"expected at least one argument", N_("expected at least one argument")),
    (r"ambiguous option: (?P<option>.*) could match (?P<matches>.*)",
     N_("ambiguous option: {option} could match {matches}")),
    (r"one of the arguments (?P<names>.*) is required",
     N_("one of the arguments {names} is required")),
    (r"not allowed with argument (?P<name>.*)", N_("not allowed with argument {name}")),
    (r"ignored explicit argument (?P<value>.*)", N_("ignored explicit argument {value}")),
]  # fmt: skip


def translate_argparse(message: str) -> str:
    """One of argparse's messages in the current language (unchanged when not known)."""
    for pattern, template in ARGPARSE_MESSAGES:
        match = re.fullmatch(pattern, message, flags=re.S)
        if match:
            values = match.groupdict()
            if "message" in values:
                values["message"] = translate_argparse(values["message"])
            return _(template).format(**values)
    return message


class Parser(argparse.ArgumentParser):
    """argparse's parser with its usage errors in the current language (exit status 2)."""

    def error(self, message):
        self.print_usage(sys.stderr)
        text = _("{prog}: error: {message}").format(
            prog=self.prog, message=translate_argparse(message)
        )
        self.exit(2, text + "\n")


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
