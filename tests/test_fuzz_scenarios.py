"""Property-based test: mutated scenarios either run or fail cleanly.

Valid scenarios (the bundled ones and a small one) are mutated: values replaced by wrong
types, huge and negative numbers, NaN and inf, keys deleted and added, component names
changed; and whole files are replaced by random text. Every outcome must be a run (exit 0,
or 1 for a run that diverged) or a clean error: exit 2, the file named, no traceback.
Safety limits are lowered so a mutation that asks for a huge run is refused quickly.
"""

from __future__ import annotations

import copy
import io
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
import yaml

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from engine.cli import main  # noqa: E402
from tests.conftest import SCENARIOS, SMALL  # noqa: E402

LIMITS = [
    "--limit",
    "steps=300",
    "--limit",
    "parameters=200000",
    "--limit",
    "batch_size=5000",
    "--limit",
    "samples=200000",
    "--limit",
    "trace_bytes=20000000",
]
NEEDS_EXTRAS = ("digits",)


def _bases() -> list[dict]:
    bases = [yaml.safe_load(SMALL)]
    for path in sorted([*SCENARIOS.glob("*.yaml"), *SCENARIOS.glob("gan/*.yaml")]):
        if any(word in path.name for word in NEEDS_EXTRAS):
            continue
        data = yaml.safe_load(path.read_text())
        data.setdefault("train", {})["steps"] = min(data["train"].get("steps", 5), 5)
        bases.append(data)
    return bases


BASES = _bases()

VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.integers(-3, 3),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=6),
    st.lists(st.integers(-3, 3), max_size=3),
    st.lists(st.lists(st.floats(-2, 2), max_size=3), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(-2, 2), max_size=2),
    st.sampled_from(["dense", "sigmoid", "adam", "xor", "mse", "relu", "nonexistent", "", "-1"]),
)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*prefix, index))


def _parent(data, path):
    node = data
    for part in path[:-1]:
        node = node[part]
    return node


@st.composite
def mutated_scenarios(draw):
    data = copy.deepcopy(draw(st.sampled_from(BASES)))
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(data) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent, key = _parent(data, path), path[-1]
        action = draw(st.sampled_from(["replace", "replace", "delete", "add", "rename"]))
        if action == "replace":
            parent[key] = draw(VALUES)
        elif action == "delete":
            del parent[key]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=6))] = draw(VALUES)
        elif action == "rename" and isinstance(parent, dict) and "type" in parent:
            parent["type"] = draw(st.text(max_size=8))
    return data


def _run(path: Path, tmp: Path) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(
            ["run", str(path), "--trace", str(tmp / "trace.jsonl"), "-q", "--overwrite", *LIMITS]
        )
    return code, err.getvalue()


def _assert_clean(code: int, err: str, path: Path) -> None:
    assert code in (0, 1, 2), (code, err)
    assert "Traceback" not in err
    if code == 2:
        assert "error:" in err and str(path) in err, err


FUZZ = settings(
    max_examples=800,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.data_too_large,
    ],
)


@FUZZ
@given(scenario=mutated_scenarios())
def test_mutated_scenarios_run_or_fail_cleanly(scenario, tmp_path):
    path = tmp_path / "fuzz.yaml"
    path.write_text(yaml.safe_dump(scenario, allow_unicode=True))
    code, err = _run(path, tmp_path)
    _assert_clean(code, err, path)


@settings(FUZZ, max_examples=250)
@given(
    text=st.text(max_size=200)
    | st.sampled_from(["{", "a: [", "!!python/name:os.system", "- !!binary x", "a: *b", "\t- x"])
)
def test_random_yaml_fails_cleanly(text, tmp_path):
    path = tmp_path / "random.yaml"
    path.write_text(text, encoding="utf-8")
    code, err = _run(path, tmp_path)
    _assert_clean(code, err, path)
