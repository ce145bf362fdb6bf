"""The walkthrough of one traced step: forward pass, loss, backward pass as the chain rule,
parameter updates, with the trace's numbers.

Shared by every output: the HTML and Markdown reports and ``tracegrad show`` render the same
sections. For a small dense layer (a few inputs and units) every scalar derivative is
written out the way a hand derivation is, e.g. for unit 1 of layer "output":

    ∂L/∂W₁₁ = ∂L/∂a₁ · ∂a₁/∂z₁ · ∂z₁/∂W₁₁ = 0.741365 × 0.186816 × 0.59327 = 0.082167

(indices start at 1: W₁₂ joins input 1 to unit 2, W[0][1] in the trace). For a batch of N
samples each derivative of a parameter is a sum of N such products, one per sample. Larger
layers get the matrix form with shapes and summary statistics.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.report import updates
from engine.report.document import Equations, Section, Table, Text
from engine.report.numbers import (
    array,
    factor,
    fmt,
    shape_of,
    shape_text,
    statistics_table,
    sub,
    values_table,
    whole,
)
from engine.trace.reader import Trace

#: Layers with at most this many inputs and units get every scalar derivative spelled out.
SMALL_UNITS = 4
#: Batches up to this size show every per-sample term of a sum; larger ones the first few.
SMALL_BATCH = 4
SHOWN_TERMS = 2


@dataclass
class Phase:
    """The records of one traced step (or of one phase of a GAN step), by type."""

    title: str = ""
    forward: list[dict] = field(default_factory=list)
    loss: dict | None = None
    backward: list[dict] = field(default_factory=list)
    clip: list[dict] = field(default_factory=list)
    updates: list[dict] = field(default_factory=list)
    notes: list[dict] = field(default_factory=list)

    def params_before(self, layer: str) -> dict[str, np.ndarray]:
        """The layer's parameters as used in this step's forward pass (update "before")."""
        values = {}
        for record in self.updates:
            owner, _, name = record["param"].rpartition(".")
            if owner == layer:
                values[name] = array(record["before"])
        return values


def phases(trace: Trace, step: int) -> tuple[dict | None, list[Phase]]:
    """The step record and the step's records grouped by phase, in file order."""
    info, groups = None, {}
    for record in trace.step_records(step):
        kind = record["type"]
        if kind == "step":
            info = record
            continue
        key = record.get("phase") or ""
        phase = groups.setdefault(key, Phase(title=str(key)))
        if kind == "forward":
            phase.forward.append(record)
        elif kind == "loss":
            phase.loss = record
        elif kind == "backward":
            phase.backward.append(record)
        elif kind == "clip":
            phase.clip.append(record)
        elif kind == "update":
            phase.updates.append(record)
        else:
            phase.notes.append(record)
    return info, list(groups.values())


def layer_label(record: dict) -> str:
    network = record.get("network")
    return f"{network}.{record['layer']}" if network else record["layer"]


def step_section(trace: Trace, step: int, layer: str | None = None) -> Section:
    """The walkthrough of traced step ``step`` (only layer ``layer`` when given)."""
    info, groups = phases(trace, step)
    section = Section(f"Step {step}", id=f"step-{step}")
    if info is not None:
        batch = info.get("batch_size")
        section.add(
            Text(
                f"Learning rate lr = {fmt(info['lr'])}; a batch of {batch} sample"
                f"{'s' if batch != 1 else ''}"
                + ("" if info.get("batch") is None else f" (data rows {_rows(info['batch'])})")
                + "."
            )
        )
    for phase in groups:
        target = section
        if phase.title:
            target = Section(f"Step {step}, {phase.title} phase", id=f"step-{step}-{phase.title}")
            section.add(target)
        target.blocks.extend(phase_sections(trace, phase, step, layer))
    return section


def _rows(batch: list[int]) -> str:
    shown = ", ".join(str(i) for i in batch[:8])
    return shown + (f", … ({len(batch)} rows)" if len(batch) > 8 else "")


