"""The JSON Schema of scenario files, in Draft-7 keywords (what YAML editors understand).

pydantic emits Draft 2020-12; this module rewrites the few keywords that differ
(``$defs`` -> ``definitions``, ``prefixItems`` -> ``items`` as a list) so the yaml-language-server
can validate and complete a scenario as it is typed.
"""

from __future__ import annotations

from pydantic.json_schema import models_json_schema

from engine.plugins import load_registry
from engine.scenario import scenario_model

DRAFT_7 = "http://json-schema.org/draft-07/schema#"


def _to_draft7(node):
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$defs":
                out["definitions"] = _to_draft7(value)
            elif key == "$ref" and isinstance(value, str):
                out[key] = value.replace("#/$defs/", "#/definitions/")
            elif key == "prefixItems":
                out["items"] = _to_draft7(value)
            elif key == "discriminator" and isinstance(value, dict) and "propertyName" in value:
                continue  # an OpenAPI keyword; oneOf + const already say it in Draft 7
            else:
                out[key] = _to_draft7(value)
        return out
    if isinstance(node, list):
        return [_to_draft7(item) for item in node]
    return node


def scenario_schema(plugins=(), registry=None) -> dict:
    """One schema for every registered scenario kind: the file's ``kind`` (default
    ``supervised``) selects the kind's model, by if/then/else on ``kind``."""
    registry = registry or load_registry(plugins)
    names = sorted(registry.kinds, key=lambda name: (name == "supervised", name))
    models = [scenario_model(registry, name) for name in names]
    refs, schema = models_json_schema([(model, "validation") for model in models])
    choice = None
    for name, model in reversed(list(zip(names, models))):
        ref = refs[(model, "validation")]
        if choice is None:  # the default kind: what a file without `kind` is
            choice = dict(ref)
            continue
        choice = {
            "if": {"properties": {"kind": {"const": name}}, "required": ["kind"]},
            "then": dict(ref),
            "else": choice,
        }
    schema = _to_draft7({**schema, **choice})
    schema["$schema"] = DRAFT_7
    schema["title"] = "Tracegrad scenario"
    return schema
