"""The command line: run folders, --print-config, --set, schema, validate, gradcheck."""

from __future__ import annotations

import json
import subprocess
import sys

import yaml

from tests.conftest import ROOT, SMALL, WALKTHROUGH


def test_run_writes_a_run_folder(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = cli("run", WALKTHROUGH, "-q")
    assert result.code == 0, result
    (folder,) = (tmp_path / "runs").iterdir()
    assert folder.name.startswith("two-layer-walkthrough-")
    assert {p.name for p in folder.iterdir()} == {"trace.jsonl", "scenario.yaml", "params.npz"}
    assert "two-layer-walkthrough: completed, 100 steps, final loss" in result.out
    assert f"trace: runs/{folder.name}/trace.jsonl" in result.out


def test_print_config_shows_defaults_and_overrides(cli):
    result = cli(
        "run",
        WALKTHROUGH,
        "--print-config",
        "--set",
        "train.steps=7",
        "--set",
        "optimizer.momentum=0.5",
    )
    assert result.code == 0
    config = yaml.safe_load(result.out)
    assert config["train"]["steps"] == 7 and config["train"]["batch_size"] is None
    assert config["optimizer"] == {
        "lr": 0.5,
        "schedule": None,
        "type": "sgd",
        "momentum": 0.5,
        "dampening": 0.0,
        "nesterov": False,
        "weight_decay": 0.0,
    }
    assert config["trace"]["max_values"] == 64


def test_set_can_address_list_items(cli, write_scenario):
    path = write_scenario(SMALL)
    result = cli("run", path, "--print-config", "--set", "model.layers.0.units=8")
    assert yaml.safe_load(result.out)["model"]["layers"][0]["units"] == 8
    result = cli("run", path, "--print-config", "--set", "model.layers.5.units=8")
    assert result.code == 2 and "list of 2 items" in result.err


def test_schema_is_draft7(cli):
    result = cli("schema")
    schema = json.loads(result.out)
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    text = result.out
    assert "$defs" not in text and "prefixItems" not in text and "definitions" in schema
    supervised = schema["definitions"]["Scenario"]
    assert {"data", "model", "loss", "optimizer", "train"} <= set(supervised["required"])
    assert "Number of optimizer steps" in text


def test_validate_reports_the_network(cli):
    result = cli("validate", WALKTHROUGH)
    assert result.code == 0
    assert "dense 2→2, sigmoid, dense 2→2, sigmoid; 12 parameters" in result.out


def test_gradcheck_passes_and_can_fail(cli):
    result = cli("gradcheck", WALKTHROUGH)
    assert result.code == 0 and "4 of 4 parameters within 1e-06" in result.out
    strict = cli("gradcheck", WALKTHROUGH, "--tolerance", "1e-30")
    assert strict.code == 1 and "FAIL" in strict.out


def test_python_dash_m_engine_is_the_command():
    result = subprocess.run(
        [sys.executable, "-m", "engine", "--version"], capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 0 and result.stdout.startswith("tracegrad ")


def test_validate_and_gradcheck_gan_scenarios(cli):
    ring8 = ROOT / "scenarios" / "gan" / "ring8.yaml"
    result = cli("validate", ring8)
    assert result.code == 0 and "valid (gan: G dense 2→128" in result.out
    huge = cli("validate", ring8, "--set", "latent.dim=100000000")
    assert huge.code == 2 and "parameter count" in huge.err and "Traceback" not in huge.err
    check = cli("gradcheck", ROOT / "scenarios" / "gan" / "gaussian_1d.yaml")
    assert check.code == 0 and "parameters within 1e-06" in check.out
    assert "G." in check.out and "D." in check.out
