"""Experience replay (ganhacks 8): D's fake batch mixes in G's past samples from a buffer.
The trick, its trace note, its verification rule, and the breaks the rule must catch."""

from __future__ import annotations

import json

import numpy as np
import pytest

import engine
from engine.errors import TracegradError
from engine.scenario import load_scenario
from engine.trace import read_trace
from engine.verify import verify_trace
from plugins.gan.components import GanBatch
from tests.test_gan import loop_for, tiny

REPLAY = {"type": "experience_replay", "buffer": 12, "fraction": 0.5}


def replay_of(loop):
    return next(t for t in loop.built.tricks if t.name == "experience_replay")


def d_batch(loop, step, fake):
    batch = GanBatch("d", z=np.zeros((len(fake), 2)), real=np.zeros_like(fake))
    batch.samples = batch.fake = fake
    note = replay_of(loop).tracegrad_gan_d_input(batch=batch, step=step)
    return batch, note


def test_the_first_update_replaces_nothing_and_fills_the_buffer():
    loop = loop_for(tiny(tricks=[REPLAY]))
    fake = np.arange(16.0).reshape(8, 2)
    batch, note = d_batch(loop, 0, fake)
    assert note is None and batch.fake is fake
    np.testing.assert_array_equal(replay_of(loop).buffer, fake)


def test_half_the_fake_batch_is_replayed_from_the_buffer():
    loop = loop_for(tiny(tricks=[REPLAY]))
    old = np.arange(16.0).reshape(8, 2)
    d_batch(loop, 0, old)
    new = 100.0 + np.arange(16.0).reshape(8, 2)
    batch, note = d_batch(loop, 1, new)
    rows = note["rows"]
    assert len(rows) == round(0.5 * 8) and len(set(rows)) == len(rows)
    kept = np.setdiff1d(np.arange(8), rows)
    np.testing.assert_array_equal(batch.fake[kept], new[kept])  # the others are G(z)
    old_rows = {tuple(r) for r in old}
    assert all(tuple(r) in old_rows for r in batch.fake[rows])  # from the buffer
    np.testing.assert_array_equal(note["replayed"], batch.fake[rows])
    assert note["change"] == "replayed 4 of 8 fake samples from a buffer of 8"
    np.testing.assert_array_equal(batch.samples, new)  # G's own samples are untouched


def test_the_buffer_keeps_the_newest_samples():
    loop = loop_for(tiny(tricks=[REPLAY]))
    for k in range(3):
        d_batch(loop, k, np.full((8, 2), float(k)))
    buffer = replay_of(loop).buffer
    assert len(buffer) == 12
    np.testing.assert_array_equal(buffer[:4], 1.0)  # the oldest 4 of update 1 remain
    np.testing.assert_array_equal(buffer[4:], 2.0)


def test_gs_phase_is_unchanged():
    loop = loop_for(tiny(tricks=[REPLAY]))
    d_batch(loop, 0, np.ones((8, 2)))
    batch = GanBatch("g", z=np.zeros((8, 2)))
    batch.samples = batch.fake = np.zeros((8, 2))
    assert replay_of(loop).tracegrad_gan_d_input(batch=batch, step=0) is None
    np.testing.assert_array_equal(batch.fake, 0.0)


@pytest.mark.parametrize("fraction", [0, 1.5])
def test_a_fraction_outside_0_1_is_refused(fraction):
    with pytest.raises(TracegradError, match="fraction"):
        load_scenario(tiny(tricks=[{"type": "experience_replay", "fraction": fraction}]))


@pytest.fixture(scope="module")
def replay_trace(tmp_path_factory):
    path = tmp_path_factory.mktemp("replay") / "trace.jsonl"
    scenario = tiny(tricks=[{"type": "label_smoothing"}, REPLAY], trace={"every": 1})
    assert engine.run(scenario, trace=path).status == "completed"
    return path


def test_the_trace_notes_the_replayed_rows_and_verifies(replay_trace):
    notes = [r for r in read_trace(replay_trace).records if r.get("trick") == "experience_replay"]
    assert [n["step"] for n in notes] == [1, 2]  # step 0 found the buffer empty
    assert all(n["hook"] == "d_input" and len(n["rows"]) == 4 for n in notes)
    report = verify_trace(replay_trace)
    assert report.ok and report.complete, report.format()
    assert any("replayed samples" in reason for reason in report.skipped)


def edited(replay_trace, tmp_path, change) -> verify_trace:
    records = [json.loads(line) for line in replay_trace.read_text().splitlines()]
    change(records)
    path = tmp_path / "edited.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return verify_trace(path, claims_only=True)


def test_a_replayed_value_changed_in_the_note_is_caught(replay_trace, tmp_path):
    def change(records):
        note = next(r for r in records if r.get("trick") == "experience_replay")
        note["replayed"][0][0] += 0.25

    report = edited(replay_trace, tmp_path, change)
    assert "x" in report.quantities(), report.format()


def test_a_row_of_ds_fake_input_not_replayed_must_be_gs_sample(replay_trace, tmp_path):
    def change(records):
        note = next(r for r in records if r.get("trick") == "experience_replay")
        note["rows"] = note["rows"][1:]  # one replayed row now claims to be G(z)

    report = edited(replay_trace, tmp_path, change)
    found = [d for d in report.disagreements if d.quantity == "x"]
    assert found and "D update 0, fake batch" in str(found[0].place.phase), report.format()


@pytest.mark.parametrize(
    "tricks",
    [
        [{"type": "packing"}, {"type": "feature_matching"}],
        [{"type": "feature_matching"}, {"type": "packing"}],
        [REPLAY, {"type": "packing"}, {"type": "instance_noise"}],
    ],
    ids=["packing-first", "feature-matching-first", "replay-packing-noise"],
)
def test_tricks_that_change_ds_input_combine_in_any_order(tmp_path, tricks):
    """Feature matching's real batch is drawn before any trick changes D's inputs, so
    packing listed first packs it too (it used to reach D unpacked and fail)."""
    path = tmp_path / "trace.jsonl"
    scenario = tiny(tricks=tricks, trace={"every": 1})
    assert engine.run(scenario, trace=path).status == "completed"
    report = verify_trace(path)
    assert report.ok and not report.disagreements, report.format()
