"""Config field types that point at another kind of component.

A dense layer's ``activation: sigmoid`` or ``init: {b: {type: constant, value: 0.5}}`` names
components of other kinds. Those kinds are only known once plugins have loaded, so these
fields are validated against the registry passed in the pydantic validation context
(``model_validate(data, context={"registry": registry})``).

    activation: ActivationRef = None      # "sigmoid" or {type: leaky_relu, negative_slope: 0.2}
    init: dict[str, InitRef] = {}         # nested lists (explicit values) or {type: normal, ...}
    schedule: ScheduleRef = None          # {type: cosine, ...}
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import BeforeValidator, ValidationError, ValidationInfo, WithJsonSchema
from pydantic_core import PydanticCustomError

from engine.errors import singular_of, unknown_name_message
from engine.i18n import _
from engine.i18n_pydantic import pydantic_message


def validate_component(kind: str, value: Any, registry, context=None):
    """Validate ``value`` (a name or a mapping with ``type``) as a config of ``kind``."""
    if isinstance(value, str):
        value = {"type": value}
    if not isinstance(value, dict):
        raise PydanticCustomError(
            "component",
            _("expected a {kind} name or a mapping with 'type', found {found}"),
            {"kind": _(singular_of(kind)), "found": value},
        )
    name = value.get("type")
    if not isinstance(name, str) or name not in registry.components[kind]:
        if name is None:
            raise PydanticCustomError(
                "component",
                _("missing 'type': one of {names}"),
                {"names": ", ".join(registry.names(kind))},
            )
        message = unknown_name_message(kind, name, registry.names(kind))
        raise PydanticCustomError("component", message)
    config = registry.get(kind, name).config
    try:
        return config.model_validate(value, context=context)
    except ValidationError as error:
        details = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or name}: {pydantic_message(e)}"
            for e in error.errors()
        )
        raise PydanticCustomError(
            "component",
            _("{kind} '{name}': {details}"),
            {"kind": _(singular_of(kind)), "name": name, "details": details},
        ) from None


def _ref(kind: str, schema: dict):
    def check(value: Any, info: ValidationInfo):
        registry = (info.context or {}).get("registry")
        if value is None or registry is None:
            return value
        return validate_component(kind, value, registry, info.context)

    return Annotated[Any, BeforeValidator(check), WithJsonSchema(schema)]


def _check_init(value: Any, info: ValidationInfo):
    if isinstance(value, list):
        _check_nested_numbers(value)
        return value
    registry = (info.context or {}).get("registry")
    if registry is None:
        return value
    return validate_component("initializers", value, registry, info.context)


def _check_nested_numbers(value: Any) -> None:
    if isinstance(value, list):
        for item in value:
            _check_nested_numbers(item)
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PydanticCustomError(
            "init_values", _("explicit values must be numbers, found {found}"), {"found": value}
        )
    elif not math.isfinite(value):
        raise PydanticCustomError(
            "init_values", _("explicit values must be finite, found {found}"), {"found": value}
        )


_COMPONENT_SCHEMA = {
    "anyOf": [{"type": "string"}, {"type": "object", "required": ["type"]}],
}

ActivationRef = _ref(
    "activations",
    {**_COMPONENT_SCHEMA, "description": "an activation name or {type: ..., options}"},
)
ScheduleRef = _ref(
    "schedules",
    {**_COMPONENT_SCHEMA, "description": "a learning-rate schedule {type: ..., options}"},
)
InitRef = Annotated[
    Any,
    BeforeValidator(_check_init),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "array"},
                {"type": "string"},
                {"type": "object", "required": ["type"]},
            ],
            "description": "explicit values as nested lists, or an initializer {type: ...}",
        }
    ),
]
