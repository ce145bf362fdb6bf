"""``tracegrad verify``: clean traces pass, each deliberately broken trace is rejected with
the right reason, and every bundled scenario's trace verifies.

The broken traces (tests/broken_traces.py) are made from small real runs at test time and
changed in one way each; the test asserts the first disagreement the verifier reports (step,
layer or parameter, quantity), or the problem it names for a damaged file.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import subprocess
import sys

import pytest
import yaml

import engine
from engine.verify import verify_trace
from engine.verify.report import Checker, Place, Tolerance, VerifyReport
from tests import broken_traces as broken
from tests.conftest import SCENARIOS


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """``clean(scenario)``: the path of a trace of that scenario, run once per module."""
    made = {}

    def trace(scenario: dict):
        key = json.dumps(scenario, sort_keys=True)
        if key not in made:
            folder = tmp_path_factory.mktemp("clean")
            made[key] = broken.make_trace(scenario, folder / "trace.jsonl")
        return made[key]

    return trace


def broken_copy(clean, breakage, tmp_path):
    path = tmp_path / "trace.jsonl"
    shutil.copy(clean(breakage.scenario), path)
    return broken.apply(breakage, path)


# --- clean traces ----------------------------------------------------------------------------

CLEAN = {"sgd": broken.SGD, "momentum": broken.MOMENTUM, "adam": broken.ADAM, "gan": broken.GAN}


@pytest.mark.parametrize("name", CLEAN)
def test_a_clean_trace_verifies_with_nothing_skipped(clean, name):
    report = verify_trace(clean(CLEAN[name]))
    assert report.ok, report.format()
    assert report.claims > 100
    pictures = [reason for reason in report.skipped if reason.startswith("pictures for reports")]
    assert set(report.skipped) == set(pictures), report.summary()  # nothing else is skipped
    assert report.steps == list(range(CLEAN[name]["train"]["steps"]))


# --- the broken-trace corpus -----------------------------------------------------------------


@pytest.mark.parametrize("breakage", broken.CORPUS, ids=lambda b: b.name)
def test_a_broken_trace_is_rejected_for_the_right_reason(clean, breakage, tmp_path):
    report = verify_trace(broken_copy(clean, breakage, tmp_path))
    assert not report.ok
    if breakage.problem is not None:
        assert any(breakage.problem in p for p in report.problems), report.problems
        return
    first = report.disagreements[0]
    assert (first.step, first.where, first.quantity) == (
        breakage.step,
        breakage.where,
        breakage.quantity,
    ), report.format()
    assert breakage.how in first.how


def test_the_corpus_holds_every_breakage_the_verifier_must_catch():
    names = {b.name for b in broken.CORPUS}
    for wanted in (
        "wrong gradient entry",
        "adam: eps inside the square root",
        "adam: no bias correction",
        "adam: betas swapped",
        "sgd: stale momentum",
        "gan: D changed during G's phase",
        "truncated mid-line",
        "wrong forward value",
        "wrong loss value",
        "lr mismatch",
    ):
        assert wanted in names


def test_a_wrong_entry_is_reported_with_its_index_and_both_values(clean, tmp_path):
    breakage = broken.CORPUS[0]  # dL/dW[0][1] of layer hidden at step 1, + 1e-4
    report = verify_trace(broken_copy(clean, breakage, tmp_path))
    first = report.disagreements[0]
    assert first.index == (0, 1)
    assert first.recorded - first.recomputed == pytest.approx(1e-4, rel=1e-6)
    assert first.bad == 1 and first.total == 6
    assert "dL/dW = xᵀ·dL/dz" in str(first)


def test_the_update_rule_breakages_change_only_the_update(clean, tmp_path):
    """eps inside the square root shows in the change applied alone: m, v, m̂, v̂ agree."""
    eps_inside = next(b for b in broken.CORPUS if "eps inside" in b.name)
    report = verify_trace(broken_copy(clean, eps_inside, tmp_path))
    assert report.quantities() == {"applied"}
    assert {d.step for d in report.disagreements} == {eps_inside.step}


# --- every recorded number is part of a claim ------------------------------------------------


def numbers(value, path=()):
    """The paths of the numbers in a record (nested dicts and lists)."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from numbers(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from numbers(item, (*path, index))
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield path


