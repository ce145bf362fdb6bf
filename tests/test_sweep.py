"""Sweeps: grid and ablation expansion, run seeds, resume, failures, executors, outputs, CLI."""

from __future__ import annotations

import csv
import json
import math
import sys
import textwrap
import zlib

import numpy as np
import pytest

from engine.errors import ScenarioError, TracegradError
from engine.sweep import run_sweep
from engine.sweep.executors import parse_executor
from engine.sweep.spec import configurations, load_sweep, plan, run_seed
from engine.trace.reader import read_trace
from tests.conftest import SCENARIOS

# A straight line fitted to noisy sine samples: lr 0.1 converges, lr 1e4 overflows to inf
# within 40 steps (each step multiplies the error by about |1 - lr·E[x²]|), lr -1 is invalid.
LINE = """
name: line
seed: 0
data: {type: sine, samples: 20, noise: 0.1}
model:
  layers:
    - {type: dense, name: out, units: 1}
loss: {type: mse}
optimizer: {type: sgd, lr: 0.1}
train: {steps: 40}
"""

RING8 = (SCENARIOS / "gan" / "ring8.yaml").as_posix()


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


@pytest.fixture
def line_sweep(tmp_path):
    """A sweep of the line scenario: two good learning rates, three seeds (6 fast runs)."""
    write(tmp_path, "line.yaml", LINE)
    return write(
        tmp_path,
        "sweep.yaml",
        """
        scenario: line.yaml
        seeds: [0, 1, 2]
        grid:
          optimizer.lr: [0.05, 0.1]
        metrics: [final_loss]
        reports: false
        """,
    )


def traces(out_dir) -> dict[str, bytes]:
    return {p.parent.name: p.read_bytes() for p in sorted(out_dir.glob("runs/*/trace.jsonl"))}


# --- expansion -----------------------------------------------------------------------------


def test_grid_is_the_cartesian_product_first_key_slowest(tmp_path):
    write(tmp_path, "line.yaml", LINE)
    sweep = load_sweep(
        write(
            tmp_path,
            "sweep.yaml",
            """
            scenario: line.yaml
            seeds: [3, 7]
            grid:
              optimizer.lr: [0.01, 0.1]
              train.steps: [5, 10, 20]
            metrics: [final_loss]
            overrides: {train.steps: 99, data.samples: 10}
            """,
        )
    )
    configs = configurations(sweep)
    assert [(c.values["optimizer.lr"], c.values["train.steps"]) for c in configs] == [
        (0.01, 5),
        (0.01, 10),
        (0.01, 20),
        (0.1, 5),
        (0.1, 10),
        (0.1, 20),
    ]
    assert [c.id for c in configs] == ["c1", "c2", "c3", "c4", "c5", "c6"]
    # the grid wins over the sweep's overrides; other overrides reach every configuration
    assert configs[4].overrides == {"train.steps": 10, "data.samples": 10, "optimizer.lr": 0.1}
    runs = plan(sweep)
    assert [r.id for r in runs[:3]] == ["c1-seed3", "c1-seed7", "c2-seed3"]
    assert len(runs) == 12


def test_ablation_removes_each_trick_once_plus_none(tmp_path):
    tricks = [
        {"type": "label_smoothing", "real": 0.9},
        {"type": "instance_noise"},
        {"type": "label_smoothing", "real": 0.8},
    ]
    sweep = load_sweep(
        write(
            tmp_path,
            "sweep.yaml",
            f"""
            scenario: {RING8}
            seeds: [0]
            grid:
              loss.type: [minimax, non_saturating]
            ablate: tricks
            metrics: [modes]
            overrides:
              tricks: {json.dumps(tricks)}
            """,
        )
    )
    configs = configurations(sweep)
    assert len(configs) == 2 * 4
    first = configs[:4]
    assert [c.removed for c in first] == [
        None,
        "label_smoothing#1",
        "instance_noise",
        "label_smoothing#2",
    ]
    assert first[0].overrides["tricks"] == tricks
    assert first[1].overrides["tricks"] == [tricks[1], tricks[2]]
    assert first[2].overrides["tricks"] == [tricks[0], tricks[2]]
    assert first[3].overrides["tricks"] == [tricks[0], tricks[1]]
    assert all(c.values == {"loss.type": "non_saturating"} for c in configs[4:])
    assert configs[5].label == "loss.type=non_saturating, without label_smoothing#1"


def test_ablation_of_a_scenario_without_tricks_is_a_clear_error(tmp_path):
    write(tmp_path, "line.yaml", LINE)
    path = write(
        tmp_path,
        "sweep.yaml",
        "scenario: line.yaml\nseeds: [0]\nmetrics: [final_loss]\nablate: tricks\n",
    )
    with pytest.raises(ScenarioError) as caught:
        configurations(load_sweep(path))
    assert caught.value.where == f"{path}:4:1"
    assert "tricks: list" in caught.value.message


