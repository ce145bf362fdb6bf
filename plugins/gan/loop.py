"""The GAN training loop: Goodfellow et al. (2014), Algorithm 1, one step t:

    D phase, d_steps times (k in the paper):
        x ~ the data (N samples),  z ~ p(z),  x̃ = G(z)        G's output detached
        l_real = D(x),  l_fake = D(x̃)                           two forward passes of D
        L_D = loss_real(l_real, t_real) + loss_fake(l_fake, t_fake)
        backward through D only, both terms' gradients summed; update D
    G phase, g_steps times:
        z ~ p(z),  x̃ = G(z),  l = D(x̃)                          D frozen
        L_G = loss_G(l, t_G)
        backward through D: dL/dx̃ (D's own dL/dθ is computed, never applied)
        backward through G with dL/dG(z) = dL/dx̃; update G

G never sees the data: everything it learns arrives as D's dL/dx̃. Tricks change the step
at named points (``plugins.gan.hookspecs.GanStepSpecs``). Every step writes its scalars; traced
steps write every array of both phases, and a record that D's parameters did not change
during G's phase.
"""

from __future__ import annotations

import math

import numpy as np

from engine.components import StepLoop
from engine.errors import PluginError
from engine.i18n import N_, _
from engine.steps import copies
from engine.trace import record
from plugins.gan import conditional
from plugins.gan.build import GRID, SAMPLE_COUNT, GanBuilt, grad_norm
from plugins.gan.components import GanBatch
from plugins.gan.metrics import SampleMetrics
from plugins.supervised.loop import first_nonfinite


class Tagged:
    """The trace writer, adding fields (e.g. network="D") to each record right after its
    "step": the shared record functions (``engine.trace.record``) take the Network object
    as their argument ``network``, so its name in the trace travels this way."""

    def __init__(self, writer, **tags):
        self.writer, self.tags = writer, tags

    def write(self, data: dict) -> None:
        tagged = {}
        for key, value in data.items():
            tagged[key] = value
            if key == "step":
                tagged.update(self.tags)
        self.writer.write(tagged)

    def tensor(self, value):
        return self.writer.tensor(value)

    def tensors(self, values: dict) -> dict:
        return self.writer.tensors(values)


