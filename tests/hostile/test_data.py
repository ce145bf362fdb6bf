"""Data: CSV paths that are not regular files, binary or oversized files, duplicate header
names, and targets that do not fit the loss are clear errors before anything trains."""

from __future__ import annotations

import os

import pytest

import engine
from tests.hostile.conftest import clean_error

CSV_SCENARIO = """
name: three
seed: 0
data: {{type: csv, path: {path}, task: {task}}}
model:
  layers:
    - {{type: dense, units: 4, activation: tanh}}
    - {{type: dense, units: 1, activation: sigmoid}}
loss: {{type: {loss}}}
optimizer: {{type: sgd, lr: 0.1}}
train: {{steps: 5}}
"""


def csv_scenario(write_scenario, path="points.csv", task="regression", loss="mse"):
    return write_scenario(CSV_SCENARIO.format(path=path, task=task, loss=loss))


THREE_CLASSES = "x1,x2,label\n" + "".join(f"{i % 7},{i % 5},{i % 3}\n" for i in range(30))


def test_bce_refuses_three_classes(cli, write_scenario, tmp_path):
    (tmp_path / "points.csv").write_text(THREE_CLASSES)
    path = csv_scenario(write_scenario, task="multiclass", loss="bce")
    result = cli("validate", path)
    clean_error(result, f"{path}:8:", "bce", "found 2", "cross_entropy")
    assert "last layer" not in result.err  # a target problem, not a layer-shape one


@pytest.mark.parametrize("loss", ["bce", "bce_with_logits", "hinge"])
def test_binary_losses_refuse_class_indices(cli, write_scenario, tmp_path, loss):
    (tmp_path / "points.csv").write_text(THREE_CLASSES)
    path = csv_scenario(write_scenario, loss=loss)
    clean_error(cli("run", path, "-q", "--trace", tmp_path / "run" / "t.jsonl"), f"{path}:8:")
    assert not (tmp_path / "run" / "t.jsonl").exists()


def test_validation_targets_are_checked_before_the_run(write_scenario, tmp_path):
    rows = "".join(f"{i},{i % 2}\n" for i in range(40)) + "".join(f"{i},2\n" for i in range(4))
    (tmp_path / "points.csv").write_text("x,label\n" + rows)
    text = CSV_SCENARIO.format(path="points.csv", task="regression", loss="bce")
    path = write_scenario(text.replace("train: {steps: 5}", "train: {steps: 5}\n"))
    with pytest.raises(engine.TracegradError, match="bce"):
        engine.run(path, overrides={"train.validation_split": 0.5}, trace=False)


@pytest.mark.parametrize("kind", ["folder", "loop", "fifo", "device"])
def test_a_csv_path_that_is_not_a_regular_file(cli, write_scenario, tmp_path, kind):
    target = tmp_path / "points.csv"
    if kind == "folder":
        target.mkdir()
    elif kind == "loop":
        target.symlink_to(tmp_path / "points.csv")
    elif kind == "fifo":
        os.mkfifo(target)
    path = csv_scenario(write_scenario, path="/dev/zero" if kind == "device" else "points.csv")
    result = cli("validate", path)
    words = {
        "folder": "a folder",
        "loop": "points back at itself",
        "fifo": "FIFO",
        "device": "character device",
    }
    clean_error(result, f"{path}:3:", words[kind])
    assert "Errno" not in result.err


def test_a_binary_csv_names_its_line(cli, write_scenario, tmp_path):
    (tmp_path / "points.csv").write_bytes(b"x,y\n1,2\n\x89PNG\0\0\x1a\n")
    result = cli("validate", csv_scenario(write_scenario))
    clean_error(result, "points.csv:3", "binary")
    assert "line 0" not in result.err


def test_a_csv_that_is_not_utf8_names_its_line(cli, write_scenario, tmp_path):
    (tmp_path / "points.csv").write_bytes(b"x,y\n1,2\n3,\xe94\n")
    clean_error(cli("validate", csv_scenario(write_scenario)), "points.csv:3", "UTF-8")


def test_duplicate_header_names_are_refused(cli, write_scenario, tmp_path):
    (tmp_path / "points.csv").write_text("x,x,y\n1,2,3\n4,5,6\n")
    clean_error(cli("validate", csv_scenario(write_scenario)), "points.csv:1", "appears twice")


def test_a_csv_larger_than_the_limit(cli, write_scenario, tmp_path):
    (tmp_path / "points.csv").write_text("x,y\n" + "1,2\n" * 1000)
    path = csv_scenario(write_scenario)
    clean_error(cli("validate", path, "--limit", "data_bytes=1000"), "more than the limit of 1,000")
    assert cli("validate", path).code == 0


def test_a_run_folder_scenario_with_a_relative_csv_runs_again(cli, write_scenario, tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "points.csv").write_text("x,y\n" + "".join(f"{i},{i}\n" for i in range(9)))
    path = csv_scenario(write_scenario, path="data/points.csv")
    folder = tmp_path / "runs" / "first"
    assert cli("run", path, "--run-dir", folder, "-q").code == 0
    again = cli("run", folder / "scenario.yaml", "--run-dir", tmp_path / "runs" / "again", "-q")
    assert again.code == 0, again
    first = engine.load_run(folder).params
    second = engine.load_run(tmp_path / "runs" / "again").params
    assert all((first[key] == second[key]).all() for key in first)
