"""The walkthrough of one traced step: forward pass, loss, backward pass as the chain rule,
parameter updates, with the trace's numbers.

Shared by every output: the HTML and Markdown reports and ``tracegrad show`` render the same
sections. For a small dense layer (a few inputs and units) every scalar derivative is
written out the way a hand derivation is, e.g. for unit 1 of layer "output":

    ∂L/∂W₁₁ = ∂L/∂a₁ · ∂a₁/∂z₁ · ∂z₁/∂W₁₁ = 0.741365 × 0.186816 × 0.59327 = 0.082167

(indices start at 1: W₁₂ joins input 1 to unit 2, W[0][1] in the trace). For a batch of N
samples each derivative of a parameter is a sum of N such products, one per sample. Larger
layers get the matrix form with shapes and summary statistics (``chain``).

The step's records are read in file order: a run of forward records becomes "Forward
pass", a loss record "Loss", a run of backward records "Backward pass", a run of update
records "Parameter updates"; other records (clipping, a GAN's labels and tricks, ...) are
told in place (``records``). A GAN step has a D phase and a G phase, each its own section.
"""

from __future__ import annotations

from collections import Counter
from itertools import groupby

import numpy as np

from engine.i18n import N_, _, ngettext
from engine.report import chain, records, substitute, updates
from engine.report.document import Equations, Section, Text
from engine.report.layers import (
    activation_config,
    activation_formula,
    activation_name,
    derivative_formula,
    describe,
)
from engine.report.numbers import array, factor, fmt, shape_of, sub, values_table, whole
from engine.trace.reader import Trace

PHASES = {
    "d": N_("D phase: the discriminator learns"),
    "g": N_("G phase: the generator learns through the frozen D"),
}
RUNS = ("forward", "backward", "update")
#: A phase repeated more often in one step (e.g. 100 D updates) shows its first and last.
MAX_UPDATES = 3


def step_section(trace: Trace, step: int, layer: str | None = None) -> Section:
    """The walkthrough of traced step ``step`` (only layer ``layer`` when given)."""
    step_records = trace.step_records(step)
    info = next((r for r in step_records if r["type"] == "step"), None)
    body = [r for r in step_records if r["type"] != "step"]
    section = Section(_("Step {step}").format(step=step), id=f"step-{step}")
    told: set[str] = set()  # explanations given once per step
    if info is not None:
        section.add(Text(step_intro(info)))
    groups = [
        (key, list(group))
        for key, group in groupby(body, key=lambda r: (r.get("phase"), r.get("update")))
    ]
    repeats = Counter(phase for (phase, _update), _group in groups)
    for (phase, update), group in groups:
        target = section
        if phase is not None:
            target = phase_section(step, phase, update or 0, repeats[phase])
            if target is None:
                continue
            section.add(target)
        prefix = target.id + "-"
        target.blocks.extend(segments(trace, group, step_records, layer, prefix, told))
    return section


def phase_section(step: int, phase: str, update: int, repeats: int) -> Section | None:
    """The section of one update of a phase (a GAN's D or G phase); None for an update left
    out because the phase ran more than MAX_UPDATES times (the first and last are shown)."""
    many = repeats > MAX_UPDATES
    if many and update not in (0, repeats - 1):
        return None
    title = _(PHASES[phase]) if phase in PHASES else _("{phase} phase").format(phase=phase)
    if repeats > 1:
        title = _("{title} (update {number} of {repeats})").format(
            title=title, number=update + 1, repeats=repeats
        )
    section = Section(title, id=f"step-{step}-{phase}-{update}")
    if many and update == 0:
        section.add(
            Text(
                _(
                    "This phase ran {repeats} times in step {step}; the first and the last are "
                    "shown (the trace holds them all)."
                ).format(repeats=repeats, step=step)
            )
        )
    return section


def step_intro(info: dict) -> str:
    batch = info.get("batch_size")
    text = _("Learning rate lr = {lr}").format(lr=fmt(info["lr"]))
    if "lr.G" in info and "lr.D" in info:
        text = _("Learning rates: D {d}, G {g}").format(d=fmt(info["lr.D"]), g=fmt(info["lr.G"]))
        if info.get("d_steps", 1) != 1:
            text += _("; D is updated {d_steps} times, then G {g_steps}").format(
                d_steps=info["d_steps"], g_steps=info.get("g_steps", 1)
            )
    if batch is not None:
        text += ngettext("; a batch of {n} sample", "; a batch of {n} samples", batch).format(
            n=batch
        )
    if info.get("batch") is not None:
        rows = info["batch"]
        shown = ", ".join(str(i) for i in rows[:8])
        if len(rows) > 8:
            text += _(" (data rows {shown}, … {count} rows)").format(shown=shown, count=len(rows))
        else:
            text += _(" (data rows {shown})").format(shown=shown)
    return text + _(".")


