"""The order of a traced step's records, checked with and without ``--claims-only``: a
swapped, moved or deleted record is named by its line. Each kind's order is data its rules
give (``RecordOrder``), and a plugin that writes a record type of its own extends it."""

from __future__ import annotations

import json

import pytest

from engine.verify import verify_trace
from engine.verify.order import Slot
from plugins.rules.supervised import RECORD_ORDER
from tests import broken_traces as broken


@pytest.fixture(scope="module")
def honest(tmp_path_factory):
    folder = tmp_path_factory.mktemp("order")
    return {
        "supervised": broken.make_trace(broken.SGD, folder / "supervised" / "trace.jsonl"),
        "gan": broken.make_trace(broken.GAN, folder / "gan" / "trace.jsonl"),
    }


def lines_of(path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def at(lines, kind, start=1, **fields) -> int:
    """The index of the first line from ``start`` holding a ``kind`` record with ``fields``."""
    for i, line in enumerate(lines):
        record = json.loads(line)
        wanted = record["type"] == kind and all(record.get(k) == v for k, v in fields.items())
        if i >= start and wanted:
            return i
    raise LookupError(kind)


def problems(tmp_path, lines, claims_only=True) -> list[str]:
    path = tmp_path / "edited.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = verify_trace(path, claims_only=claims_only)
    return [p for p in report.problems if "edited after" not in p]


def swap(lines, i, j):
    lines[i], lines[j] = lines[j], lines[i]
    return lines


# (kind, edit(lines) -> (lines, the line named), words of the problem)
def forward_swapped(lines):
    i = at(lines, "forward")
    return swap(lines, i, i + 1), i + 2


def backward_deleted(lines):
    i = at(lines, "backward")
    del lines[i]
    return lines, i + 1


def update_deleted(lines):
    i = at(lines, "update")
    del lines[i]
    return lines, i + 1


def loss_after_backward(lines):
    i = at(lines, "loss")
    j = at(lines, "backward", i)
    lines.insert(j, lines.pop(i))
    return lines, j + 1


def labels_before_samples(lines):
    i = at(lines, "labels")
    j = at(lines, "samples")  # then a trick note, then the labels
    return swap(lines, i, j), j + 2  # the note is now after the labels


def real_loss_deleted(lines):
    i = at(lines, "loss", batch="real")
    del lines[i]
    return lines, i + 1


def handoff_deleted(lines):
    i = at(lines, "handoff")
    del lines[i]
    return lines, i + 1


def frozen_before_update(lines):
    i = at(lines, "frozen")
    j = at(lines, "update", phase="g")
    lines.insert(j, lines.pop(i))
    return lines, j + 2


def g_update_in_ds_phase(lines):
    i = at(lines, "update", phase="g")
    j = at(lines, "update", phase="d")
    lines.insert(j, lines.pop(i))
    return lines, j + 2


BREAKS = [
    ("supervised", forward_swapped, "the forward record of layer 0 comes after"),
    ("supervised", backward_deleted, "the backward record of layer 1 is missing"),
    ("supervised", update_deleted, "the update record of hidden.W is missing"),
    ("supervised", loss_after_backward, "the loss record comes after the backward record"),
    ("gan", forward_swapped, "comes after the forward (network D, batch real) record of layer 1"),
    ("gan", labels_before_samples, "comes after the labels record"),
    ("gan", real_loss_deleted, "the loss (batch real) record is missing"),
    ("gan", handoff_deleted, "G update 0: the handoff record is missing"),
    ("gan", frozen_before_update, "comes after the frozen record"),
    ("gan", g_update_in_ds_phase, "comes after the update record of G.dense0.W"),
]


@pytest.mark.parametrize("claims_only", [True, False], ids=["claims-only", "whole"])
@pytest.mark.parametrize(
    "kind, edit, words", BREAKS, ids=[f"{k}-{e.__name__}" for k, e, _ in BREAKS]
)
def test_a_swapped_or_deleted_record_is_named_by_line(
    honest, tmp_path, kind, edit, words, claims_only
):
    assert not problems(tmp_path, lines_of(honest[kind]))  # the honest trace is in order
    lines, line = edit(lines_of(honest[kind]))
    found = problems(tmp_path, lines, claims_only)
    assert any(words in p and f"line {line}:" in p for p in found), found


def test_a_record_type_no_order_knows_is_unchecked_not_passed(honest, tmp_path):
    lines = lines_of(honest["supervised"])
    i = at(lines, "update")
    lines.insert(i, json.dumps({"type": "picture", "step": 0, "what": "the learned function"}))
    path = tmp_path / "extra.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = verify_trace(path, claims_only=True)
    assert "record order: no slot for a 'picture' record" in report.unruled
    assert report.verdict.startswith("partly verified")


@pytest.fixture
def picture_slot():
    """A plugin's record type, placed after the updates (as its rules module would)."""
    slot = Slot("picture")
    RECORD_ORDER.add(slot, after="update")
    yield slot
    RECORD_ORDER.slots.remove(slot)


def test_a_plugin_extends_a_kinds_order(honest, tmp_path, picture_slot):
    lines = lines_of(honest["supervised"])
    picture = json.dumps({"type": "picture", "step": 0, "what": "the learned function"})
    last_update = max(i for i, line in enumerate(lines) if '"step":0' in line)
    in_place = [*lines[: last_update + 1], picture, *lines[last_update + 1 :]]
    path = tmp_path / "extended.jsonl"
    path.write_text("\n".join(in_place) + "\n", encoding="utf-8")
    report = verify_trace(path, claims_only=True)
    assert not report.problems and not report.unruled, report.format()
    i = at(lines, "loss")
    out_of_place = [*lines[:i], picture, *lines[i:]]
    assert any(
        f"line {i + 2}: step 0: the loss record comes after the picture record" in p
        for p in problems(tmp_path, out_of_place)
    )
