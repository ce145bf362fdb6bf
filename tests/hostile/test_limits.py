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


def test_a_gan_beyond_the_trace_limit_is_refused_before_it_starts(cli, tmp_path):
    # a GAN's traced steps (both networks' passes and the pictures of its samples) are in
    # the estimate, so the run is refused before anything is written
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
    assert not folder.exists()


def test_the_trace_limit_holds_while_the_trace_is_written(tmp_path):
    # what the estimate misses is still bounded: the writer stops at the limit, and the end
    # record still fits
    from engine.limits import LimitError, applied
    from engine.trace import TraceWriter, read_trace

    path = tmp_path / "trace.jsonl"
    with applied({"trace_bytes": 2000}):
        writer = TraceWriter(path)
        writer.write({"type": "header", "scenario": {}})
        with pytest.raises(LimitError, match="grew beyond the limit of 2,000 bytes"):
            for step in range(1000):
                writer.write({"type": "step", "step": step, "values": list(range(20))})
        writer.close({"status": "failed", "steps_completed": 0, "message": "trace_bytes"})
    assert read_trace(path).end["status"] == "failed"
