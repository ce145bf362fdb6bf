"""Helpers of the hostile corpus: every case feeds the engine bad input (or a bad
environment) and checks for a clear error with exit status 2, no traceback, no hang, and no
data lost."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT, SMALL

__all__ = ["ROOT", "SMALL", "clean_error", "tracegrad"]


def clean_error(result, *words: str) -> None:
    """A refused command: exit 2, no traceback, and each of ``words`` in the message."""
    assert result.code == 2, result
    assert "Traceback" not in result.err, result.err
    for word in words:
        assert word in result.err, (word, result.err)


class Process:
    def __init__(self, completed: subprocess.CompletedProcess):
        self.code = completed.returncode
        self.out, self.err = completed.stdout, completed.stderr

    def __repr__(self):
        return f"Process(code={self.code}, out={self.out[-500:]!r}, err={self.err[-2000:]!r})"


def tracegrad(*args, timeout: float = 60, env: dict | None = None, **options) -> Process:
    """``python -m engine ARGS`` in a fresh interpreter (for what in-process runs hide:
    signals, the real stdout, interpreter exit)."""
    environment = {**os.environ, **(env or {})}
    completed = subprocess.run(
        [sys.executable, "-m", "engine", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=options.pop("cwd", ROOT),
        env=environment,
        **options,
    )
    return Process(completed)


@pytest.fixture
def device(tmp_path):
    """A private character device like /dev/full (1, 7) in tmp_path: a test that writes to a
    device must never be able to damage the machine's own /dev, even on code that would."""
    import stat

    path = tmp_path / "full-device"
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 7))
    except (PermissionError, AttributeError, OSError) as error:
        pytest.skip(f"cannot create a device node here: {error}")
    return path


@pytest.fixture
def small(write_scenario):
    return write_scenario(SMALL, "small.yaml")
