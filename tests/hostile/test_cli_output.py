"""The command line: stdout on a full device, Ctrl-C while starting, SIGHUP during a run,
and option values that make no sense are clear errors (exit 2), never tracebacks."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from engine.trace import read_trace
from tests.conftest import ROOT
from tests.hostile.conftest import clean_error


@pytest.mark.parametrize(
    "args", [["schema"], ["plugins"], ["run", "{small}", "--trace", "{tmp}/run/t.jsonl", "-q"]]
)
def test_stdout_on_a_full_device_is_a_clear_error(small, tmp_path, args):
    args = [a.format(small=small, tmp=tmp_path) for a in args]
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [sys.executable, "-m", "engine", *args],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            timeout=60,
        )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr
    assert "cannot write the output: No space left on device" in done.stderr


@pytest.fixture(scope="module")
def startup():
    """Seconds a bare interpreter takes to start here (the signal must come after it)."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - started


@pytest.mark.parametrize("delay", [0.0, 0.03, 0.08, 0.15, 0.3])
def test_ctrl_c_while_the_command_starts(small, startup, delay):
    delay += startup
    process = subprocess.Popen(
        [sys.executable, "-m", "engine", "validate", str(small)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(delay)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    if "Traceback" in err and "/engine/" not in err:  # only Python's own frames
        pytest.skip("the signal came while Python itself started, before any project code")
    assert "Traceback" not in err, err
    # 130, or ended by the SIGINT itself (-2), which a shell also reports as status 130
    assert process.returncode in (0, 130, -signal.SIGINT), (process.returncode, err)
    if process.returncode != 0:
        assert "interrupted" in err


def test_sighup_ends_the_run_with_an_end_record(write_scenario, tmp_path):
    path = write_scenario(
        "name: long\nseed: 0\ndata: {type: xor, repeat: 64}\nmodel:\n  layers:\n"
        "    - {type: dense, units: 64, activation: tanh}\n    - {type: dense, units: 1}\n"
        "loss: {type: mse}\noptimizer: {type: sgd, lr: 0.01}\n"
        "train: {steps: 10000000, batch_size: 4}\n"
    )
    folder = tmp_path / "run"
    process = subprocess.Popen(
        [sys.executable, "-m", "engine", "run", str(path), "--run-dir", str(folder), "-q"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    trace = folder / "trace.jsonl"
    deadline = time.time() + 60
    while time.time() < deadline and not (
        trace.exists() and trace.read_text().count('"scalars"') >= 2
    ):
        time.sleep(0.05)
    process.send_signal(signal.SIGHUP)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "Traceback" not in err
    assert read_trace(trace).end["status"] == "interrupted"
    assert json.loads(trace.read_text().splitlines()[-1])["type"] == "end"


@pytest.mark.parametrize(
    ("option", "value"), [("--max-entries", "0"), ("--max-entries", "-3"), ("--tolerance", "-1")]
)
def test_gradcheck_options_out_of_range(cli, small, option, value):
    result = cli("gradcheck", small, option, value)
    clean_error(result, option)
    assert "FAIL" not in result.out and " ok" not in result.out


def test_gradcheck_tolerance_nan(cli, small):
    clean_error(cli("gradcheck", small, "--tolerance", "nan"), "--tolerance")


def test_report_steps_zero_names_the_option(cli, small, tmp_path):
    assert cli("run", small, "--run-dir", tmp_path / "run", "-q").code == 0
    result = cli("report", tmp_path / "run", "--steps", "0")
    clean_error(result, "--steps")
    assert "gan_samples" not in result.err


def test_importing_the_command_line_is_light():
    # importing engine is quick and loads neither numpy nor pydantic (Ctrl-C is handled from
    # the command's first moment)
    code = "import sys, engine.cli; print('numpy' in sys.modules, 'pydantic' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=os.environ
    )
    assert done.stdout.split() == ["False", "False"], done


@pytest.mark.parametrize(
    ("args", "redirect"),
    [
        (["schema"], "1>&-"),
        (["validate", "/nonexistent.yaml"], "2>/dev/full"),
    ],
)
def test_closed_or_full_standard_streams(args, redirect, tmp_path):
    # a closed descriptor (`>&-`) or a full device: exit 2, and no Python error on exit
    status = tmp_path / "status"
    command = f"{sys.executable} -m engine {' '.join(args)} {redirect}; echo $? > {status}"
    done = subprocess.run(["bash", "-c", command], capture_output=True, cwd=ROOT, timeout=60)
    assert status.read_text().strip() == "2", done
    assert b"Traceback" not in done.stderr


@pytest.mark.parametrize("where", ["choose_language", "restore_language"])
def test_ctrl_c_while_the_language_is_chosen_or_restored(monkeypatch, capsys, where):
    """The signal can come while the command picks its language (before any other
    handler is in place) or puts it back: exit 130 and one word, never a traceback."""
    import engine.cli_language
    from engine.cli import main

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(engine.cli_language, where, interrupted)
    try:
        code = main(["plugins"])
    except KeyboardInterrupt:
        pytest.fail("Ctrl-C escaped the command as a KeyboardInterrupt")
    assert code == 130
    err = capsys.readouterr().err
    assert "interrupted" in err and "Traceback" not in err
