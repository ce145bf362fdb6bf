"""One traced step of a network, checked claim by claim, and the links between steps.

A traced step's records, in file order: ``step`` (lr, batch), ``forward`` per layer,
``loss``, ``backward`` per layer (last first), ``clip`` (when gradients were rescaled) and
``update`` per parameter. Besides each layer's own claims (``layers``), the loss's
(``losses``) and each update's (``optimizers``), a step makes these:

- the next layer's x is this layer's output, and the loss's prediction the last output;
- the gradient arriving at a layer is the next layer's dL/dx (the loss's dL/dprediction
  at the last layer);
- each update's gradient is the backward pass's dL/dθ, clipped as the clip record says;
- after = before + applied, and before = the previous step's after (the value after an
  update is the value before the next use); the forward pass used before;
- the update's lr is the step's lr (and the per-step scalars' lr); the scalars' loss and
  gradient norms are the traced ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from engine.trace.tensors import Summary, decode
from engine.verify import layers, losses, optimizers
from engine.verify.report import SUMMARIZED, Checker, Place

#: Added to the norm before dividing, as torch.nn.utils.clip_grad_norm_.
CLIP_EPS = 1e-6


def decode_all(values: dict | None) -> dict:
    return {name: decode(value) for name, value in (values or {}).items()}


@dataclass
class Update:
    """A decoded update record."""

    key: str
    lr: float
    before: object
    grad: object
    applied: object
    after: object
    state: dict
    raw: dict


@dataclass
class StepRecords:
    """The records of one traced step (of one network, in a GAN phase)."""

    step: int
    info: dict | None = None
    forward: dict[int, dict] = field(default_factory=dict)
    loss: dict | None = None
    backward: dict[int, dict] = field(default_factory=dict)
    clip: dict | None = None
    updates: dict[str, Update] = field(default_factory=dict)

    def add(self, record: dict) -> None:
        kind = record["type"]
        if kind == "step":
            self.info = record
        elif kind == "forward":
            self.forward[record["index"]] = record
        elif kind == "loss":
            self.loss = record
        elif kind == "backward":
            self.backward[record["index"]] = record
        elif kind == "clip":
            self.clip = record
        elif kind == "update":
            self.updates[record["param"]] = Update(
                record["param"],
                record.get("lr"),
                decode(record.get("before")),
                decode(record.get("grad")),
                decode(record.get("applied")),
                decode(record.get("after")),
                decode_all(record.get("state")),
                record,
            )


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

    def layer_of(self, key: str) -> tuple[int, str] | None:
        for index in range(len(self.names)):
            for name, full in self.keys(index):
                if full == key:
                    return index, name
        return None


def fused_output(network: Network, loss_config: dict) -> bool:
    """Whether the loss takes over the last layer's activation backward."""
    wanted = losses.FUSES_WITH.get(loss_config.get("type"))
    if wanted is None:
        return False
    last = network.configs[-1]
    activation = last.get("activation") if network.kinds[-1] in layers.LAYERS else last
    return isinstance(activation, dict) and activation.get("type") == wanted


def _number(value):
    """A scalar from the trace (NaN and infinities are written as strings)."""
    if isinstance(value, str):
        return float(value)
    return value


