"""`tracegrad new-plugin`: the package it creates installs, is listed with its distribution,
passes its own tests (gradient check, rule, a scenario that trains and verifies), and its
traces verify completely through the installed rule."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT


def _run(args, cwd, site=None, **env):
    paths = [str(ROOT)] if site is None else [str(site), str(ROOT)]
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(paths), **env}
    return subprocess.run(args, capture_output=True, text=True, cwd=cwd, env=environment)


@pytest.mark.parametrize("kind, name", [("activation", "soft_sign"), ("loss", "pseudo_huber")])
def test_a_new_plugin_installs_passes_its_tests_and_verifies(tmp_path, kind, name):
    made = _run([sys.executable, "-m", "engine", "new-plugin", name, "--kind", kind], tmp_path)
    assert made.returncode == 0, made.stderr
    package = tmp_path / name
    site = tmp_path / "site"
    install = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target"]
    subprocess.run([*install, str(site), str(package)], check=True)
    listing = _run(
        [
            sys.executable,
            "-m",
            "engine",
            "plugins",
            "--kind",
            f"{kind}s" if kind == "activation" else "losses",
        ],
        tmp_path,
        site,
    )  # noqa: E501
    assert f"{name}  (plugin {name})  tracegrad-{name.replace('_', '-')} 0.1.0" in listing.stdout
    tests = _run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"], package, site
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "3 passed" in tests.stdout
    trace = tmp_path / "run" / "trace.jsonl"
    example = package / f"tracegrad_{name}" / "example.yaml"
    ran = _run(
        [sys.executable, "-m", "engine", "run", str(example), "--trace", str(trace), "-q"],
        tmp_path,
        site,
    )
    assert ran.returncode == 0, ran.stderr
    verified = _run([sys.executable, "-m", "engine", "verify", str(trace)], tmp_path, site)
    assert verified.returncode == 0 and "verified: every claim holds" in verified.stdout


def test_new_plugin_refuses_a_bad_name_and_an_existing_folder(tmp_path):
    bad = _run([sys.executable, "-m", "engine", "new-plugin", "Not-A-Name"], tmp_path)
    assert bad.returncode == 2 and "cannot name a component" in bad.stderr
    (tmp_path / "taken").mkdir()
    taken = _run([sys.executable, "-m", "engine", "new-plugin", "taken"], tmp_path)
    assert taken.returncode == 2 and "already exists; nothing was written" in taken.stderr
    assert list((tmp_path / "taken").iterdir()) == []
