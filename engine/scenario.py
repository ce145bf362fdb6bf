"""Scenario files: pydantic models, YAML loading with positions, ``--set`` overrides.

The scenario model is built after plugins load: ``data``, ``model.layers``, ``loss`` and
``optimizer`` are discriminated unions (on ``type``) over the registered components. Every
validation error is mapped back to the ``file:line:column`` of the offending key.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from engine import yaml_source
from engine.errors import PluginError, ScenarioError
from engine.i18n import _, ngettext
from engine.i18n_pydantic import pydantic_message
from engine.limits import Limits, check_file
from engine.plugins import Registry, load_registry
from engine.yaml_source import SourceMap


class Section(BaseModel):
    """A fixed part of the scenario file (train, trace, model): unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class TrainBase(Section):
    """What every kind's ``train:`` has; a kind's own train section derives from this."""

    steps: int = Field(gt=0, description="Number of training steps.")


class TraceConfig(Section):
    steps: list[Annotated[int, Field(ge=0)]] = Field(
        default_factory=lambda: [0],
        description="Steps traced in full (forward, loss, "
        "backward, updates); step numbers start at 0.",
    )
    every: int | None = Field(None, gt=0, description="Also trace every N-th step (0, N, 2N...).")
    last: bool = Field(True, description="Also trace the last step.")
    max_values: int = Field(
        64,
        gt=0,
        description="Arrays with more numbers than this are summarized in the trace "
        "(shape, min, max, mean, std, L2 norm, first values).",
    )

    def traces(self, step: int, total_steps: int) -> bool:
        return (
            step in self.steps
            or (self.every is not None and step % self.every == 0)
            or (self.last and step == total_steps - 1)
        )


class ScenarioBase(Section):
    name: str = Field("scenario", min_length=1, description="Name of the run (folder prefix).")
    kind: str = Field("supervised", description="What is trained: a registered scenario kind.")
    description: str | None = Field(None, description="Free text shown in reports.")
    seed: int = Field(0, ge=0, description="Root of every random draw (data, init, shuffling).")
    precision: Literal["float64", "float32"] = Field(
        "float64",
        description="Number type of every array (data, parameters, gradients): float64, "
        "exact to ~16 digits (walkthroughs and traces checked by hand need it), or float32, "
        "~7 digits and about twice as fast on wide layers and large batches.",
    )
    plugins: list[str] = Field(
        default_factory=list,
        description="Plugin modules or .py files to load (paths relative "
        "to the scenario file). Their code runs.",
    )
    train: TrainBase
    trace: TraceConfig = Field(default_factory=TraceConfig)


def component_union(configs: list[type]) -> Any:
    """A discriminated union on ``type`` (a plain type when only one is registered)."""
    if len(configs) == 1:
        return configs[0]
    return Annotated[Union[tuple(configs)], Field(discriminator="type")]  # noqa: UP007


def scenario_model(registry: Registry, kind: str = "supervised") -> type[ScenarioBase]:
    """The pydantic model of a scenario of ``kind`` for what ``registry`` holds."""
    return registry.cached(
        f"scenario_model.{kind}", lambda: registry.kind(kind).scenario_model(registry)
    )


