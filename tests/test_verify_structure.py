"""Edited and reordered traces: the structure checks and the integrity digest of
``tracegrad verify``, on fresh honest traces of a supervised and a GAN run. Each break names
the reason verify must give."""

from __future__ import annotations

import base64
import json

import pytest

from engine.errors import TraceError, TracegradError
from engine.verify import verify_trace
from tests import broken_traces as broken


@pytest.fixture(scope="module")
def honest(tmp_path_factory):
    folder = tmp_path_factory.mktemp("honest")
    return {
        "supervised": broken.make_trace(broken.SGD, folder / "supervised" / "trace.jsonl"),
        "gan": broken.make_trace(broken.GAN, folder / "gan" / "trace.jsonl"),
    }


def lines_of(path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def write(tmp_path, lines: list[str]):
    path = tmp_path / "edited.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def edit_json(line: str, change) -> str:
    record = json.loads(line)
    change(record)
    return json.dumps(record)


def first(lines, kind, start=1):
    return next(
        i for i, line in enumerate(lines) if i >= start and json.loads(line)["type"] == kind
    )


def swap_two(lines):
    i = first(lines, "forward")
    lines[i], lines[i + 1] = lines[i + 1], lines[i]
    return lines


def end_to_line_2(lines):
    return [lines[0], lines[-1], *lines[1:-1]]


def reverse_body(lines):
    return [lines[0], *reversed(lines[1:])]


def delete_one(lines):
    del lines[first(lines, "backward")]
    return lines


def status_failed(lines):
    lines[-1] = edit_json(lines[-1], lambda r: r.update(status="failed"))
    return lines


def seed_edited(lines):
    lines[0] = edit_json(lines[0], lambda r: r["scenario"].update(seed=99))
    return lines


def loss_edited(lines):
    def change(record):
        scenario = record["scenario"]
        scenario["loss"] = {**scenario["loss"], "type": "mse"}

    lines[0] = edit_json(lines[0], change)
    return lines


def schema_99(lines):
    lines[0] = edit_json(lines[0], lambda r: r.update(schema_version=99))
    return lines


def second_header(lines):
    return [lines[0], lines[0], *lines[1:]]


def after_the_end(lines):
    return [*lines, lines[1]]


def untraced_scalar(lines):
    i = first(lines, "scalars")

    def change(record):
        columns = record["columns"]
        column = columns.get("loss", columns.get("g_loss"))
        if isinstance(column, dict) and "f64" in column:
            raw = bytearray(base64.b64decode(column["f64"]))
            raw[-1] ^= 1  # the last step's loss, one bit off
            column["f64"] = base64.b64encode(bytes(raw)).decode()
        else:
            column[-1] = column[-1] * 1.0000001

    lines[i] = edit_json(lines[i], change)
    return lines


#: (break, the words of the reason verify must give)
EDITS = [
    (swap_two, "edited after it was written"),
    (end_to_line_2, "a record after the end record"),
    (reverse_body, "a record after the end record"),
    (delete_one, "edited after it was written"),
    (status_failed, "status failed, but every one of"),
    (seed_edited, "scenario_hash does not match"),
    (loss_edited, "scenario_hash does not match"),
    (schema_99, "schema_version 99"),
    (second_header, "a second header"),
    (after_the_end, "a record after the end record"),
    (untraced_scalar, "edited after it was written"),
]


@pytest.mark.parametrize("kind", ["supervised", "gan"])
@pytest.mark.parametrize("edit, reason", EDITS, ids=[edit.__name__ for edit, _ in EDITS])
def test_an_edited_trace_is_not_verified(honest, tmp_path, kind, edit, reason):
    assert verify_trace(honest[kind]).ok  # the honest trace verifies
    report = verify_trace(write(tmp_path, edit(lines_of(honest[kind]))))
    assert not report.ok
    assert any(reason in problem for problem in report.problems), report.format()


def test_claims_only_still_finds_a_wrong_number_and_skips_the_digest(honest, tmp_path):
    lines = lines_of(honest["supervised"])
    i = first(lines, "loss")
    lines[i] = edit_json(lines[i], lambda r: r.update(value=r["value"] + 0.5))
    path = write(tmp_path, lines)
    assert any("edited after" in p for p in verify_trace(path).problems)
    report = verify_trace(path, claims_only=True)
    assert not any("edited after" in p for p in report.problems)
    assert "loss" in report.quantities()


def test_a_hand_edited_exercise_with_no_wrong_number_passes_claims_only(honest, tmp_path):
    lines = lines_of(honest["supervised"])
    lines[-1] = edit_json(lines[-1], lambda r: r.pop("integrity"))
    path = write(tmp_path, lines)
    assert any("no digest" in p for p in verify_trace(path).problems)
    assert verify_trace(path, claims_only=True).ok


def test_a_bad_base64_column_is_a_clear_error(honest, tmp_path):
    lines = lines_of(honest["supervised"])
    i = first(lines, "scalars")

    def change(record):
        for column in record["columns"].values():
            if isinstance(column, dict) and "f64" in column:
                column["f64"] = "!!!" + column["f64"]
                return

    lines[i] = edit_json(lines[i], change)
    with pytest.raises(TraceError, match="malformed scalars record"):
        verify_trace(write(tmp_path, lines))


def test_a_huge_record_is_an_error_not_a_slow_read(honest, tmp_path):
    lines = lines_of(honest["supervised"])
    huge = json.dumps({"type": "mystery", "step": 0, "blob": "x" * (40 * 1024 * 1024)})
    with pytest.raises(TraceError, match="larger than any trace record"):
        verify_trace(write(tmp_path, [lines[0], huge, *lines[1:]]))


@pytest.mark.parametrize(
    "tolerance", [{"atol": float("inf")}, {"rtol": 1e300 * 1e300}, {"atol": -1.0}]
)
def test_tolerances_must_be_finite_and_not_negative(honest, tolerance):
    with pytest.raises(TracegradError, match="finite number >= 0"):
        verify_trace(honest["supervised"], **tolerance)
