"""Output files: ``report -o`` and every file written whole write through a symbolic link
and refuse a FIFO, a device or a folder instead of replacing it with a plain file."""

from __future__ import annotations

import os
import stat

import pytest

from tests.hostile.conftest import clean_error


@pytest.fixture
def run_folder(cli, small, tmp_path):
    folder = tmp_path / "run"
    assert cli("run", small, "--run-dir", folder, "-q").code == 0
    return folder


def test_report_writes_through_a_symbolic_link(cli, run_folder, tmp_path):
    real = tmp_path / "real.html"
    real.write_text("old")
    link = tmp_path / "link.html"
    link.symlink_to(real)
    result = cli("report", run_folder, "-o", link)
    assert result.code == 0, result
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text().startswith("<!DOCTYPE html>")


def test_report_refuses_a_fifo(cli, run_folder, tmp_path):
    fifo = tmp_path / "pipe.html"
    os.mkfifo(fifo)
    clean_error(cli("report", run_folder, "-o", fifo), "FIFO", "not a regular file")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_report_refuses_a_device(cli, run_folder, device):
    clean_error(cli("report", run_folder, "-o", device, "--format", "html"), "device")
    assert stat.S_ISCHR(os.stat(device).st_mode)


def test_a_trace_that_is_a_fifo_is_refused_without_hanging(cli, small, tmp_path):
    fifo = tmp_path / "t.jsonl"
    os.mkfifo(fifo)
    clean_error(cli("run", small, "--trace", fifo, "-q"), "FIFO")


def test_a_report_keeps_the_permissions_of_the_file_it_replaces(cli, run_folder, tmp_path):
    path = tmp_path / "r.html"
    path.write_text("old")
    path.chmod(0o640)
    assert cli("report", run_folder, "-o", path).code == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_a_sweep_output_that_is_a_file(cli, small, tmp_path):
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(f"scenario: {small.name}\nseeds: [0]\nmetrics: [final_loss]\n")
    target = tmp_path / "taken"
    target.write_text("keep me")
    clean_error(cli("sweep", sweep, "-o", target, "-q"), "is a file")
    assert target.read_text() == "keep me"


@pytest.mark.parametrize("content", [b"garbage", b"", b"PK\x03\x04broken"])
def test_a_damaged_params_file_is_a_clear_error(run_folder, content):
    import engine

    (run_folder / "params.npz").write_bytes(content)
    with pytest.raises(engine.TracegradError, match="params.npz"):
        engine.load_run(run_folder)


def test_a_pickled_params_file_is_refused_not_loaded(run_folder):
    import numpy as np

    import engine

    with open(run_folder / "params.npz", "wb") as file:
        np.save(file, np.array([{"evil": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(engine.TracegradError, match="not an archive of arrays"):
        engine.load_run(run_folder)


def test_a_sweep_into_a_folder_of_other_files_is_refused(cli, small, tmp_path):
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(f"scenario: {small.name}\nseeds: [0]\nmetrics: [final_loss]\n")
    project = tmp_path / "project"
    project.mkdir()
    (project / "index.html").write_text("my site")
    (project / "notes.txt").write_text("mine")
    clean_error(cli("sweep", sweep, "-o", project, "-q"), "notes.txt", "not this sweep's")
    assert (project / "index.html").read_text() == "my site"
    # a sweep's own folder can be resumed
    assert cli("sweep", sweep, "-o", tmp_path / "out", "-q").code == 0
    assert cli("sweep", sweep, "-o", tmp_path / "out", "-q").code == 0


def test_a_sweep_file_that_is_a_device(cli):
    clean_error(cli("sweep", "/dev/null"), "character device", "not a sweep file")


def test_two_sweeps_cannot_share_a_folder(cli, small, tmp_path):
    import fcntl

    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(f"scenario: {small.name}\nseeds: [0]\nmetrics: [final_loss]\n")
    out = tmp_path / "out"
    assert cli("sweep", sweep, "-o", out, "-q").code == 0
    with open(out / ".tracegrad-sweep.lock", "a") as other:  # another sweep is running there
        fcntl.flock(other.fileno(), fcntl.LOCK_EX)
        clean_error(cli("sweep", sweep, "-o", out, "-q"), "in use")