class StepChecker:
    """Checks the traced steps of one network trained with one loss and one optimizer.

    ``phase`` labels the places of a GAN phase; ``total_steps`` is the run's step count.
    """

    def __init__(
        self,
        check: Checker,
        network: Network,
        loss_config: dict | None,
        optimizer_config: dict,
        total_steps: int,
        train: dict | None = None,
        phase: str | None = None,
    ):
        self.check = check
        self.network = network
        self.loss_config = loss_config
        self.optimizer_config = optimizer_config
        self.total_steps = total_steps
        self.train = train or {}
        self.phase = phase
        self.fused = loss_config is not None and fused_output(network, loss_config)

    def place(self, step: int, where: str) -> Place:
        return Place(step, where, self.phase)

    # --- parameters -------------------------------------------------------------------

    def parameters_used(self, records: StepRecords, previous: StepRecords | None) -> dict:
        """key -> the value the forward pass used: the update's before, else the value the
        previous (consecutive) step left."""
        used = {key: u.before for key, u in records.updates.items()}
        for index in range(len(self.network.names)):
            for _, key in self.network.keys(index):
                if key not in used and previous is not None and key in previous.updates:
                    used[key] = previous.updates[key].after
        return used

    # --- forward, loss, backward ------------------------------------------------------

    def layer_passes(
        self, records: StepRecords, used: dict, previous: StepRecords | None, first: bool
    ) -> list[layers.LayerPass]:
        passes = []
        last = len(self.network.names) - 1
        for index, name in enumerate(self.network.names):
            record = records.forward.get(index)
            if record is None:
                continue
            back = records.backward.get(index)
            if previous is not None and index in previous.forward:
                before = decode_all(previous.forward[index].get("values"))
            else:
                before = {} if first else None
            passes.append(
                layers.LayerPass(
                    self.place(records.step, name),
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

    def check_forward(self, passes: list[layers.LayerPass]) -> None:
        check = self.check
        for i, layer in enumerate(passes):
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

    def check_loss(self, records: StepRecords, passes: list[layers.LayerPass]):
        """The loss value and dL/dprediction; returns dL/dprediction as recorded."""
        record, check = records.loss, self.check
        if record is None or self.loss_config is None:
            return None
        place = self.place(records.step, f"loss {self.loss_config.get('type')}")
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
        if not check.whole("loss", prediction, target):
            return grad
        result = losses.recompute(self.loss_config, prediction, target, self.fused)
        if result is None:
            check.skip(f"loss '{self.loss_config.get('type')}' is not known to the verifier")
            return grad
        how = "L from the recorded prediction and target"
        check.compare(place, "loss", _number(record.get("value")), result.value, how)
        what = "dL/dz of the last layer (fused with its softmax)" if self.fused else "dL/dŷ"
        check.compare(place, "dL/dprediction", grad, result.grad, what)
        return grad

    def check_backward(self, passes: list[layers.LayerPass], grad) -> None:
        check = self.check
        incoming = grad
        source = "the loss's dL/dprediction"
        for layer in reversed(passes):
            if layer.backward is None:
                return
            name, arrived = layers.incoming_of(layer.backward)
            if name is not None and incoming is not None:
                check.compare(layer.place, name, arrived, incoming, f"{name} = {source}")
            layers.check_backward(check, layer)
            incoming = layer.backward.get("dL/dx")
            source = f"dL/dx of layer {layer.place.where}"

    # --- gradients, clipping, updates ------------------------------------------------

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

    def check_clip(self, records: StepRecords, grads: dict) -> dict:
        """The clip record's norm and scale; returns the gradients the optimizer saw."""
        check, train = self.check, self.train
        clip_norm, clip_value = train.get("clip_norm"), train.get("clip_value")
        place = self.place(records.step, "gradient clipping")
        arrays = list(grads.values())
        if not (records.clip is not None or clip_norm or clip_value):
            return grads
        if not arrays or any(not isinstance(g, np.ndarray) for g in arrays):
            check.skip(SUMMARIZED, quantity="gradient clipping")
            return {key: None for key in grads}
        if clip_value is not None:
            grads = {key: np.clip(g, -clip_value, clip_value) for key, g in grads.items()}
        scale = 1.0
        if records.clip is not None:
            raw_norm = math.sqrt(sum(float(np.sum(g * g)) for g in arrays))
            check.compare(
                place,
                "norm",
                _number(records.clip.get("norm")),
                raw_norm,
                "‖g‖ over all parameters",
            )
        if clip_norm is not None:
            norm = math.sqrt(sum(float(np.sum(g * g)) for g in grads.values()))
            expected = clip_norm / (norm + CLIP_EPS) if norm > clip_norm else 1.0
            recorded = _number(records.clip.get("scale")) if records.clip is not None else 1.0
            check.compare(
                place,
                "scale",
                recorded,
                expected,
                f"scale = {clip_norm:g}/(‖g‖ + 1e-6) when ‖g‖ > {clip_norm:g}, else 1 "
                f"(no clip record)",
            )
            scale = expected
        elif records.clip is not None:
            check.fail(place, "clip record", "present", "none", "the scenario sets no clip_norm")
        return {key: g * scale for key, g in grads.items()}

    def check_updates(
        self,
        records: StepRecords,
        previous: StepRecords | None,
        first: bool,
        seen: dict,
        lr: float | None,
    ) -> None:
        check = self.check
        for key, update in records.updates.items():
            place = self.place(records.step, key)
            if lr is not None:
                check.compare(place, "lr", update.lr, lr, "the update's lr is the step's lr")
            if seen.get(key) is not None:
                how = "grad = dL/dθ of the backward pass"
                if self.train.get("clip_norm") or self.train.get("clip_value"):
                    how += ", clipped"
                check.compare(place, "grad", update.grad, seen[key], how)
            if check.whole("after", update.before, update.applied):
                check.compare(
                    place,
                    "after",
                    update.after,
                    update.before + update.applied,
                    "after = before + applied",
                )
            earlier = previous.updates.get(key) if previous is not None else None
            if earlier is not None:
                check.compare(
                    place,
                    "before",
                    update.before,
                    earlier.after,
                    f"before = the after of step {previous.step}",
                )
            state = earlier.state if earlier is not None else ({} if first else None)
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
                    state,
                ),
            )

    # --- the whole step ----------------------------------------------------------------

    def check_step(
        self, records: StepRecords, previous: StepRecords | None, first: bool, lr=None
    ) -> list[layers.LayerPass]:
        """All claims of one step; ``previous`` is the step before when it is traced,
        ``first`` whether this is the first step of training."""
        used = self.parameters_used(records, previous)
        passes = self.layer_passes(records, used, previous, first)
        self.check_forward(passes)
        grad = self.check_loss(records, passes)
        self.check_backward(passes, grad)
        grads = self.check_clip(records, self.gradients(passes))
        self.check_updates(records, previous, first, grads, lr)
        return passes


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


def is_summary(value) -> bool:
    return isinstance(value, Summary)