#: What orders the records rather than being a computed value.
POSITIONS = {"step", "index", "update", "count"}


@pytest.mark.parametrize(("name", "sample"), [("momentum", 80), ("gan", 30)])
def test_changing_any_recorded_number_is_caught(clean, tmp_path, name, sample):
    """A random sample of the numbers of a trace, each changed alone (relative 1e-3, plus
    1e-6 so that zeros change too): every change makes some claim disagree."""
    records = broken.read_records(clean(CLEAN[name]))
    places = [
        (i, path)
        for i, record in enumerate(records[1:], start=1)
        for path in numbers(record)
        if path[0] not in POSITIONS
        and path[:2] != ("columns", "step")
        and record["type"] != "gan_samples"  # pictures, skipped and counted by the verifier
        and (record["type"], path[0]) != ("learned", "data")  # a picture of the data set
    ]
    path_out = tmp_path / "trace.jsonl"
    for i, path in random.Random(0).sample(places, sample):
        changed = json.loads(json.dumps(records))
        holder = changed[i]
        for key in path[:-1]:
            holder = holder[key]
        old = holder[path[-1]]
        holder[path[-1]] = old + 1 if isinstance(old, int) else old + abs(old) * 1e-3 + 1e-6
        report = verify_trace(broken.write_records(changed, path_out))
        assert not report.ok, f"{records[i]['type']} record {i}, {path}: change not caught"


# --- the command line ------------------------------------------------------------------------


def test_cli_exit_0_and_the_summary_for_a_clean_trace(cli, clean):
    result = cli("verify", clean(broken.SGD))
    assert result.code == 0, result
    assert "disagreements: 0" in result.out
    assert "atol + rtol·|recomputed|" in result.out
    assert "verified: every claim holds" in result.out


def test_cli_exit_1_and_each_disagreement_for_a_broken_trace(cli, clean, tmp_path):
    path = broken_copy(clean, broken.CORPUS[0], tmp_path)
    result = cli("verify", path)
    assert result.code == 1, result
    assert "disagreement: step 1, hidden: dL/dW[0, 1]: recorded" in result.out
    assert "NOT verified" in result.out


def test_cli_a_looser_tolerance_accepts_a_small_error(cli, clean, tmp_path):
    path = broken_copy(clean, broken.CORPUS[0], tmp_path)  # an error of 1e-4
    assert cli("verify", path, "--atol", "1e-3", "--claims-only").code == 0


@pytest.mark.parametrize(
    "option",
    [("--atol", "-1"), ("--rtol", "nan"), ("--atol", "inf"), ("--rtol", "1e400")],
    ids=str,
)
def test_cli_refuses_a_negative_or_infinite_tolerance(cli, clean, option):
    result = cli("verify", clean(broken.SGD), *option)
    assert result.code == 2
    name = option[0].removeprefix("--")
    assert f"{option[0]}: error: the tolerance {name} must be a finite number >= 0" in result.err


@pytest.mark.parametrize(
    "text", ["not json at all\n", '{"type": "forward", "step": 0}\n', ""], ids=str
)
def test_cli_exit_2_for_a_file_that_is_not_a_trace(cli, tmp_path, text):
    path = tmp_path / "trace.jsonl"
    path.write_text(text, encoding="utf-8")
    result = cli("verify", path)
    assert result.code == 2, result
    assert "error:" in result.err
    assert "Traceback" not in result.err