def segments(trace: Trace, group: list[dict], step_records, layer, prefix: str, told) -> list:
    """The blocks of one phase: runs of forward/backward/update records become sections."""
    blocks: list = []
    kinds = groupby(group, key=lambda r: r["type"] if r["type"] in RUNS else id(r))
    for number, (_kind, run) in enumerate(kinds):
        run = list(run)
        kind, first = run[0]["type"], run[0]
        chosen = [r for r in run if kind in RUNS and (layer is None or _has_layer(r, layer))]
        where = f"{prefix}{kind}-{number}"
        if kind == "forward" and chosen:
            blocks.append(forward_pass(trace, chosen, step_records, where, told))
        elif kind == "backward" and chosen:
            blocks.append(backward_pass(trace, chosen, group, step_records, where, told))
        elif kind == "update" and chosen:
            blocks.append(updates.updates_section(trace, chosen, where))
        elif kind == "loss" and (layer is None or _loss_follows(group, first, layer)):
            blocks.append(loss_section(first, where, trace.header))
        elif kind not in (*RUNS, "loss") and layer is None:
            blocks.extend(records.blocks(first))
    return blocks


def _has_layer(record: dict, layer: str) -> bool:
    if record["type"] == "update":
        return record["param"].rpartition(".")[0] in (layer, _qualified(record, layer))
    return layer in (record["layer"], layer_label(record))


def _qualified(record: dict, layer: str) -> str:
    network = record.get("network")
    return f"{network}.{layer}" if network else layer


def _loss_follows(group: list[dict], loss: dict, layer: str) -> bool:
    """True when the loss comes right after a forward record of ``layer`` (the last one)."""
    index = _position(group, loss)
    before = [r for r in group[:index] if r["type"] == "forward"]
    return bool(before) and _has_layer(before[-1], layer)


def _position(records: list[dict], record: dict) -> int:
    """The index of this very record (records can be equal without being the same)."""
    return next(i for i, candidate in enumerate(records) if candidate is record)


def layer_label(record: dict) -> str:
    """The layer's name as the reader sees it: "D.dense0" in a GAN, "hidden" otherwise."""
    network, name = record.get("network"), record["layer"]
    return f"{network}.{name}" if network and not name.startswith(f"{network}.") else name


def _pass_title(base: str, record: dict) -> str:
    parts = []
    if record.get("network"):
        parts.append(_("through {record}").format(record=record["network"]))
    if record.get("batch"):
        parts.append(_("({record} batch)").format(record=_(record["batch"])))
    return " ".join([base, *parts])


# --- forward ---------------------------------------------------------------------------------


def forward_pass(trace: Trace, run: list[dict], step_records, where: str, told) -> Section:
    section = Section(_pass_title(_("Forward pass"), run[0]), id=where)
    if "forward" not in told:
        told.add("forward")
        section.add(
            Text(
                _(
                    "Each layer takes the previous layer's output as its input x. Numbers are "
                    "rounded to 6 significant digits; indices start at 1 (W₁₂ joins input 1 "
                    "to unit 2)."
                )
            )
        )
    for record in run:
        label = layer_label(record)
        values = {name: array(value) for name, value in record["values"].items()}
        part = Section(
            _("Layer {label} ({describe})").format(label=label, describe=describe(trace, record)),
            id=f"{where}-{label}",
        )
        if record.get("formula"):
            part.add(Text(f"`{record['formula']}`"))
        own = activation_formula(activation_name(trace, record))
        if own and own != record.get("formula"):  # a dense layer's f is an activation's
            part.add(Text(f"f is {activation_name(trace, record)}: `{own}`"))
        part.add(values_table(values))
        flat = len(shape_of(values.get("x"))) == 2
        if flat and "z" in values and whole(values["x"], values["z"]):
            params = params_in_step(step_records, record)
            part.add(dense_forward(values, params, activation_name(trace, record)))
        if record.get("worked"):  # image layers: one value written out with numbers
            part.add(Equations([record["worked"]]))
        section.add(part)
    return section


