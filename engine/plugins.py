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

import difflib
import importlib
import importlib.util
import os
import sys
import typing
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pluggy

from engine import components, hookspecs
from engine.errors import PluginError, singular_of, unknown_name_message
from engine.i18n import _

#: The built-in plugins, registered like any other (datasette keeps the same kind of tuple).
BUILTIN_PLUGINS = (
    "plugins.activations",
    "plugins.layers",
    "plugins.normalization",
    "plugins.noise",
    "plugins.minibatch",
    "plugins.images",
    "plugins.losses",
    "plugins.optimizers",
    "plugins.schedules",
    "plugins.initializers",
    "plugins.datasets",
    "plugins.mixtures",
    "plugins.file_data",
    "plugins.supervised",
    "plugins.clipping",
    "plugins.gan",
    "plugins.gan.losses",
    "plugins.gan.tricks",
    "plugins.gan.sampling",
    "plugins.gan.conditional",
    "plugins.reporters",
    "plugins.gan.reporters",
    "plugins.image_report",
    "plugins.learned_report",
)

#: Kind of component -> (registration hook, base class every implementation derives from).
#: A scenario kind adds kinds of its own (``ScenarioKind.component_kinds``).
KINDS: dict[str, tuple[str, type]] = {
    "layers": ("tracegrad_register_layers", components.Layer),
    "activations": ("tracegrad_register_activations", components.Activation),
    "losses": ("tracegrad_register_losses", components.Loss),
    "optimizers": ("tracegrad_register_optimizers", components.Optimizer),
    "schedules": ("tracegrad_register_schedules", components.Schedule),
    "initializers": ("tracegrad_register_initializers", components.Initializer),
    "datasets": ("tracegrad_register_datasets", components.Dataset),
    "reporters": ("tracegrad_register_reporters", components.Reporter),
}

#: Kinds whose names share one namespace (an activation can stand in ``model.layers``).
SHARED_NAMESPACES = (("layers", "activations"),)