def test_cli_exit_1_for_a_truncated_trace_and_the_reason(cli, clean, tmp_path):
    truncated = next(b for b in broken.CORPUS if b.name == "truncated mid-line")
    result = cli("verify", broken_copy(clean, truncated, tmp_path))
    assert result.code == 1
    assert "the last line is cut off" in result.out
    assert "problem: the trace ends without an end record, in the middle of a line" in result.out


# --- the tolerance ---------------------------------------------------------------------------


def checker(atol=1e-9, rtol=1e-7):
    return Checker(VerifyReport(path=None, tolerance=Tolerance(atol, rtol)))


def test_the_tolerance_is_hybrid():
    check, here = checker(atol=1e-9, rtol=1e-7), Place(0, "layer")
    assert check.compare(here, "small", 1e-9, 0.0)  # |d| = atol
    assert not check.compare(here, "small", 3e-9, 0.0)
    assert check.compare(here, "large", 1000.0001, 1000.0)  # 1e-4 <= 1e-9 + 1e-4
    assert not check.compare(here, "large", 1000.001, 1000.0)
    assert check.report.claims == 4
    assert [d.quantity for d in check.report.disagreements] == ["small", "large"]


def test_nan_and_infinities_agree_only_with_themselves():
    check, here = checker(), Place(0, "layer")
    assert check.compare(
        here, "q", [math.nan, math.inf, -math.inf], [math.nan, math.inf, -math.inf]
    )
    assert not check.compare(here, "q", [math.nan], [0.0])
    assert not check.compare(here, "q", [math.inf], [-math.inf])


def test_the_worst_entry_and_a_shape_mismatch_are_reported():
    check, here = checker(), Place(3, "output")
    check.compare(here, "z", [[0.0, 1.0], [2.0, 3.5]], [[0.0, 1.1], [2.0, 3.0]])
    worst = check.report.disagreements[0]
    assert (worst.index, worst.recorded, worst.recomputed, worst.bad) == ((1, 1), 3.5, 3.0, 2)
    check.compare(here, "a", [[1.0, 2.0]], [[1.0], [2.0]])
    assert check.report.disagreements[1].quantity == "a (shape)"


# --- what a trace cannot show ----------------------------------------------------------------


def small_network(**trace) -> dict:
    """A hidden layer of 20 units: W (2, 20) is written whole (40 numbers), z of the 4 XOR
    points (4, 20) is summarized (80 numbers > 64)."""
    return {
        "name": "wide",
        "seed": 0,
        "data": {"type": "xor"},
        "model": {
            "layers": [
                {"type": "dense", "name": "hidden", "units": 20, "activation": "tanh"},
                {"type": "dense", "name": "output", "units": 1},
            ]
        },
        "loss": {"type": "mse"},
        "optimizer": {"type": "adam", "lr": 0.01},
        "train": {"steps": 4},
        "trace": {"every": 1, **trace},
    }


def test_summarized_arrays_are_compared_by_their_statistics(clean, tmp_path):
    path = tmp_path / "trace.jsonl"
    shutil.copy(clean(small_network()), path)
    report = verify_trace(path)
    assert report.ok, report.format()
    assert sum(report.skipped.values()) > 0  # what needs z whole (a = tanh z, ...) is skipped
    assert "summarized" in report.summary()
    records = broken.read_records(path)
    z = broken.find(records, "forward", 1, layer="hidden")["values"]["z"]
    assert z["summary"] is True
    z["mean"] += 1e-6
    report = verify_trace(broken.write_records(records, path))
    assert [(d.step, d.where, d.quantity) for d in report.disagreements] == [
        (1, "hidden", "z (summary: mean)")
    ]


def test_steps_not_traced_in_a_row_skip_the_carried_over_state(clean):
    report = verify_trace(clean(small_network(every=2, max_values=1000)))
    assert report.ok, report.format()
    assert report.steps == [0, 2, 3]
    reasons = " ".join(report.skipped)
    assert "the step before is not traced" in reasons