def phase_sections(trace: Trace, phase: Phase, step: int, layer: str | None) -> list[Section]:
    prefix = f"step-{step}-{phase.title}-" if phase.title else f"step-{step}-"
    chosen = [r for r in phase.forward if layer is None or layer in (r["layer"], layer_label(r))]
    sections = []
    if chosen:
        forward = Section("Forward pass", id=prefix + "forward")
        forward.add(
            Text(
                "Each layer takes the previous layer's output as its input x. "
                "Numbers are rounded to 6 significant digits; indices start at 1 "
                "(W₁₂ joins input 1 to unit 2)."
            )
        )
        for record in chosen:
            forward.add(forward_section(trace, record, phase))
        sections.append(forward)
    if phase.loss is not None and (layer is None or not chosen or chosen[-1] is phase.forward[-1]):
        sections.append(loss_section(phase.loss, prefix))
    backward_records = [
        r for r in phase.backward if layer is None or layer in (r["layer"], layer_label(r))
    ]
    if backward_records:
        backward = Section("Backward pass: the chain rule", id=prefix + "backward")
        backward.add(
            Text(
                "The gradient flows from the loss back to the first layer. Each layer "
                "receives ∂L/∂a, the derivative of the loss with respect to its output, and "
                "hands ∂L/∂x to the layer before it, where it becomes that layer's ∂L/∂a."
            )
        )
        for record in backward_records:
            backward.add(backward_section(trace, record, phase))
        for clip in phase.clip:
            backward.add(
                Text(
                    f"Gradient clipping: the global norm ‖g‖ = {fmt(clip['norm'])} was above "
                    f"the limit, so every gradient was multiplied by {fmt(clip['scale'])} "
                    "before the update (the updates below use the clipped gradients)."
                )
            )
        sections.append(backward)
    chosen_updates = [
        r for r in phase.updates if layer is None or r["param"].rpartition(".")[0] == layer
    ]
    if chosen_updates:
        sections.append(updates.updates_section(trace, chosen_updates, prefix))
    for note in phase.notes:
        sections.append(note_section(note, prefix))
    return sections


def note_section(record: dict, prefix: str) -> Section:
    """A record type the walkthrough has no text for: its fields as a table."""
    rows = [[key, _plain(value)] for key, value in record.items() if key not in ("type", "step")]
    return Section(
        f"Record '{record['type']}'",
        [Table(["field", "value"], rows)],
        id=prefix + f"record-{record['type']}",
    )


def _plain(value) -> str:
    if isinstance(value, float):
        return fmt(value)
    text = str(value)
    return text if len(text) <= 120 else text[:117] + "…"


# --- forward ---------------------------------------------------------------------------------


def forward_section(trace: Trace, record: dict, phase: Phase) -> Section:
    label = layer_label(record)
    values = {name: array(value) for name, value in record["values"].items()}
    title = f"Layer {label} ({describe(trace, record)})"
    section = Section(title, id=f"{_id(record)}-forward-{label}")
    if record.get("formula"):
        section.add(Text(f"`{record['formula']}`"))
    section.add(values_table(values))
    params = phase.params_before(record["layer"])
    if _is_dense(values) and whole(values["x"], values["z"]):
        activation = activation_name(trace, record)
        section.add(dense_forward(values, params, activation))
    return section


def _id(record: dict) -> str:
    phase = record.get("phase")
    return f"step-{record['step']}" + (f"-{phase}" if phase else "")


def _is_dense(values: dict) -> bool:
    return "x" in values and "z" in values