def test_only_tricks_can_be_ablated(tmp_path):
    write(tmp_path, "line.yaml", LINE)
    path = write(
        tmp_path,
        "sweep.yaml",
        "scenario: line.yaml\nseeds: [0]\nmetrics: [final_loss]\nablate: layers\n",
    )
    with pytest.raises(ScenarioError) as caught:
        load_sweep(path)
    assert caught.value.where == f"{path}:4:1"
    assert "only 'tricks'" in caught.value.message


# --- seeds ---------------------------------------------------------------------------------


def test_run_seeds_come_from_the_seed_tree(tmp_path, line_sweep):
    runs = plan(load_sweep(line_sweep))
    by_seed = {r.seed: r.run_seed for r in runs}
    # the documented derivation, written with numpy alone:
    # SeedSequence(seed, spawn_key=(crc32("sweep"), crc32("runs"))).generate_state(1)[0]
    for seed, value in by_seed.items():
        key = (zlib.crc32(b"sweep"), zlib.crc32(b"runs"))
        expected = np.random.SeedSequence(seed, spawn_key=key).generate_state(1)[0]
        assert value == int(expected)
    values = [by_seed[s] for s in (0, 1, 2)]
    assert len(set(values)) == 3  # distinct
    assert values[1] - values[0] != 1 and values[2] - values[1] != 1  # not seed + i
    assert not set(values) & {0, 1, 2}
    # paired: every configuration uses the same run seeds
    assert [r.run_seed for r in runs[:3]] == [r.run_seed for r in runs[3:]]
    # stable: the same sweep gives the same seeds
    assert [r.run_seed for r in plan(load_sweep(line_sweep))] == [r.run_seed for r in runs]


def test_unpaired_seeds_differ_per_configuration_and_not_by_position(tmp_path):
    write(tmp_path, "line.yaml", LINE)
    text = """
        scenario: line.yaml
        seeds: [0, 1]
        grid:
          optimizer.lr: {values}
        metrics: [final_loss]
        paired_seeds: false
        """
    forward = plan(load_sweep(write(tmp_path, "a.yaml", text.format(values="[0.05, 0.1]"))))
    backward = plan(load_sweep(write(tmp_path, "b.yaml", text.format(values="[0.1, 0.05]"))))
    seeds = {(r.configuration.values["optimizer.lr"], r.seed): r.run_seed for r in forward}
    assert len(set(seeds.values())) == 4
    assert seeds == {(r.configuration.values["optimizer.lr"], r.seed): r.run_seed for r in backward}
    assert seeds[(0.05, 0)] == run_seed(0, forward[0].configuration)


def test_each_run_trains_with_its_run_seed(tmp_path, line_sweep):
    result = run_sweep(line_sweep, out_dir=tmp_path / "out")
    for outcome in result.outcomes:
        header = read_trace(tmp_path / "out" / "runs" / outcome.run_id).header
        assert header["seed"] == outcome.run_seed
        assert header["scenario"]["trace"]["steps"] == []  # scalars only by default
        assert not read_trace(tmp_path / "out" / "runs" / outcome.run_id).traced_steps


# --- resume --------------------------------------------------------------------------------


def test_resume_runs_only_what_did_not_finish(tmp_path, line_sweep):
    out = tmp_path / "out"
    first = run_sweep(line_sweep, out_dir=out)
    assert first.status == "completed" and first.ran == 6
    before = traces(out)
    again = []
    second = run_sweep(line_sweep, out_dir=out, progress=lambda d, t, o: again.append(o.run_id))
    assert second.ran == 0 and again == [] and traces(out) == before
    assert [o.metrics for o in second.outcomes] == [o.metrics for o in first.outcomes]
    # cut the end record off one trace: only that run runs again, to the same bytes
    path = out / "runs" / "c2-seed1" / "trace.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    assert json.loads(lines[-1])["type"] == "end"
    path.write_text("".join(lines[:-1]))
    third = run_sweep(line_sweep, out_dir=out, progress=lambda d, t, o: again.append(o.run_id))
    assert again == ["c2-seed1"] and third.ran == 1
    assert traces(out) == before


