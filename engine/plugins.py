"""The plugin manager: built-ins, entry points and ``--plugin`` files, and the registry of
components they register.

Loading order: the built-in modules of ``plugins/`` (registered exactly like third-party
ones), then the ``tracegrad`` entry-point group (skipped when
``TRACEGRAD_DISABLE_PLUGIN_AUTOLOAD`` is set), then explicitly named modules or files. Then
every registration hook is called, one plugin at a time, so each registration is known to
come from its plugin and a name registered twice can name both.

Set ``TRACEGRAD_DEBUG_HOOKS=1`` to print every hook call (pluggy's call monitoring).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import typing
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pluggy

from engine import components, gan_components, hookspecs
from engine.errors import PluginError, unknown_name_message

#: The built-in plugins, registered like any other (datasette keeps the same kind of tuple).
BUILTIN_PLUGINS = (
    "plugins.activations",
    "plugins.layers",
    "plugins.normalization",
    "plugins.noise",
    "plugins.images",
    "plugins.losses",
    "plugins.optimizers",
    "plugins.schedules",
    "plugins.initializers",
    "plugins.datasets",
    "plugins.mixtures",
    "plugins.file_data",
    "plugins.gan_losses",
    "plugins.gan_tricks",
    "plugins.reporters",
    "plugins.image_report",
)

#: Kind of component -> (registration hook, base class every implementation derives from).
KINDS: dict[str, tuple[str, type]] = {
    "layers": ("tracegrad_register_layers", components.Layer),
    "activations": ("tracegrad_register_activations", components.Activation),
    "losses": ("tracegrad_register_losses", components.Loss),
    "optimizers": ("tracegrad_register_optimizers", components.Optimizer),
    "schedules": ("tracegrad_register_schedules", components.Schedule),
    "initializers": ("tracegrad_register_initializers", components.Initializer),
    "datasets": ("tracegrad_register_datasets", components.Dataset),
    "gan_losses": ("tracegrad_register_gan_losses", gan_components.GanLoss),
    "gan_tricks": ("tracegrad_register_gan_tricks", gan_components.GanTrick),
    "reporters": ("tracegrad_register_reporters", components.Reporter),
}

#: Kinds whose names share one namespace (an activation can stand in ``model.layers``).
SHARED_NAMESPACES = (("layers", "activations"),)


@dataclass(frozen=True)
class Component:
    """One registered component: ``kind``/``name``, the class, its config model, its plugin."""

    kind: str
    name: str
    implementation: type
    config: type[components.ComponentConfig]
    plugin: str

    def create(self, config: components.ComponentConfig):
        return self.implementation(config)


class Registry:
    """Every registered component, by kind and name, plus the plugin manager behind them."""

    def __init__(self, manager: pluggy.PluginManager):
        self.manager = manager
        self.components: dict[str, dict[str, Component]] = {kind: {} for kind in KINDS}
        self._cache: dict[str, object] = {}

    def names(self, kind: str) -> list[str]:
        return sorted(self.components[kind])

    def configs(self, kind: str) -> list[type[components.ComponentConfig]]:
        return [c.config for c in self.components[kind].values()]

    def get(self, kind: str, name: str) -> Component:
        try:
            return self.components[kind][name]
        except KeyError:
            raise PluginError(unknown_name_message(kind, name, self.names(kind))) from None

    def create(self, kind: str, config: components.ComponentConfig):
        """Instantiate the component that ``config`` (a validated config model) selects."""
        return self.get(kind, config.type).create(config)

    def cached(self, key: str, build):
        """Memoize things derived from the registry (the scenario model, type adapters)."""
        if key not in self._cache:
            self._cache[key] = build()
        return self._cache[key]

    def add(self, component: Component) -> None:
        for kind in _namespace_of(component.kind):
            existing = self.components[kind].get(component.name)
            if existing is not None:
                raise PluginError(
                    f"{component.kind[:-1]} '{component.name}' is registered twice: by plugin "
                    f"'{existing.plugin}' and by plugin '{component.plugin}'",
                    hint="rename one of them, or leave one plugin out",
                )
        self.components[component.kind][component.name] = component
        self._cache.clear()


def _namespace_of(kind: str) -> tuple[str, ...]:
    for group in SHARED_NAMESPACES:
        if kind in group:
            return group
    return (kind,)


def load_registry(
    extra_plugins: Iterable[str | object] = (),
    *,
    autoload: bool | None = None,
    base_dir: Path | None = None,
) -> Registry:
    """Load every plugin and return the registry of what they register.

    ``extra_plugins`` are module names, ``.py`` paths (relative to ``base_dir``) or already
    imported module objects; ``autoload`` defaults to "unless
    TRACEGRAD_DISABLE_PLUGIN_AUTOLOAD is set".
    """
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    if os.environ.get("TRACEGRAD_DEBUG_HOOKS"):
        manager.trace.root.setwriter(lambda text: sys.stderr.write(text))
        manager.enable_tracing()
    for module_name in BUILTIN_PLUGINS:
        manager.register(importlib.import_module(module_name), name=module_name)
    if autoload is None:
        autoload = not os.environ.get("TRACEGRAD_DISABLE_PLUGIN_AUTOLOAD")
    if autoload:
        try:
            manager.load_setuptools_entrypoints(hookspecs.PROJECT)
        except Exception as error:  # a broken installed plugin: say which, not a traceback
            raise PluginError(
                f"an installed plugin failed to load: {error}",
                hint="set TRACEGRAD_DISABLE_PLUGIN_AUTOLOAD=1 to skip installed plugins",
            ) from error
    for plugin in extra_plugins:
        module, name = (
            (plugin, getattr(plugin, "__name__", repr(plugin)))
            if not isinstance(plugin, str)
            else import_plugin(plugin, base_dir)
        )
        if manager.get_plugin(name) is None and not manager.is_registered(module):
            manager.register(module, name=name)
    try:
        manager.check_pending()
    except pluggy.PluginValidationError as error:
        raise PluginError(
            f"plugin '{error.plugin_name if hasattr(error, 'plugin_name') else error.plugin}' "
            f"has a hook implementation that matches no Tracegrad hook: {error}",
            hint=f"the hooks are: {', '.join(hook for hook, _ in KINDS.values())}",
        ) from error
    return collect(manager)


def collect(manager: pluggy.PluginManager) -> Registry:
    """Call each registration hook plugin by plugin and build the registry."""
    registry = Registry(manager)
    for kind, (hook_name, base) in KINDS.items():
        hook = getattr(manager.hook, hook_name)
        for impl in reversed(hook.get_hookimpls()):  # registration order

            def register(
                name, implementation, config, _kind=kind, _base=base, _plugin=impl.plugin_name
            ):
                registry.add(_checked(_kind, _base, _plugin, name, implementation, config))

            impl.function(**{arg: register for arg in impl.argnames})
    return registry


def _checked(kind: str, base: type, plugin: str, name, implementation, config) -> Component:
    where = f"plugin '{plugin}' registering {kind[:-1]} '{name}'"
    if not isinstance(name, str) or not name:
        raise PluginError(f"{where}: the name must be a non-empty string")
    if not (isinstance(implementation, type) and issubclass(implementation, base)):
        raise PluginError(
            f"{where}: the implementation must be a class deriving from "
            f"engine.components.{base.__name__}"
        )
    if not (isinstance(config, type) and issubclass(config, components.ComponentConfig)):
        raise PluginError(f"{where}: the config must be a subclass of engine.ComponentConfig")
    type_field = config.model_fields.get("type")
    if type_field is None or typing.get_args(type_field.annotation) != (name,):
        raise PluginError(f"{where}: the config needs a field  type: Literal[{name!r}]")
    return Component(kind, name, implementation, config, plugin)


def import_plugin(spec: str, base_dir: Path | None = None):
    """Import a plugin given as a module name or a path to a ``.py`` file.

    Returns ``(module, plugin_name)``. An import failure becomes a PluginError carrying the
    plugin's own error message.
    """
    path = Path(spec)
    if not path.is_absolute() and base_dir is not None:
        path = Path(base_dir) / path
    looks_like_file = spec.endswith(".py") or os.sep in spec or "/" in spec
    try:
        if looks_like_file:
            if not path.is_file():
                raise PluginError(
                    f"plugin file not found: {path}",
                    hint="give a path to a .py file or an importable module name",
                )
            module_name = f"tracegrad_plugin_{path.stem}_{abs(hash(str(path.resolve())))}"
            module_spec = importlib.util.spec_from_file_location(module_name, path)
            module = importlib.util.module_from_spec(module_spec)
            sys.modules[module_name] = module
            module_spec.loader.exec_module(module)
            return module, str(path)
        return importlib.import_module(spec), spec
    except PluginError:
        raise
    except BaseException as error:  # noqa: BLE001 - any failure of foreign code is reported
        if isinstance(error, KeyboardInterrupt):
            raise
        detail = f"{type(error).__name__}: {error}"
        raise PluginError(
            f"plugin '{spec}' failed to import: {detail}",
            hint="run with --debug to see the traceback",
        ) from error