def dense_forward(values: dict, params: dict, activation: str | None) -> Equations | None:
    """z_j = Σ_i x_i·W_ij + b_j and a_j = f(z_j), unit by unit, for the first sample."""
    x, z = values["x"], values["z"]
    a = values.get("a")
    W, b = params.get("W"), params.get("b")
    if x.ndim != 2 or x.shape[1] > SMALL_UNITS or z.shape[1] > SMALL_UNITS or W is None:
        return None
    lines = []
    if len(x) > 1:
        lines.append(f"sample 1 of {len(x)} (the table above has them all):")
    for j in range(z.shape[1]):
        symbols = " + ".join(f"x{sub(i)}·W{sub(i, j)}" for i in range(x.shape[1]))
        numbers = " + ".join(f"{factor(x[0, i])} × {factor(W[i, j])}" for i in range(x.shape[1]))
        if b is not None:
            symbols += f" + b{sub(j)}"
            numbers += f" + {factor(b[j])}"
        lines.append(f"z{sub(j)} = {symbols} = {numbers} = {fmt(z[0, j])}")
        if a is not None and isinstance(a, np.ndarray):
            f = activation or "f"
            lines.append(f"a{sub(j)} = {f}(z{sub(j)}) = {f}({fmt(z[0, j])}) = {fmt(a[0, j])}")
    return Equations(lines)


# --- loss ------------------------------------------------------------------------------------


def loss_section(record: dict, prefix: str) -> Section:
    prediction, target = array(record["prediction"]), array(record["target"])
    grad = array(record["dL/dprediction"])
    section = Section(f"Loss: {record['loss']}", id=prefix + "loss")
    section.add(
        Text(f"`{record['formula']}` = {fmt(record['value'])}"),
        values_table({"ŷ (prediction)": prediction, "y (target)": target, "∂L/∂ŷ": grad}),
        Text(
            "∂L/∂ŷ, the loss's derivative with respect to each prediction, starts the chain "
            "rule: it is ∂L/∂a of the last layer."
        ),
    )
    if whole(grad) and grad.ndim == 2 and grad.size <= SMALL_UNITS * SMALL_BATCH:
        lines = []
        for n in range(grad.shape[0]):
            for j in range(grad.shape[1]):
                where = f"  (sample {n + 1})" if grad.shape[0] > 1 else ""
                lines.append(f"∂L/∂ŷ{sub(j)} = {fmt(grad[n, j])}{where}")
        section.add(Equations(lines))
    return section


# --- backward --------------------------------------------------------------------------------


def backward_section(trace: Trace, record: dict, phase: Phase) -> Section:
    label = layer_label(record)
    values = {name: array(value) for name, value in record["values"].items()}
    section = Section(f"Layer {label}", id=f"{_id(record)}-backward-{label}")
    forward = next((f for f in phase.forward if f["layer"] == record["layer"]), None)
    inputs = {} if forward is None else {k: array(v) for k, v in forward["values"].items()}
    params = phase.params_before(record["layer"])
    upstream = _upstream(phase, record)
    if "dL/dW" in values and "dL/dz" in values and "x" in inputs:
        activation = activation_name(trace, record) if forward is not None else None
        derivative = derivative_formula(activation)
        section.add(*dense_backward(values, inputs, params, upstream, activation, derivative))
    elif "dL/da" in values and "dL/dx" in values:
        section.add(*elementwise_backward(values, upstream, record.get("formula")))
    else:
        section.add(values_table(values))
    return section


def _upstream(phase: Phase, record: dict) -> str:
    """Where this layer's ∂L/∂a comes from: the loss, or the layer after it."""
    index = phase.backward.index(record)
    if index == 0:
        return "the loss: ∂L/∂ŷ" if phase.loss is not None else "the layer after"
    return f"layer {layer_label(phase.backward[index - 1])}: its ∂L/∂x"


def dense_backward(values, inputs, params, upstream, activation, derivative) -> list:
    """The chain rule through z = x·W + b, a = f(z): scalar by scalar for small layers,
    in matrix form otherwise."""
    grad_a, local = values.get("dL/da"), values.get("f'(z)")
    grad_z, grad_W, grad_b = values["dL/dz"], values["dL/dW"], values.get("dL/db")
    grad_x, x = values.get("dL/dx"), inputs["x"]
    arrays = (grad_z, grad_W, x) + tuple(v for v in (grad_a, local, grad_b) if v is not None)
    d, m = shape_of(grad_W)
    small = d <= SMALL_UNITS and m <= SMALL_UNITS and whole(*arrays)
    blocks: list = [Text(f"∂L/∂a comes from {upstream}.")]
    if derivative and local is not None:
        blocks.append(Text(f"For {activation}, `{derivative}`."))
    if not small:
        return blocks + dense_matrix_form(values, x, local is not None)
    blocks.append(values_table({k: v for k, v in values.items() if k != "dL/dW"}))
    n = x.shape[0]
    if n > 1:
        blocks.append(
            Text(
                f"The batch has {n} samples: each parameter's derivative is the sum over "
                "the samples of the per-sample products (Σₙ)."
            )
        )
    for j in range(m):
        blocks.append(Equations(_unit_lines(j, values, x, local is not None)))
    if grad_x is not None and whole(grad_x) and params.get("W") is not None:
        blocks.append(Equations(_input_lines(grad_z, params["W"], grad_x)))
    return blocks


