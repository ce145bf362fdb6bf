"""Damaged traces: a deeply nested line, or a header whose kind was edited, is a clear
error at file:line for verify, show and report."""

from __future__ import annotations

import json

import pytest

from tests.hostile.conftest import clean_error


@pytest.fixture
def trace_lines(cli, small, tmp_path):
    assert cli("run", small, "--run-dir", tmp_path / "run", "-q").code == 0
    return (tmp_path / "run" / "trace.jsonl").read_text().splitlines()


@pytest.mark.parametrize("command", ["verify", "show", "report"])
def test_a_deeply_nested_line(cli, trace_lines, tmp_path, command):
    deep = '{"type": "forward", "step": 0, "values": ' + "[" * 100_000 + "]" * 100_000 + "}"
    path = tmp_path / "deep.jsonl"
    path.write_text("\n".join([trace_lines[0], deep, *trace_lines[1:]]) + "\n")
    clean_error(cli(command, path), f"{path}:2", "nested too deeply")


@pytest.mark.parametrize("kind", ["gan", "supervised"])
def test_an_edited_kind_is_named(cli, tmp_path, kind):
    from tests.conftest import ROOT

    scenario = ROOT / "scenarios" / ("gan/gaussian_1d.yaml" if kind == "gan" else "xor.yaml")
    folder = tmp_path / "run"
    assert cli("run", scenario, "--run-dir", folder, "-q", "--set", "train.steps=2").code == 0
    lines = (folder / "trace.jsonl").read_text().splitlines()
    header = json.loads(lines[0])
    header["scenario"]["kind"] = "supervised" if kind == "gan" else "gan"
    path = tmp_path / "edited.jsonl"
    path.write_text("\n".join([json.dumps(header), *lines[1:]]) + "\n")
    result = cli("verify", path)
    clean_error(result, f"{path}:1", "kind")
    assert "KeyError" not in result.err
