"""One registry per process for each set of plugins, loaded again when the plugins change.

Loading the registry imports every plugin, calls every registration hook and, later, builds
the scenario model from what they registered: a few tenths of a second, which a process that
loads many scenarios (a sweep, a test suite, a benchmark) would otherwise pay for each one.

A cached registry is used again only while everything it was loaded from is unchanged:

- the plugins asked for: module names (the same module object in ``sys.modules``) and
  ``.py`` files (the same resolved path and the same bytes);
- the installed plugins: ``sys.path``, and the modification time of each folder on it (an
  install or uninstall adds or removes a ``.dist-info`` folder there);
- the variables that choose plugins: ``TRACEGRAD_DISABLE_PLUGIN_AUTOLOAD``,
  ``TRACEGRAD_DISABLE_PLUGINS``, ``TRACEGRAD_DEBUG_HOOKS``.

Plugins passed as module objects are never cached. ``clear()`` forgets every registry.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Callable
from pathlib import Path

_VARIABLES = (
    "TRACEGRAD_DISABLE_PLUGIN_AUTOLOAD",
    "TRACEGRAD_DISABLE_PLUGINS",
    "TRACEGRAD_DEBUG_HOOKS",
)
_registries: dict[tuple, tuple[object, tuple]] = {}


def clear() -> None:
    _registries.clear()


def _looks_like_file(spec: str) -> bool:
    return spec.endswith(".py") or os.sep in spec or "/" in spec


def _plugin_key(spec: str, base_dir: Path | None) -> tuple | None:
    """What identifies a plugin given by name or path; None when it cannot be told."""
    if not _looks_like_file(spec):
        return ("module", spec)
    path = Path(spec)
    if not path.is_absolute() and base_dir is not None:
        path = Path(base_dir) / path
    try:
        resolved = path.resolve()
        if not resolved.is_file():
            return None  # the loader reports what is wrong with it
        content = hashlib.sha256(resolved.read_bytes()).hexdigest()
    except OSError:
        return None
    return ("file", str(resolved), content)


def _installed_key() -> tuple:
    stamps = []
    for entry in sys.path:
        try:
            stamps.append((entry, os.stat(entry or ".").st_mtime_ns))
        except OSError:
            stamps.append((entry, None))
    return tuple(stamps)


def _modules_of(keys: list[tuple]) -> tuple:
    """The module objects of the plugins given by name, as they are now."""
    return tuple(id(sys.modules.get(key[1])) for key in keys if key[0] == "module")


def registry(
    extra_plugins, autoload: bool | None, base_dir: Path | None, load: Callable[[], object]
):
    """The registry ``load()`` returns for these plugins, from the cache when unchanged."""
    extra_plugins = list(extra_plugins)
    if not all(isinstance(plugin, str) for plugin in extra_plugins):
        return load()
    keys = [_plugin_key(plugin, base_dir) for plugin in extra_plugins]
    if any(key is None for key in keys):
        return load()
    if autoload is None:
        autoload = not os.environ.get("TRACEGRAD_DISABLE_PLUGIN_AUTOLOAD")
    key = (
        tuple(keys),
        autoload,
        tuple(os.environ.get(name) for name in _VARIABLES),
        _installed_key(),
    )
    cached = _registries.get(key)
    if cached is not None and cached[1] == _modules_of(keys):
        return cached[0]
    loaded = load()
    _registries[key] = (loaded, _modules_of(keys))
    return loaded
