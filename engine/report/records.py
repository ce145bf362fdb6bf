"""Text for the trace records between the forward, loss, backward and update records:
gradient clipping, and the records of a GAN step (its phases, G's samples, the labels after
tricks, what each trick changed, D's loss terms, the hand-off of D's gradient to G, and the
check that D stayed frozen while G learned).

``blocks(record)`` returns the blocks for one record; a record type without text here is
shown as a table of its fields, so a new record type is never silently dropped.
"""

from __future__ import annotations

import numpy as np

from engine.report.document import Notice, Table, Text
from engine.report.numbers import array, display_name, fmt, values_table


def blocks(record: dict) -> list:
    render = RENDERERS.get(record["type"], fields)
    return render(record)


def arrows(text: str) -> str:
    """A trace's own words in the report's notation: "->" as → (becomes, maps to) and "<-"
    as ← (is assigned), e.g. a trick's "real targets 1 -> 0.9" reads "1 → 0.9"."""
    return text.replace("<-", "←").replace("->", "→")


def clip(record: dict) -> list:
    return [
        Text(
            f"Gradient clipping: the global norm ‖g‖ = {fmt(record['norm'])} was above the "
            f"limit, so every gradient was multiplied by {fmt(record['scale'])} before the "
            "update (the updates below use the clipped gradients)."
        )
    ]


def gan_phase(record: dict) -> list:
    return [Text(arrows(record["text"]))] if record.get("text") else []


def gan_samples(record: dict) -> list:
    """The picture of the game at this step is drawn in the samples section, not here."""
    real, fake = record.get("real") or [], record.get("fake") or []
    verdict = ", with D's verdict on a grid over the data" if record.get("grid") else ""
    return [
        Text(
            f"After this step's updates the trace keeps {len(real)} real samples and G(z) "
            f"for {len(fake)} fixed latent vectors{verdict}, for the section Real and "
            "generated samples (a picture for 1-D, 2-D and square-image data)."
        )
    ]


def samples(record: dict) -> list:
    detached = " G's output is detached: no gradient flows back to G in this phase."
    return [
        Text(
            f"G turns latent vectors z ~ {record.get('distribution', 'p(z)')} into samples "
            "G(z), the fake batch D sees." + (detached if record.get("detached") else "")
        ),
        values_table({"z": array(record.get("z")), "G(z)": array(record.get("G(z)"))}),
    ]


def latent(record: dict) -> list:
    return [
        Text(f"Fresh latent vectors z ~ {record.get('distribution', 'p(z)')} for G."),
        values_table({"z": array(record.get("z"))}),
    ]


def labels(record: dict) -> list:
    """The targets actually used, after every trick: one line per batch."""
    names = {"real": "real batch", "fake": "fake batch", "target": "G's target"}
    parts = []
    for key, label in names.items():
        if key in record:
            parts.append(f"{label}: {describe_targets(array(record[key]))}")
    who = "D" if record.get("network") == "D" else "G"
    return [Text(f"Labels {who} is trained towards, after the tricks: " + "; ".join(parts) + ".")]


def describe_targets(value) -> str:
    if isinstance(value, np.ndarray):
        flat = value.reshape(-1)
        if flat.size and np.all(flat == flat[0]):
            return f"all {fmt(flat[0])}"
        return f"from {fmt(flat.min())} to {fmt(flat.max())}, mean {fmt(flat.mean())}"
    if value is None:
        return "none"
    if value.min == value.max:
        return f"all {fmt(value.min)}"
    return f"from {fmt(value.min)} to {fmt(value.max)}, mean {fmt(value.mean)}"


def trick(record: dict) -> list:
    change = record.get("change") or record.get("text") or ""
    name = record.get("trick", "a trick")
    change = arrows(change)
    return [Text(f"Trick `{name}`: {change}" if change else f"Trick `{name}` acted here.")]


def gan_loss(record: dict) -> list:
    terms = record.get("terms") or {}
    who = record.get("network", "D")
    text = f"{who}'s loss: `{record.get('formula', '')}`"
    if terms:
        names = " + ".join(f"L_{name}" for name in terms)
        numbers = " + ".join(fmt(v) for v in terms.values())
        text += f"; {names} = {numbers} = {fmt(record['value'])}"
    else:
        text += f" = {fmt(record['value'])}"
    return [Text(text + ". The gradients of the terms were added before the update.")]


def handoff(record: dict) -> list:
    grad = array(record.get("dL/dG(z)"))
    return [
        Text(
            arrows(record.get("text") or "D's gradient at G's samples goes to G")
            + ": this is all G ever learns about the data."
        ),
        values_table({"dL/dG(z)": grad}),
    ]


def frozen(record: dict) -> list:
    if record.get("unchanged"):
        return [
            Text(
                f"D was frozen during G's update: its {len(record.get('params', []))} "
                "parameter arrays are exactly as before (largest change "
                f"{fmt(record.get('max_abs_change', 0.0))})."
            )
        ]
    return [
        Notice(
            "error",
            "D's parameters changed during G's phase (largest change "
            f"{fmt(record.get('max_abs_change', float('nan')))}): D was not frozen.",
        )
    ]


def fields(record: dict) -> list:
    """Any other record: its fields as a table."""
    rows = []
    for key, value in record.items():
        if key in ("type", "step"):
            continue
        if isinstance(value, float):
            text = fmt(value)
        else:
            text = str(value)
            text = text if len(text) <= 120 else text[:117] + "…"
        rows.append([display_name(key), text])
    return [Text(f"Record `{record['type']}`:"), Table(["field", "value"], rows)]


RENDERERS = {
    "clip": clip,
    "gan_phase": gan_phase,
    "gan_samples": gan_samples,
    "samples": samples,
    "latent": latent,
    "labels": labels,
    "trick": trick,
    "gan_loss": gan_loss,
    "handoff": handoff,
    "frozen": frozen,
}
