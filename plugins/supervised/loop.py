"""The supervised training loop, one step t:

    1. take a mini-batch (x, y)                         (shuffled per epoch from the seed)
    2. forward:   ŷ = network(x)
    3. loss:      L = loss(ŷ, y),  g = dL/dŷ
    4. backward:  every parameter's dL/dθ by the chain rule, last layer first
    5. update:    θ <- optimizer(θ, dL/dθ, lr(t))

Plugins act at the named points of ``SupervisedStepSpecs`` (gradient clipping is one, in
``plugins/clipping.py``). Traced steps write every intermediate array; the run lifecycle
(``engine.run``) writes every step's scalars.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from engine.components import StepLoop
from engine.hookspecs import hookspec
from engine.steps import StepHooks, copies, plugin_name
from engine.trace import record
from plugins.supervised.learned import LearnedPictures


class SupervisedStepSpecs:
    """The named points of a supervised step where a step plugin acts.

    ``batch`` is a ``SupervisedBatch``; ``network`` is the ``engine.network.Network`` being
    trained; ``step`` counts from 0. A hook that changes something
    may return a note for the trace (recorded on traced steps): a dict with a ``type`` is
    written as a record of that type (``{"type": "clip", "norm": ..., "scale": ...}``), any
    other dict or a string as a ``hook`` record. Either names the hook and the plugin
    (``engine.steps.plugin_name``). On traced steps each plugin is called on its own: one that
    changed the batch, the loss, the gradients or the parameters gets a note even if it
    returned none, and one that changed gradients or parameters has their values after it in
    the note (``grads``, ``params``), so verify checks the rest of the step against what was
    really used.
    """

    @hookspec
    def tracegrad_supervised_batch(self, batch, step):
        """Called after the mini-batch is taken, before the forward pass: may replace
        ``batch.x`` and ``batch.y`` (e.g. augment the inputs)."""

    @hookspec
    def tracegrad_supervised_forward(self, batch, network, step):
        """Called after the forward pass: ``batch.prediction`` is ŷ; every layer's cache holds
        its forward values (``layer.forward_values()``)."""

    @hookspec
    def tracegrad_supervised_loss(self, batch, step):
        """Called after the loss: ``batch.value`` is L and ``batch.grad`` dL/dŷ, before the
        backward pass; may add a term to both (and record it in ``batch.penalties``)."""

    @hookspec
    def tracegrad_supervised_gradients(self, batch, network, step):
        """Called after the backward pass, before the update: every parameter's ``grad`` is
        dL/dθ and ``batch.grad_norm`` their global L2 norm; may change the gradients (clip)."""

    @hookspec
    def tracegrad_supervised_after_update(self, network, step):
        """Called after the optimizer's update; may change the parameters (e.g. a max-norm
        constraint). On a traced step its notes are followed by the step's last record,
        ``learned`` (``plugins/supervised/learned.py``): what the network computes now."""


@dataclass
class SupervisedBatch:
    """One step's batch as step plugins see it: inputs ``x``, targets ``y``, the sample
    ``indices`` (None for the full batch), then ``prediction``, ``value`` (L), ``grad``
    (dL/dŷ) and ``grad_norm`` as the step computes them."""

    x: np.ndarray
    y: np.ndarray
    indices: np.ndarray | None
    prediction: np.ndarray | None = None
    value: float = math.nan
    grad: np.ndarray | None = None
    grad_norm: float = math.nan
    penalties: dict[str, float] = field(default_factory=dict)


def batches(built, batch_size: int | None, shuffle: bool):
    """Yield index arrays (or None for the full batch), one per step, epoch after epoch."""
    n = len(built.data.x)
    if batch_size is None or batch_size >= n:
        while True:
            yield None
    rng = built.ctx.rng("shuffle")
    while True:
        order = rng.permutation(n) if shuffle else np.arange(n)
        for start in range(0, n - batch_size + 1, batch_size):
            yield order[start : start + batch_size]


def grad_norms(network) -> dict[str, float]:
    """L2 norm of each layer's gradient, ‖dL/dθ‖ = √(Σ_θ Σ_i (dL/dθ_i)²) over its parameters."""
    norms = {}
    for layer in network.layers:
        if layer.params:
            total = 0.0
            for p in layer.params.values():
                g = p.grad.ravel()
                total += float(np.dot(g, g))
            norms[layer.name] = math.sqrt(total)
    return norms


