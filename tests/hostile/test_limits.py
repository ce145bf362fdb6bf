"""Limits: a limit is a whole number from 1 to 1e18, read exactly; estimates are honest."""

from __future__ import annotations

import pytest

from tests.conftest import SMALL
from tests.hostile.conftest import clean_error


@pytest.mark.parametrize("value", ["inf", "1e400", "-1", "0", "nan", "2.5", "lots"])
def test_a_limit_that_is_not_a_whole_number_is_refused(cli, small, value):
    clean_error(cli("validate", small, "--limit", f"steps={value}"), "--limit", "whole number")


@pytest.mark.parametrize("value", ["inf", "1e400", "-5"])
def test_the_environment_limits_are_checked_too(cli, small, monkeypatch, value):
    monkeypatch.setenv("TRACEGRAD_LIMITS", f"steps={value}")
    clean_error(cli("validate", small), "TRACEGRAD_LIMITS", "whole number")


def test_the_steps_limit_message_gives_the_exact_number(cli, write_scenario):
    path = write_scenario(SMALL.replace("steps: 5", "steps: 12345678901234567891"))
    clean_error(cli("validate", path), "12,345,678,901,234,567,891")


def test_the_trace_estimate_counts_the_batch_indices(cli, write_scenario, tmp_path):
    # every traced step lists 100,000 sample indices: about 700 KB a step, 70 GB in all
    text = SMALL.replace("data: {type: xor}", "data: {type: xor, repeat: 50000}")
    text = text.replace("train: {steps: 5}", "train: {steps: 100000, batch_size: 100000}")
    path = write_scenario(text + "trace: {every: 1}\n")
    clean_error(cli("validate", path), "estimated trace size", "trace_bytes")


def test_a_hint_never_suggests_a_limit_that_cannot_be_set(cli, small):
    result = cli("validate", small, "--set", "model.layers.0.units=100000000000000000000000")
    clean_error(result, "parameter count", "make the scenario smaller")
    assert "--limit parameters=" not in result.err


def test_the_trace_limit_holds_while_a_gan_writes(cli, tmp_path):
    # a GAN's traced steps (pictures of its samples) are not in the estimate: the limit is
    # also held as the trace is written
    from engine.trace import read_trace
    from tests.conftest import ROOT

    folder = tmp_path / "run"
    result = cli(
        "run",
        ROOT / "scenarios" / "gan" / "ring8.yaml",
        "--set",
        "train.steps=200",
        "--set",
        "trace.every=1",
        "--run-dir",
        folder,
        "-q",
        "--limit",
        "trace_bytes=1e6",
    )
    clean_error(result, "trace_bytes", "1,000,000")
    trace = read_trace(folder)
    assert trace.end["status"] == "failed" and "trace_bytes" in trace.end["message"]
    assert (folder / "trace.jsonl").stat().st_size < 1_000_000 + 2_000
