"""The claims of a GAN step as a whole: its step record and its per-step scalars.

- the step record: as many traced D updates as its d_steps (the d_steps_schedule's number,
  when that trick is on) and G updates as its g_steps; lr = D's lr; the batch size is the
  rows of every first layer's x;
- the scalars of a traced step: lr.D, lr.G and d_steps as the step record; d_loss and g_loss
  the losses of the last D and G update; D(x) and D(G(z)) the mean of D's output (σ(l) for
  the losses read as probabilities) on the last D update's real and fake batches;
  grad_norm.D and grad_norm.G the norms of the last updates' gradients; instance_noise.std
  σ₀·max(0, 1 - t/T).
"""

from __future__ import annotations

import math

import numpy as np

from engine.verify import steps
from engine.verify.report import Place
from plugins.rules.gan.losses import score
from plugins.rules.supervised import check_batch_size


def check_step(verifier, step: int, groups: list, row: dict | None, complete: bool) -> None:
    """The step record (d_steps, g_steps, lr, batch size) and the step's scalars."""
    check, info = verifier.check, verifier.infos[step]
    place = Place(step, "scalars")
    d_groups = [g for g in groups if g.phase == "d"]
    g_groups = [g for g in groups if g.phase == "g"]
    d_steps = info.get("d_steps")
    check.holds(
        Place(step, "step record"),
        "D updates",
        len(d_groups) == d_steps,
        len(d_groups),
        d_steps,
        "one traced D update per d_steps",
    )
    if "g_steps" in info:
        check.holds(
            Place(step, "step record"),
            "G updates",
            len(g_groups) == info["g_steps"],
            len(g_groups),
            info["g_steps"],
            "one traced G update per g_steps",
        )
    if "lr" in info and "lr.D" in info:
        check.compare(Place(step, "step record"), "lr", info["lr"], info["lr.D"], "lr = D's lr")
    for group in groups:
        for records in group.passes.values():
            if 0 in records.forward and "batch_size" in info:
                first = steps.decode_all(records.forward[0].get("values"))
                rows = info["batch_size"]
                if records.forward[0].get("network") == "D":
                    if verifier.rules.unknown_in(group, "d_input"):
                        continue  # D's input changed by a trick with no rule (unchecked)
                    rows = verifier.rules.d_rows(rows)
                check_batch_size(check, step, rows, first, group.label())
    if d_steps is not None:
        wanted, known = verifier.rules.d_steps(step, verifier.train.get("d_steps", 1))
        if known or d_steps == wanted:
            check.holds(
                Place(step, "step record"),
                "d_steps",
                d_steps == wanted,
                d_steps,
                wanted,
                "train.d_steps, or the tricks' schedule",
            )
        else:
            check.unchecked(
                f"no rule for trick '{verifier.rules.unknown()[0]}': the number of D updates "
                f"{d_steps} (train.d_steps {wanted})"
            )
    if row is None:
        if complete and g_groups:
            check.fail(place, "scalars", "missing", "a row for this step")
        return
    for name in ("lr.D", "lr.G", "d_steps"):
        if name in row and name in info:
            check.compare(place, name, steps.number(row[name]), info[name], "the step record")
    for name, value in verifier.rules.scalars(step).items():
        if name in row:
            check.compare(place, name, steps.number(row[name]), value, "the trick's rule")
    if d_groups:
        check_d_scalars(verifier, place, d_groups[-1], row)
    if g_groups:
        check_g_scalars(verifier, place, g_groups[-1], row)


def check_d_scalars(verifier, place: Place, group, row: dict) -> None:
    check = verifier.check
    record = group.other.get("gan_loss")
    if record is not None and "d_loss" in row:
        check.compare(
            place,
            "d_loss",
            steps.number(row["d_loss"]),
            steps.number(record.get("value")),
            "L_D of D's last update",
        )
    for batch, column in (("real", "D(x)"), ("fake", "D(G(z))")):
        logits = group.other.get("logits", {}).get(batch)
        if column in row and check.whole(column, logits):
            check.compare(
                place,
                column,
                steps.number(row[column]),
                float(np.mean(score(verifier.loss, logits))),
                f"mean D output on the {batch} batch of D's last update",
            )
    check_norm(verifier, place, "grad_norm.D", group, row)


def check_g_scalars(verifier, place: Place, group, row: dict) -> None:
    records = group.passes.get(("D", "fake"))
    g_loss = group.other.get("gan_loss")
    if g_loss is not None and "g_loss" in row:  # tricks added terms to G's loss
        verifier.check.compare(
            place,
            "g_loss",
            steps.number(row["g_loss"]),
            steps.number(g_loss.get("value")),
            "L_G of G's last update (with the tricks' terms)",
        )
    elif records is not None and records.loss is not None and "g_loss" in row:
        verifier.check.compare(
            place,
            "g_loss",
            steps.number(row["g_loss"]),
            steps.number(records.loss.get("value")),
            "L_G of G's last update",
        )
    check_norm(verifier, place, "grad_norm.G", group, row)


def check_norm(verifier, place: Place, column: str, group, row: dict) -> None:
    grads = [u.grad for u in group.updates.values()]
    if column not in row or not grads:
        return
    if verifier.check.whole(column, *grads):
        norm = math.sqrt(sum(float(np.sum(g * g)) for g in grads))
        verifier.check.compare(
            place, column, steps.number(row[column]), norm, "‖dL/dθ‖ of the last update"
        )
