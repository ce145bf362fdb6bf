"""Regenerate the message catalogs and say what is left to translate.

    python .ci/catalogs.py            extract -> update -> compile, then list untranslated msgids
    python .ci/catalogs.py --check    only list them; exit 1 when any is untranslated

Extraction reads every ``_()``, ``ngettext()`` and ``N_()`` in engine/ and plugins/ (babel.cfg)
into engine/locale/tracegrad.pot, with the built-in components' descriptions; ``update``
merges the template into each language's .po (new msgids arrive empty, changed ones fuzzy);
``compile`` writes the .mo the program reads. Needs Babel (the ``test`` extra).
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "engine" / "locale"
TEMPLATE = LOCALE / "tracegrad.pot"


def pybabel(*arguments: str) -> None:
    CommandLineInterface().run(["pybabel", "-q", *arguments])


def regenerate() -> None:
    # extracted beside the template and moved over it only when extraction succeeded, so a
    # file that does not parse cannot leave an empty template behind
    fresh = TEMPLATE.with_suffix(".pot.new")
    try:
        pybabel(
            "extract",
            "-F",
            str(ROOT / "babel.cfg"),
            "-o",
            str(fresh),
            "--project",
            "tracegrad",
            "--no-location",
            "--sort-output",
            "--add-comments",
            "TRANSLATORS:",
            str(ROOT),
        )
        add_descriptions(fresh)
        fresh.replace(TEMPLATE)
    finally:
        fresh.unlink(missing_ok=True)
    for language in ("zh",):
        if not (LOCALE / language / "LC_MESSAGES" / "tracegrad.po").exists():
            pybabel(
                "init",
                "-i",
                str(TEMPLATE),
                "-d",
                str(LOCALE),
                "-D",
                "tracegrad",
                "-l",
                language,
                "--no-wrap",
            )
    pybabel(
        "update",
        "-i",
        str(TEMPLATE),
        "-d",
        str(LOCALE),
        "-D",
        "tracegrad",
        "--no-wrap",
        "--ignore-obsolete",
    )
    pybabel("compile", "-d", str(LOCALE), "-D", "tracegrad")


def add_descriptions(template_path: Path) -> None:
    """The built-in components' descriptions (docstring summaries, field descriptions), which
    `tracegrad plugins` shows translated: read from the registry, not from the source text."""
    sys.path.insert(0, str(ROOT))
    from engine.listing import descriptions
    from engine.plugins import load_registry

    with template_path.open("rb") as handle:
        template = read_po(handle)
    for text in descriptions(load_registry()):
        if text not in template:
            template.add(text, auto_comments=["a component's description (tracegrad plugins)"])
    with template_path.open("wb") as handle:
        write_po(handle, template, width=0, omit_header=False, sort_output=True)


def untranslated() -> dict[str, list[str]]:
    """Per language, the msgids without a (non-fuzzy) translation."""
    missing = {}
    for po in sorted(LOCALE.glob("*/LC_MESSAGES/tracegrad.po")):
        with po.open("rb") as handle:
            catalog = read_po(handle)
        ids = [m.id for m in catalog if m.id and (not m.string or m.fuzzy)]
        missing[po.parent.parent.name] = [i if isinstance(i, str) else i[0] for i in ids]
        total = sum(1 for m in catalog if m.id)
        print(f"{po.parent.parent.name}: {total - len(ids)} of {total} msgids translated")
    return missing


def main(argv: list[str]) -> int:
    if "--check" not in argv:
        regenerate()
    missing = untranslated()
    for language, ids in missing.items():
        for msgid in ids:
            print(f"  {language} untranslated: {msgid!r}")
    return 1 if any(missing.values()) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
