"""Parameter updates of a traced step: the optimizer's rule, then its numbers.

An update record holds ``before``, ``grad`` (after any clipping), ``applied`` (= after -
before), ``after``, the optimizer's ``state`` after the step and ``lr``. A rule is written
out with numbers only when the record's own values satisfy it (to 1e-9 relative), so the
text never claims a rule the numbers do not follow; otherwise the values are shown as a
table next to the optimizer's documented rule.
"""

from __future__ import annotations

import inspect

import numpy as np

from engine.i18n import _
from engine.report.document import Code, Equations, Section, Table, Text
from engine.report.numbers import (
    array,
    factor,
    fmt,
    statistics_table,
    sub,
    whole,
)
from engine.trace.reader import Trace

#: Parameters with at most this many numbers get one line per entry.
SPELLED_ENTRIES = 16


def updates_section(trace: Trace, records: list[dict], where: str) -> Section:
    first = records[0]
    title = _("Parameter updates")
    if first.get("network"):
        title = _("Parameter updates of {network}").format(network=first["network"])
    section = Section(title, id=where)
    rule = documented_rule(first["optimizer"])
    section.add(
        Text(
            _(
                "Optimizer {optimizer} with learning rate lr = {lr}. Each parameter p moves "
                "against "
                "its gradient g = ∂L/∂p."
            ).format(optimizer=first["optimizer"], lr=fmt(first["lr"]))
        )
    )
    if rule:
        section.add(Code(rule))
    for record in records:
        section.add(parameter_update(record, trace, where))
    return section


def documented_rule(optimizer: str) -> str | None:
    """The update rule from the optimizer's docstring (its indented formula block)."""
    from engine.report.compose import registry

    component = registry().components["optimizers"].get(optimizer)
    if component is None:
        return None
    doc = inspect.cleandoc(component.implementation.__doc__ or "")
    lines = [line[4:] for line in doc.split("\n") if line.startswith("    ")]
    return "\n".join(lines) or None


def parameter_update(record: dict, trace: Trace, where: str) -> Section:
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
    rule = _matching_rule(record, before, grad, applied, state, lr, trace)
    if rule is None:
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
    text, line = rule
    section.add(Text(text))
    section.add(Equations([line(name, index) for index in np.ndindex(before.shape)]))
    return section


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


def _close(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.allclose(a, b, rtol=1e-9, atol=1e-15))


def _matching_rule(record, before, grad, applied, state, lr, trace):
    """(explanation, line(name, index)) for the first rule the numbers satisfy, or None."""
    after = before + applied
    if _close(applied, -lr * grad):

        def plain(name, i):
            return (
                f"{name}{sub(*i)} ← {name}{sub(*i)} − lr·g = {fmt(before[i])} − {fmt(lr)} × "
                f"{factor(grad[i])} = {fmt(after[i])}"
            )

        return _("Plain gradient descent: p ← p − lr·g."), plain
    velocity = state.get("velocity")
    if (
        isinstance(velocity, np.ndarray)
        and velocity.shape == before.shape
        and _close(applied, -lr * velocity)
    ):

        def momentum(name, i):
            return (
                f"{name}{sub(*i)} ← {name}{sub(*i)} − lr·b = {fmt(before[i])} − {fmt(lr)} × "
                f"{factor(velocity[i])} = {fmt(after[i])}"
            )

        text = _(
            "Momentum: p moves along the velocity b (a running sum of gradients), p ← p − lr·b."
        )
        return text, momentum
    m_hat, v_hat = state.get("m_hat"), state.get("v_hat")
    eps = _optimizer_setting(trace, record, "eps")
    if (
        m_hat is not None
        and v_hat is not None
        and eps is not None
        and _close(applied, -lr * m_hat / (np.sqrt(v_hat) + eps))
    ):

        def adam(name, i):
            m, v = (x[i] if np.ndim(x) else x for x in (m_hat, v_hat))
            return (
                f"{name}{sub(*i)} ← {name}{sub(*i)} − lr·m̂/(√v̂ + ε) = {fmt(before[i])} − "
                f"{fmt(lr)} × {factor(m)} / (√{fmt(v)} + {fmt(eps)}) = {fmt(after[i])}"
            )

        text = _(
            "Adam: the step is the bias-corrected average gradient m̂ divided by the root of "
            "the bias-corrected average squared gradient v̂, p ← p − lr·m̂/(√v̂ + ε)."
        )
        return text, adam
    return None


def _optimizer_setting(trace: Trace, record: dict, name: str):
    """A setting of the optimizer that made this update (a GAN has one per network)."""
    optimizer = (trace.header.get("scenario") or {}).get("optimizer")
    if isinstance(optimizer, dict) and "type" not in optimizer:
        network = {"G": "generator", "D": "discriminator"}.get(record.get("network"), "")
        optimizer = optimizer.get(network)
    if isinstance(optimizer, dict) and isinstance(optimizer.get(name), (int, float)):
        return float(optimizer[name])
    return None
