"""`tracegrad schema` in a standard JSON Schema validator (the jsonschema package): every
bundled scenario of every kind validates, and typos and out-of-range values are rejected."""

from __future__ import annotations

import copy

import jsonschema
import pytest
import yaml

from engine.schema import scenario_schema
from tests.conftest import SCENARIOS

BUNDLED = sorted(SCENARIOS.rglob("*.yaml"))


@pytest.fixture(scope="module")
def validator():
    schema = scenario_schema()
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def load(path):
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def test_both_kinds_are_bundled():
    kinds = {load(path).get("kind", "supervised") for path in BUNDLED}
    assert kinds == {"supervised", "gan"}


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: str(p.relative_to(SCENARIOS)))
def test_every_bundled_scenario_validates(validator, path):
    errors = [error.message for error in validator.iter_errors(load(path))]
    assert errors == []


def broken(path: str, edit) -> dict:
    data = copy.deepcopy(load(SCENARIOS / path))
    edit(data)
    return data


@pytest.mark.parametrize(
    "path, edit",
    [
        ("xor.yaml", lambda d: d["train"].update(stpes=3)),
        ("xor.yaml", lambda d: d["train"].update(steps=0)),
        ("xor.yaml", lambda d: d["optimizer"].update(lr=-1)),
        ("xor.yaml", lambda d: d["loss"].update(type="bcee")),
        ("xor.yaml", lambda d: d.update(kind="gann")),
        ("xor.yaml", lambda d: d.update(latent={"dim": 2})),
        ("gan/ring8.yaml", lambda d: d["latent"].update(dim=0)),
        ("gan/ring8.yaml", lambda d: d.update(model={"layers": []})),
        ("gan/ring8.yaml", lambda d: d["tricks"].append({"type": "label_smothing"})),
        ("gan/ring8.yaml", lambda d: d.pop("kind")),
    ],
)
def test_typos_and_out_of_range_values_are_rejected(validator, path, edit):
    assert list(validator.iter_errors(broken(path, edit)))
