"""Parameter updates of a traced step: the optimizer's rule, then its numbers.

An update record holds ``before``, ``grad`` (after any clipping), ``applied`` (= after -
before), ``after``, the optimizer's ``state`` after the step and ``lr``. The optimizer says how
it updates through its contract (``engine.components.Optimizer``): ``update_rule`` is shown
above the numbers, and ``worked_update(entry)`` writes one entry's update with its numbers.
Those lines are shown only when every entry's worked value is the value the record holds
after the step (to 1e-9 relative), so the text never claims a rule the numbers do not follow;
otherwise the values are shown as a table next to the rule.
"""

from __future__ import annotations

import numpy as np

from engine.components import UpdateEntry
from engine.i18n import _
from engine.listing import component_summary
from engine.report.document import Code, Equations, Section, Table, Text
from engine.report.numbers import array, fmt, statistics_table, sub, whole
from engine.trace.reader import Trace

#: Parameters with at most this many numbers get one line per entry.
SPELLED_ENTRIES = 16


def updates_section(trace: Trace, records: list[dict], where: str) -> Section:
    first = records[0]
    title = _("Parameter updates")
    if first.get("network"):
        title = _("Parameter updates of {network}").format(network=first["network"])
    section = Section(title, id=where)
    component = _component(first["optimizer"])
    section.add(
        Text(
            _(
                "Optimizer {optimizer} with learning rate lr = {lr}. Each parameter p moves "
                "against "
                "its gradient g = ∂L/∂p."
            ).format(optimizer=first["optimizer"], lr=fmt(first["lr"]))
        )
    )
    if component is not None:
        section.add(Text(component_summary(component)))
    rule = getattr(component.implementation, "update_rule", "") if component else ""
    if rule:
        section.add(Code(rule))
    optimizer = _optimizer(component, trace, first)
    for record in records:
        section.add(parameter_update(record, optimizer, where))
    return section


def _component(name: str):
    from engine.report.compose import active_registry

    return active_registry().components["optimizers"].get(name)


def _optimizer(component, trace: Trace, record: dict):
    """The optimizer that made ``record``, rebuilt from the trace header's config (for its
    ``worked_update``), or None when it cannot be."""
    config = _optimizer_config(trace, record)
    if component is None or config is None:
        return None
    try:
        return component.create(component.config.model_validate(config))
    except Exception:  # noqa: BLE001 - a plugin's config or constructor: no worked numbers
        return None


def parameter_update(record: dict, optimizer, where: str) -> Section:
    key = record["param"]
    name = key.rpartition(".")[2]
    before, grad, applied, after = (
        array(record[k]) for k in ("before", "grad", "applied", "after")
    )
    state = {k: array(v) for k, v in (record.get("state") or {}).items()}
    lr = float(record["lr"])
    section = Section(key, id=f"{where}-{key}")
    arrays = {"before": before, "g": grad, "applied": applied, "after": after, **state}
    if not whole(before, grad, applied, after) or before.size > SPELLED_ENTRIES:
        section.add(statistics_table(arrays), _ratio(before, applied))
        return section
    lines = _worked_lines(optimizer, name, before, grad, after, state, lr)
    if lines is None:
        rows = []
        for index in np.ndindex(before.shape):
            cells = [fmt(a[index]) for a in (before, grad, applied, after)]
            extra = [
                fmt(v[index]) if isinstance(v, np.ndarray) and v.shape == before.shape else ""
                for v in state.values()
            ]
            rows.append([f"{name}{sub(*index)}", *cells, *extra])
        columns = [_("entry"), _("before"), "g", _("applied"), _("after"), *state]
        section.add(Table(columns, rows))
        return section
    section.add(Equations(lines))
    return section


def _worked_lines(optimizer, name, before, grad, after, state, lr) -> list[str] | None:
    """Every entry's ``worked_update`` text, or None unless each arrives at its traced value."""
    if optimizer is None:
        return None
    lines = []
    for index in np.ndindex(before.shape):
        entry = UpdateEntry(
            f"{name}{sub(*index)}",
            float(before[index]),
            float(grad[index]),
            lr,
            {key: _entry_of(value, index, before.shape) for key, value in state.items()},
        )
        try:
            worked = optimizer.worked_update(entry)
        except Exception:  # noqa: BLE001 - a plugin's worked form that fails: the table
            return None
        if worked is None or not _close(worked.value, after[index]):
            return None
        lines.append(worked.text)
    return lines


def update_optimizer(trace: Trace, record: dict):
    """The optimizer that made update ``record``, rebuilt from the trace's header (for its
    ``worked_update``); None when it cannot be."""
    return _optimizer(_component(record.get("optimizer", "")), trace, record)


def worked_entry(optimizer, record: dict, name: str, index: tuple, p, g, after) -> str | None:
    """Entry ``index`` of update ``record`` written by the optimizer's ``worked_update``
    (``v₁₁ ← μ·v₁₁ + g = ...``), or None unless its value is the traced ``after``."""
    if optimizer is None or p is None or g is None or after is None or "lr" not in record:
        return None
    shape = np.shape(array(record["before"]))
    state = {
        key: _entry_of(array(value), index, shape)
        for key, value in (record.get("state") or {}).items()
    }
    try:
        entry = UpdateEntry(name, float(p), float(g), float(record["lr"]), state)
        worked = optimizer.worked_update(entry)
    except Exception:  # noqa: BLE001 - a plugin's worked form that fails: no worked line
        return None
    if worked is None or not _close(worked.value, after):
        return None
    return worked.text


def _entry_of(value, index: tuple, shape: tuple):
    """A state value cut to one entry: an array of the parameter's shape gives its number,
    a 0-d array a float; anything else as it is."""
    if isinstance(value, np.ndarray):
        if value.shape == shape:
            return float(value[index])
        if value.ndim == 0:
            return float(value)
    return value


def _ratio(before, applied) -> Text | None:
    """‖applied‖ / ‖before‖: the relative size of the step (about 1e-3 is often healthy)."""
    try:
        norm_before = before.l2 if hasattr(before, "l2") else float(np.linalg.norm(before))
        norm_step = applied.l2 if hasattr(applied, "l2") else float(np.linalg.norm(applied))
    except (TypeError, ValueError):
        return None
    if not norm_before:
        return None
    return Text(
        _("The step changed the parameter by ‖applied‖ / ‖before‖ = {fmt} of its size.").format(
            fmt=fmt(norm_step / norm_before)
        )
    )


def _close(a, b) -> bool:
    return bool(np.allclose(a, b, rtol=1e-9, atol=1e-15))


def _optimizer_config(trace: Trace, record: dict) -> dict | None:
    """The config of the optimizer that made this update (a GAN has one per network)."""
    optimizer = (trace.header.get("scenario") or {}).get("optimizer")
    if isinstance(optimizer, dict) and "type" not in optimizer:
        network = {"G": "generator", "D": "discriminator"}.get(record.get("network"), "")
        optimizer = optimizer.get(network)
    return optimizer if isinstance(optimizer, dict) else None