#: What a hook may change (``SupervisedLoop.watched``), in a note's words; of those, the
#: values of "grads" and "params" after the hook are written in its note.
CHANGES = {"batch": "the batch", "loss": "the loss", "grads": "the gradients"}
CHANGES["params"] = "the parameters"


def write_note(writer, step: int, hook: str, plugin: str, note, what: str, after) -> None:
    """A step plugin's note as a trace record (see ``SupervisedStepSpecs``); ``after``: the
    values of ``what`` after the hook, when it changed them (None: it did not)."""
    if isinstance(note, str):
        note = {"change": note}
    note = dict(note or {"change": f"changed {CHANGES[what]} (no note)"})
    kind = note.pop("type", "hook")
    record = {"type": kind, "step": step, "hook": hook, "plugin": plugin, **note}
    if after is not None and what in ("grads", "params"):
        record[what] = writer.tensors(after)
    writer.write(record)


class SupervisedLoop(StepLoop):
    """One supervised run, a step at a time (``engine.run`` drives it)."""

    def __init__(self, built, run, plugins: list):
        spec = built.scenario.spec
        self.built, self.run, self.writer = built, run, run.writer
        # settings read once: the step runs millions of times on small networks, where every
        # attribute lookup on the scenario's models shows up in the step time
        self.total, self.eval_every = spec.train.steps, spec.train.eval_every
        self.constant_lr = spec.optimizer.lr if built.schedule is None else None
        self.network, self.loss, self.optimizer = built.network, built.loss, built.optimizer
        self.x_all, self.y_all = built.data.x, built.targets
        self.params = built.network.parameters
        self.norm_names = {layer.name: f"grad_norm.{layer.name}" for layer in self.network.layers}
        self.batches = batches(built, spec.train.batch_size, spec.train.shuffle)
        names = [f"{index}.{plugin_name(p)}" for index, p in enumerate(plugins)]
        self.hooks = StepHooks(SupervisedStepSpecs, plugins, names)
        self.listening = bool(self.hooks.active)
        self.metrics: dict[str, float] = {}
        self.failure = None  # (value, norms, batch, lr) of a step that diverged
        self.pictures = LearnedPictures(built)

    def step(self, step: int, traced: bool) -> dict:
        indices = next(self.batches)
        x, y = (
            (self.x_all, self.y_all)
            if indices is None
            else (
                self.x_all[indices],
                self.y_all[indices],
            )
        )
        lr = self.constant_lr if self.constant_lr is not None else self.built.lr(step)
        network, loss = self.network, self.loss
        batch = SupervisedBatch(x, y, indices) if self.listening else None
        notes = []
        if batch is not None:
            notes += self._call("batch", traced, "batch", batch=batch, step=step)
            x, y = batch.x, batch.y
        prediction = network.forward(x, training=True)
        if batch is not None:
            batch.prediction = prediction
            notes += self._call("forward", traced, None, batch=batch, network=network, step=step)
        value = loss.forward(prediction, y)
        grad = loss.backward()
        if batch is not None:
            batch.value, batch.grad = value, grad
            notes += self._call("loss", traced, "loss", batch=batch, step=step)
            value, grad = batch.value, batch.grad
        network.backward(grad, input_grad=traced or self.listening)
        norms = grad_norms(network)
        total_norm = math.sqrt(sum(n * n for n in norms.values()))
        if not (math.isfinite(value) and math.isfinite(total_norm)):
            self.failure = (x, y, prediction, grad, indices, lr, value, norms)
            return {"step": step, "loss": value, "lr": lr}
        writer = self.writer
        if traced:
            writer.write(
                {
                    "type": "step",
                    "step": step,
                    "lr": lr,
                    "batch_size": len(x),
                    "batch": None if indices is None else indices.tolist(),
                }
            )
            record.forward_records(writer, step, network)
            record.loss_record(writer, step, loss, prediction, y, value, grad)
            record.backward_records(writer, step, network)
            before = record.snapshot(network)
        if batch is not None:
            batch.grad_norm = total_norm
            notes += self._call(
                "gradients", traced, "grads", batch=batch, network=network, step=step
            )
            for note in notes:
                write_note(writer, step, *note)
        self.optimizer.step(self.params, lr)
        if traced:
            record.update_records(writer, step, network, self.optimizer, before, lr)
        if batch is not None:
            for note in self._call("after_update", traced, "params", network=network, step=step):
                write_note(writer, step, *note)
        if traced:
            self.pictures.write(writer, step)
        scalars = {"step": step, "loss": value, "lr": lr}
        norm_names = self.norm_names
        for name, norm in norms.items():
            scalars[norm_names[name]] = norm
        return scalars

    def _call(self, hook: str, traced: bool, what: str | None, **kwargs) -> list[tuple]:
        """Call ``tracegrad_supervised_<hook>``; on a traced step, the notes for the trace:
        (hook, plugin, note, what, values after it or None) of each plugin that returned a
        note or changed ``what`` (``CHANGES``; None: the hook changes nothing)."""
        if not traced:
            self.hooks.call(f"tracegrad_supervised_{hook}", **kwargs)
            return []
        called = self.hooks.call_watched(
            f"tracegrad_supervised_{hook}", self.watched(what, kwargs), **kwargs
        )
        return [(hook, name.split(".", 1)[-1], note, what, after) for name, note, after in called]

    def watched(self, what: str | None, kwargs: dict):
        """Copies of what a hook may change, for ``StepHooks.call_watched``."""
        batch, network = kwargs.get("batch"), self.network
        if what == "batch":
            return lambda: {"x": batch.x.copy(), "y": batch.y.copy()}
        if what == "loss":
            return lambda: {"L": np.float64(batch.value), "dL/dŷ": batch.grad.copy()}
        if what in ("grads", "params"):
            return lambda: copies(network, what)
        return dict

    def failed(self, scalars: dict) -> bool:
        return self.failure is not None

    def measures(self, step: int, total: int) -> bool:
        return (step + 1) % self.eval_every == 0 or step == total - 1

    def measure(self, step: int) -> dict[str, float]:
        """Accuracy (classification) on the training data, and validation loss/accuracy."""
        built, results = self.built, {}
        data, loss, network = built.data, self.loss, self.network
        classify = data.task in ("binary", "multiclass") and data.y is not None
        if classify:
            prediction = network.forward(data.x, training=False)
            results["accuracy"] = float(np.mean(loss.classify(prediction) == data.y[:, 0]))
        if data.x_val is not None:
            prediction = network.forward(data.x_val, training=False)
            target = loss.prepare_target(data.y_val, network.out_features)
            results["val_loss"] = float(loss.forward(prediction, target))
            if classify:
                results["val_accuracy"] = float(
                    np.mean(loss.classify(prediction) == data.y_val[:, 0])
                )
        self.metrics = results
        return results

    def diverged(self, step: int, scalars: dict) -> str:
        """Trace the failing step in full and say where the first NaN/inf appeared."""
        x, y, prediction, grad, indices, lr, value, norms = self.failure
        writer, network = self.writer, self.network
        # again in full: an untraced step skips the data's dL/dx, which the trace shows (the
        # same cached forward pass and dL/dŷ, so the same gradients)
        network.backward(grad)
        writer.write(
            {
                "type": "step",
                "step": step,
                "lr": lr,
                "batch_size": len(x),
                "batch": None if indices is None else indices.tolist(),
            }
        )
        record.forward_records(writer, step, network)
        record.loss_record(writer, step, self.loss, prediction, y, value, grad)
        record.backward_records(writer, step, network)
        place = first_nonfinite([network], value, norms)
        return (
            f"{place} at step {step}. Likely cause: the learning rate ({lr:g}) is too high "
            f"for this network (the updates overshoot and grow), or a log/division saw 0. "
            f"Try a smaller optimizer.lr or gradient clipping (train.clip_norm)."
        )

    def end(self, status: str) -> dict:
        history = self.run.history
        if not self.metrics and history and status != "failed":
            self.measure(len(history) - 1)
        return {
            "final_loss": history[-1]["loss"] if history else None,
            "metrics": self.metrics,
        }


def first_nonfinite(networks, value: float, norms: dict[str, float]) -> str:
    """Where the first NaN/inf is: a layer's forward values, the loss, or a gradient."""
    for network in networks:
        for layer in network.layers:
            for name, array in layer.forward_values().items():
                if not np.all(np.isfinite(array)):
                    return f"the forward pass of layer '{layer.name}' produced NaN/inf in {name}"
    if not np.isfinite(value):
        return f"the loss is {value}"
    for network in reversed(networks):
        for layer in reversed(network.layers):
            if not np.isfinite(norms.get(layer.name, 0.0)):
                return f"the gradient of layer '{layer.name}' is NaN/inf"
    return "a NaN/inf appeared"
