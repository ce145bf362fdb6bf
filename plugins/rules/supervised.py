"""A supervised trace, step after step: each traced step's claims (``steps``), plus what
links a step to the data, to the step before and to the per-step scalars:

- the first layer's x is the data's batch (inline data, whose samples the header holds),
  and the loss's target the batch's targets;
- at step 0, parameters given as explicit values (or a constant) in the scenario start
  with those values;
- the state an optimizer starts a step from is the state the step before left;
- the scalars' lr, loss and per-layer gradient norms ‖dL/dθ‖ are the traced ones;
- the end record's step count and final loss are the scalars'.
"""

from __future__ import annotations

import numpy as np

from engine.hookspecs import hookimpl
from engine.trace.reader import Trace, require_sections
from engine.trace.tensors import decode
from engine.verify import losses, steps
from engine.verify.order import RecordOrder, Slot
from engine.verify.report import SUMMARIZED, Checker, Place

NOT_TRACED = "continuity (before = the previous after): the step before is not traced"


def group_steps(records: list[dict]) -> list[steps.StepRecords]:
    """Traced steps in file order."""
    groups: dict[int, steps.StepRecords] = {}
    for record in records:
        if "step" not in record or record["type"] == "scalars":
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
    require_sections(trace, "supervised", ("model", "loss", "train"))
    scenario = trace.header.get("scenario") or {}
    network = steps.Network.from_header(trace.header["network"], scenario["model"]["layers"])
    train = scenario.get("train") or {}
    loss_config = scenario.get("loss") or {}
    fused = steps.fused_output(network, loss_config)

    def loss_rule(record, prediction, target):
        return losses.recompute(loss_config, prediction, target, fused)

    checker = steps.StepChecker(
        check,
        network,
        scenario.get("optimizer") or {},
        train.get("steps", 1),
        loss_rule,
        f"loss {loss_config.get('type')}",
        fused,
        train,
    )
    rows = scalar_rows(trace)
    previous = None
    traced = []
    for records in group_steps(trace.records):
        traced.append(records.step)
        check_step(check, checker, scenario, records, previous, rows, trace.end is not None)
        previous = records
    check_end(check, trace, rows, train)
    return traced


def check_step(check, checker: steps.StepChecker, scenario, records, previous, rows, complete):
    step, network = records.step, checker.network
    if previous is not None and previous.step != step - 1:
        previous = None
    if previous is None and step > 0:
        check.skip(NOT_TRACED)
    lr = records.info.get("lr") if records.info else None
    keys = network.all_keys()
    # the parameters the forward pass used: the updates' before, or what the step before left
    used = {key: u.before for key, u in records.updates.items()}
    if previous is not None:
        checker.check_continuity(
            records.updates, previous.updates, f"before = the after of step {previous.step}"
        )
        for key in keys:
            if key not in used and key in previous.updates:
                used[key] = previous.updates[key].after
        states = {key: u.state for key, u in previous.updates.items()}
        forward_before = previous.forward
    else:
        first = step == 0
        states = {key: {} for key in keys} if first else None
        forward_before = {} if first else None
    if step == 0:
        check_initial_values(check, network, records)
    passes = checker.layer_passes(records, used, forward_before)
    x, y = data_batch(scenario, records)
    checker.check_forward(passes, x, "x = the data's batch")
    if passes and records.info is not None and "batch_size" in records.info:
        check_batch_size(check, records.step, records.info["batch_size"], passes[0].forward)
    if y is not None:
        check_target(check, scenario, records, y)
    grad = checker.check_loss(records, passes)
    checker.check_backward(passes, grad)
    grads = checker.check_clip(records, checker.gradients(passes))
    checker.check_updates(records.updates, states, grads, lr)
    check_scalars(check, network, records, passes, rows.get(step), lr, complete)


# --- data and initial values ------------------------------------------------------------


def check_batch_size(check: Checker, step: int, batch_size, values: dict, phase=None) -> None:
    """The step record's batch size is the number of rows of the first layer's x."""
    x = values.get("x")
    if x is not None and len(x.shape) == 2:
        check.holds(
            Place(step, "step record", phase),
            "batch_size",
            batch_size == x.shape[0],
            batch_size,
            x.shape[0],
            "the rows of the first layer's x",
        )


