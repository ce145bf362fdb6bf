"""Shared fixtures: the repository's paths, a CLI runner, and scenario-writing helpers."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from engine.cli import main

# Messages in English whatever the machine's locale or TRACEGRAD_LANG (zh would translate them);
# tests/test_i18n.py sets the language itself.
os.environ["TRACEGRAD_LANG"] = "en"

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
WALKTHROUGH = SCENARIOS / "walkthrough.yaml"


class CliResult:
    def __init__(self, code: int, out: str, err: str):
        self.code, self.out, self.err = code, out, err

    def __repr__(self):
        return f"CliResult(code={self.code}, out={self.out!r}, err={self.err!r})"


@pytest.fixture
def cli(capsys):
    """Run ``tracegrad ARGS`` in-process; returns exit code, stdout and stderr."""

    def run(*args: str) -> CliResult:
        try:
            code = main([str(a) for a in args])
        except SystemExit as exit_:  # argparse usage errors
            code = exit_.code
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


@pytest.fixture
def write_scenario(tmp_path):
    """Write YAML text (dedented) to a file in tmp_path and return its path."""

    def write(text: str, name: str = "scenario.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write


SMALL = """
name: small
seed: 1
data: {type: xor}
model:
  layers:
    - {type: dense, name: hidden, units: 3, activation: tanh}
    - {type: dense, name: output, units: 1, activation: sigmoid}
loss: {type: bce}
optimizer: {type: sgd, lr: 0.5}
train: {steps: 5}
"""