def _unit_lines(j: int, values: dict, x: np.ndarray, has_local: bool) -> list[str]:
    """The derivatives of unit j's weights and bias: ∂L/∂W_ij and ∂L/∂b_j."""
    grad_a, local, grad_z = values.get("dL/da"), values.get("f'(z)"), values["dL/dz"]
    grad_W, grad_b = values["dL/dW"], values.get("dL/db")
    n, s = x.shape[0], sub(j)
    lines = []
    if has_local and n == 1:
        lines.append(f"∂L/∂a{s} = {fmt(grad_a[0, j])}")
        lines.append(f"∂a{s}/∂z{s} = f'(z{s}) = {fmt(local[0, j])}")
        lines.append(
            f"∂L/∂z{s} = ∂L/∂a{s} · ∂a{s}/∂z{s} = {factor(grad_a[0, j])} × "
            f"{factor(local[0, j])} = {fmt(grad_z[0, j])}"
        )
    elif n == 1:
        lines.append(f"∂L/∂z{s} = {fmt(grad_z[0, j])}")
    chain = f"∂L/∂a{s} · ∂a{s}/∂z{s} · " if has_local else f"∂L/∂z{s} · "

    def terms(last: np.ndarray) -> list[str]:
        factors = [grad_a[:, j], local[:, j]] if has_local else [grad_z[:, j]]
        return [" × ".join(factor(f[k]) for f in (*factors, last)) for k in range(n)]

    for i in range(x.shape[1]):
        lhs = f"∂L/∂W{sub(i, j)}"
        symbols = chain + f"∂z{s}/∂W{sub(i, j)}"
        lines.extend(_sum_lines(lhs, symbols, terms(x[:, i]), grad_W[i, j]))
    if grad_b is not None:
        symbols = chain + f"∂z{s}/∂b{s}"
        lines.extend(_sum_lines(f"∂L/∂b{s}", symbols, terms(np.ones(n)), grad_b[j]))
    return lines


def _sum_lines(lhs: str, symbols: str, terms: list[str], result: float) -> list[str]:
    """``lhs = symbols = terms = result``: one line for one sample, Σₙ over lines for more."""
    if len(terms) == 1:
        return [f"{lhs} = {symbols} = {terms[0]} = {fmt(result)}"]
    pad = " " * len(lhs)
    shown = terms if len(terms) <= SMALL_BATCH else terms[:SHOWN_TERMS]
    rest = "" if len(terms) <= SMALL_BATCH else f" + … ({len(terms) - SHOWN_TERMS} more terms)"
    return [
        f"{lhs} = Σₙ {symbols}",
        f"{pad} = {' + '.join(shown)}{rest}",
        f"{pad} = {fmt(result)}",
    ]


def _input_lines(grad_z: np.ndarray, W: np.ndarray, grad_x: np.ndarray) -> list[str]:
    """∂L/∂x_i = Σ_j ∂L/∂z_j · W_ij, for the first sample."""
    lines = []
    if len(grad_z) > 1:
        lines.append(f"sample 1 of {len(grad_z)}:")
    for i in range(W.shape[0]):
        symbols = " + ".join(f"∂L/∂z{sub(j)} · W{sub(i, j)}" for j in range(W.shape[1]))
        numbers = " + ".join(
            f"{factor(grad_z[0, j])} × {factor(W[i, j])}" for j in range(W.shape[1])
        )
        lines.append(f"∂L/∂x{sub(i)} = {symbols} = {numbers} = {fmt(grad_x[0, i])}")
    return lines


