"""Loading a big scenario quickly changes nothing a user sees: the same data, the same
positions in error messages, the same registry until its plugins change."""

from __future__ import annotations

import json
import textwrap

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import plugin_cache, yaml_source
from engine.errors import TracegradError
from engine.plugins import load_registry
from tests.conftest import SCENARIOS

ODD = {
    "matrix over lines": "a: [ [1, 2, 3, 4, 5, 6, 7, 8],\n     [3, 4.5, 6, 7, 8, 9, 10, 11] ]\n",
    "block list of rows": "x:\n- [0.5, -1.25]\n- [.5, 3.]\n- [1e-3, -2E+4]\n",
    "in quotes": 'a: "[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]"\nb: [1, 2, 3, 4, 5, 6, 7, 8, 9]\n',
    "in a comment": "a: [1, 2, 3, 4, 5, 6, 7, 8, 9]  # [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n",
    "in a block scalar": "a: |\n  [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\nb: [1, 2, 3, 4, 5, 6, 7, 8]\n",
    "anchor and alias": "c: &x [1, 2, 3, 4, 5, 6, 7, 8, 9]\nd: *x\n",
    "tagged": "a: !!seq [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\nb: [1, 2, 3, 4, 5, 6, 7, 8, 9]\n",
    "a word inside": "a: [1, 2, 3, 4, x, 6, 7, 8, 9, 10]\nb: [1, 2, 3, 4, 5, 6, 7, 8, 9]\n",
    "not numbers by YAML 1.2": "a: [0o17, 0x1f, 1_000, 1:30, .inf, 5, 6, 7, 8, 9]\n",
    "continued at column 0": "a: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,\n12, 13]\n",
    "in a flow mapping": "w: {W: [1.5, 2.5, 3.5, 4.5, 5.5, 6.5], b: [0.0, 0.0, 0.0, 0.0]}\n",
    "as a key": "[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]: 3\n",
    "unclosed": "a: [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n",
    "empty item": "a: [1, 2, 3, 4, , 6, 7, 8, 9, 10]\n",
    "trailing comma": "a: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, ]\n",
    "twice": "a: [1, 2, 3, 4, 5, 6, 7, 8]\na: [1, 2, 3, 4, 5, 6, 7, 8]\n",
    "one number list the whole file": "[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n",
}


def event_by_event(text: str):
    return yaml_source._load(text, "f.yaml", None)


def assert_same_reading(text: str) -> None:
    """``load`` gives what reading every event gives: data, error, and every position."""
    try:
        data, source = yaml_source.load(text, "f.yaml")
    except TracegradError as error:
        with pytest.raises(TracegradError) as plain:
            event_by_event(text)
        assert str(error) == str(plain.value)
        return
    plain_data, plain_source = event_by_event(text)
    assert json.dumps(data) == json.dumps(plain_data)
    for path, position in plain_source.positions.items():
        assert source.position(path) == position, path
        assert source.where(path) == plain_source.where(path)


@pytest.mark.parametrize("name", sorted(ODD))
def test_odd_number_lists_read_as_event_by_event(name):
    assert_same_reading(ODD[name])


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("**/*.yaml")), ids=lambda p: p.name)
def test_bundled_scenarios_read_as_event_by_event(path):
    assert_same_reading(path.read_text(encoding="utf-8"))


numbers = st.one_of(
    st.integers(-(10**6), 10**6).map(str),
    st.floats(allow_nan=False, allow_infinity=False, width=64).map(repr),
    st.sampled_from([".5", "-3.", "+7", "1e5", "2E-3", "-0"]),
)
space = st.sampled_from(["", " ", "  ", "\n      ", " \n       "])


@st.composite
def flow_lists(draw, depth=2):
    if depth == 1 or draw(st.booleans()):
        items = draw(st.lists(numbers, min_size=1, max_size=8))
    else:
        items = draw(st.lists(flow_lists(depth=1), min_size=1, max_size=4))
    parts = [draw(space) + item + draw(space) for item in items]
    return "[" + ",".join(parts) + "]"


@settings(max_examples=150, deadline=None)
@given(st.lists(flow_lists(), min_size=1, max_size=4), st.booleans())
def test_generated_number_lists_read_as_event_by_event(lists, block):
    if block:
        text = "m:\n" + "".join(f"  - {value}\n" for value in lists)
    else:
        text = "".join(f"k{i}: {value}\n" for i, value in enumerate(lists))
    assert_same_reading(text)


def test_a_number_in_a_list_read_in_one_go_has_its_line_and_column(write_scenario):
    import engine

    path = write_scenario(
        """
        name: explicit
        data:
          type: inline
          x: [[0.5, 1.5], [2.5, -3.5],
              [4.5,   5.5]]
          y: [[1.0], [0.0], [1.0]]
        model:
          layers:
            - {type: dense, name: output, units: 1}
        loss: {type: mse}
        optimizer: {type: sgd, lr: 0.1}
        train: {steps: 1}
        """
    )
    scenario = engine.load_scenario(path)
    assert scenario.source.number_lists  # the quick reading was used
    assert scenario.where(("data", "x", 2, 1)) == f"{path}:5:15"
    assert scenario.where(("data", "x", 1)) == f"{path}:4:19"
    assert scenario.where(("data", "x", 9)) == f"{path}:4:3"  # no such row: the key


def test_dump_writes_what_safe_dump_writes():
    data = {
        "name": "日本語 😀",
        "long": "word " * 40,
        "lines": "a\nb\n",
        "numbers": [1.5e-300, float("inf"), -0.0, 1e16, 0.1, 3],
        "nested": [[1, 2], {"a": None, "b": True, "c": "yes"}],
        "rows": [[], [0.5, -3, 1e-300], [True, 2], [float("nan"), 7]],
    }
    data["shared"] = [data["rows"][1], data["rows"][1]]  # one list twice: an alias
    expected = yaml.safe_dump(data, sort_keys=False, default_flow_style=None)
    assert yaml_source.dump(data) == expected


# --- the registry cache ---------------------------------------------------------------------

PLUGIN = """
from typing import Literal

import engine
from plugins.activations import Tanh, TanhConfig


class {name}Config(TanhConfig):
    type: Literal["{word}"] = "{word}"


@engine.hookimpl
def tracegrad_register_activations(register):
    register("{word}", Tanh, {name}Config)
"""


def write_plugin(folder, word: str):
    path = folder / "extra.py"
    path.write_text(textwrap.dedent(PLUGIN.format(name=word.title(), word=word)))
    return path


def test_the_registry_is_loaded_once_for_the_same_plugins():
    assert load_registry() is load_registry()


def test_a_changed_plugin_file_loads_a_new_registry(tmp_path):
    path = write_plugin(tmp_path, "first")
    before = load_registry([str(path)])
    assert "first" in before.names("activations")
    assert load_registry([str(path)]) is before
    write_plugin(tmp_path, "second")
    after = load_registry([str(path)])
    assert after is not before
    assert "second" in after.names("activations") and "first" not in after.names("activations")


def test_the_plugin_variables_load_a_new_registry(monkeypatch):
    plugin_cache.clear()
    first = load_registry()
    monkeypatch.setenv("TRACEGRAD_DISABLE_PLUGINS", "nothing_installed_by_this_name")
    assert load_registry() is not first
    monkeypatch.delenv("TRACEGRAD_DISABLE_PLUGINS")
    assert load_registry() is first


def test_plugins_given_as_modules_are_not_cached():
    import plugins.activations as module

    assert load_registry([module]) is not load_registry([module])
