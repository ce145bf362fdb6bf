"""Text for the trace records between the forward, loss, backward and update records:
gradient clipping, and the records of a GAN step (its phases, G's samples, the labels after
tricks, what each trick changed, D's loss terms, the hand-off of D's gradient to G, and the
check that D stayed frozen while G learned).

``blocks(record)`` returns the blocks for one record; a record type without text here is
shown as a table of its fields, so a new record type is never silently dropped.
"""

from __future__ import annotations

import numpy as np

from engine.i18n import N_, _
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
            _(
                "Gradient clipping: the global norm ‖g‖ = {norm} was above the limit, so every "
                "gradient was multiplied by {scale} before the update (the updates below use the "
                "clipped gradients)."
            ).format(norm=fmt(record["norm"]), scale=fmt(record["scale"]))
        )
    ]


def gan_phase(record: dict) -> list:
    return [Text(arrows(_(record["text"])))] if record.get("text") else []


def gan_samples(record: dict) -> list:
    """The picture of the game at this step is drawn in the samples section, not here."""
    real, fake = record.get("real") or [], record.get("fake") or []
    verdict = _(", with D's verdict on a grid over the data") if record.get("grid") else ""
    text = _(
        "After this step's updates the trace keeps {real} real samples and G(z) for {fake} "
        "fixed latent vectors{verdict}, for the section Real and generated samples (a picture "
        "for 1-D, 2-D and square-image data)."
    ).format(real=len(real), fake=len(fake), verdict=verdict)
    return [Text(text)]


def samples(record: dict) -> list:
    detached = _(" G's output is detached: no gradient flows back to G in this phase.")
    text = _("G turns latent vectors z ~ {distribution} into samples G(z), the fake batch D sees.")
    text = text.format(distribution=record.get("distribution", "p(z)"))
    return [
        Text(text + (detached if record.get("detached") else "")),
        values_table({"z": array(record.get("z")), "G(z)": array(record.get("G(z)"))}),
    ]


def latent(record: dict) -> list:
    return [
        Text(
            _("Fresh latent vectors z ~ {distribution} for G.").format(
                distribution=record.get("distribution", "p(z)")
            )
        ),
        values_table({"z": array(record.get("z"))}),
    ]


def labels(record: dict) -> list:
    """The targets actually used, after every trick: one line per batch."""
    names = {"real": _("real batch"), "fake": _("fake batch"), "target": _("G's target")}
    parts = []
    for key, label in names.items():
        if key in record:
            parts.append(f"{label}: {describe_targets(array(record[key]))}")
    who = "D" if record.get("network") == "D" else "G"
    text = _("Labels {who} is trained towards, after the tricks: {parts}.")
    return [Text(text.format(who=who, parts="; ".join(parts)))]


def describe_targets(value) -> str:
    if isinstance(value, np.ndarray):
        flat = value.reshape(-1)
        if flat.size and np.all(flat == flat[0]):
            return _("all {value}").format(value=fmt(flat[0]))
        low, high, mean = flat.min(), flat.max(), flat.mean()
    elif value is None:
        return _("none")
    elif value.min == value.max:
        return _("all {value}").format(value=fmt(value.min))
    else:
        low, high, mean = value.min, value.max, value.mean
    return _("from {low} to {high}, mean {mean}").format(
        low=fmt(low), high=fmt(high), mean=fmt(mean)
    )


def trick(record: dict) -> list:
    change = record.get("change") or record.get("text") or ""
    name = record.get("trick", _("a trick"))
    if change:
        return [Text(_("Trick `{name}`: {change}").format(name=name, change=arrows(_(change))))]
    return [Text(_("Trick `{name}` acted here.").format(name=name))]


def gan_loss(record: dict) -> list:
    terms = record.get("terms") or {}
    who = record.get("network", "D")
    text = _("{who}'s loss: `{formula}`").format(who=who, formula=record.get("formula", ""))
    if terms:
        names = " + ".join(f"L_{name}" for name in terms)
        numbers = " + ".join(fmt(v) for v in terms.values())
        text += f"; {names} = {numbers} = {fmt(record['value'])}"
    else:
        text += f" = {fmt(record['value'])}"
    return [Text(text + _(". The gradients of the terms were added before the update."))]


def handoff(record: dict) -> list:
    grad = array(record.get("dL/dG(z)"))
    return [
        Text(
            _("{text}: this is all G ever learns about the data.").format(
                text=arrows(_(record.get("text") or N_("D's gradient at G's samples goes to G")))
            )
        ),
        values_table({"dL/dG(z)": grad}),
    ]


def frozen(record: dict) -> list:
    if record.get("unchanged"):
        return [
            Text(
                _(
                    "D was frozen during G's update: its {count} parameter arrays are exactly as "
                    "before (largest change {change})."
                ).format(
                    count=len(record.get("params", [])),
                    change=fmt(record.get("max_abs_change", 0.0)),
                )
            )
        ]
    return [
        Notice(
            "error",
            _(
                "D's parameters changed during G's phase (largest change {change}): D was not "
                "frozen."
            ).format(change=fmt(record.get("max_abs_change", float("nan")))),
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
    return [
        Text(_("Record `{record}`:").format(record=record["type"])),
        Table([_("field"), _("value")], rows),
    ]


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
