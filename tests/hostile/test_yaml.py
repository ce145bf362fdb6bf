"""Scenario YAML: bombs, recursion, deep nesting, odd keys and YAML 1.1 surprises end in a
clear error at file:line, quickly."""

from __future__ import annotations

import time

import pytest

from tests.conftest import SMALL
from tests.hostile.conftest import clean_error, tracegrad


def alias_bomb(levels: int, width: int = 10) -> str:
    lines = ["a0: &a0 [x]"]
    for level in range(1, levels + 1):
        aliases = ", ".join([f"*a{level - 1}"] * width)
        lines.append(f"a{level}: &a{level} [{aliases}]")
    return "\n".join(lines) + "\n" + SMALL


def test_an_alias_bomb_is_refused_at_once(cli, write_scenario):
    path = write_scenario(alias_bomb(8))
    started = time.perf_counter()
    result = cli("validate", path)
    assert time.perf_counter() - started < 5
    clean_error(result, f"{path}:", "aliases stand for more than")


def test_a_recursive_alias_is_refused(cli, write_scenario):
    path = write_scenario(SMALL.replace("train: {steps: 5}", "train: &t {shuffle: *t}"))
    clean_error(cli("validate", path), f"{path}:10:", "contains itself")


@pytest.mark.parametrize("depth", [200, 200_000])
def test_deep_nesting_is_refused(cli, write_scenario, depth):
    path = write_scenario("description: " + "[" * depth + "]" * depth + "\n" + SMALL)
    clean_error(cli("validate", path), f"{path}:1:", "nested more than")


def test_deep_nesting_in_a_set_value_is_refused(cli, small):
    result = cli("validate", small, "--set", "description=" + "[" * 20_000 + "]" * 20_000)
    clean_error(result, "--set description", "nested more than")


def test_a_complex_key_is_refused(cli, write_scenario):
    path = write_scenario("? [a, b]\n: 1\n" + SMALL)
    clean_error(cli("validate", path), f"{path}:1:", "a key must be a plain value")


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ("units: 3", "units: true"),
        ("train: {steps: 5}", "train: {steps: true}"),
        ("seed: 1", "seed: 1:30"),
        ("seed: 1", 'seed: "0"'),
        ("seed: 1", "seed: 3.0"),
        ("shuffle", "train: {steps: 5, shuffle: 1}"),
    ],
)
def test_numbers_and_booleans_are_strict(cli, write_scenario, change, words):
    text = SMALL.replace("train: {steps: 5}", words) if change == "shuffle" else None
    text = text or SMALL.replace(change, words, 1)
    assert text != SMALL
    path = write_scenario(text)
    line = next(n for n, l in enumerate(text.lstrip("\n").splitlines(), 1) if words in l)
    clean_error(cli("validate", path), f"{path}:{line}:")


def test_yaml_1_1_sexagesimal_is_text_not_a_number():
    from engine.yaml_source import load

    data, _ = load("a: 1:30\nb: yes\nc: 0o17\nd: 1e-3\ne: .inf\nf: ~\n")
    assert data == {"a": "1:30", "b": "yes", "c": 15, "d": 0.001, "e": float("inf"), "f": None}


def test_a_nul_byte_is_reported_at_its_line(cli, write_scenario, tmp_path):
    path = tmp_path / "nul.yaml"
    path.write_bytes(b"name: ok\nseed: 1\ndescription: a\0b\n")
    result = cli("validate", path)
    clean_error(result, f"{path}:3:", "NUL")
    assert "<unicode string>" not in result.err and "position" not in result.err


def test_a_merge_key_gets_its_own_message(cli, write_scenario):
    text = "base: &base {steps: 5}\n" + SMALL.replace("train: {steps: 5}", "train: {<<: *base}")
    path = write_scenario(text)
    result = cli("validate", path)
    clean_error(result, f"{path}:12:", "merge keys")
    assert "'!'" not in result.err


def test_an_unknown_tag_is_named(cli, write_scenario):
    path = write_scenario(SMALL.replace("seed: 1", "seed: !custom 1"))
    clean_error(cli("validate", path), f"{path}:2:", "unsupported YAML tag '!custom'")


def test_a_device_as_the_scenario_is_refused_without_hanging(cli):
    result = tracegrad("validate", "/dev/zero", timeout=20)
    assert result.code == 2 and "character device" in result.err, result


def test_a_huge_scenario_is_refused_by_size(cli, tmp_path):
    path = tmp_path / "comments.yaml"
    path.write_text(SMALL + ("# a comment\n" * 1_000_000))  # 12 MB
    started = time.perf_counter()
    result = cli("validate", path)
    assert time.perf_counter() - started < 5
    clean_error(result, "scenario_bytes", "exceeds the limit")
    assert cli("validate", path, "--limit", "scenario_bytes=2e7").code == 0


@pytest.mark.parametrize(
    "override", ["a..b=1", ".train=3", "units.x=3", "model.layers.0.units.x=3"]
)
def test_a_bad_set_key_is_blamed_on_the_set(cli, small, override):
    result = cli("validate", small, "--set", override)
    key = override.partition("=")[0]
    clean_error(result, f"--set {key}")
    assert f"{small}:" not in result.err


def test_a_malformed_set_value_gets_a_clean_message(cli, small):
    result = cli("validate", small, "--set", "train={steps: [1,")
    clean_error(result, "--set train", "not valid YAML")
    assert 'in "<unicode string>"' not in result.err and "line 1, column" not in result.err


def test_an_empty_layer_lists_the_layer_types(cli, small):
    result = cli("validate", small, "--set", "model.layers.0={}")
    clean_error(result, "--set model.layers.0", "missing 'type'", "dense")
    assert "One of: \n" not in result.err and not result.err.rstrip().endswith("One of:")


def test_an_empty_scenario_says_so(cli, write_scenario):
    path = write_scenario("# only a comment\n")
    result = cli("validate", path)
    clean_error(result, "the file is empty")
    assert "NoneType" not in result.err


def test_a_second_document_is_refused(cli, write_scenario):
    path = write_scenario(SMALL + "---\nname: other\n")
    clean_error(cli("validate", path), f"{path}:11:", "more than one YAML document")