@dataclass
class Scenario:
    """A validated scenario: ``spec`` (the pydantic model), the registry it was validated
    against, and where it came from (for error messages and relative paths)."""

    spec: Any
    registry: Registry
    source: SourceMap
    base_dir: Path
    path: Path | None = None
    overrides: dict[str, Any] = field(default_factory=dict)

    @property
    def kind(self):
        """The scenario's kind (a ``ScenarioKind``), which builds, trains and checks it."""
        return self.registry.kind(self.spec.kind)

    def resolved(self) -> dict:
        """The scenario with defaults filled in and overrides applied, as plain data."""
        return self.spec.model_dump(mode="json")

    def resolved_yaml(self) -> str:
        return yaml_source.dump(self.resolved())

    def digest(self) -> str:
        text = json.dumps(self.resolved(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    def where(self, path: tuple) -> str:
        """file:line:col of a key, or the ``--set`` that supplied it."""
        path = tuple(path)
        for key in self.overrides:
            parts = _split_key(key)
            if path[: len(parts)] == parts:
                return f"--set {key}"
            known = self.source.positions
            if parts[: len(path)] == path and known and not self.source.knows(path):
                return f"--set {key}"  # a key the override added to the file's
        return self.source.where(path)


def read_scenario_text(path: Path, what: str = "scenario file") -> str:
    """The text of a scenario (or sweep) file: a regular file of at most ``scenario_bytes``."""
    try:
        check_file(path, Limits.from_settings().scenario_bytes, "scenario_bytes", what)
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(
            _("scenario file not found: {path}").format(path=path),
            hint=_("check the path; bundled scenarios are in scenarios/"),
        ) from None
    except IsADirectoryError:
        raise ScenarioError(
            _("{path} is a folder, not a scenario file").format(path=path),
            hint=_("give the path of a .yaml file"),
        ) from None
    except PermissionError:
        raise ScenarioError(_("cannot read {path}: permission denied").format(path=path)) from None
    except UnicodeDecodeError as error:
        raise ScenarioError(
            _("{path} is not UTF-8 text ({reason} at byte {start})").format(
                path=path, reason=error.reason, start=error.start
            ),
            hint=_("save the scenario as UTF-8"),
        ) from None
    except OSError as error:
        raise ScenarioError(
            _("cannot read {path}: {reason}").format(path=path, reason=error.strerror)
        ) from None


def load_scenario(
    scenario: str | Path | dict,
    overrides: dict | list | None = None,
    *,
    plugins: typing.Iterable = (),
    registry: Registry | None = None,
    autoload: bool | None = None,
    allow_scenario_plugins: bool = True,
) -> Scenario:
    """Read, override and validate a scenario; ``scenario`` is a path or a plain dict.

    ``overrides`` maps dotted keys to values (``{"train.steps": 10}``) or is a list of
    ``"key=value"`` strings as given to ``--set`` (values parsed as YAML).
    """
    if isinstance(scenario, dict):
        data, source, base_dir, path = scenario, SourceMap("<scenario>"), Path.cwd(), None
        data = json.loads(json.dumps(data))  # a private copy; overrides must not leak out
    else:
        path = Path(scenario)
        data, source = yaml_source.load(read_scenario_text(path), str(path))
        base_dir = path.resolve().parent
    if not isinstance(data, dict):
        found = _("nothing (the file is empty)") if data is None else type(data).__name__
        raise ScenarioError(
            _("a scenario is a mapping of keys (name, data, model, ...), found {found}").format(
                found=found
            ),
            source.where(()),
            hint=_("start from a bundled scenario, e.g. scenarios/xor.yaml"),
        )
    overrides = parse_overrides(overrides)
    for key, value in overrides.items():
        apply_override(data, key, value)
    scenario_plugins = _scenario_plugins(data, source)
    if scenario_plugins and not allow_scenario_plugins:
        raise ScenarioError(
            _("this scenario lists plugins, and plugins from scenarios are refused"),
            source.where(("plugins",)),
            hint=_("review the plugin code, then run without --no-plugins-from-scenario"),
        )
    if registry is None or scenario_plugins or plugins:
        # plugins given by the caller resolve against the working folder, the scenario's own
        # against the scenario file's folder
        given = [str(Path(p).resolve()) if _is_path(p) else p for p in plugins]
        try:
            registry = load_registry(
                [*given, *scenario_plugins], autoload=autoload, base_dir=base_dir
            )
        except PluginError as error:
            raise _located(error, scenario_plugins, source) from error
    kind = data.get("kind", "supervised")
    if not isinstance(kind, str) or kind not in registry.kinds:
        known = sorted(registry.kinds)
        close = difflib.get_close_matches(str(kind), known, n=1)
        guess = _(" Did you mean '{name}'?").format(name=close[0]) if close else ""
        raise ScenarioError(
            _("unknown kind '{kind}'.{guess} Registered kinds: {known}").format(
                kind=kind, guess=guess, known=", ".join(known)
            ),
            Scenario(None, registry, source, base_dir, path, overrides).where(("kind",)),
            hint=_("leave 'kind' out for a supervised scenario"),
        )
    model = scenario_model(registry, kind)
    try:
        # JSON rules: no bool for a number, no text for a number, lists for tuples
        spec = model.model_validate_json(
            json.dumps(data), strict=True, context={"registry": registry}
        )
    except ValidationError as error:
        holder = Scenario(None, registry, source, base_dir, path, overrides)
        raise validation_error(error, data, model, holder) from None
    return Scenario(spec, registry, source, base_dir, path, overrides)


def _located(error: PluginError, scenario_plugins: list[str], source: SourceMap) -> PluginError:
    """A plugin's error, placed at its line in the scenario's ``plugins:`` when it is one."""
    spec = getattr(error, "plugin_spec", None)
    if error.where is None and spec in scenario_plugins:
        error.where = source.where(("plugins", scenario_plugins.index(spec)))
    elif error.where is None and spec is not None:
        error.where = "--plugin"
    return error


def _is_path(plugin) -> bool:
    return isinstance(plugin, str) and (plugin.endswith(".py") or "/" in plugin)


def _scenario_plugins(data: dict, source: SourceMap) -> list[str]:
    plugins = data.get("plugins", [])
    if not isinstance(plugins, list) or not all(isinstance(p, str) for p in plugins):
        raise ScenarioError(
            _("'plugins' must be a list of module names or .py paths"), source.where(("plugins",))
        )
    return plugins


# --- overrides -------------------------------------------------------------------------------


def _split_key(key: str) -> tuple:
    return tuple(int(part) if part.isdigit() else part for part in key.split("."))


def parse_overrides(overrides: dict | list | None) -> dict[str, Any]:
    if not overrides:
        return {}
    if isinstance(overrides, dict):
        parsed = dict(overrides)
    else:
        parsed = {}
        for item in overrides:
            key, sep, text = item.partition("=")
            if not sep or not key.strip():
                raise ScenarioError(
                    _("--set expects key=value, found '{item}'").format(item=item),
                    "--set",
                    hint=_("for example  --set train.steps=10"),
                )
            parsed[key.strip()] = yaml_source.load_value(text, f"--set {key.strip()}")
    for key in parsed:
        if not all(part.strip() == part and part for part in str(key).split(".")):
            raise ScenarioError(
                _(
                    "'{key}' is not a dotted key: every part between dots needs a name or index"
                ).format(key=key),
                f"--set {key}",
                hint=_("for example  --set model.layers.0.units=8"),
            )
    return parsed


def apply_override(data: dict, key: str, value: Any) -> None:
    """Set ``data[a][b][c] = value`` for key "a.b.c" (integers index lists)."""
    parts = _split_key(key)
    node = data
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        here = ".".join(str(p) for p in parts[:depth]) or _("the scenario")
        if isinstance(node, list):
            if not isinstance(part, int) or not -len(node) <= part < len(node):
                raise ScenarioError(
                    _("{here} is a list of {count} items; '{part}' is not an index of it").format(
                        here=here, count=len(node), part=part
                    ),
                    f"--set {key}",
                )
        elif isinstance(node, dict):
            if not isinstance(part, str):
                part = str(part)
        else:
            raise ScenarioError(
                _("{here} is a value ({node!r}), not a mapping: cannot set '{part}' in it").format(
                    here=here, node=node, part=part
                ),
                f"--set {key}",
                hint=_("set it whole: --set {here}=VALUE").format(here=here),
            )
        if last:
            node[part] = value
        else:
            if isinstance(node, dict) and node.get(part) is None:
                node[part] = {}
            node = node[part]


# --- errors ----------------------------------------------------------------------------------


def _data_path(loc: tuple, data: Any) -> tuple:
    """Drop the union tags pydantic puts in ``loc`` so the path indexes the YAML data."""
    path, node = [], data
    for part in loc:
        if isinstance(node, dict) and part in node:
            node = node[part]
            path.append(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
            path.append(part)
        elif isinstance(node, dict) and isinstance(part, str) and node.get("type") == part:
            continue  # the discriminator tag
        elif isinstance(part, str) and part.startswith(("function-", "list[", "union[")):
            continue
        else:
            path.append(part)
            node = None
    return tuple(path)


def _unwrap(annotation):
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            members = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation


def _model_at(model: type, loc: tuple):
    """The pydantic model class that validates the mapping at ``loc`` (None if unknown)."""
    annotation = model
    for part in loc:
        annotation = _unwrap(annotation)
        origin = typing.get_origin(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            info = annotation.model_fields.get(part)
            if info is None:
                return None
            annotation = info.annotation
        elif origin in (list, dict):
            annotation = typing.get_args(annotation)[-1]
        elif origin is Union:
            matches = [
                m
                for m in typing.get_args(annotation)
                if isinstance(m, type)
                and issubclass(m, BaseModel)
                and typing.get_args(
                    m.model_fields.get("type").annotation if "type" in m.model_fields else None
                )
                == (part,)
            ]
            if not matches:
                return None
            annotation = matches[0]
    annotation = _unwrap(annotation)
    return (
        annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    )


#: The registry kinds a component word of ``_component_word`` can be.
_KINDS_OF = {
    "layer": ("layers", "activations"),
    "data set": ("datasets",),
    "loss": ("losses",),
    "optimizer": ("optimizers",),
    "trick": ("gan_tricks",),
}


def _describe(error: dict, data: Any, model: type, registry: Registry | None = None) -> str:
    kind, loc = error["type"], error["loc"]
    found = error.get("input")
    if kind == "extra_forbidden":
        owner = _model_at(model, loc[:-1])
        valid = [n for n in owner.model_fields] if owner else []
        close = difflib.get_close_matches(str(loc[-1]), valid, n=1)
        guess = _(" Did you mean '{name}'?").format(name=close[0]) if close else ""
        listing = _(" Valid keys here: {keys}").format(keys=", ".join(valid)) if valid else ""
        return _("unknown key '{key}'.{guess}{listing}").format(
            key=loc[-1], guess=guess, listing=listing
        )
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        context = error.get("ctx", {})
        expected = [t.strip().strip("'") for t in str(context.get("expected_tags", "")).split(",")]
        what = _component_word(loc)
        expected = [t for t in expected if t]
        if not expected and registry is not None:
            kinds = _KINDS_OF.get(what, ())
            expected = sorted(name for kind in kinds for name in registry.names(kind))
        if kind == "union_tag_not_found":
            return _("missing 'type': which {what}? One of: {names}").format(
                what=_(what), names=", ".join(expected)
            )
        tag = context.get("tag")
        close = difflib.get_close_matches(str(tag), expected, n=1)
        guess = _(" Did you mean '{name}'?").format(name=close[0]) if close else ""
        return _("unknown {what} '{tag}'.{guess} Registered: {names}").format(
            what=_(what), tag=tag, guess=guess, names=", ".join(expected)
        )
    if kind == "missing":
        return _("missing required key '{key}'").format(key=loc[-1])
    if kind == "string_pattern_mismatch" and loc and loc[-1] == "name":
        return _(
            "a name holds letters, digits, '_' and '-' only, starting with a letter or '_' "
            "(found {found!r})"
        ).format(found=found)
    message = pydantic_message(error)
    if kind == "component" or found is None or isinstance(found, (dict, list)):
        return message
    if isinstance(found, float) and not math.isfinite(found):
        return _("{message} (found {found})").format(message=message, found=found)
    return _("{message} (found {found!r})").format(message=message, found=found)


def _component_word(loc: tuple) -> str:
    words = {"layers": "layer", "data": "data set", "loss": "loss", "optimizer": "optimizer"}
    words["tricks"] = "trick"  # GAN scenarios
    for part in reversed(loc):
        if isinstance(part, str) and part in words:
            return words[part]
    return "component"


def _line_of(scenario: Scenario, path: tuple) -> int:
    """Line of a path in the file, for sorting problems top to bottom (overrides first)."""
    where = scenario.where(path)
    parts = where.rsplit(":", 2)
    return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else 0


def validation_error(
    error: ValidationError, data: Any, model: type, scenario: Scenario
) -> ScenarioError:
    located = []
    for item in error.errors():
        path = _data_path(item["loc"], data)
        dotted = ".".join(str(p) for p in path) or _("(top level)")
        located.append((_line_of(scenario, path), scenario.where(path), dotted, item))
    located.sort(key=lambda entry: entry[0])
    problems = [
        f"{where}: {dotted}: {_describe(item, data, model, getattr(scenario, 'registry', None))}"
        for _line, where, dotted, item in located
    ]
    first_where = located[0][1]
    count = len(problems)
    if count == 1:
        head_where, _colon, rest = problems[0].partition(": ")
        return ScenarioError(
            rest, head_where, hint=_("see `tracegrad plugins` for every component and its options")
        )
    return ScenarioError(
        ngettext(
            "{count} problem in the scenario", "{count} problems in the scenario", count
        ).format(count=count),
        first_where,
        problems=problems,
        hint=_("see `tracegrad plugins` for every component and its options"),
    )
