"""A supervised trace, step after step: each traced step's claims (``steps``), plus what
links a step to the data, to the step before and to the per-step scalars:

- the first layer's x is the data's batch (inline data, whose samples the header holds),
  and the loss's target the batch's targets;
- at step 0, parameters given as explicit values (or a constant) in the scenario start
  with those values;
- the scalars' lr, loss and per-layer gradient norms ‖dL/dθ‖ are the traced ones;
- the end record's step count and final loss are the scalars'.
"""

from __future__ import annotations

import math

import numpy as np

from engine.trace.reader import Trace
from engine.verify import steps
from engine.verify.report import SUMMARIZED, Checker, Place


def group_steps(records: list[dict], network: str | None = None) -> list[steps.StepRecords]:
    """Traced steps in file order (records of other networks or phases are left out when
    ``network`` is given)."""
    groups: dict[int, steps.StepRecords] = {}
    for record in records:
        if "step" not in record or record["type"] == "scalars":
            continue
        if network is not None and record.get("network") != network:
            continue
        step = record["step"]
        group = groups.get(step)
        if group is None:
            group = groups[step] = steps.StepRecords(step)
        group.add(record)
    return list(groups.values())


def scalar_rows(trace: Trace) -> dict[int, dict]:
    return {row["step"]: row for row in trace.history() if "step" in row}


def verify_supervised(trace: Trace, check: Checker) -> list[int]:
    """Check every traced step of a supervised trace; returns the traced step numbers."""
    scenario = trace.header.get("scenario") or {}
    network = steps.Network.from_header(trace.header["network"], scenario["model"]["layers"])
    train = scenario.get("train") or {}
    checker = steps.StepChecker(
        check,
        network,
        scenario.get("loss"),
        scenario.get("optimizer") or {},
        train.get("steps", 1),
        train,
    )
    rows = scalar_rows(trace)
    previous = None
    traced = []
    for records in group_steps(trace.records):
        step = records.step
        traced.append(step)
        consecutive = previous if previous is not None and previous.step == step - 1 else None
        if consecutive is None and step > 0:
            check.skip("continuity and optimizer state: the step before is not traced")
        lr = records.info.get("lr") if records.info else None
        passes = checker.check_step(records, consecutive, step == 0, lr)
        check_data(check, scenario, records, passes)
        if step == 0:
            check_initial_values(check, network, records)
        check_scalars(check, network, records, passes, rows.get(step), lr)
        previous = records
    check_end(check, trace, rows, train)
    return traced


# --- data and initial values ------------------------------------------------------------


def prepared_target(loss: dict, y: np.ndarray, classes: int) -> np.ndarray:
    """The target the loss compares with: one-hot rows for cross_entropy given class
    indices, ±1 for hinge given 0/1 labels, the data's y otherwise."""
    kind = loss.get("type")
    if kind == "cross_entropy" and y.shape[1] == 1 and classes > 1:
        return np.eye(classes)[y[:, 0].astype(np.int64)]
    if kind == "hinge":
        return np.where(y == 0, -1.0, y)
    return y


def check_data(check: Checker, scenario: dict, records: steps.StepRecords, passes) -> None:
    data, train = scenario.get("data") or {}, scenario.get("train") or {}
    if data.get("type") != "inline" or train.get("validation_split") or not passes:
        return
    if records.info is None:
        return
    batch = records.info.get("batch")
    x, y = np.asarray(data["x"], dtype=np.float64), np.asarray(data["y"], dtype=np.float64)
    if batch is not None:
        x, y = x[batch], y[batch]
    first = passes[0]
    check.compare(first.place, "x", first.forward.get("x"), x, "x = the data's batch")
    if records.loss is not None:
        from engine.trace.tensors import decode

        target = decode(records.loss.get("target"))
        if isinstance(target, np.ndarray) and target.ndim == 2:
            place = Place(records.step, "loss")
            expected = prepared_target(scenario.get("loss") or {}, y, target.shape[1])
            check.compare(place, "target", target, expected, "the target is the data's batch")


def check_initial_values(check: Checker, network: steps.Network, records) -> None:
    """Explicit values and constants given in the scenario's ``init`` are the first before."""
    for index, config in enumerate(network.configs):
        for short, key in network.keys(index):
            spec = (config.get("init") or {}).get(short)
            update = records.updates.get(key)
            if update is None or spec is None:
                continue
            place = Place(records.step, key)
            if isinstance(spec, list):
                check.compare(
                    place,
                    "before",
                    update.before,
                    np.asarray(spec, dtype=np.float64),
                    "the explicit initial values of the scenario",
                )
            elif isinstance(spec, dict) and spec.get("type") == "constant":
                value = spec.get("value", 0.0)
                check.compare(
                    place,
                    "before",
                    update.before,
                    np.full(getattr(update.before, "shape", ()), value),
                    f"the constant {value!r} of the scenario",
                )


# --- scalars and the end record -----------------------------------------------------------


def check_scalars(check: Checker, network, records, passes, row: dict | None, lr) -> None:
    place = Place(records.step, "scalars")
    if row is None:
        if records.updates:  # a step that finished has its scalars
            check.fail(place, "scalars", "missing", "a row for this step")
        return
    if lr is not None and "lr" in row:
        check.compare(place, "lr", steps._number(row["lr"]), lr, "the scalars' lr is the step's lr")
    if records.loss is not None and "loss" in row:
        check.compare(
            place,
            "loss",
            steps._number(row["loss"]),
            steps._number(records.loss.get("value")),
            "the scalars' loss is the loss record's value",
        )
    for name, norm in steps.layer_norms(passes, network).items():
        column = f"grad_norm.{name}"
        if column not in row:
            continue
        if norm is None:
            check.skip(SUMMARIZED, quantity=column)
            continue
        check.compare(place, column, steps._number(row[column]), norm, "‖dL/dθ‖ of the layer")


def check_end(check: Checker, trace: Trace, rows: dict, train: dict) -> None:
    end = trace.end
    if end is None:
        return
    place = Place(None, "end record")
    completed = end.get("steps_completed")
    check.holds(
        place,
        "steps_completed",
        completed == len(rows),
        completed,
        len(rows),
        "the number of steps with scalars",
    )
    if end.get("status") == "completed" and "steps" in train:
        check.holds(
            place,
            "steps_completed",
            completed == train["steps"],
            completed,
            train["steps"],
            "a completed run took every step",
        )
    final = end.get("final_loss")
    if rows and final is not None:
        last = rows[max(rows)]
        if "loss" in last:
            final, last_loss = steps._number(final), steps._number(last["loss"])
            if not (isinstance(final, float) and math.isnan(final)):
                check.compare(place, "final_loss", final, last_loss, "the last step's loss")
