"""The language a student reads: stdlib ``gettext`` catalogs, made with Babel.

``_("text")`` returns ``text`` in the current language, ``ngettext(one, many, n)`` picks the
plural form, and ``N_("text")`` only marks a string for extraction (a module-level constant
translated later, where it is shown, with ``_(CONSTANT)``). Placeholders stay inside the
message and are filled after translation::

    _("unknown {kind} {name!r}").format(kind=kind, name=name)

The language is, first found wins:

1. ``set_language(code)`` (the command line's ``--lang``);
2. ``TRACEGRAD_LANG``;
3. gettext's own variables, in gettext's order: ``LANGUAGE`` (a ``:``-separated list),
   ``LC_ALL``, ``LC_MESSAGES``, ``LANG``; the first one set decides, and a locale without a
   catalog (``C``, ``fr_FR.UTF-8``) means English;
4. English.

Any message without a translation stays English. Catalogs live in
``engine/locale/<lang>/LC_MESSAGES/tracegrad.po`` (compiled to ``.mo`` beside it);
docs/translating.md says how to add strings and regenerate them. A plugin package ships its
own catalog at ``<package>/locale/<lang>/LC_MESSAGES/<package>.mo``; ``translate_for(module,
text)`` looks there before the core's catalog.
"""

from __future__ import annotations

import difflib
import functools
import gettext
import importlib.util
import os
from pathlib import Path

DOMAIN = "tracegrad"
LOCALE_DIR = Path(__file__).parent / "locale"
#: The languages with a catalog; English is the source language and needs none.
LANGUAGES = ("en", "zh")
ENVIRONMENT = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")

_chosen: str | None = None


def normalize(code: str) -> str | None:
    """``zh_CN.UTF-8``, ``zh-Hans`` -> ``zh``; ``C``, ``POSIX`` -> ``en``; unknown -> None."""
    base = code.strip().split(".")[0].split("@")[0].replace("-", "_").split("_")[0].lower()
    if base in ("c", "posix"):
        return "en"
    return base if base in LANGUAGES else None


def unknown_language(code: str, where: str):
    """The error for a language without a catalog, with the closest known one."""
    from engine.errors import TracegradError

    close = difflib.get_close_matches(code.lower(), LANGUAGES, n=1)
    guess = _(" Did you mean '{name}'?").format(name=close[0]) if close else ""
    return TracegradError(
        _("unknown language {code!r}.{guess} Available: {known}").format(
            code=code, guess=guess, known=", ".join(LANGUAGES)
        ),
        where,
        hint=_("for example  --lang zh  or  TRACEGRAD_LANG=zh"),
    )


def set_language(code: str | None) -> None:
    """Choose the language for this process (``None``: back to the environment)."""
    global _chosen
    if code is None:
        _chosen = None
        return
    language = normalize(code)
    if language is None:
        raise unknown_language(code, "--lang")
    _chosen = language


def check_environment() -> None:
    """Refuse a TRACEGRAD_LANG without a catalog (the command line calls this first)."""
    explicit = os.environ.get("TRACEGRAD_LANG")
    if explicit and normalize(explicit) is None:
        raise unknown_language(explicit, "TRACEGRAD_LANG")


def language() -> str:
    """The current language code, e.g. ``"zh"`` or ``"en"``."""
    if _chosen is not None:
        return _chosen
    explicit = os.environ.get("TRACEGRAD_LANG")
    if explicit:  # one without a catalog is English here; check_environment() refuses it
        return normalize(explicit) or "en"
    for variable in ENVIRONMENT:
        value = os.environ.get(variable)
        if value:
            found = (normalize(part) for part in value.split(":") if part)
            return next((code for code in found if code), "en")
    return "en"


@functools.cache
def catalog(code: str, domain: str = DOMAIN, directory: str | None = None):
    """The compiled catalog of ``domain`` in ``code`` (a NullTranslations when absent)."""
    if code == "en":
        return gettext.NullTranslations()
    where = directory or str(LOCALE_DIR)
    return gettext.translation(domain, where, languages=[code], fallback=True)


def _(message: str) -> str:
    """``message`` in the current language (itself when untranslated; "" stays "")."""
    return catalog(language()).gettext(message) if message else message


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form for ``n``, in the current language."""
    return catalog(language()).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark ``message`` for extraction only; translate it where it is shown, with ``_()``."""
    return message


def translate_for(module: str | None, message: str) -> str:
    """``message`` from the catalog a plugin ships beside its top-level package, else from
    the core's catalog. A plugin ``my_plugin`` ships
    ``my_plugin/locale/<lang>/LC_MESSAGES/my_plugin.mo``."""
    code = language()
    if code == "en" or not message:
        return message
    package = (module or "").split(".")[0]
    folder = _plugin_locale(package) if package else None
    if folder is not None:
        translated = catalog(code, package, str(folder)).gettext(message)
        if translated != message:
            return translated
    return catalog(code).gettext(message)


@functools.cache
def _plugin_locale(package: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin:
        return None
    folder = Path(spec.origin).parent / "locale"
    return folder if folder.is_dir() else None