def test_an_interrupted_sweep_resumes_where_it_stopped(tmp_path, line_sweep):
    out = tmp_path / "out"

    def stop_after_two(done, total, outcome):
        if done == 2:
            raise KeyboardInterrupt

    first = run_sweep(line_sweep, out_dir=out, progress=stop_after_two)
    assert first.status == "interrupted" and len(first.outcomes) == 2
    assert "| c1 | 0.05 | 2 of 3 (1 not run) |" in (out / "results.md").read_text()
    ran = []
    second = run_sweep(line_sweep, out_dir=out, progress=lambda d, t, o: ran.append(o.run_id))
    assert second.status == "completed" and len(second.outcomes) == 6
    assert ran == ["c1-seed2", "c2-seed0", "c2-seed1", "c2-seed2"]


def test_a_changed_scenario_is_run_again(tmp_path, line_sweep):
    out = tmp_path / "out"
    run_sweep(line_sweep, out_dir=out)
    write(
        tmp_path,
        "line.yaml",
        "# layout and comments\n" + LINE.replace("{steps: 40}", "\n  steps: 40"),
    )
    assert run_sweep(line_sweep, out_dir=out).ran == 0
    write(tmp_path, "line.yaml", LINE.replace("steps: 40", "steps: 41"))
    assert run_sweep(line_sweep, out_dir=out).ran == 6


def test_a_scenario_changed_during_the_sweep_is_not_mixed_in(tmp_path, line_sweep):
    out = tmp_path / "out"

    def edit_after_first(done, total, outcome):
        if done == 1:
            write(tmp_path, "line.yaml", LINE.replace("steps: 40", "steps: 41"))

    first = run_sweep(line_sweep, out_dir=out, progress=edit_after_first)
    assert [o.status for o in first.outcomes] == ["completed"] + ["failed"] * 5
    assert "changed while the sweep ran" in first.outcomes[1].message
    second = run_sweep(line_sweep, out_dir=out)
    assert second.ran == 6 and all(o.status == "completed" for o in second.outcomes)
    assert all(o.steps == 41 for o in second.outcomes)


# --- failures ------------------------------------------------------------------------------


def test_failures_are_recorded_and_the_others_complete(tmp_path):
    write(tmp_path, "line.yaml", LINE)
    path = write(
        tmp_path,
        "sweep.yaml",
        """
        scenario: line.yaml
        seeds: [0, 1]
        grid:
          optimizer.lr: [0.1, 1.0e4, -1.0]
        metrics: [final_loss]
        reports: false
        """,
    )
    out = tmp_path / "out"
    result = run_sweep(path, out_dir=out)
    assert result.status == "completed"
    status = {o.run_id: o.status for o in result.outcomes}
    assert status == {
        "c1-seed0": "completed",
        "c1-seed1": "completed",
        "c2-seed0": "failed",
        "c2-seed1": "failed",
        "c3-seed0": "failed",
        "c3-seed1": "failed",
    }
    messages = {o.run_id: o.message for o in result.outcomes}
    assert "inf" in messages["c2-seed0"] and "learning rate" in messages["c2-seed0"]
    assert "greater than 0" in messages["c3-seed0"]
    rows = {r["config"]: r for r in csv.DictReader((out / "results.csv").open())}
    assert rows["c1"]["completed"] == "2" and rows["c1"]["failed"] == "0"
    assert rows["c2"]["failed"] == "2" and "c2-seed0: the loss is inf" in rows["c2"]["errors"]
    assert rows["c3"]["final_loss_mean"] == "" and "greater than 0" in rows["c3"]["errors"]
    text = (out / "results.md").read_text()
    assert "0 of 2 (2 failed)" in text and "## Failed runs" in text
    # failed runs are finished too: a second invocation does not try them again
    assert run_sweep(path, out_dir=out).ran == 0