def dense_forward(values: dict, params: dict, activation: str | None) -> Equations | None:
    """z_j = Σ_i x_i·W_ij + b_j and a_j = f(z_j), unit by unit, for the first sample."""
    x, z, a = values["x"], values["z"], values.get("a")
    W, b = params.get("W"), params.get("b")
    small = x.ndim == 2 and x.shape[1] <= chain.SMALL_UNITS and z.shape[1] <= chain.SMALL_UNITS
    if not small or not isinstance(W, np.ndarray) or W.shape != (x.shape[1], z.shape[1]):
        return None
    lines = (
        [_("sample 1 of {count} (the table above has them all):").format(count=len(x))]
        if len(x) > 1
        else []
    )
    for j in range(z.shape[1]):
        symbols = " + ".join(f"x{sub(i)}·W{sub(i, j)}" for i in range(x.shape[1]))
        numbers = " + ".join(f"{factor(x[0, i])} × {factor(W[i, j])}" for i in range(x.shape[1]))
        if isinstance(b, np.ndarray):
            symbols += f" + b{sub(j)}"
            numbers += f" + {factor(b[j])}"
        lines.append(f"z{sub(j)} = {symbols} = {numbers} = {fmt(z[0, j])}")
        if isinstance(a, np.ndarray) and elementwise(activation):
            f = activation or "f"
            lines.append(f"a{sub(j)} = {f}(z{sub(j)}) = {f}({fmt(z[0, j])}) = {fmt(a[0, j])}")
    if isinstance(a, np.ndarray) and not elementwise(activation):
        # softmax and the like: every output depends on every z of the sample
        units = range(z.shape[1])
        zs = ", ".join(f"z{sub(j)}" for j in units)
        outputs = ", ".join(f"a{sub(j)}" for j in units)
        values = ", ".join(fmt(a[0, j]) for j in units)
        lines.append(f"({outputs}) = {activation}({zs}) = ({values})")
    return Equations(lines)


def elementwise(activation: str | None) -> bool:
    """True unless the activation mixes a sample's units (its derivative is a Jacobian)."""
    formula = derivative_formula(activation)
    return formula is None or formula.startswith("f'")


def params_in_step(step_records: list[dict], forward: dict) -> dict:
    """The layer's parameters as its forward pass used them: the "before" of its update in
    the same phase, else the "after" of its last update earlier in the step."""
    owner = forward["layer"]
    same = (forward.get("phase"), forward.get("update"))
    position = _position(step_records, forward)
    values: dict = {}
    for index, record in enumerate(step_records):
        if record["type"] != "update" or record["param"].rpartition(".")[0] != owner:
            continue
        name = record["param"].rpartition(".")[2]
        if (record.get("phase"), record.get("update")) == same and index > position:
            values.setdefault(name, array(record["before"]))
        elif index < position:
            values[name] = array(record["after"])
    return values


# --- loss ------------------------------------------------------------------------------------


def loss_section(record: dict, where: str, header: dict | None = None) -> Section:
    """The loss of one pass; the trace ``header`` gives the loss's config (for the formula
    with its numbers) and, in a GAN, what D's output is."""
    header = header or {}
    prediction, target = array(record["prediction"]), array(record["target"])
    grad = array(record["dL/dprediction"])
    title = _("Loss: {loss}").format(loss=record["loss"])
    if record.get("batch"):
        title += " " + _("({record} batch)").format(record=_(record["batch"]))
    section = Section(title, id=where)
    section.add(Text(f"`{record['formula']}`"))
    loss = (header.get("scenario") or {}).get("loss")
    substituted = substitute.loss_lines(loss, record, prediction, target, grad)
    if record.get("term"):
        section.add(
            Text(
                _("This term: `{record}` = {fmt}.").format(
                    record=record["term"], fmt=fmt(record["value"])
                )
            )
        )
    elif substituted:
        section.add(Equations(substituted[0]))
    else:
        section.add(Text(f"L = {fmt(record['value'])}."))
    if record.get("network"):  # a GAN: the loss is written in D's verdict, the table in l
        section.add(
            Text(
                _(
                    "l is D's logit, the raw output of its last layer (no activation); the "
                    "formula is written in D's verdict {verdict}. y are the labels."
                ).format(verdict=_verdict(header))
            ),
            values_table({"l": prediction, "y": target, "dL/dl": grad}),
        )
    else:
        section.add(
            Text(_("The predictions ŷ are the last layer's output a; y are the targets.")),
            values_table({"ŷ": prediction, "y": target, "dL/dŷ": grad}),
        )
    if record.get("note"):
        section.add(Text(_("Note: {record}.").format(record=record["note"])))
        section.add(
            Text(
                _(
                    "The loss and the last layer's activation are differentiated together, so "
                    "∂L/∂ŷ above is already ∂L/∂z of the last layer."
                )
            )
        )
    else:
        section.add(
            Text(
                _(
                    "∂L/∂l, the loss's derivative with respect to each logit, starts the "
                    "chain rule: it is ∂L/∂a of the last layer."
                )
                if record.get("network")
                else _(
                    "∂L/∂ŷ, the loss's derivative with respect to each prediction, starts the "
                    "chain rule: it is ∂L/∂a of the last layer."
                )
            )
        )
    if substituted and grad.shape[1] <= chain.SMALL_UNITS:
        section.add(Equations(substituted[1]))
    elif whole(grad) and grad.ndim == 2 and len(grad) == 1 and grad.shape[1] <= chain.SMALL_UNITS:
        name = "l" if record.get("network") else "ŷ"
        lines = [f"∂L/∂{name}{sub(j)} = {fmt(grad[0, j])}" for j in range(grad.shape[1])]
        section.add(Equations(lines))
    return section