class GanLoop(StepLoop):
    """One GAN run: the step, its two phases, the trace and the measurements (``engine.run``
    drives it a step at a time)."""

    def __init__(self, built: GanBuilt, run):
        spec = built.scenario.spec
        self.built, self.run = built, run
        self.writer = run.writer
        self.tagged = {name: Tagged(run.writer, network=name) for name in ("G", "D")}
        self.G, self.D, self.loss = built.generator, built.discriminator, built.loss
        self.hooks = built.hooks
        self.train, self.policy = spec.train, spec.trace
        ctx = built.ctx
        self.rng_latent, self.rng_batches = ctx.rng("latent"), ctx.rng("batches")
        self.cond = built.conditioning
        self.x_all = built.data.x
        self.metrics = SampleMetrics(built.data, spec.metrics.mmd_samples, ctx.rng("metrics"))
        # the same latent vectors at every measurement, so changes are G's, not the draw's
        self.metric_z = built.latent(spec.metrics.samples, ctx.rng("metrics"))
        self.sampling_rng = ctx.rng("sampling")  # for a trick that draws samples itself
        if self.cond is not None:  # each class equally often, the same at every measurement
            self.metric_labels = np.arange(spec.metrics.samples) % self.cond.classes
            self.rng_labels = ctx.rng("labels")
        self.latest: dict = {}
        self.sample_inputs = None  # (real samples, z) pictured at every traced step

    # --- the loop (driven by engine.run) ----------------------------------------------------

    def failed(self, scalars: dict) -> bool:
        return not (math.isfinite(scalars["d_loss"]) and math.isfinite(scalars["g_loss"]))

    def measures(self, step: int, total: int) -> bool:
        every = self.built.scenario.spec.metrics.every
        return (every is not None and (step + 1) % every == 0) or step == total - 1

    def progress_value(self, scalars: dict) -> float:
        return scalars["d_loss"]

    def end(self, status: str) -> dict:
        history = self.run.history
        if status == "interrupted" and history:
            self.measure(len(history) - 1)
        last = history[-1] if history else {}
        return {
            "final_loss": last.get("g_loss"),
            "d_loss": last.get("d_loss"),
            "metrics": self.latest,
            "warnings": self.metrics.warnings,
        }

    def step(self, step: int, traced: bool) -> dict:
        """One step: D's updates, then G's; returns the step's scalars."""
        train = self.train
        d_steps = train.d_steps
        if self.hooks.listens("tracegrad_gan_d_steps"):
            answer = self.hooks.call("tracegrad_gan_d_steps", step=step, d_steps=d_steps)
            d_steps = d_steps if answer is None else int(answer)
            if d_steps < 1:
                raise PluginError(
                    _(
                        "a trick's tracegrad_gan_d_steps asked for {d_steps} D updates at step "
                        "{step}; every step needs at least one"
                    ).format(d_steps=d_steps, step=step)
                )
        lr_d, lr_g = self.built.lr("D", step), self.built.lr("G", step)
        if traced:
            self.writer.write(
                {
                    "type": "step",
                    "step": step,
                    "kind": "gan",
                    "lr": lr_d,
                    "lr.D": lr_d,
                    "lr.G": lr_g,
                    "d_steps": d_steps,
                    "g_steps": train.g_steps,
                    "batch_size": train.batch_size,
                }
            )
        for update in range(d_steps):
            d_stats = self.d_update(step, update, lr_d, traced)
        for update in range(train.g_steps):
            g_stats = self.g_update(step, update, lr_g, traced)
        scalars = {"step": step, **d_stats, **g_stats, "lr.D": lr_d, "lr.G": lr_g}
        scalars["d_steps"] = d_steps
        for extra in self.hooks.call("tracegrad_gan_scalars", step=step):
            scalars.update(extra or {})
        if traced:
            self.trace_samples(step)
        return scalars

    def call(self, hook: str, notes: list, **kwargs) -> list:
        """Call step hook ``tracegrad_gan_<hook>``; add the changes tricks report to ``notes``
        (for the trace), each with the hook's short name. Returns ``notes``."""
        for note in self.hooks.call(f"tracegrad_gan_{hook}", **kwargs):
            if isinstance(note, str):  # a plain description, not from GanTrick.change
                note = {"change": note}
            if note:
                notes.append({"hook": hook, **note})
        return notes

    def call_watched(self, hook: str, watched: tuple, what: str, traced: bool, **kwargs) -> list:
        """``call`` for a hook that may change, in place, the gradients (``what`` "grads") or
        the parameters ("params") of ``watched`` (the network and "D" or "G"). On traced
        steps each trick is called on its own, and one whose hook changed them has their
        values after it in its note (a note is written for it if it returned none): the
        trace then holds what the optimizer, or the next update, really used, and verify
        checks the change with the trick's rule."""
        network, label = watched
        if not traced:
            return self.call(hook, [], **kwargs)
        notes = []
        called = self.hooks.call_watched(
            f"tracegrad_gan_{hook}", lambda: copies(network, what), **kwargs
        )
        for name, note, after in called:
            if isinstance(note, str):
                note = {"change": note}
            note = {"hook": hook, "trick": name.rsplit(".", 1)[-1], **(note or {})}
            note.setdefault("change", f"changed {label}'s {_WORDS[what]} (no note)")
            if after is not None:
                note[what] = self.writer.tensors(after)
            notes.append(note)
        return notes

    # --- D phase ----------------------------------------------------------------------------

    def d_forward(self, x, labels, outputs=None):
        """D's logits for x (with the classes, for a conditional GAN)."""
        if self.cond is None:
            return self.D.forward(x, training=True, outputs=outputs)
        return self.cond.forward(self.D, self.cond.d_input(x, labels), labels, outputs=outputs)

    def d_backward(self, grad_logits, input_grad: bool = True, param_grads: bool = True):
        """D's backward pass from dL/dl; returns dL/d(D's input). ``input_grad``,
        ``param_grads``: False when no one reads them (see ``Network.backward``)."""
        if self.cond is None:
            return self.D.backward(grad_logits, input_grad, param_grads)
        return self.cond.backward(self.D, grad_logits)

    def d_update(self, step: int, update: int, lr: float, traced: bool) -> dict:
        """One update of D on a fresh real batch and a fresh batch of G's samples."""
        n, loss, D = self.train.batch_size, self.loss, self.D
        tag = {"phase": "d", "update": update}
        picks = self.rng_batches.integers(0, len(self.x_all), size=n)
        batch = GanBatch("d", z=self.built.latent(n, self.rng_latent), real=self.x_all[picks])
        if self.cond is not None:
            batch.real_labels = self.built.labels[picks]
            batch.labels = self.cond.labels(n, self.rng_labels)
        notes = self.call("latent", [], batch=batch, step=step)
        # G's forward pass only: its output is a constant for D (detached), G's backward
        # does not run in this phase
        batch.samples = self.G.forward(self.built.g_input(batch.z, batch.labels), training=True)
        batch.fake = batch.samples
        self.call("d_input", notes, batch=batch, step=step)
        if loss.uses_labels:
            batch.real_target = np.full((len(batch.real), 1), loss.real_label)
            batch.fake_target = np.full((len(batch.fake), 1), loss.fake_label)
            self.call("d_labels", notes, batch=batch, step=step)
        if traced:
            self.trace_d_batch(step, update, batch, notes)
            conditional.trace_labels(self.writer, step, tag, self.cond, batch)

        logits_real = self.d_forward(batch.real, batch.real_labels)
        real_value, real_grad = loss.d_real(logits_real, batch.real_target)
        self.d_backward(real_grad, input_grad=traced)  # dL/dx of data: read only by the trace
        class_real = self.cond and self.cond.term
        if traced:
            self.trace_pass(
                step,
                logits_real,
                batch.real_target,
                real_value,
                real_grad,
                loss.real_formula,
                **tag,
                batch="real",
            )
            conditional.trace_term(self.writer, step, tag, self.cond, "real", D)
        real_grads = [p.grad.copy() for p in D.parameters]

        logits_fake = self.d_forward(batch.fake, batch.labels)
        fake_value, fake_grad = loss.d_fake(logits_fake, batch.fake_target)
        self.d_backward(fake_grad, input_grad=traced)  # x̃ is a constant in this phase
        class_fake = self.cond and self.cond.term
        if traced:
            self.trace_pass(
                step,
                logits_fake,
                batch.fake_target,
                fake_value,
                fake_grad,
                loss.fake_formula,
                **tag,
                batch="fake",
            )
            conditional.trace_term(self.writer, step, tag, self.cond, "fake", D)
        for p, g in zip(D.parameters, real_grads):
            p.grad = p.grad + g  # dL_D/dθ = d(real term)/dθ + d(fake term)/dθ

        notes = self.call_watched(
            "d_gradients", (D, "D"), "grads", traced, batch=batch, discriminator=D, step=step
        )
        self.apply_terms(batch, D)
        for term in batch.terms:
            batch.penalties[term.name] = term.value
        if class_real is not None:  # the class head's cross-entropy (acgan), both batches
            batch.penalties.update(class_real=class_real, class_fake=class_fake)
        value = real_value + fake_value + sum(batch.penalties.values())
        norm = grad_norm(D)
        if traced:
            self.trace_notes(step, notes, network="D", **tag)
            self.trace_terms(step, batch, "D", tag)
            terms = {"real": real_value, "fake": fake_value, **batch.penalties}
            self.writer.write(
                {
                    "type": "gan_loss",
                    "step": step,
                    "network": "D",
                    **tag,
                    "value": value,
                    "terms": terms,
                    "formula": loss.formula,
                }
            )
            before = record.snapshot(D)
        self.built.optimizers["D"].step(D.parameters, lr)
        if traced:
            optimizer = self.built.optimizers["D"]
            record.update_records(self.tagged["D"], step, D, optimizer, before, lr, **tag)
        notes = self.call_watched(
            "after_update", (D, "D"), "params", traced, network=D, name="D", step=step
        )
        if traced:
            self.trace_notes(step, notes, network="D", **tag)
        return {
            "d_loss": value,
            "D(x)": float(np.mean(loss.score(logits_real))),
            "D(G(z))": float(np.mean(loss.score(logits_fake))),
            "grad_norm.D": norm,
        }

    # --- G phase ----------------------------------------------------------------------------

    def g_update(self, step: int, update: int, lr: float, traced: bool) -> dict:
        """One update of G through the frozen D."""
        n, loss, G, D = self.train.batch_size, self.loss, self.G, self.D
        tag = {"phase": "g", "update": update}
        batch = GanBatch("g", z=self.built.latent(n, self.rng_latent))
        if self.cond is not None:
            batch.labels = self.cond.labels(n, self.rng_labels)
        notes = self.call("latent", [], batch=batch, step=step)
        batch.samples = G.forward(self.built.g_input(batch.z, batch.labels), training=True)
        batch.fake = batch.samples
        self.call("d_input", notes, batch=batch, step=step)
        if loss.uses_labels:
            batch.target = np.full((len(batch.fake), 1), loss.generator_label)
            self.call("g_labels", notes, batch=batch, step=step)
        if traced:
            self.trace_g_batch(step, update, batch, notes)
            frozen_before = record.snapshot(D)

        shaping = self.hooks.listens("tracegrad_gan_g_loss")
        if shaping and batch.real is not None:  # a trick asked for D's features of real data
            D.forward(batch.real, training=True, outputs=batch.features_real)
        features = batch.features_fake if shaping else None
        logits = self.d_forward(batch.fake, batch.labels, outputs=features)
        value, grad_logits = loss.generator(logits, batch.target)
        # D's dL/dθ is never applied in this phase: only the trace (and a trick on D's
        # features, given D) would read it
        grad_x = self.d_backward(grad_logits, param_grads=traced or shaping)
        if traced:
            self.trace_g_through_d(step, logits, batch.target, value, grad_logits, tag)
            conditional.trace_term(self.writer, step, tag, self.cond, "fake", D)
        if self.cond is not None:
            grad_x = self.cond.x_gradient(grad_x)
            if self.cond.term is not None:  # the class term of G's loss (acgan)
                batch.penalties["class"] = self.cond.term
        loss_notes = []  # the changes of G's loss and gradients, traced before its update
        if shaping:  # terms on D's features: their gradient joins D's dL/dx
            self.call("g_loss", loss_notes, batch=batch, discriminator=D, step=step)
            for term in batch.terms:
                if term.fake_grad is not None:
                    grad_x = grad_x + term.fake_grad
        for backward in reversed(batch.fake_backward):  # undo reshaping tricks (packing)
            grad_x = backward(grad_x)
        G.backward(grad_x, input_grad=traced)  # dL/dG(z) = dL/dx̃: G's only view of the data
        if traced:  # G's backward pass as the chain rule gave it, before any added term
            self.trace_g_backward(step, grad_x, tag)
        if self.hooks.listens("tracegrad_gan_g_gradients"):
            loss_notes += self.call_watched(
                "g_gradients", (G, "G"), "grads", traced, batch=batch, generator=G, step=step
            )
            self.apply_terms(batch, G)
        value += sum(term.value for term in batch.terms) + sum(batch.penalties.values())
        norm = grad_norm(G)
        if traced:
            self.trace_notes(step, loss_notes, network="G", **tag)
            self.trace_terms(step, batch, "G", tag)
            if batch.terms or batch.penalties:
                self.trace_g_loss(step, batch, value, tag)
            before = record.snapshot(G)
        self.built.optimizers["G"].step(G.parameters, lr)
        if traced:  # the update as the optimizer made it, before any trick changes it (as D's)
            optimizer = self.built.optimizers["G"]
            record.update_records(self.tagged["G"], step, G, optimizer, before, lr, **tag)
        notes = self.call_watched(
            "after_update", (G, "G"), "params", traced, network=G, name="G", step=step
        )
        for p in D.parameters:
            p.grad = None  # discarded: D is frozen while G learns
        if traced:
            self.trace_notes(step, notes, network="G", **tag)
            self.trace_frozen(step, frozen_before, tag)
        stats = {"g_loss": value, "grad_norm.G": norm}
        if self.built.scenario.spec.metrics.gradient_sparsity:
            stats["handoff_zeros"] = float(np.mean(grad_x == 0.0))  # D's dL/dx̃, as G got it
        return stats

    # --- measurements -----------------------------------------------------------------------

    def measure(self, step: int) -> dict:
        """Sample metrics of G's current samples (modes, high-quality, W1/MMD, collapse)."""
        labels = None if self.cond is None else self.metric_labels
        samples = self.built.sample(len(self.metric_z), self.sampling_rng)
        if samples is None:  # no trick chooses the samples: G(z) for the same z every time
            samples = self.G.forward(self.built.g_input(self.metric_z, labels), training=False)
        values, warning = self.metrics.measure(samples, step)
        self.latest = dict(values)
        if self.metrics.has_modes:
            self.latest["modes_total"] = len(self.metrics.centers)
        if warning is not None:
            values["warning"] = warning
        return values

    def diverged(self, step: int, scalars: dict) -> str:
        """Name the loss that failed and the first layer (G's, then D's) whose forward values
        hold NaN/inf in the last pass."""
        which = "D's loss" if not math.isfinite(scalars["d_loss"]) else "G's loss"
        value = scalars["d_loss"] if which == "D's loss" else scalars["g_loss"]
        norms = {"G": scalars.get("grad_norm.G", 0.0), "D": scalars.get("grad_norm.D", 0.0)}
        place = first_nonfinite([self.G, self.D], value, norms)
        return (
            f"{which} became NaN/inf at step {step} ({place}): the updates overshoot. Try "
            f"smaller learning rates (optimizer.discriminator.lr, optimizer.generator.lr)."
        )

    # --- trace records (traced steps only) --------------------------------------------------

    def trace_notes(self, step: int, notes: list, **tag) -> None:
        for note in notes:  # arrays a trick put in its note are written as the trace's arrays
            note = {
                k: self.writer.tensor(v) if isinstance(v, np.ndarray) else v
                for k, v in note.items()
            }
            self.writer.write({"type": "trick", "step": step, **tag, **note})

    def trace_d_batch(self, step: int, update: int, batch: GanBatch, notes: list) -> None:
        w = self.writer
        tag = {"phase": "d", "update": update}
        w.write(
            {
                "type": "gan_phase",
                "step": step,
                **tag,
                "network": "D",
                "text": N_(
                    "D learns: real samples against G's samples; G's output is detached "
                    "(no gradient flows back to G)"
                ),
            }
        )
        w.write(
            {
                "type": "samples",
                "step": step,
                **tag,
                "network": "G",
                "distribution": self.built.scenario.spec.latent.distribution,
                "z": w.tensor(batch.z),
                "G(z)": w.tensor(batch.samples),
                "detached": True,
            }
        )
        self.trace_notes(step, notes, **tag)
        if self.loss.uses_labels:
            w.write(
                {
                    "type": "labels",
                    "step": step,
                    **tag,
                    "network": "D",
                    "real": w.tensor(batch.real_target),
                    "fake": w.tensor(batch.fake_target),
                }
            )

    def trace_pass(self, step, logits, target, value, grad, formula, **tag) -> None:
        """One of D's passes (real or fake batch): forward, loss term, backward."""
        writer = self.tagged["D"]
        record.forward_records(writer, step, self.D, **tag)
        record.loss_record(
            writer, step, self.loss, logits, target, value, grad, **tag, term=formula
        )
        record.backward_records(writer, step, self.D, **tag)

    def trace_g_batch(self, step: int, update: int, batch: GanBatch, notes: list) -> None:
        w = self.writer
        tag = {"phase": "g", "update": update}
        w.write(
            {
                "type": "gan_phase",
                "step": step,
                **tag,
                "network": "G",
                "text": N_(
                    "G learns through the frozen D: z -> G -> D, G's loss, backward through "
                    "D into G; D's parameters do not change"
                ),
            }
        )
        w.write(
            {
                "type": "latent",
                "step": step,
                **tag,
                "distribution": self.built.scenario.spec.latent.distribution,
                "z": w.tensor(batch.z),
            }
        )
        record.forward_records(self.tagged["G"], step, self.G, **tag)
        self.trace_notes(step, notes, **tag)
        conditional.trace_labels(w, step, tag, self.cond, batch)
        if batch.target is not None:
            w.write(
                {
                    "type": "labels",
                    "step": step,
                    **tag,
                    "network": "G",
                    "target": w.tensor(batch.target),
                }
            )

    def apply_terms(self, batch: GanBatch, network) -> None:
        """Add the parameter gradients of the terms tricks added (``GanBatch.add_term``)."""
        if not batch.terms:
            return
        params = {p.key: p for p in network.parameters}
        for term in batch.terms:
            for key, grad in term.grads.items():
                if key not in params:
                    raise PluginError(
                        _(
                            "a trick's term '{name}' has a gradient for '{key}', which is no "
                            "parameter of {upper}"
                        ).format(name=term.name, key=key, upper=batch.phase.upper()),
                        hint="parameters: " + ", ".join(params),
                    )
                params[key].grad = params[key].grad + grad

    def trace_terms(self, step: int, batch: GanBatch, network: str, tag: dict) -> None:
        w = self.writer
        for term in batch.terms:
            data = {"type": "term", "step": step, **tag, "network": network}
            data.update(name=term.name, formula=term.formula, value=term.value)
            data["grads"] = w.tensors(term.grads)
            if term.fake_grad is not None:
                data["dL/dG(z)"] = w.tensor(term.fake_grad)
            w.write(data)

    def trace_g_loss(self, step: int, batch: GanBatch, value: float, tag: dict) -> None:
        """G's loss when tricks added terms to it: the loss's own term and theirs."""
        added = {t.name: t.value for t in batch.terms} | batch.penalties
        terms = {"generator": value - sum(added.values()), **added}
        self.writer.write(
            {
                "type": "gan_loss",
                "step": step,
                "network": "G",
                **tag,
                "value": value,
                "terms": terms,
                "formula": self.loss.generator_formula,
            }
        )

    def trace_g_through_d(self, step, logits, target, value, grad_logits, tag) -> None:
        """G's loss on D's output, and D's (frozen) backward pass to its input."""
        record.forward_records(self.tagged["D"], step, self.D, batch="fake", **tag)
        formula = self.loss.generator_formula
        record.loss_record(
            self.tagged["G"],
            step,
            self.loss,
            logits,
            target,
            value,
            grad_logits,
            **tag,
            term=formula,
        )
        record.backward_records(self.tagged["D"], step, self.D, frozen=True, **tag)

    def trace_g_backward(self, step: int, grad_x, tag: dict) -> None:
        """What G receives (the handoff) and G's backward pass."""
        w = self.writer
        w.write(
            {
                "type": "handoff",
                "step": step,
                **tag,
                "from": "D",
                "to": "G",
                "text": N_("D's dL/dx at G's samples is the gradient G's last layer receives"),
                "dL/dG(z)": w.tensor(grad_x),
            }
        )
        record.backward_records(self.tagged["G"], step, self.G, **tag)

    def trace_samples(self, step: int) -> None:
        """A picture of the game at a traced step, written whole (whatever trace.max_values):
        SAMPLE_COUNT real samples and G(z) for a fixed z (evaluation mode, after this step's
        update), and for 1-D / 2-D data D's verdict on a grid over the data's range."""
        built = self.built
        if self.sample_inputs is None:  # drawn once, from generators of their own
            data = built.data.x
            pick = built.ctx.rng("report.real").choice(len(data), SAMPLE_COUNT, replace=True)
            z = built.latent(SAMPLE_COUNT, built.ctx.rng("report.latent"))
            self.sample_inputs = (data[pick], z)
        real, z = self.sample_inputs
        labels = None if self.cond is None else np.arange(len(z)) % self.cond.classes
        fake = built.generator.forward(built.g_input(z, labels), training=False)
        record = {"type": "gan_samples", "step": step, "real": real.tolist(), "fake": fake.tolist()}
        features = real.shape[1]
        copies = built.discriminator.in_features // features
        # a verdict per grid point needs D to judge points one by one, without labels
        alone = self.cond is None and not any(
            getattr(layer, "mixes_samples", False) for layer in built.discriminator.layers
        )
        if features in (1, 2) and copies == 1 and alone:
            both = np.vstack([real, fake])
            low, high = both.min(axis=0), both.max(axis=0)
            pad = 0.1 * np.maximum(high - low, 1e-6)
            axes = [np.linspace(a - p, b + p, GRID[features]) for a, b, p in zip(low, high, pad)]
            points = np.stack([m.ravel() for m in np.meshgrid(*axes)], axis=1)
            verdict = built.loss.score(built.discriminator.forward(points, training=False))
            shape = (GRID[features],) * features
            record["grid"] = {
                "axes": [a.tolist() for a in axes],
                "D": verdict.reshape(shape).tolist(),
            }
        self.writer.write(record)

    def trace_frozen(self, step: int, before: dict, tag: dict) -> None:
        change = max(
            (float(np.max(np.abs(p.value - before[p.key]))) for p in self.D.parameters),
            default=0.0,
        )
        self.writer.write(
            {
                "type": "frozen",
                "step": step,
                **tag,
                "network": "D",
                "unchanged": change == 0.0,
                "max_abs_change": change,
                "params": [p.key for p in self.D.parameters],
            }
        )


#: What ``GanLoop.call_watched`` watches, in a note's words.
_WORDS = {"grads": "gradients", "params": "parameters"}
