"""What the network learned: the ``learned`` record of each traced supervised step, what the
verifier makes of it, and the report's pictures drawn from it (trace alone)."""

from __future__ import annotations

import html as html_module
import json
import re

import numpy as np
import pytest

import engine
from engine.report import render_html
from engine.trace.reader import read_trace
from engine.verify import verify_trace
from plugins.rules import learned as learned_rules
from plugins.supervised import learned
from tests.conftest import SCENARIOS


def run(tmp_path, name: str, **overrides):
    """Run a bundled scenario in a folder of its own under tmp_path; its trace."""
    folder = tmp_path / f"{name}-{len(list(tmp_path.iterdir()))}"
    trace = folder / "trace.jsonl"
    engine.run(SCENARIOS / f"{name}.yaml", trace=trace, overrides=overrides)
    return read_trace(trace)


def learned_lines(path) -> tuple[list[str], list[int]]:
    """The trace's lines, and the indices of its ``learned`` records."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return lines, [i for i, line in enumerate(lines) if json.loads(line)["type"] == "learned"]


def pictures(trace) -> list[dict]:
    return [r for r in trace.records if r["type"] == "learned"]


def test_each_traced_step_ends_with_its_picture_of_the_output_surface(tmp_path):
    trace = run(tmp_path, "xor", **{"train.steps": 30})
    records = pictures(trace)
    assert [r["step"] for r in records] == trace.traced_steps
    for record in records:  # the step's last record, after its updates
        own = trace.step_records(record["step"])
        assert own[-1] is record
        assert own[-2]["type"] == "update"
    first = records[0]
    assert first["picture"] == "surface"
    xs, ys = (np.asarray(a) for a in first["grid"]["axes"])
    assert len(xs) == len(ys) == learned.GRID
    assert xs[0] < 0 < 1 < xs[-1]  # the data's range [0, 1], padded
    output = np.asarray(first["grid"]["output"])
    assert output.shape == (learned.GRID**2, 1) and np.all((output > 0) & (output < 1))
    assert np.asarray(first["data"]["x"]).shape == (4, 2)  # the data, written once
    assert all("data" not in r for r in records[1:])
    (hidden,) = first["units"]["layers"]
    assert np.asarray(hidden["a"]).shape == (learned.UNIT_GRID**2, 4)


def test_the_surface_is_the_network_output_with_the_traced_parameters(tmp_path):
    trace = run(tmp_path, "xor", **{"train.steps": 30})
    report = verify_trace(trace.path)
    assert report.ok and report.complete
    assert report.pictures == {learned_rules.DATA: 1}  # the xor data set is not in the trace
    # an honest run: every grid point checked; the same trace with one grid value changed
    lines, indices = learned_lines(trace.path)
    index = indices[0]
    record = json.loads(lines[index])
    record["grid"]["output"][17][0] += 1e-3
    lines[index] = json.dumps(record)
    trace.path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    edited = verify_trace(trace.path, claims_only=True)
    (found,) = edited.disagreements
    assert found.quantity == "surface output" and found.index == (17, 0)
    assert found.step == record["step"]


def test_a_changed_unit_map_is_found_too(tmp_path):
    trace = run(tmp_path, "walkthrough")
    lines, indices = learned_lines(trace.path)
    index = indices[-1]
    record = json.loads(lines[index])
    assert record["picture"] == "surface" and len(record["grid"]["output"][0]) == 2
    record["units"]["layers"][0]["a"][3][1] = 0.5
    lines[index] = json.dumps(record)
    trace.path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (found,) = verify_trace(trace.path, claims_only=True).disagreements
    assert found.quantity == "units hidden.a" and found.index == (3, 1)


def test_inline_training_points_are_checked_against_the_scenario(tmp_path):
    trace = run(tmp_path, "walkthrough")
    assert not verify_trace(trace.path).pictures  # every learned record is a claim
    lines, indices = learned_lines(trace.path)
    record = json.loads(lines[indices[0]])
    assert record["data"] == {"x": [[0.05, 0.1]], "y": [[0.01, 0.99]]}
    record["data"]["x"][0][1] = 0.2
    lines[indices[0]] = json.dumps(record)
    trace.path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (found,) = verify_trace(trace.path, claims_only=True).disagreements
    assert found.quantity == "data.x" and found.index == (0, 1)


def test_a_regression_curve_over_one_input(tmp_path):
    trace = run(tmp_path, "sine", **{"train.steps": 5})
    record = pictures(trace)[-1]
    assert record["picture"] == "curve"
    assert np.asarray(record["grid"]["output"]).shape == (learned.CURVE, 1)
    report = verify_trace(trace.path)
    assert report.ok and report.pictures == {learned_rules.DATA: 1}


def test_pictures_the_verifier_cannot_recompute_are_counted_as_pictures(tmp_path):
    # moons: the 64-unit layers' parameters are summarized; spirals: batch_norm in eval mode
    for name, reason in (("moons", learned_rules.NOT_WHOLE), ("spirals", "batch_norm")):
        trace = run(tmp_path, name, **{"train.steps": 5})
        report = verify_trace(trace.path)
        assert report.ok and report.complete, report.format()
        (said,) = set(report.pictures) - {learned_rules.DATA}
        assert reason in said and report.pictures[said] == len(trace.traced_steps)
        assert "pictures, not claims: 3" in report.summary()


def test_images_get_predictions_and_a_confusion_matrix(tmp_path):
    trace = run(tmp_path, "digits", **{"train.steps": 3})
    first, last = pictures(trace)
    assert first["picture"] == "images" and first["data"]["shape"] == [8, 8]
    assert np.asarray(first["data"]["pixels"]).shape == (learned.SAMPLES, 64)
    confusion = np.asarray(last["confusion"])
    samples = trace.header["data"]["samples"]
    assert confusion.shape == (10, 10) and confusion.sum() == samples
    assert len(last["samples"]["predicted"]) == learned.SAMPLES
    report = verify_trace(trace.path)
    assert report.ok and report.complete
    assert report.pictures == {learned_rules.IMAGES: 2}  # pixels and predictions alike


def test_pictures_change_nothing_the_training_computes(tmp_path):
    """Evaluating the grid draws no random number and keeps batch_norm's running estimates:
    the losses are the same whichever steps are traced."""
    for name in ("moons", "spirals"):
        every = run(tmp_path, name, **{"train.steps": 12, "trace.steps": list(range(12))})
        none = run(tmp_path, name, **{"train.steps": 12, "trace.steps": [], "trace.last": False})
        assert len(pictures(every)) == 12 and not pictures(none)
        assert every.scalars["loss"] == none.scalars["loss"]


@pytest.mark.parametrize(
    ("name", "figures"),
    [("xor", ("learned-surface", "learned-units")), ("sine", ("learned-curve",))],
)
def test_the_report_draws_each_step_from_the_trace_alone(tmp_path, name, figures):
    trace = run(tmp_path, name, **{"train.steps": 5})
    html = render_html(trace)
    assert 'id="learned"' in html
    for step in trace.traced_steps:
        for figure in figures:
            assert f'id="figure-{figure}-step-{step}" data-step="{step}"' in html


def test_the_report_draws_images_and_the_confusion_matrix(tmp_path):
    trace = run(tmp_path, "digits", **{"train.steps": 2})
    html = render_html(trace)
    last = trace.traced_steps[-1]
    assert f'id="figure-learned-samples-step-{last}"' in html
    assert f'id="figure-learned-confusion-step-{last}"' in html
    assert "confusion matrix over 1438 training samples" in html


def test_the_size_estimate_counts_the_pictures(tmp_path):
    scenario = engine.load_scenario(SCENARIOS / "xor.yaml")
    built = scenario.kind.build(scenario)
    size = learned.picture_size(built.data, built.network)
    assert size == 2 * learned.GRID + learned.GRID**2 + 4 * learned.UNIT_GRID**2 + 3 * 4
    record = pictures(run(tmp_path, "xor", **{"train.steps": 2}))[0]
    written = len(record["grid"]["output"]) + 2 * learned.GRID + 12
    written += sum(np.asarray(layer["a"]).size for layer in record["units"]["layers"])
    assert written == size


SHRINK = '''
import engine


class Shrink:
    """A constraint after each update: every parameter halved."""

    @engine.hookimpl
    def tracegrad_supervised_after_update(self, network, step):
        for parameter in network.parameters:
            parameter.value *= 0.5
        return "halved every parameter"


@engine.hookimpl
def tracegrad_step_plugins(scenario):
    return [Shrink()]
'''


def test_parameters_changed_after_the_update_are_the_ones_the_surface_is_checked_with(tmp_path):
    """The learned record follows the after_update note and pictures the changed network;
    the note holds the parameters the plugin left, and verify recomputes the surface from
    them (an edited grid value is a disagreement), while the plugin's own change, which has
    no rule, is counted unchecked."""
    plugin = tmp_path / "shrink.py"
    plugin.write_text(SHRINK, encoding="utf-8")
    trace = tmp_path / "trace.jsonl"
    engine.run(
        SCENARIOS / "xor.yaml",
        trace=trace,
        overrides={"train.steps": 3, "trace.steps": [0]},
        plugins=[str(plugin)],
    )
    trace = read_trace(trace)
    for step in trace.traced_steps:
        kinds = [r["type"] for r in trace.step_records(step)]
        assert kinds[-2:] == ["hook", "learned"]
    assert trace.traced_steps == [0, 2]  # not in a row: no before = previous after to check
    report = verify_trace(trace.path)
    assert report.ok and set(report.pictures) <= {learned_rules.DATA}, report.format()
    assert len(report.unruled) == 1 and "'Shrink'" in next(iter(report.unruled))
    lines = trace.path.read_text(encoding="utf-8").splitlines()
    at = next(i for i, line in enumerate(lines) if '"type":"learned"' in line)
    record = json.loads(lines[at])
    record["grid"]["output"][0][0] += 0.125
    lines[at] = json.dumps(record)
    edited = tmp_path / "edited.jsonl"
    edited.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert any("learned" in str(d) for d in verify_trace(edited, claims_only=True).disagreements)


def test_a_trace_of_every_step_pictures_six_of_them(tmp_path):
    trace = run(tmp_path, "xor", **{"train.steps": 40, "trace.every": 1})
    assert len(pictures(trace)) == 40
    html = render_html(trace)
    drawn = sorted({int(s) for s in re.findall(r'id="figure-learned-surface-step-(\d+)"', html)})
    assert drawn == [0, 8, 16, 23, 31, 39]  # the first, the last, evenly between
    player = json.loads(re.search(r'tg-player-data">(.*?)</script>', html, re.S).group(1))
    assert [s["step"] for s in player["steps"]] == drawn, "the pictures follow the player's steps"


def test_images_of_a_convolutional_network_too(tmp_path):
    trace = run(tmp_path, "cnn_digits", **{"train.steps": 2})
    first = pictures(trace)[0]
    assert first["picture"] == "images" and first["data"]["shape"] == [8, 8]
    assert np.asarray(first["confusion"]).sum() == trace.header["data"]["samples"]
    assert 'id="figure-learned-confusion-step-1"' in render_html(trace)


def test_a_page_without_the_player_says_why_and_promises_no_slider(tmp_path):
    """moons has dropout layers, which the player cannot draw: the page used to leave the
    player out without a word while the pictures' text sent the reader to its slider."""
    slider = "Under the step player's slider the page shows the selected step."
    moons = html_module.unescape(render_html(run(tmp_path, "moons", **{"train.steps": 5})))
    assert "tg-player-data" not in moons
    assert "this one has drop1, a dropout layer, so its traced steps are not shown" in moons
    assert slider not in moons
    xor = html_module.unescape(render_html(run(tmp_path, "xor", **{"train.steps": 5})))
    assert "tg-player-data" in xor and slider in xor
    assert "The step player draws networks of dense layers only" not in xor