@dataclass(frozen=True)
class ScenarioKindEntry:
    """One registered scenario kind: ``name``, its ``ScenarioKind``, its fields, its plugin."""

    name: str
    kind: components.ScenarioKind
    fields: type
    plugin: str


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
        self.kinds: dict[str, ScenarioKindEntry] = {}
        self.kind_plugins: set[str] = set()  # plugins whose kinds were collected
        self._cache: dict[str, object] = {}

    def kind(self, name: str):
        """The registered scenario kind ``name`` (its ``ScenarioKind`` instance)."""
        try:
            return self.kinds[name].kind
        except KeyError:
            raise PluginError(unknown_name_message("kinds", name, sorted(self.kinds))) from None

    def add_kind(self, entry: ScenarioKindEntry) -> None:
        existing = self.kinds.get(entry.name)
        if existing is not None:
            raise PluginError(
                _(
                    "scenario kind '{name}' is registered twice: by plugin '{plugin}' and by "
                    "plugin '{plugin2}'"
                ).format(name=entry.name, plugin=existing.plugin, plugin2=entry.plugin),
                hint=_("rename one of them, or leave one plugin out"),
            )
        self.kinds[entry.name] = entry
        for kind in entry.kind.component_kinds:
            self.components.setdefault(kind, {})
        self._cache.clear()

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
                    _(
                        "{singular_of} '{name}' is registered twice: by plugin '{plugin}' and by "
                        "plugin '{plugin2}'"
                    ).format(
                        singular_of=singular_of(component.kind),
                        name=component.name,
                        plugin=existing.plugin,
                        plugin2=component.plugin,
                    ),
                    hint=_("rename one of them, or leave one plugin out"),
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
    TRACEGRAD_DISABLE_PLUGIN_AUTOLOAD is set". Installed plugins named in
    ``TRACEGRAD_DISABLE_PLUGINS`` (entry-point names, comma-separated) are skipped.
    A registry loaded before from the same, unchanged plugins is returned again
    (``engine.plugin_cache``).
    """
    from engine import plugin_cache

    return plugin_cache.registry(
        extra_plugins,
        autoload,
        base_dir,
        lambda: _load_registry(extra_plugins, autoload=autoload, base_dir=base_dir),
    )


def _load_registry(extra_plugins, *, autoload: bool | None, base_dir: Path | None) -> Registry:
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    if os.environ.get("TRACEGRAD_DEBUG_HOOKS"):
        manager.trace.root.setwriter(lambda text: sys.stderr.write(text))
        manager.enable_tracing()
    for module_name in BUILTIN_PLUGINS:
        manager.register(importlib.import_module(module_name), name=module_name)
    if autoload is None:
        autoload = not os.environ.get("TRACEGRAD_DISABLE_PLUGIN_AUTOLOAD")
    pending: list[tuple] = []  # checked once the built-in kinds' hooks are known

    def unseen(name, module) -> bool:
        return (
            manager.get_plugin(name) is None
            and not manager.is_registered(module)
            and all(name != other and module is not known for known, other, *_rest in pending)
        )

    if autoload:
        for name, plugin in installed_plugins():
            if unseen(name, plugin):
                pending.append((plugin, name, f"installed plugin '{name}'", None, False))
    for plugin in extra_plugins:
        module, name = (
            (plugin, getattr(plugin, "__name__", repr(plugin)))
            if not isinstance(plugin, str)
            else import_plugin(plugin, base_dir)
        )
        if unseen(name, module):
            pending.append((module, name, label_of(plugin, name), plugin, True))
    registry = Registry(manager)
    collect_kinds(registry)  # the built-in kinds: their hooks are known before checking others
    for plugin, name, label, spec, required in pending:
        register_checked(
            manager, plugin, name, label, spec=spec, required=required, specs=all_specs(registry)
        )
    collect_kinds(registry)  # kinds that outside plugins bring
    try:
        manager.check_pending()
    except pluggy.PluginValidationError as error:  # what the checks above did not catch
        raise PluginError(
            _("a plugin has a hook that matches no Tracegrad hook: {error}").format(error=error)
        ) from None
    return collect(registry)


def label_of(plugin, name: str) -> str:
    return f"plugin '{plugin}'" if isinstance(plugin, str) else f"plugin '{name}'"


def all_specs(registry: Registry) -> list:
    """The core's hookspecs and those of every kind registered so far."""
    specs = [hookspecs]
    for entry in registry.kinds.values():
        if entry.kind.hookspecs is not None:
            specs.append(entry.kind.hookspecs)
    return specs


def collect_kinds(registry: Registry) -> None:
    """Call ``tracegrad_register_scenario_kinds`` of each plugin not called yet, plugin by
    plugin; add each new kind's hooks to the plugin manager."""
    manager = registry.manager
    for impl in reversed(manager.hook.tracegrad_register_scenario_kinds.get_hookimpls()):
        if impl.plugin_name in registry.kind_plugins:
            continue
        registry.kind_plugins.add(impl.plugin_name)

        def register(name, implementation, fields, _plugin=impl.plugin_name):
            entry = _checked_kind(_plugin, name, implementation, fields)
            registry.add_kind(entry)
            if entry.kind.hookspecs is not None:
                manager.add_hookspecs(entry.kind.hookspecs)

        impl.function(**{arg: register for arg in impl.argnames})


def component_kinds(registry: Registry) -> dict[str, tuple[str, type]]:
    """Every kind of component: the core's, then those the scenario kinds bring."""
    kinds = dict(KINDS)
    for entry in registry.kinds.values():
        kinds.update(entry.kind.component_kinds)
    return kinds


def disabled_plugins() -> set[str]:
    """Entry-point names listed in ``TRACEGRAD_DISABLE_PLUGINS`` (comma-separated)."""
    text = os.environ.get("TRACEGRAD_DISABLE_PLUGINS", "")
    return {name.strip() for name in text.split(",") if name.strip()}


#: Entry-point name of an installed plugin -> "distribution version" (filled as they load).
DISTRIBUTIONS: dict[str, str] = {}


def provider_of(plugin: str) -> str:
    """What provides a plugin: "tracegrad 0.1.0" for a built-in, the distribution of an
    installed one, else "plugin NAME" (a file or module given by name)."""
    if plugin in BUILTIN_PLUGINS:
        from engine import __version__

        return f"tracegrad {__version__}"
    return DISTRIBUTIONS.get(plugin) or f"plugin {plugin}"


