"""A traced GAN step's records, in the order the GAN loop (``plugins.gan.loop``) writes
them: the step record; each D update (its batch, the trick notes of the hooks before D's
passes, the labels, D's pass on the real batch then on G's samples, the notes of the
gradient hooks, the terms tricks added, L_D, one update per parameter, the notes of the
hooks after it); each G update likewise (G's forward pass, D's pass on G's samples, the
handoff, G's backward pass, ..., the frozen record); then the pictures for reports."""

from __future__ import annotations

from engine.verify.order import RecordOrder, Slot
from plugins.rules.gan.conditional import PARAMS

BEFORE_D = ("latent", "d_input", "d_labels")
BEFORE_G_LOSS = ("latent", "d_input", "g_labels")


def _d(kind: str, required=False, **fields) -> Slot:
    return Slot(kind, {"phase": "d", **fields}, part="d", required=required)


def _g(kind: str, required=False, **fields) -> Slot:
    return Slot(kind, {"phase": "g", **fields}, part="g", required=required)


def _pass(part: str, network: str, **fields) -> list[Slot]:
    """A network's forward records, first layer first, then (after what goes between)
    its backward records, last layer first."""
    return [
        Slot(
            "forward",
            {"phase": part, "network": network, **fields},
            part=part,
            required=True,
            each="layer",
            network=network,
        ),
        Slot(
            "backward",
            {"phase": part, "network": network, **fields},
            part=part,
            required=True,
            each="layer_reversed",
            network=network,
        ),
    ]


def _notes(part: str, hooks) -> Slot:
    name = f"trick note ({', '.join(hooks) if isinstance(hooks, tuple) else hooks})"
    return Slot("trick", {"phase": part, "hook": hooks}, part=part, many=True, name=name)


def _real_then_fake() -> list[Slot]:
    slots = []
    for batch in ("real", "fake"):
        forward, backward = _pass("d", "D", batch=batch)
        term = _d("condition_term", batch=batch)  # a projection's or class head's part
        slots += [forward, _d("loss", True, batch=batch), backward, term]
    return slots


#: A conditional GAN's own parameters of D, updated first in D's update (they come first in
#: D's parameter list; the header lists them under ``conditional``, not under a layer).
CONDITION_UPDATES = Slot(
    "update",
    {"phase": "d", "param": tuple(key for keys in PARAMS.values() for key in keys.values())},
    part="d",
    many=True,
    name="update of a conditioning's parameter",
)


def _g_phase() -> list[Slot]:
    g_forward, g_backward = _pass("g", "G")
    d_forward, d_backward = _pass("g", "D")
    return [
        _g("gan_phase", True),
        _g("latent", True),
        g_forward,
        _notes("g", BEFORE_G_LOSS),
        _g("condition"),  # a conditional GAN's classes of G's samples
        _g("labels"),
        d_forward,
        _g("loss", True),
        d_backward,
        _g("condition_term"),
        _g("handoff", True),
        g_backward,
        _notes("g", ("g_loss", "g_gradients")),
        Slot("term", {"phase": "g"}, part="g", many=True),
        _g("gan_loss"),
        Slot("update", {"phase": "g"}, part="g", required=True, each="param", network="G"),
        _notes("g", "after_update"),
        _g("frozen", True),
    ]


RECORD_ORDER = RecordOrder(
    [
        Slot("step", required=True),
        _d("gan_phase", True),
        _d("samples", True),
        _notes("d", BEFORE_D),
        _d("labels"),
        _d("condition"),  # a conditional GAN's classes of both batches
        *_real_then_fake(),
        _notes("d", "d_gradients"),
        Slot("term", {"phase": "d"}, part="d", many=True),
        _d("gan_loss", True),
        CONDITION_UPDATES,
        Slot("update", {"phase": "d"}, part="d", required=True, each="param", network="D"),
        _notes("d", "after_update"),
        *_g_phase(),
        Slot("gan_samples", part="end"),
    ],
    parts={"": "", "d": "D update", "g": "G update", "end": ""},
)