def _verdict(header: dict) -> str:
    """How D's verdict is made from its logit l (the header's loss says which)."""
    if (header.get("loss") or {}).get("output", "probability") == "probability":
        return 'D(x) = σ(l), its probability of "real"'
    return "D(x) = l, a score (no sigmoid)"


# --- backward --------------------------------------------------------------------------------


def backward_pass(trace: Trace, run, group, step_records, where, told) -> Section:
    title = _("{title}: the chain rule").format(title=_pass_title(_("Backward pass"), run[0]))
    section = Section(title, id=where)
    if "backward" not in told:
        told.add("backward")
        section.add(
            Text(
                _(
                    "The gradient flows from the loss back towards the input. Each layer "
                    "receives ∂L/∂a, the derivative of the loss with respect to its output, and "
                    "hands ∂L/∂x to the layer before it, where it becomes that layer's ∂L/∂a."
                )
            )
        )
    if run[0].get("frozen"):
        section.add(
            Text(
                _(
                    "{network} is frozen in this phase: its ∂L/∂W and ∂L/∂b are computed on the "
                    "way through but never applied; only ∂L/∂x travels on."
                ).format(network=run[0].get("network", _("This network")))
            )
        )
    for record in run:
        section.add(layer_backward(trace, record, group, step_records, where))
    return section


def layer_backward(trace: Trace, record: dict, group, step_records, where: str) -> Section:
    label = layer_label(record)
    values = {name: array(value) for name, value in record["values"].items()}
    part = Section(_("Layer {label}").format(label=label), id=f"{where}-{label}")
    forward = _matching_forward(group, record)
    if record.get("note"):
        part.add(
            Text(_("∂L/∂z comes straight from the loss ({record}).").format(record=record["note"]))
        )
    elif "dL/dz" in values and "dL/da" not in values:
        part.add(
            Text(
                _("∂L/∂z comes from {upstream} (no activation: a = z).").format(
                    upstream=upstream(group, record)
                )
            )
        )
    else:
        part.add(Text(_("∂L/∂a comes from {upstream}.").format(upstream=upstream(group, record))))
    x = None if forward is None else array(forward["values"].get("x"))
    if x is not None and len(shape_of(x)) != 2:  # images: the arrays, and one worked value
        part.add(values_table(values))
        if record.get("worked"):
            part.add(Equations(record["worked"].split("; ")))
    elif "dL/dW" in values and "dL/dz" in values and x is not None:
        activation = activation_name(trace, record)
        formula = derivative_formula(activation)
        if formula and "f'(z)" in values:
            part.add(
                Text(
                    _("For {activation}, `{formula}`.").format(
                        activation=activation, formula=formula
                    )
                )
            )
        W = params_in_step(step_records, forward).get("W")
        rule = _local_rule(activation_config(trace, record), forward, values)
        part.blocks.extend(chain.dense_backward(values, x, W, rule))
    elif "dL/da" in values and "dL/dx" in values:
        part.blocks.extend(chain.elementwise_backward(values))
    else:
        part.add(values_table(values))
    if record.get("index") == 0 and "dL/dx" in values:
        if record.get("network") == "D" and record.get("phase") == "g":
            part.add(Text(_("This ∂L/∂x, D's gradient at G's samples, is what G receives.")))
        elif record.get("network") != "G":
            part.add(Text(_("The first layer's ∂L/∂x is not needed to learn (x is the data).")))
    return part


def _local_rule(activation: dict | None, forward: dict, values: dict):
    """f'(z_j) written with sample 1's numbers (``substitute.derivative``), or None."""
    z, a = array(forward["values"].get("z")), array(forward["values"].get("a"))
    local = values.get("f'(z)")
    if not whole(z, a, local) or np.ndim(local) != 2:
        return None
    return lambda j: substitute.derivative(activation, j, z[0, j], a[0, j], local[0, j])


def _matching_forward(group: list[dict], record: dict) -> dict | None:
    """The forward record of the same layer and pass that this backward record undoes."""
    index = _position(group, record)
    for candidate in reversed(group[:index]):
        if candidate["type"] == "forward" and candidate["layer"] == record["layer"]:
            return candidate
    return None


def upstream(group: list[dict], record: dict) -> str:
    """Where this layer's ∂L/∂a comes from: the loss, or the layer after it."""
    index = _position(group, record)
    for candidate in reversed(group[:index]):
        if candidate["type"] == "loss":
            return _("the loss: ∂L/∂l") if candidate.get("network") else _("the loss: ∂L/∂ŷ")
        if candidate["type"] == "backward":
            return _("layer {label}: its ∂L/∂x").format(label=layer_label(candidate))
    return _("the layer after it")