def installed_plugins() -> list[tuple[str, object]]:
    """(entry-point name, loaded object) of every installed plugin not disabled; a plugin
    that fails to import is a PluginError naming its entry point and distribution."""
    from importlib.metadata import entry_points

    loaded, disabled = [], disabled_plugins()
    for point in entry_points(group=hookspecs.PROJECT):
        if point.name in disabled:
            continue
        try:
            loaded.append((point.name, point.load()))
            dist = getattr(point, "dist", None)
            if dist is not None:
                DISTRIBUTIONS[point.name] = f"{dist.name} {dist.version}"
        except BaseException as error:  # noqa: BLE001 - foreign code, reported by name
            if isinstance(error, KeyboardInterrupt):
                raise
            dist = getattr(point, "dist", None)
            source = f" of the distribution {dist.name} {dist.version}" if dist else ""
            raise PluginError(
                _(
                    "the installed plugin '{name}' (entry point {value}{source}) failed to "
                    "import: {name2}: {error}"
                ).format(
                    name=point.name,
                    value=point.value,
                    source=source,
                    name2=type(error).__name__,
                    error=error,
                ),
                hint=_(
                    "fix or uninstall it, or skip it: TRACEGRAD_DISABLE_PLUGINS={name} "
                    "(TRACEGRAD_DISABLE_PLUGIN_AUTOLOAD=1 skips every installed plugin)"
                ).format(name=point.name),
            ) from error
    return loaded


def hook_signatures(specs) -> dict[str, list[str]]:
    """Hook name -> argument names, for the hooks of a hookspec module or class."""
    import inspect

    signatures = {}
    for spec in specs if isinstance(specs, (list, tuple)) else [specs]:
        for name, function in vars(spec).items():
            if name.startswith(f"{hookspecs.PROJECT}_") and callable(function):
                arguments = inspect.signature(function).parameters
                signatures[name] = [a for a in arguments if a != "self"]
    return signatures


def hook_problems(plugin, label: str, specs) -> list[str]:
    """What is wrong with ``plugin``'s hook implementations against ``specs``: a hook name
    no spec has, or an argument its spec does not pass (each with a "did you mean")."""
    import inspect

    known = hook_signatures(specs)
    marker = f"{hookspecs.PROJECT}_impl"
    problems = []
    for attribute in dir(plugin):
        try:
            function = getattr(plugin, attribute)
        except Exception:  # noqa: BLE001 - a property of a foreign object
            continue
        if not callable(function) or not hasattr(function, marker):
            continue
        options = getattr(function, marker) or {}
        hook = options.get("specname") or attribute
        if hook not in known:
            close = difflib.get_close_matches(hook, known, n=1)
            guess = f" Did you mean '{close[0]}'?" if close else ""
            problems.append(f"{label}: '{hook}' matches no Tracegrad hook.{guess}")
            continue
        try:
            arguments = [
                a
                for a, p in inspect.signature(function).parameters.items()
                if p.default is inspect.Parameter.empty and a != "self"
            ]
        except (TypeError, ValueError):
            continue
        for argument in arguments:
            if argument not in known[hook]:
                close = difflib.get_close_matches(argument, known[hook], n=1, cutoff=0.4)
                guess = f" Did you mean '{close[0]}'?" if close else ""
                problems.append(
                    f"{label}: hook '{hook}' takes ({', '.join(known[hook])}), not "
                    f"'{argument}'.{guess}"
                )
    return problems


def register_checked(
    manager: pluggy.PluginManager,
    plugin,
    name: str,
    label: str,
    *,
    spec=None,
    required: bool = False,
    specs=hookspecs,
) -> None:
    """Register ``plugin`` after checking its hooks; ``required``: it must implement one
    (a module named as a plugin that has none, such as ``os``, is a mistake)."""
    marker = f"{hookspecs.PROJECT}_impl"
    problems = hook_problems(plugin, label, specs)
    if problems:
        error = PluginError(
            problems[0] if len(problems) == 1 else f"{label} has {len(problems)} bad hooks",
            hint="the hooks are: " + ", ".join(hook_signatures(specs)),
        )
        if len(problems) > 1:
            error.message += "".join(f"\n  {problem}" for problem in problems)
        error.plugin_spec = spec
        raise error
    if required and not any(
        hasattr(getattr(plugin, attribute, None), marker) for attribute in dir(plugin)
    ):
        error = PluginError(
            _(
                "{label} is not a Tracegrad plugin: it has no function marked @engine.hookimpl"
            ).format(label=label),
            hint=_(
                "a plugin defines hooks such as  @engine.hookimpl def "
                "tracegrad_register_layers(register): ..."
            ),
        )
        error.plugin_spec = spec
        raise error
    try:
        manager.register(plugin, name=name)
    except (pluggy.PluginValidationError, ValueError) as error:
        raised = PluginError(
            _("{label} cannot be registered: {error}").format(label=label, error=error)
        )
        raised.plugin_spec = spec
        raise raised from error


