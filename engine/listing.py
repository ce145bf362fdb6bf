"""``tracegrad plugins``: every registered component with its config fields, for a student."""

from __future__ import annotations

import textwrap
import types
import typing

from pydantic import WithJsonSchema
from pydantic_core import PydanticUndefined

from engine.errors import TracegradError
from engine.i18n import _, translate_for
from engine.plugins import Registry, provider_of

_BOUNDS = {"gt": ">", "ge": "≥", "lt": "<", "le": "≤"}


def _bounds(metadata) -> str:
    """ " ≥ 0" or " in [0, 1)" from annotated-types constraints (Ge, Lt, ...)."""
    found = {}
    for item in metadata:
        for name in _BOUNDS:
            value = getattr(item, name, None)
            if value is not None and type(item).__name__.lower() in (name, "interval"):
                found[name] = value
    low = next(((n, found[n]) for n in ("ge", "gt") if n in found), None)
    high = next(((n, found[n]) for n in ("le", "lt") if n in found), None)
    if low and high:
        left, right = "[" if low[0] == "ge" else "(", "]" if high[0] == "le" else ")"
        return f" in {left}{low[1]:g}, {high[1]:g}{right}"
    if low or high:
        name, value = low or high
        return f" {_BOUNDS[name]} {value:g}"
    return ""


def _field_type(field) -> str:
    if any(isinstance(m, WithJsonSchema) for m in field.metadata):
        return "name or {type: ...}"
    return _type_name(field.annotation) + _bounds(field.metadata)


def _type_name(annotation) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        inner, *metadata = args
        if any(isinstance(m, WithJsonSchema) for m in metadata):
            return "values or {type: ...}"
        constraints = [c for m in metadata for c in getattr(m, "metadata", [m])]
        return _type_name(inner) + _bounds(constraints)
    if origin is tuple:
        return "(" + ", ".join(_type_name(a) for a in args if a is not Ellipsis) + ")"
    if origin in (dict, list):
        return f"{origin.__name__}[{', '.join(_type_name(a) for a in args)}]"
    if origin is typing.Literal:
        return " | ".join(repr(value) for value in args)
    if origin in (typing.Union, types.UnionType):
        names = [_type_name(a) for a in args if a is not type(None)]
        text = " or ".join(names)
        return f"{text} or null" if type(None) in args else text
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "").replace("NoneType", "None")


def _wrapped(text: str, indent: int) -> list[str]:
    """A description, whole, wrapped for a terminal."""
    return textwrap.wrap(
        " ".join(text.split()),
        width=96,
        initial_indent=" " * indent,
        subsequent_indent=" " * indent,
    )


def _summary(doc: str | None) -> str:
    """The docstring's first paragraph, whole (not cut at its first line)."""
    return (doc or "").strip().split("\n\n")[0]


def _default(field) -> str:
    if field.is_required() or (
        field.default_factory is None and field.default is PydanticUndefined
    ):
        return _("required")
    value = field.default_factory() if field.default_factory is not None else field.default
    return _("default {value!r}").format(value=value)


def descriptions(registry: Registry) -> list[str]:
    """Every description ``describe_components`` shows, as it looks them up in a catalog
    (whitespace joined): the message ids .ci/catalogs.py adds for the built-ins."""
    texts = [_summary(type(e.kind).__doc__ or e.fields.__doc__) for e in registry.kinds.values()]
    for components in registry.components.values():
        for component in components.values():
            texts.append(_summary(component.implementation.__doc__))
            texts += [
                field.description or ""
                for name, field in component.config.model_fields.items()
                if name != "type"
            ]
    return list(dict.fromkeys(" ".join(t.split()) for t in texts if t and t.strip()))


def component_summary(component) -> str:
    """A component's description as the listing shows it, in the reader's language."""
    summary = _summary(component.implementation.__doc__)
    return translate_for(component.implementation.__module__, " ".join(summary.split()))


def describe_components(registry: Registry, kind: str | None = None) -> str:
    kinds = list(registry.components)
    if kind is not None:
        if kind not in registry.components:
            raise TracegradError(
                _("unknown kind '{kind}'").format(kind=kind),
                hint=_("kinds: {names}").format(names=", ".join(kinds)),
            )
        kinds = [kind]
    lines = []
    if kind is None:  # the scenario kinds first: `kind:` selects one in a scenario file
        lines.append(_("scenario kinds:"))
        for name, entry in sorted(registry.kinds.items()):
            summary = _summary(type(entry.kind).__doc__ or entry.fields.__doc__)
            summary = translate_for(type(entry.kind).__module__, " ".join(summary.split()))
            source = provider_of(entry.plugin)
            plugin = _("(plugin {plugin})").format(plugin=entry.plugin)
            lines.append(f"  {name}  {plugin}  {source}")
            lines += _wrapped(summary, 6)
        lines.append("")
    for name_of_kind in kinds:
        lines.append(f"{name_of_kind}:")
        for name in registry.names(name_of_kind):
            component = registry.components[name_of_kind][name]
            summary = component_summary(component)
            where = provider_of(component.plugin)
            plugin = _("(plugin {plugin})").format(plugin=component.plugin)
            lines.append(f"  {name}  {plugin}  {where}")
            lines += _wrapped(summary, 6)
            for field_name, field in component.config.model_fields.items():
                if field_name == "type":
                    continue
                head = f"{field_name}: {_field_type(field)}, {_default(field)} - "
                description = " ".join((field.description or "").split())
                description = translate_for(component.config.__module__, description)
                lines += _wrapped(head + description, 8)
        lines.append("")
    return "\n".join(lines)