def test_statistics_match_the_traces(tmp_path, line_sweep):
    out = tmp_path / "out"
    run_sweep(line_sweep, out_dir=out)
    rows = {r["config"]: r for r in csv.DictReader((out / "results.csv").open())}
    for config, lr in (("c1", 0.05), ("c2", 0.1)):
        finals = []
        for seed in (0, 1, 2):
            trace = read_trace(out / "runs" / f"{config}-seed{seed}")
            assert trace.header["scenario"]["optimizer"]["lr"] == lr
            finals.append(trace.scalars["loss"][-1])
        mean = sum(finals) / 3
        std = math.sqrt(sum((v - mean) ** 2 for v in finals) / 2)
        row = rows[config]
        assert float(row["final_loss_mean"]) == pytest.approx(mean, rel=1e-12)
        assert float(row["final_loss_std"]) == pytest.approx(std, rel=1e-12)
        assert float(row["final_loss_min"]) == min(finals)
        assert float(row["final_loss_max"]) == max(finals)
        assert row["final_loss_n"] == "3"
    assert (out / "comparison.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = (out / "index.html").read_text()
    assert 'href="runs/c2-seed1/"' in page and "comparison.png" in page


def test_a_missing_metric_is_reported_with_what_exists(tmp_path, line_sweep):
    text = line_sweep.read_text().replace("[final_loss]", "[final_loss, accuracy]")
    result = run_sweep(write(tmp_path, "s2.yaml", text), out_dir=tmp_path / "out")
    assert result.notes and "metric 'accuracy' is missing" in result.notes[0]
    assert "final_loss" in result.notes[0]


def test_reports_are_linked_when_written(tmp_path):
    pytest.importorskip("engine.report")
    write(tmp_path, "line.yaml", LINE)
    path = write(tmp_path, "sweep.yaml", "scenario: line.yaml\nseeds: [0]\nmetrics: [final_loss]\n")
    result = run_sweep(path, out_dir=tmp_path / "out")
    assert result.outcomes[0].report == "report.html"
    assert (tmp_path / "out" / "runs" / "c1-seed0" / "report.html").is_file()
    assert 'href="runs/c1-seed0/report.html"' in (tmp_path / "out" / "index.html").read_text()


# --- executors -----------------------------------------------------------------------------


def test_processes_give_the_same_results_as_local(tmp_path, line_sweep):
    local = run_sweep(line_sweep, out_dir=tmp_path / "local")
    pool = run_sweep(line_sweep, "processes:2", out_dir=tmp_path / "pool")
    assert [o.as_dict() for o in pool.outcomes] == [o.as_dict() for o in local.outcomes]
    assert traces(tmp_path / "pool") == traces(tmp_path / "local")


def test_a_dask_cluster_gives_the_same_results_as_local(tmp_path, line_sweep):
    distributed = pytest.importorskip("distributed")
    local = run_sweep(line_sweep, out_dir=tmp_path / "local")
    # two worker processes on the loopback interface, as `dask-local` starts them
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
    ) as cluster:
        address = cluster.scheduler_address.removeprefix("tcp://")
        remote = run_sweep(line_sweep, f"dask://{address}", out_dir=tmp_path / "dask")
    assert remote.status == "completed" and remote.ran == 6
    assert [o.as_dict() for o in remote.outcomes] == [o.as_dict() for o in local.outcomes]
    assert traces(tmp_path / "dask") == traces(tmp_path / "local")


def test_executor_names_are_parsed():
    assert parse_executor("local").kind == "local"
    assert parse_executor("processes:3").workers == 3
    assert parse_executor("dask://10.0.0.5:8786").address == "tcp://10.0.0.5:8786"
    assert parse_executor("dask-local").workers == 2
    for bad in ("threads", "processes:0", "processes:x", "dask://nohost", "dask-local:-1"):
        with pytest.raises(TracegradError):
            parse_executor(bad)


def test_without_dask_the_error_names_the_extra(tmp_path, line_sweep, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    with pytest.raises(TracegradError) as caught:
        run_sweep(line_sweep, "dask-local", out_dir=tmp_path / "out")
    assert "pip install 'tracegrad[dask]'" in str(caught.value)


# --- command line --------------------------------------------------------------------------


def test_cli_exit_codes(cli, tmp_path, line_sweep):
    result = cli("sweep", line_sweep, "-o", tmp_path / "ok", "-q")
    assert result.code == 0, result
    assert "sweep sweep: completed, 6 of 6 runs" in result.out
    failing = write(tmp_path, "failing.yaml", line_sweep.read_text().replace("0.05", "1.0e4"))
    result = cli("sweep", failing, "-o", tmp_path / "bad", "-q")
    assert result.code == 1 and "3 failed" in result.out


def test_cli_bad_sweep_files_are_clean_errors(cli, tmp_path):
    write(tmp_path, "line.yaml", LINE)
    path = write(
        tmp_path,
        "sweep.yaml",
        "scenario: line.yaml\nseeds: [0]\nmetric: [final_loss]\n",
    )
    result = cli("sweep", path, "-o", tmp_path / "out")
    assert result.code == 2
    assert "Traceback" not in result.err
    assert f"{path}:3:1: metric: unknown key 'metric'. Did you mean 'metrics'?" in result.err
    path = write(tmp_path, "s2.yaml", "scenario: nowhere.yaml\nseeds: [0]\nmetrics: [x]\n")
    result = cli("sweep", path)
    assert result.code == 2 and f"{path}:1:1: error: scenario file not found" in result.err
    path = write(
        tmp_path,
        "s3.yaml",
        "scenario: line.yaml\nseeds: [0]\nmetrics: [x]\noverrides:\n  train.steps: 0\n",
    )
    result = cli("sweep", path)
    assert result.code == 2 and f"{path}:5:3: error: the sweep's scenario does not" in result.err
    result = cli("sweep", path, "--executor", "threads:2")
    assert result.code == 2 and "unknown executor 'threads:2'" in result.err