def test_an_interrupted_run_leaves_a_verifiable_trace(tmp_path):
    def stop_after_three(step, total, loss):
        if step == 3:
            raise KeyboardInterrupt

    scenario = broken.supervised({"type": "adam", "lr": 0.01}, steps=10)
    result = engine.run(scenario, trace=tmp_path / "trace.jsonl", progress=stop_after_three)
    assert result.status == "interrupted"
    report = verify_trace(result.trace_path)
    assert report.ok, report.format()
    assert report.steps == [0, 1, 2]


def test_a_diverging_run_leaves_a_verifiable_trace(tmp_path):
    scenario = broken.supervised({"type": "sgd", "lr": 80.0}, steps=400)
    scenario["model"]["layers"][0]["activation"] = "relu"
    scenario["model"]["layers"][1]["activation"] = None
    scenario["loss"] = {"type": "mse"}
    scenario["trace"] = {"steps": [0]}
    result = engine.run(scenario, trace=tmp_path / "trace.jsonl")
    assert result.status == "failed"
    report = verify_trace(result.trace_path)
    assert report.ok, report.format()
    assert report.status == "failed"


# --- every bundled scenario ------------------------------------------------------------------

BUNDLED = sorted(SCENARIOS.glob("**/*.yaml"))


def overrides_for(path) -> dict:
    """A few steps, each traced; GANs with small batches and few boosted D updates."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    overrides = {"train.steps": 2, "trace.every": 1}
    if data.get("kind") == "gan":
        overrides["train.batch_size"] = 16
        for index, trick in enumerate(data.get("tricks") or []):
            if trick.get("type") == "d_steps_schedule":
                overrides[f"tricks.{index}.boost_d_steps"] = 2
    return overrides


def test_the_bundled_scenarios_are_found():
    names = {path.relative_to(SCENARIOS).as_posix() for path in BUNDLED}
    assert {"walkthrough.yaml", "gan/ring8.yaml"} <= names


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.relative_to(SCENARIOS).as_posix())
def test_every_bundled_scenario_trace_verifies(path, tmp_path):
    result = engine.run(path, trace=tmp_path / "trace.jsonl", overrides=overrides_for(path))
    report = verify_trace(result.trace_path)
    assert report.ok, report.format()
    assert report.claims > 50


def test_the_verifier_runs_without_the_components_it_checks(clean):
    """An independent derivation: verifying imports only the rule modules, never a component,
    loop or kind it checks."""
    code = (
        "import sys\n"
        "from engine.verify import verify_trace\n"
        f"assert verify_trace({str(clean(broken.GAN))!r}).ok\n"
        f"assert verify_trace({str(clean(broken.ADAM))!r}).ok\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'plugins'\n"
        "             and not m.startswith('plugins.rules') and m != 'plugins'))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_output_docs_verify_md_shows_is_what_verify_prints(clean, tmp_path):
    """docs/verify.md "Reading the output" is the report of the corpus's Adam trace with eps
    inside the square root, number for number: its lines are the printed lines in order, the
    first disagreement and the summary (the trace's path aside)."""
    from tests.conftest import ROOT

    text = (ROOT / "docs" / "verify.md").read_text(encoding="utf-8")
    shown = text.split("## Reading the output", 1)[1].split("```\n", 2)[1]
    eps_inside = next(b for b in broken.CORPUS if "eps inside" in b.name)
    printed = verify_trace(broken_copy(clean, eps_inside, tmp_path)).format()
    printed = printed.replace(str(tmp_path / "trace.jsonl"), "/tmp/trace.jsonl")
    lines = printed.strip().splitlines()
    assert lines[:2] == shown.strip().splitlines()[:2]
    rest = iter(lines[2:])
    for line in shown.strip().splitlines()[2:]:
        assert line in rest, f"docs/verify.md shows {line!r}, verify prints:\n{printed}"
