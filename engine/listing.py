"""``tracegrad plugins``: every registered component with its config fields, for a student."""

from __future__ import annotations

import typing

from pydantic import WithJsonSchema
from pydantic_core import PydanticUndefined

from engine.errors import TracegradError
from engine.plugins import Registry


def _field_type(field) -> str:
    if any(isinstance(m, WithJsonSchema) for m in field.metadata):
        return "name or {type: ...}"
    return _type_name(field.annotation)


def _type_name(annotation) -> str:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return "values or {type: ...}"
    if origin in (dict, list):
        return f"{origin.__name__}[{', '.join(_type_name(a) for a in typing.get_args(annotation))}]"
    if origin is typing.Literal:
        return " | ".join(repr(value) for value in typing.get_args(annotation))
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "").replace("NoneType", "None")


def _default(field) -> str:
    if field.is_required():
        return "required"
    if field.default_factory is not None:
        return f"default {field.default_factory()!r}"
    if field.default is PydanticUndefined:
        return "required"
    return f"default {field.default!r}"


def describe_components(registry: Registry, kind: str | None = None) -> str:
    kinds = list(registry.components)
    if kind is not None:
        if kind not in registry.components:
            raise TracegradError(f"unknown kind '{kind}'", hint=f"kinds: {', '.join(kinds)}")
        kinds = [kind]
    lines = []
    if kind is None:  # the scenario kinds first: `kind:` selects one in a scenario file
        lines.append("scenario kinds:")
        for name, entry in sorted(registry.kinds.items()):
            summary = (type(entry.kind).__doc__ or entry.fields.__doc__ or "").strip()
            lines.append(f"  {name}  (plugin {entry.plugin})")
            if summary:
                lines.append(f"      {summary.splitlines()[0]}")
        lines.append("")
    for name_of_kind in kinds:
        lines.append(f"{name_of_kind}:")
        for name in registry.names(name_of_kind):
            component = registry.components[name_of_kind][name]
            summary = (component.implementation.__doc__ or "").strip().split("\n")[0]
            lines.append(f"  {name}  (plugin {component.plugin})")
            if summary:
                lines.append(f"      {summary}")
            for field_name, field in component.config.model_fields.items():
                if field_name == "type":
                    continue
                lines.append(
                    f"      {field_name}: {_field_type(field)}, "
                    f"{_default(field)} - {field.description or ''}"
                )
        lines.append("")
    return "\n".join(lines)