def collect(registry: Registry) -> Registry:
    """Call each registration hook plugin by plugin and fill the registry."""
    manager = registry.manager
    for kind, (hook_name, base) in component_kinds(registry).items():
        hook = getattr(manager.hook, hook_name)
        for impl in reversed(hook.get_hookimpls()):  # registration order

            def register(
                name, implementation, config, _kind=kind, _base=base, _plugin=impl.plugin_name
            ):
                registry.add(_checked(_kind, _base, _plugin, name, implementation, config))

            try:
                impl.function(**{arg: register for arg in impl.argnames})
            except PluginError:
                raise
            except Exception as error:  # noqa: BLE001 - a plugin's own bug, named
                raise PluginError(
                    _("plugin '{plugin_name}' failed in {hook_name}: {name}: {error}").format(
                        plugin_name=impl.plugin_name,
                        hook_name=hook_name,
                        name=type(error).__name__,
                        error=error,
                    ),
                    hint=_(
                        "run with --debug to see the traceback; "
                        "TRACEGRAD_DISABLE_PLUGINS skips an installed plugin"
                    ),
                ) from error
    return registry


def _checked_kind(plugin: str, name, implementation, fields) -> ScenarioKindEntry:
    from engine.scenario import ScenarioBase

    where = f"plugin '{plugin}' registering scenario kind '{name}'"
    if not isinstance(name, str) or not name:
        raise PluginError(_("{where}: the name must be a non-empty string").format(where=where))
    if not (
        isinstance(implementation, type) and issubclass(implementation, components.ScenarioKind)
    ):
        raise PluginError(
            _(
                "{where}: the implementation must be a class deriving from "
                "engine.components.ScenarioKind"
            ).format(where=where)
        )
    if not (isinstance(fields, type) and issubclass(fields, ScenarioBase)):
        raise PluginError(
            _("{where}: the fields must be a subclass of engine.scenario.ScenarioBase").format(
                where=where
            )
        )
    kind_field = fields.model_fields.get("kind")
    if kind_field is None or typing.get_args(kind_field.annotation) != (name,):
        raise PluginError(
            _("{where}: the fields need  kind: Literal[{name!r}]").format(where=where, name=name)
        )
    kind = implementation()
    kind.name = name
    return ScenarioKindEntry(name, kind, fields, plugin)


def _checked(kind: str, base: type, plugin: str, name, implementation, config) -> Component:
    where = f"plugin '{plugin}' registering {singular_of(kind)} '{name}'"
    if not isinstance(name, str) or not name:
        raise PluginError(_("{where}: the name must be a non-empty string").format(where=where))
    if not (isinstance(implementation, type) and issubclass(implementation, base)):
        raise PluginError(
            _("{where}: the implementation must be a class deriving from {module}.{name}").format(
                where=where, module=base.__module__, name=base.__name__
            )
        )
    if not (isinstance(config, type) and issubclass(config, components.ComponentConfig)):
        raise PluginError(
            _("{where}: the config must be a subclass of engine.ComponentConfig").format(
                where=where
            )
        )
    type_field = config.model_fields.get("type")
    if type_field is None or typing.get_args(type_field.annotation) != (name,):
        raise PluginError(
            _("{where}: the config needs a field  type: Literal[{name!r}]").format(
                where=where, name=name
            )
        )
    undescribed = [
        field
        for field, info in config.model_fields.items()
        if field != "type" and not (info.description or "").strip()
    ]
    if undescribed:
        raise PluginError(
            _("{where}: the config's field '{undescribed}' has no description").format(
                where=where, undescribed=undescribed[0]
            ),
            hint=_(
                "give every field a Field(description=...): `tracegrad plugins`, the JSON "
                "Schema and editors show it to students"
            ),
        )
    if plugin not in BUILTIN_PLUGINS:  # the built-ins' defaults are covered by their tests
        _check_defaults(config, where)
    return Component(kind, name, implementation, config, plugin)


