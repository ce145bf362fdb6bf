"""Reads a trace back: header, traced steps, per-step scalars and the end record.

A torn last line (a killed process) is tolerated and reported in ``Trace.warnings``; any
other unreadable line is a TraceError with ``file:line``.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.errors import TraceError


@dataclass
class Trace:
    path: Path
    header: dict
    records: list[dict] = field(default_factory=list)
    #: The line of each record of ``records`` in the file.
    record_lines: list[int] = field(default_factory=list)
    scalars: dict[str, list] = field(default_factory=dict)
    end: dict | None = None
    warnings: list[str] = field(default_factory=list)
    #: What is wrong with the file's structure (a second header, records after the end ...).
    structure: list[str] = field(default_factory=list)
    end_line: int | None = None
    #: sha256 of the bytes of every line before the end record (see the end's integrity).
    digest_of_body: str | None = None
    after_end: int | None = None

    @property
    def status(self) -> str:
        return self.end["status"] if self.end else "incomplete"

    @property
    def traced_steps(self) -> list[int]:
        return sorted({r["step"] for r in self.records if "step" in r and r["type"] != "scalars"})

    def step_records(self, step: int) -> list[dict]:
        return [r for r in self.records if r.get("step") == step]

    def history(self) -> list[dict]:
        """One dict per step, as ``RunResult.history``."""
        steps = self.scalars.get("step", [])
        return [
            {name: column[i] for name, column in self.scalars.items() if column[i] is not None}
            for i in range(len(steps))
        ]


#: Sections of the header's scenario that each kind of run needs.
def trace_kind(trace: Trace) -> str:
    """The kind of run a trace records, checked against its header: an edited header whose
    ``kind`` and scenario disagree is a TraceError, not a KeyError later."""
    scenario = trace.header.get("scenario")
    if not isinstance(scenario, dict):
        raise TraceError("the header has no scenario", f"{trace.path}:1")
    kind = scenario.get("kind", "supervised")
    outer = trace.header.get("kind", kind)  # a kind may also name itself in the header
    if outer != kind:
        raise TraceError(
            f"the header says kind '{outer}' but its scenario says kind '{kind}'",
            f"{trace.path}:1",
            hint="the header was edited; re-run the scenario",
        )
    return kind


def find_trace(path: str | Path) -> Path:
    """A trace file, or the ``trace.jsonl`` inside a run folder."""
    path = Path(path)
    if path.is_dir():
        path = path / "trace.jsonl"
    if not path.is_file():
        raise TraceError(
            f"no trace at {path}",
            hint="give a trace.jsonl file or a run folder (runs/<name>-<time>/)",
        )
    return path


#: The largest line a trace may hold: a longer one is damage, not a record to parse slowly.
MAX_RECORD_CHARS = 32 * 1024 * 1024


def read_trace(path: str | Path) -> Trace:
    path = find_trace(path)
    try:
        lines = path.read_text(encoding="utf-8").split("\n")
    except (OSError, UnicodeDecodeError) as error:
        raise TraceError(f"cannot read {path}: {error}") from None
    trace = None
    warnings = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if len(line) > MAX_RECORD_CHARS:
            raise TraceError(
                f"a record of {len(line):,} characters is larger than any trace record "
                f"({MAX_RECORD_CHARS:,} at most)",
                f"{path}:{number}",
                hint="the file is damaged or not a trace; re-run the scenario",
            )
        try:
            record = json.loads(line)
        except RecursionError:
            raise TraceError(
                "a record is nested too deeply to be a trace record",
                f"{path}:{number}",
                hint="the file is damaged or not a trace; re-run the scenario",
            ) from None
        except json.JSONDecodeError as error:
            is_last = all(not rest.strip() for rest in lines[number:])
            if is_last and trace is not None:
                warnings.append(
                    f"{path}:{number}: the last line is cut off (the run was killed "
                    f"while writing); it was ignored"
                )
                break
            raise TraceError(
                f"line is not valid JSON ({error.msg})",
                f"{path}:{number}",
                hint="the file is damaged; re-run the scenario",
            ) from None
        if not isinstance(record, dict) or "type" not in record:
            raise TraceError("a trace record must be an object with a 'type'", f"{path}:{number}")
        if trace is None:
            if record["type"] != "header":
                raise TraceError(
                    "the first record is not a header: not a Tracegrad trace", f"{path}:{number}"
                )
            trace = Trace(path, record)
            continue
        if record["type"] != "end" and trace.end is not None and trace.after_end is None:
            trace.after_end = number
            trace.structure.append(f"line {number}: a record after the end record")
        if record["type"] == "scalars":
            try:
                _merge_scalars(trace.scalars, record)
            except (KeyError, TypeError, ValueError) as error:
                raise TraceError(
                    f"malformed scalars record ({error})",
                    f"{path}:{number}",
                    hint="the file is damaged; re-run the scenario",
                ) from None
        elif record["type"] == "end":
            if trace.end is not None:
                trace.structure.append(f"line {number}: a second end record")
            trace.end, trace.end_line = record, number
            trace.digest_of_body = hashlib.sha256(
                "".join(f"{text}\n" for text in lines[: number - 1]).encode("utf-8")
            ).hexdigest()
        else:
            if record["type"] == "header":
                trace.structure.append(f"line {number}: a second header")
            trace.records.append(record)
            trace.record_lines.append(number)
    if trace is None:
        raise TraceError("the trace is empty", str(path))
    if trace.end is None:
        warnings.append(f"{path}: no end record: the run stopped before it could finish")
    elif trace.after_end is None and any(text.strip() for text in lines[trace.end_line :]):
        trace.structure.append(f"line {trace.end_line}: the end record is not the last")
    trace.warnings = warnings
    return trace


NON_FINITE = {"nan", "inf", "-inf"}  # how the writer spells floats JSON has no literal for


def decode_column(column, count: int) -> list:
    """A chunk's column as a list (see engine.trace.writer: base64 bytes, repeats, lists)."""
    if isinstance(column, list):
        return [float(v) if v in NON_FINITE else v for v in column]
    if "repeat" in column:
        return [column["repeat"]] * count
    if "f64" in column:
        return np.frombuffer(base64.b64decode(column["f64"], validate=True), dtype="<f8").tolist()
    if "i64" in column:
        return np.frombuffer(base64.b64decode(column["i64"], validate=True), dtype="<i8").tolist()
    raise ValueError(f"unknown column encoding {sorted(column)}")


def _merge_scalars(scalars: dict[str, list], record: dict) -> None:
    before = len(scalars.get("step", []))
    first, count = record["step"], record["count"]
    columns = {"step": list(range(first, first + count)), **record["columns"]}
    for name, column in columns.items():
        scalars.setdefault(name, [None] * before).extend(decode_column(column, count))
    for column in scalars.values():
        if len(column) < before + count:
            column.extend([None] * (before + count - len(column)))


def require_sections(trace: Trace, kind: str, names) -> None:
    """A trace check's first step: the header's scenario has the sections of ``kind`` (an
    edited header is a clear TraceError, not a KeyError deep in the check)."""
    scenario = trace.header.get("scenario") or {}
    missing = [name for name in names if name not in scenario]
    if missing:
        raise TraceError(
            f"the header's scenario is of kind '{kind}' but has no '{missing[0]}'",
            f"{trace.path}:1",
            hint="the header was edited; re-run the scenario",
        )