def dense_matrix_form(values: dict, x, has_local: bool) -> list:
    """The chain rule for a whole layer at once, with the shapes that make it fit."""
    n, d = shape_of(x)
    m = shape_of(values["dL/dz"])[1]
    lines = []
    if has_local:
        lines.append(
            f"∂L/∂z = ∂L/∂a ⊙ f'(z)     {shape_text((n, m))} = {shape_text((n, m))} ⊙ "
            f"{shape_text((n, m))}   (elementwise)"
        )
    lines.append(
        f"∂L/∂W = xᵀ · ∂L/∂z        {shape_text((d, m))} = {shape_text((d, n))} · "
        f"{shape_text((n, m))}   (a sum over the {n} samples)"
    )
    if "dL/db" in values:
        lines.append(f"∂L/∂b = Σₙ ∂L/∂z         {shape_text((m,))}")
    if "dL/dx" in values:
        lines.append(
            f"∂L/∂x = ∂L/∂z · Wᵀ        {shape_text((n, d))} = {shape_text((n, m))} · "
            f"{shape_text((m, d))}"
        )
    return [Equations(lines), statistics_table({"x": x, **values})]


def elementwise_backward(values: dict, upstream: str, formula: str | None) -> list:
    """A layer a = f(x) applied entry by entry: ∂L/∂x = ∂L/∂a ⊙ f'(x)."""
    grad_a, grad_x = values["dL/da"], values["dL/dx"]
    local = values.get("f'(x)")
    blocks: list = [Text(f"∂L/∂a comes from {upstream}."), values_table(values)]
    if local is not None and whole(grad_a, local, grad_x) and grad_a.size <= SMALL_UNITS:
        lines = [
            f"∂L/∂x{sub(j)} = ∂L/∂a{sub(j)} · f'(x{sub(j)}) = {factor(grad_a[0, j])} × "
            f"{factor(local[0, j])} = {fmt(grad_x[0, j])}"
            for j in range(grad_a.shape[1])
        ]
        blocks.append(Equations(lines))
    return blocks


# --- what the header says about a layer ------------------------------------------------------


def _layer_configs(trace: Trace, record: dict) -> list:
    scenario = trace.header.get("scenario") or {}
    network = record.get("network")
    if network:
        names = {"G": "generator", "D": "discriminator"}
        section = scenario.get(names.get(network, network)) or scenario.get(network) or {}
    else:
        section = scenario.get("model") or {}
    layers = section.get("layers") if isinstance(section, dict) else None
    return layers if isinstance(layers, list) else []


def describe(trace: Trace, record: dict) -> str:
    """The header's one-line description of the layer, e.g. "dense 2→2, sigmoid"."""
    for entry in trace.header.get("network") or []:
        if entry.get("name") == record["layer"] and not record.get("network"):
            return entry.get("describe", record.get("kind", ""))
    networks = trace.header.get("networks") or {}
    for entry in networks.get(record.get("network"), []) if isinstance(networks, dict) else []:
        if entry.get("name") == record["layer"]:
            return entry.get("describe", record.get("kind", ""))
    return record.get("kind", "")


def activation_name(trace: Trace, record: dict) -> str | None:
    """The activation of a dense layer (its ``activation:``), or the layer's own type."""
    layers = _layer_configs(trace, record)
    index = record.get("index")
    if isinstance(index, int) and 0 <= index < len(layers):
        activation = layers[index].get("activation")
        if isinstance(activation, dict):
            return activation.get("type")
        if isinstance(activation, str):
            return activation
    return None


def derivative_formula(activation: str | None) -> str | None:
    """The registered activation's f'(z) formula, e.g. "f'(z) = a(1 - a)"."""
    if activation is None:
        return None
    from engine.report.compose import registry

    component = registry().components["activations"].get(activation)
    return None if component is None else component.implementation.derivative_formula
