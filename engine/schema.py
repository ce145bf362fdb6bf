"""The JSON Schema of scenario files, in Draft-7 keywords (what YAML editors understand).

pydantic emits Draft 2020-12; this module rewrites the few keywords that differ
(``$defs`` -> ``definitions``, ``prefixItems`` -> ``items`` as a list) so the yaml-language-server
can validate and complete a scenario as it is typed.
"""

from __future__ import annotations

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
            elif key == "discriminator" and isinstance(value, dict):
                continue  # an OpenAPI keyword; oneOf + const already say it in Draft 7
            else:
                out[key] = _to_draft7(value)
        return out
    if isinstance(node, list):
        return [_to_draft7(item) for item in node]
    return node


def scenario_schema(plugins=(), registry=None) -> dict:
    registry = registry or load_registry(plugins)
    schema = scenario_model(registry).model_json_schema()
    schema = _to_draft7(schema)
    schema["$schema"] = DRAFT_7
    schema["title"] = "Tracegrad scenario"
    return schema
