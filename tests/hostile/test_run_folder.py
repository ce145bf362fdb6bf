"""Run folders: a run never overwrites an earlier run, the scenario it runs, or a folder
another run is writing; a scenario's name cannot choose where the folder goes."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess

import pytest

import engine
from engine.trace import read_trace
from tests.conftest import SMALL
from tests.hostile.conftest import clean_error, tracegrad


def test_a_folder_in_use_by_another_run_is_refused(cli, small, tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    with open(folder / "trace.jsonl", "w") as other:  # another run holds its trace
        fcntl.flock(other.fileno(), fcntl.LOCK_EX)
        other.write("{}\n")
        other.flush()
        result = cli("run", small, "--run-dir", folder, "-q", "--overwrite")
    clean_error(result, "in use")
    assert (folder / "trace.jsonl").read_text() == "{}\n"
    assert not (folder / "scenario.yaml").exists()


def test_a_second_run_into_the_same_folder_is_refused(cli, small, tmp_path):
    folder = tmp_path / "run"
    assert cli("run", small, "--run-dir", folder, "-q").code == 0
    before = {name: (folder / name).read_bytes() for name in os.listdir(folder)}
    result = cli("run", small, "--run-dir", folder, "-q", "--set", "seed=2")
    clean_error(result, "earlier run", "--overwrite")
    assert {name: (folder / name).read_bytes() for name in os.listdir(folder)} == before
    assert read_trace(folder).status == "completed"


def test_overwrite_replaces_the_earlier_run(cli, small, tmp_path):
    folder = tmp_path / "run"
    assert cli("run", small, "--run-dir", folder, "-q").code == 0
    assert cli("run", small, "--run-dir", folder, "-q", "--set", "seed=2", "--overwrite").code == 0
    trace = read_trace(folder)
    assert trace.header["seed"] == 2 and trace.status == "completed"


def test_a_trace_over_an_earlier_trace_is_refused(cli, small, tmp_path):
    trace = tmp_path / "out" / "t.jsonl"
    assert cli("run", small, "--trace", trace, "-q").code == 0
    before = trace.read_bytes()
    clean_error(cli("run", small, "--trace", trace, "-q"), "earlier run")
    assert trace.read_bytes() == before


def test_the_api_refuses_too_and_overwrite_allows(small, tmp_path):
    engine.run(small, run_dir=tmp_path / "run")
    with pytest.raises(engine.TracegradError, match="earlier run"):
        engine.run(small, run_dir=tmp_path / "run")
    assert engine.run(small, run_dir=tmp_path / "run", overwrite=True).status == "completed"


def test_a_trace_over_the_scenario_file_is_refused(cli, small):
    text = small.read_text()
    result = cli("run", small, "--trace", small, "-q", "--overwrite")
    clean_error(result, "overwrite the scenario")
    assert small.read_text() == text


def test_a_run_folder_holding_the_scenario_is_refused(cli, tmp_path):
    scenario = tmp_path / "scenario.yaml"
    text = "# my notes, kept\n" + SMALL
    scenario.write_text(text)
    for extra in ([], ["--overwrite"]):
        result = cli("run", scenario, "--run-dir", tmp_path, "-q", *extra)
        clean_error(result, "overwrite the scenario")
    assert scenario.read_text() == text
    assert not (tmp_path / "trace.jsonl").exists()


def test_a_run_dir_that_is_a_file(cli, small, tmp_path):
    path = tmp_path / "file"
    path.write_text("keep me")
    clean_error(cli("run", small, "--run-dir", path, "-q"), "is a file")
    assert path.read_text() == "keep me"


def test_a_trace_that_is_a_folder(cli, small, tmp_path):
    clean_error(cli("run", small, "--trace", tmp_path, "-q"), "is a folder")


@pytest.mark.parametrize(
    "name", ["../../../ESCAPED", "/tmp/absolute-name", "two\nlines", "a/b", "\0x"]
)
def test_a_name_cannot_choose_where_the_run_folder_goes(cli, small, tmp_path, monkeypatch, name):
    work = tmp_path / "a" / "b" / "c" / "work"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    result = engine.run(small, overrides={"name": name})
    folder = result.run_dir.resolve()
    assert folder.parent == (work / "runs").resolve()
    assert "\n" not in folder.name and "\0" not in folder.name and "/" not in folder.name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "small.yaml"]
    assert not any((tmp_path / "a").glob("ESCAPED*"))


@pytest.fixture
def mounted(tmp_path):
    """A tmpfs mount: ``mounted("size=64k")``, ``mounted("ro")`` (skipped where one cannot
    mount, e.g. without root)."""
    mounts = []

    def mount(options: str):
        point = tmp_path / f"mount{len(mounts)}"
        point.mkdir()
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)], capture_output=True
        )
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
        mounts.append(point)
        return point

    if shutil.which("mount") is None or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    yield mount
    for point in mounts:
        subprocess.run(["umount", str(point)], capture_output=True)


def test_a_read_only_file_system_is_a_clear_error(cli, small, mounted, monkeypatch):
    read_only = mounted("ro,size=64k")
    clean_error(cli("run", small, "--run-dir", read_only / "run", "-q"), "read-only")
    clean_error(cli("run", small, "--trace", read_only / "t.jsonl", "-q"), "read-only")
    monkeypatch.chdir(read_only)  # the default runs/ folder
    clean_error(cli("run", small, "-q"), "read-only", "runs")


def test_a_full_disk_is_a_clear_error_and_a_single_one(small, mounted, tmp_path):
    full = mounted("size=64k")
    scenario = tmp_path / "big.yaml"
    scenario.write_text(small.read_text().replace("steps: 5", "steps: 400") + "trace: {every: 1}\n")
    result = tracegrad("run", scenario, "--trace", full / "t.jsonl", "-q")
    assert result.code == 2, result
    assert "Traceback" not in result.err and "No space left" in result.err, result
    assert result.err.count("error:") == 1, result


def test_a_device_as_the_trace_is_refused_not_replaced(cli, small, device):
    clean_error(cli("run", small, "--trace", device, "-q"), "not a regular file")
    assert device.is_char_device()
    assert sorted(p.name for p in device.parent.iterdir()) == ["full-device", "small.yaml"]


def test_a_gan_run_is_protected_the_same_way(tmp_path):
    from tests.conftest import ROOT

    scenario = ROOT / "scenarios" / "gan" / "gaussian_1d.yaml"
    engine.run(scenario, overrides={"train.steps": 2}, run_dir=tmp_path / "run")
    before = (tmp_path / "run" / "params.npz").read_bytes()
    with pytest.raises(engine.TracegradError, match="earlier run"):
        engine.run(scenario, overrides={"train.steps": 3}, run_dir=tmp_path / "run")
    assert (tmp_path / "run" / "params.npz").read_bytes() == before
