"""``tracegrad new-plugin NAME``: a plugin package to start from, ready to install and test.

    NAME/
      pyproject.toml                 the package, with its two ``tracegrad`` entry points
      README.md
      tracegrad_NAME/__init__.py     the component, its config, its registration
      tracegrad_NAME/rules.py        its verification rule, written again from its formula
      tracegrad_NAME/example.yaml    a scenario that uses it
      tests/test_NAME.py             gradient check, rule against component, the scenario
                                     trains and verifies

The component is a working one (softsign for an activation, pseudo-Huber for a loss), so the
package passes its tests as created; change the formulas, keep the tests.
"""

from __future__ import annotations

import keyword
import re
from pathlib import Path

from engine.errors import TracegradError
from engine.i18n import _

TEMPLATES = Path(__file__).with_name("templates")
KINDS = {"activation": "activation", "loss": "loss"}


def create(name: str, kind: str = "activation", folder: str | Path | None = None) -> Path:
    """Write the package for a component ``name`` of ``kind`` into ``folder`` (default
    ./NAME); returns the folder. Refuses an existing folder (nothing is overwritten)."""
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name) or keyword.iskeyword(name):
        raise TracegradError(
            _("'{name}' cannot name a component: use lower-case letters, digits and _").format(
                name=name
            ),
            "new-plugin",
            hint=_("for example  tracegrad new-plugin mish"),
        )
    if kind not in KINDS:
        raise TracegradError(
            _("no template for kind '{kind}'").format(kind=kind),
            "--kind",
            hint=_("kinds: {names}").format(names=", ".join(KINDS)),
        )
    target = Path(folder) if folder is not None else Path(name)
    if target.exists():
        raise TracegradError(
            _("{target} already exists; nothing was written").format(target=target),
            "new-plugin",
            hint=_("choose another name or folder (--into)"),
        )
    words = {
        "name": name,
        "Name": "".join(part.capitalize() for part in name.split("_")),
        "package": f"tracegrad_{name}",
        "dashed": name.replace("_", "-"),
    }
    files = {
        "pyproject.toml": "pyproject.toml",
        "README.md": "README.md",
        f"{words['package']}/__init__.py": f"{kind}.py",
        f"{words['package']}/rules.py": f"{kind}_rules.py",
        f"{words['package']}/example.yaml": f"{kind}.yaml",
        f"tests/test_{name}.py": f"test_{kind}.py",
    }
    for relative, template in files.items():
        text = (TEMPLATES / f"{template}.tmpl").read_text(encoding="utf-8")
        for key, value in words.items():
            text = text.replace("{{" + key + "}}", value)
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return target