def data_batch(scenario: dict, records: steps.StepRecords):
    """(x, y) of the step's batch when the header holds the data (inline, no split)."""
    data, train = scenario.get("data") or {}, scenario.get("train") or {}
    if data.get("type") != "inline" or train.get("validation_split") or records.info is None:
        return None, None
    batch = records.info.get("batch")
    x, y = np.asarray(data["x"], dtype=np.float64), np.asarray(data["y"], dtype=np.float64)
    if batch is not None:
        x, y = x[batch], y[batch]
    return x, y


def prepared_target(loss: dict, y: np.ndarray, classes: int) -> np.ndarray:
    """The target the loss compares with: one-hot rows for cross_entropy given class
    indices, ±1 for hinge given 0/1 labels, the data's y otherwise."""
    kind = loss.get("type")
    if kind == "cross_entropy" and y.shape[1] == 1 and classes > 1:
        return np.eye(classes)[y[:, 0].astype(np.int64)]
    if kind == "hinge":
        return np.where(y == 0, -1.0, y)
    return y


def check_target(check: Checker, scenario: dict, records, y: np.ndarray) -> None:
    if records.loss is None:
        return
    target = decode(records.loss.get("target"))
    if isinstance(target, np.ndarray) and target.ndim == 2:
        expected = prepared_target(scenario.get("loss") or {}, y, target.shape[1])
        place = Place(records.step, f"loss {(scenario.get('loss') or {}).get('type')}")
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


def check_scalars(check: Checker, network, records, passes, row, lr, complete=True) -> None:
    place = Place(records.step, "scalars")
    if row is None:
        if records.updates and complete:  # a finished step of a whole trace has its scalars
            check.fail(place, "scalars", "missing", "a row for this step")
        return
    if lr is not None and "lr" in row:
        check.compare(place, "lr", steps.number(row["lr"]), lr, "the scalars' lr is the step's")
    if records.loss is not None and "loss" in row:
        check.compare(
            place,
            "loss",
            steps.number(row["loss"]),
            steps.number(records.loss.get("value")),
            "the scalars' loss is the loss record's value",
        )
    for name, norm in steps.layer_norms(passes, network).items():
        column = f"grad_norm.{name}"
        if column not in row:
            continue
        if norm is None:
            check.skip(SUMMARIZED, quantity=column)
            continue
        check.compare(place, column, steps.number(row[column]), norm, "‖dL/dθ‖ of the layer")


def check_end(check: Checker, trace: Trace, rows: dict, train: dict, loss="loss") -> None:
    """The end record's step count and final loss against the scalars."""
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
    if not rows:
        return
    last = rows[max(rows)]
    final = end.get("final_loss")
    if final is not None and loss in last:
        check.compare(
            place,
            "final_loss",
            steps.number(final),
            steps.number(last[loss]),
            f"the last step's {loss}",
        )
    for name, value in (end.get("metrics") or {}).items():
        if name in last and isinstance(value, (int, float)):
            check.compare(
                place,
                f"metrics.{name}",
                steps.number(value),
                steps.number(last[name]),
                "the last step's measurement",
            )


#: A traced supervised step, in the order the loop (``plugins.supervised.loop``) writes it:
#: the step record, the forward pass layer by layer, the loss, the backward pass last layer
#: first, the clip record (when gradients were rescaled), one update per parameter.
RECORD_ORDER = RecordOrder(
    [
        Slot("step", required=True),
        Slot("forward", required=True, each="layer"),
        Slot("loss", required=True),
        Slot("backward", required=True, each="layer_reversed"),
        Slot("clip"),
        Slot("update", required=True, each="param"),
    ]
)


@hookimpl
def tracegrad_register_trace_checks(register):
    register("supervised", verify_supervised)


@hookimpl
def tracegrad_register_rules(register):
    register("record_order", "supervised", RECORD_ORDER)
