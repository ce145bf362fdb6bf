"""A sweep on worker processes stops promptly on SIGINT or SIGTERM, with no traceback, and
can be resumed and stopped again; a sweep's name cannot move its folder out of runs/."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT

LONG = """
name: long
seed: 0
data: {type: xor, repeat: 64}
model:
  layers:
    - {type: dense, units: 32, activation: tanh}
    - {type: dense, units: 1}
loss: {type: mse}
optimizer: {type: sgd, lr: 0.01}
train: {steps: 5000000, batch_size: 4}
"""


def _start(sweep, out, sigint=signal.SIG_DFL, **options):
    """The sweep command; ``sigint``: its SIGINT disposition at start (SIG_IGN: as a
    script's background job starts, where Python then installs no Ctrl-C handler)."""
    return subprocess.Popen(
        [sys.executable, "-m", "engine", "sweep", str(sweep), "--executor", "processes:2"]
        + ["-o", str(out), "-q"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, sigint),
        **options,
    )


def _wait_for_traces(out, count: int, since: float):
    """Until ``count`` runs have written a trace since ``since`` (their workers are busy)."""
    deadline = time.time() + 90
    while time.time() < deadline:
        fresh = [p for p in out.glob("runs/*/trace.jsonl") if p.stat().st_mtime > since]
        if len(fresh) >= count:
            return
        time.sleep(0.1)
    raise AssertionError("the workers never started")


def _stop(process, sig):
    time.sleep(1.0)
    process.send_signal(sig)
    started = time.monotonic()
    out, err = process.communicate(timeout=60)
    return process.returncode, out, err, time.monotonic() - started


def test_sigint_then_resume_then_sigterm_stop_promptly(tmp_path):
    (tmp_path / "long.yaml").write_text(LONG)
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text("scenario: long.yaml\nseeds: [0, 1, 2]\nmetrics: [final_loss]\n")
    out = tmp_path / "out"
    for sig in (signal.SIGINT, signal.SIGTERM):
        since = time.time()
        process = _start(sweep, out)
        _wait_for_traces(out, 2, since)
        code, stdout, stderr, seconds = _stop(process, sig)
        assert code == 130, (code, stderr)
        assert "Traceback" not in stderr, stderr
        assert "interrupted" in stdout, (stdout, stderr)
        assert seconds < 8, seconds
    time.sleep(0.5)
    leftover = subprocess.run(["pgrep", "-f", str(out)], capture_output=True, text=True)
    assert leftover.stdout.strip() == "", "worker processes were left running"


def test_a_sweep_started_with_ctrl_c_ignored_still_stops_on_sigint(tmp_path):
    """As `tracegrad run` does (engine.interrupt installs its own handler), whatever the
    disposition the sweep inherited."""
    (tmp_path / "long.yaml").write_text(LONG)
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text("scenario: long.yaml\nseeds: [0, 1]\nmetrics: [final_loss]\n")
    out = tmp_path / "out"
    since = time.time()
    # its own process group, so that the workers of a sweep that ignored the signal go too
    process = _start(sweep, out, sigint=signal.SIG_IGN, start_new_session=True)
    try:
        _wait_for_traces(out, 2, since)
        code, stdout, stderr, seconds = _stop(process, signal.SIGINT)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # a sweep that ignored it would run for hours
    assert code == 130, (code, stderr)
    assert "interrupted" in stdout, (stdout, stderr)
    assert seconds < 8, seconds


@pytest.mark.parametrize("name", ["../../escaped", "/tmp/elsewhere", "a\nb"])
def test_a_sweep_name_stays_inside_runs(tmp_path, monkeypatch, name):
    from engine.sweep import default_out_dir, load_sweep

    (tmp_path / "long.yaml").write_text(LONG)
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(f"name: {name!r}\nscenario: long.yaml\nseeds: [0]\nmetrics: [final_loss]\n")
    folder = default_out_dir(load_sweep(sweep))
    assert folder.parent == type(folder)("runs") and "\n" not in str(folder)
    assert ".." not in folder.parts
