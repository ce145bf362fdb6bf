"""What a new user meets first: every bundled scenario validates with only the core
dependencies (the digits data comes with the package), and the package data is declared."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT

DIGITS = ["scenarios/digits.yaml", "scenarios/gan/digits_gan.yaml"]


@pytest.mark.parametrize("scenario", DIGITS)
def test_digits_scenarios_validate_without_scikit_learn(scenario):
    # a fresh interpreter in which scikit-learn cannot be imported
    code = (
        "import sys; sys.modules['sklearn'] = None; sys.modules['sklearn.datasets'] = None\n"
        "from engine.cli import main\n"
        f"sys.exit(main(['validate', {scenario!r}]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "valid" in done.stdout


def test_the_digits_data_and_its_licence_are_package_data():
    tomllib = pytest.importorskip("tomllib")

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    declared = config["tool"]["setuptools"]["package-data"]["plugins"]
    for name in ("data/digits.npz", "data/digits.LICENSE.txt"):
        assert name in declared and (ROOT / "plugins" / name).is_file()
    assert "scikit-learn" not in " ".join(config["project"]["dependencies"])
    licence = (ROOT / "plugins" / "data" / "digits.LICENSE.txt").read_text()
    assert "BSD 3-Clause" in licence and "UCI" in licence


def test_a_trace_path_writes_its_companions_beside_it_as_documented(cli, small, tmp_path):
    trace = tmp_path / "out" / "my.jsonl"
    assert cli("run", small, "--trace", trace, "-q").code == 0
    assert sorted(p.name for p in trace.parent.iterdir()) == [
        "my.jsonl",
        "params.npz",
        "scenario.yaml",
    ]
    readme = (ROOT / "README.md").read_text()
    assert "`scenario.yaml` and `params.npz` beside it" in readme


@pytest.mark.parametrize("scenario", ["xor.yaml", "gan/gaussian_1d.yaml"])
def test_the_repr_of_a_run_is_one_short_line(scenario, tmp_path):
    import engine

    path = ROOT / "scenarios" / scenario
    result = engine.run(path, overrides={"train.steps": 300}, run_dir=tmp_path / "r")
    for shown in (repr(result), repr(engine.load_run(tmp_path / "r"))):
        assert len(shown) < 300 and "\n" not in shown, shown
        assert "300 steps" in shown or "loaded" in shown
