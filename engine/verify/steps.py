"""One traced pass of a network, checked claim by claim, and the links between steps.

A traced step's records, in file order: ``step`` (lr, batch), ``forward`` per layer,
``loss``, ``backward`` per layer (last first), step plugins' notes (gradient clipping's
``clip``) and ``update`` per parameter. Besides each layer's own claims (``layers``), the
loss's and each update's (``optimizers``), a step makes these:

- before = the after of the update before (the value after an update is the value before
  the next use), and the forward pass used before;
- the next layer's x is this layer's output, and the loss's prediction the last output;
- the gradient arriving at a layer is the next layer's dL/dx (the loss's dL/dprediction
  at the last layer);
- each update's gradient is the backward pass's dL/dθ, as step plugins left it (their
  rules, ``plugins.rules.step_plugins``);
- after = before + applied; the update's lr is the step's lr.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from engine.trace.tensors import decode
from engine.verify import layers, losses, optimizers
from engine.verify.report import SUMMARIZED, Checker, Place


def decode_all(values: dict | None) -> dict:
    return {name: decode(value) for name, value in (values or {}).items()}


def number(value):
    """A scalar from the trace (NaN and infinities may be written as strings)."""
    if isinstance(value, str):
        return float(value)
    return value


@dataclass
class Update:
    """A decoded update record; ``step`` is where it happened."""

    key: str
    step: int
    lr: float
    before: object
    grad: object
    applied: object
    after: object
    state: dict

    @classmethod
    def from_record(cls, record: dict) -> Update:
        return cls(
            record["param"],
            record["step"],
            record.get("lr"),
            decode(record.get("before")),
            decode(record.get("grad")),
            decode(record.get("applied")),
            decode(record.get("after")),
            decode_all(record.get("state")),
        )


@dataclass
class StepRecords:
    """The records of one traced pass: a supervised step, or one batch of a GAN phase."""

    step: int
    info: dict | None = None
    forward: dict[int, dict] = field(default_factory=dict)
    loss: dict | None = None
    backward: dict[int, dict] = field(default_factory=dict)
    #: Step plugins' notes (``hook`` records, and records of their own types naming the
    #: ``plugin``), in file order.
    notes: list[dict] = field(default_factory=list)
    updates: dict[str, Update] = field(default_factory=dict)
    #: The parameters the step left: the updates' after, through the after_update hooks.
    left: dict = field(default_factory=dict)

    def add(self, record: dict) -> None:
        kind = record["type"]
        if kind == "hook" or "plugin" in record:
            self.notes.append(record)
        elif kind == "step":
            self.info = record
        elif kind == "forward":
            self.forward[record["index"]] = record
        elif kind == "loss":
            self.loss = record
        elif kind == "backward":
            self.backward[record["index"]] = record
        elif kind == "update":
            self.updates[record["param"]] = Update.from_record(record)

    def notes_of(self, hook: str) -> list[dict]:
        """The step plugins' notes of ``hook`` ("batch", "gradients", ...), in file order."""
        return [note for note in self.notes if note.get("hook") == hook]


@dataclass
class Network:
    """What the header says of a network: each layer's name, kind, config and parameters."""

    names: list[str]
    kinds: list[str]
    configs: list[dict]
    params: list[list[str]]

    @classmethod
    def from_header(cls, header_network: list[dict], layer_configs: list[dict]) -> Network:
        return cls(
            [layer["name"] for layer in header_network],
            [layer["type"] for layer in header_network],
            [dict(c) for c in layer_configs],
            [list(layer.get("params", {})) for layer in header_network],
        )

    def keys(self, index: int) -> list[tuple[str, str]]:
        """(short name, key) of each parameter of layer ``index``: ("W", "hidden.W")."""
        return [(name, f"{self.names[index]}.{name}") for name in self.params[index]]

    def all_keys(self) -> list[str]:
        return [key for index in range(len(self.names)) for _, key in self.keys(index)]


def fused_output(network: Network, loss_config: dict) -> bool:
    """Whether the loss takes over the last layer's activation backward."""
    wanted = losses.FUSES_WITH.get(loss_config.get("type"))
    if wanted is None:
        return False
    last = network.configs[-1]
    activation = last.get("activation") if network.kinds[-1] in layers.LAYERS else last
    return isinstance(activation, dict) and activation.get("type") == wanted