def _check_defaults(config: type[components.ComponentConfig], where: str) -> None:
    """Every default of a plugin's config is a valid value of its field (a default is not
    validated when a scenario leaves it out, so a wrong one would fail deep in a run)."""
    import pydantic
    from pydantic_core import PydanticUndefined

    for field_name, info in config.model_fields.items():
        if field_name == "type" or info.default is PydanticUndefined:
            continue
        if info.default is None and info.default_factory is None:
            annotation = info.annotation
            if type(None) in typing.get_args(annotation) or annotation is type(None):
                continue
        default = info.get_default(call_default_factory=True)
        try:
            annotation = info.annotation
            if info.metadata:  # the Field's constraints (gt=0, ...)
                annotation = typing.Annotated[(annotation, *info.metadata)]
            adapter = pydantic.TypeAdapter(annotation)
            adapter.validate_python(default)
        except pydantic.ValidationError as error:
            problem = error.errors()[0]["msg"]
            raise PluginError(
                _(
                    "{where}: the default of '{field_name}', {default!r}, is not a valid value of "
                    "the field: {problem}"
                ).format(where=where, field_name=field_name, default=default, problem=problem),
                hint=_(
                    "fix the Field(...) default of '{field_name}' in the plugin's config"
                ).format(field_name=field_name),
            ) from None
        except Exception:  # noqa: BLE001 - an annotation pydantic cannot adapt on its own
            continue


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
            _check_plugin_file(spec, path)
            loaded = _module_from_file(path)
            if loaded is not None:  # e.g. the package's own __init__.py, installed editable
                return loaded, loaded.__name__
            stem = "".join(c if c.isalnum() else "_" for c in path.stem)
            module_name = f"tracegrad_plugin_{stem}_{abs(hash(str(path.resolve())))}"
            module_spec = importlib.util.spec_from_file_location(module_name, path)
            module = importlib.util.module_from_spec(module_spec)
            sys.modules[module_name] = module
            module_spec.loader.exec_module(module)
            return module, str(path)
        return importlib.import_module(spec), spec
    except PluginError as error:
        error.plugin_spec = spec
        raise
    except BaseException as error:  # noqa: BLE001 - any failure of foreign code is reported
        if isinstance(error, KeyboardInterrupt):
            raise
        detail = f"{type(error).__name__}: {error}"
        raised = PluginError(
            _("plugin '{spec}' failed to import: {detail}").format(spec=spec, detail=detail),
            hint=_("run with --debug to see the traceback"),
        )
        raised.plugin_spec = spec
        raise raised from error


def _module_from_file(path: Path):
    """The module already imported from ``path`` (the same file once resolved), or None: a
    plugin named by its file and also installed is one plugin, registered once."""
    target = path.resolve()
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if file and not module.__name__.startswith("tracegrad_plugin_"):
            try:
                if Path(file).resolve() == target:
                    return module
            except (OSError, ValueError):
                continue
    return None


def _check_plugin_file(spec: str, path: Path) -> None:
    """A plugin file is a regular ``.py`` file (not a folder, a device or /etc/passwd)."""
    hint = "give a path to a .py file or an importable module name"
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise PluginError(_("plugin file not found: {path}").format(path=path), hint=hint) from None
    except OSError as error:
        raise PluginError(
            _("cannot read the plugin file {path}: {strerror}").format(
                path=path, strerror=error.strerror
            )
        ) from None
    from engine.files import describe_kind

    kind = describe_kind(info.st_mode)
    if kind is not None:
        raise PluginError(
            _("the plugin {path} is {kind}, not a .py file").format(path=path, kind=kind), hint=hint
        )
    if path.suffix != ".py":
        raise PluginError(_("the plugin {path} is not a .py file").format(path=path), hint=hint)