#: recompute(loss record, prediction, target) -> LossValue, or None when unknown.
LossRule = Callable[[dict, np.ndarray, np.ndarray], "losses.LossValue | None"]


class StepChecker:
    """Checks the traced passes of one network and the updates of its optimizer.

    ``loss_rule`` recomputes a loss record (None: the network's output goes on to another
    network); ``fused``: the loss takes over the last layer's activation backward.
    """

    def __init__(
        self,
        check: Checker,
        network: Network,
        optimizer_config: dict,
        total_steps: int,
        loss_rule: LossRule | None = None,
        loss_name: str = "loss",
        fused: bool = False,
        train: dict | None = None,
    ):
        self.check = check
        self.network = network
        self.optimizer_config = optimizer_config
        self.total_steps = total_steps
        self.loss_rule = loss_rule
        self.loss_name = loss_name
        self.fused = fused
        self.train = train or {}
        #: (loss, prediction, target) -> the loss after the step hooks, or None (unknown).
        self.loss_hooks: Callable | None = None

    # --- forward, loss, backward ------------------------------------------------------

    def layer_passes(
        self,
        records: StepRecords,
        used: dict,
        previous_forward: dict | None,
        phase: str | None = None,
    ) -> list[layers.LayerPass]:
        """One LayerPass per traced layer; ``used`` maps parameter keys to the values the
        forward pass used; ``previous_forward`` maps a layer index to its forward values
        of the pass before (``{}`` before the first, None when that pass is not traced)."""
        passes = []
        last = len(self.network.names) - 1
        for index, name in enumerate(self.network.names):
            record = records.forward.get(index)
            if record is None:
                continue
            back = records.backward.get(index)
            if previous_forward is None:
                before = None
            else:
                before = decode_all(previous_forward.get(index, {}).get("values"))
            passes.append(
                layers.LayerPass(
                    Place(records.step, name, phase),
                    self.network.kinds[index],
                    self.network.configs[index],
                    decode_all(record.get("values")),
                    decode_all(back.get("values")) if back is not None else None,
                    {short: used.get(key) for short, key in self.network.keys(index)},
                    fused=self.fused and index == last,
                    previous=before,
                    step=records.step,
                    total_steps=self.total_steps,
                )
            )
        return passes

    def check_forward(self, passes: list[layers.LayerPass], x=None, x_how: str = "") -> None:
        """Each layer's forward claims and the chain x_i = output_(i-1); ``x``, when given,
        is what the first layer's x must be."""
        check = self.check
        for i, layer in enumerate(passes):
            if i == 0 and x is not None:
                check.compare(layer.place, "x", layer.forward.get("x"), x, x_how)
            layers.check_forward(check, layer)
            if i == 0:
                continue
            name, out = layers.output_of(passes[i - 1].forward)
            if name is not None:
                check.compare(
                    layer.place,
                    "x",
                    layer.forward.get("x"),
                    out,
                    f"x = the output {name} of layer {passes[i - 1].place.where}",
                )

    def check_loss(self, records: StepRecords, passes, phase: str | None = None):
        """The loss value and dL/dprediction; returns dL/dprediction as recorded."""
        record, check = records.loss, self.check
        if record is None or self.loss_rule is None:
            return None
        place = Place(records.step, self.loss_name, phase)
        prediction, target = decode(record.get("prediction")), decode(record.get("target"))
        grad = decode(record.get("dL/dprediction"))
        if passes:
            name, out = layers.output_of(passes[-1].forward)
            check.compare(
                place,
                "prediction",
                prediction,
                out,
                f"the prediction is the output {name} of layer {passes[-1].place.where}",
            )
        if not check.whole("loss", prediction):
            return grad
        if target is not None and not check.whole("loss", target):
            return grad
        result = self.loss_rule(record, prediction, target)
        if result is None:
            check.unchecked(f"no rule for {self.loss_name}")
            return grad
        if self.loss_hooks is not None:  # the loss after the step hooks that change it
            result = self.loss_hooks(result, prediction, target)
            if result is None:  # a change no rule follows: reported by the hooks' rules
                return grad
        how = "L from the recorded prediction and target"
        check.compare(place, "loss", number(record.get("value")), result.value, how)
        what = "dL/dz of the last layer (fused with its softmax)" if self.fused else "dL/dŷ"
        check.compare(place, "dL/dprediction", grad, result.grad, what)
        return grad

    def check_backward(self, passes: list[layers.LayerPass], grad, source: str = "") -> None:
        """Each layer's backward claims and the chain: the gradient arriving at a layer is
        the next layer's dL/dx (``grad`` at the last layer)."""
        check = self.check
        incoming = grad
        source = source or "the loss's dL/dprediction"
        for layer in reversed(passes):
            if layer.backward is None:
                return
            name, arrived = layers.incoming_of(layer.backward)
            if name is None and layer.fused:  # an activation layer the loss took over
                name, arrived = "dL/dx", layer.backward.get("dL/dx")
                source += ", passed on unchanged (the loss is fused with this activation)"
            if name is not None and incoming is not None:
                check.compare(layer.place, name, arrived, incoming, f"{name} = {source}")
            layers.check_backward(check, layer)
            incoming = layer.backward.get("dL/dx")
            source = f"dL/dx of layer {layer.place.where}"

    def gradients(self, passes: list[layers.LayerPass]) -> dict:
        """key -> dL/dθ as the backward pass recorded it."""
        by_name = {layer.place.where: layer for layer in passes}
        grads = {}
        for index, name in enumerate(self.network.names):
            layer = by_name.get(name)
            if layer is None or layer.backward is None:
                continue
            for short, key in self.network.keys(index):
                grads[key] = layer.backward.get(f"dL/d{short}")
        return grads

    # --- updates ------------------------------------------------------------------

    def check_continuity(self, updates: dict, earlier: dict, how: str, phase=None) -> None:
        """before = the after of the update before (``earlier``: key -> Update, or a
        value already transformed, e.g. clipped weights)."""
        for key, update in updates.items():
            if key not in earlier:
                continue
            previous = earlier[key]
            after = previous.after if isinstance(previous, Update) else previous
            if after is None:  # a summary that a transformation (clipping) would change
                self.check.skip(SUMMARIZED, quantity="before")
                continue
            self.check.compare(Place(update.step, key, phase), "before", update.before, after, how)

    def check_updates(
        self,
        updates: dict,
        states: dict | None,
        grads: dict,
        lr: float | None,
        phase: str | None = None,
        grads_how: str = "grad = dL/dθ of the backward pass",
    ) -> None:
        """Each update's gradient, lr, after, state and change; ``states`` maps a key to
        the optimizer state the update started from ({} at the first step, None when
        unknown), ``grads`` to the gradient the optimizer must have seen (``grads_how``)."""
        check = self.check
        for key, update in updates.items():
            place = Place(update.step, key, phase)
            if lr is not None:
                check.compare(place, "lr", update.lr, lr, "the update's lr is the step's lr")
            if grads.get(key) is not None:
                check.compare(place, "grad", update.grad, grads[key], grads_how)
            if check.whole("after", update.before, update.applied):
                check.compare(
                    place,
                    "after",
                    update.after,
                    update.before + update.applied,
                    "after = before + applied",
                )
            optimizers.check_update(
                check,
                optimizers.Update(
                    place,
                    self.optimizer_config,
                    update.before,
                    update.grad,
                    update.lr,
                    update.applied,
                    update.state,
                    None if states is None else states.get(key),
                ),
            )


def layer_norms(passes: list[layers.LayerPass], network: Network) -> dict[str, float | None]:
    """‖dL/dθ‖ over each layer's parameters (None when one is summarized)."""
    norms = {}
    for layer in passes:
        index = network.names.index(layer.place.where)
        if not network.params[index] or layer.backward is None:
            continue
        grads = [layer.backward.get(f"dL/d{short}") for short, _ in network.keys(index)]
        if any(not isinstance(g, np.ndarray) for g in grads):
            norms[layer.place.where] = None
        else:
            norms[layer.place.where] = math.sqrt(sum(float(np.sum(g * g)) for g in grads))
    return norms
