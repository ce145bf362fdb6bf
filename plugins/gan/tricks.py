"""Built-in GAN tricks, each a small plugin acting through the step hooks of
``plugins.gan.hookspecs.GanStepSpecs`` (ganhacks, Chintala et al.; Salimans et al. 2016;
Sønderby et al. 2017; Arjovsky et al. 2017; Gulrajani et al. 2017).

Tricks act in the order the scenario lists them. Every change is returned as
``self.change(text)`` and lands in the trace on traced steps, e.g. "real targets 1 -> 0.9".
The architecture tricks (tanh output, leaky_relu, batch norm, dropout, noise layers) are
plain layers, and learning-rate decay is an optimizer's ``schedule``; none of them is here.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from engine import hookimpl
from engine.components import ComponentConfig
from plugins.gan.components import GanTrick, describe_values

#: A label given as one number, or as a range [low, high] drawn uniformly per sample.
Label = float | tuple[float, float]


def _check_range(value):
    if isinstance(value, tuple) and value[0] > value[1]:
        raise ValueError(f"a range is [low, high] with low <= high, found {list(value)}")
    return value


def _draw(value: Label, shape, rng: np.random.Generator) -> np.ndarray | float:
    if isinstance(value, tuple):
        return rng.uniform(value[0], value[1], size=shape)
    return value


# --- labels ----------------------------------------------------------------------------------


class LabelSmoothingConfig(ComponentConfig):
    type: Literal["label_smoothing"] = "label_smoothing"
    real: Label | None = Field(
        0.9,
        description="What D's 'real' labels (1) become: a number (one-sided smoothing, e.g. "
        "0.9) or a range [low, high] drawn per sample (soft labels, e.g. [0.7, 1.2]); "
        "null: keep 1.",
    )
    fake: Label | None = Field(
        None,
        description="What D's 'fake' labels (0) become, e.g. 0.1 or [0.0, 0.3] (two-sided "
        "smoothing); default null: keep 0 (one-sided smoothing).",
    )

    @field_validator("real", "fake")
    @classmethod
    def _ranges(cls, value):
        return _check_range(value)


class LabelSmoothing(GanTrick):
    """Softer labels for D: real 1 -> 0.9 (one-sided), fake 0 -> 0.1 (two-sided), or ranges.

    Salimans et al. 2016; ganhacks 6. Every label equal to the loss's real label (1) becomes
    ``real``, every fake label (0) becomes ``fake``, as a fixed number or drawn per sample
    from [low, high]:

        t_real: 1 -> 0.9 (one-sided)       t_fake: 0 -> 0.1 (two-sided)

    D can no longer push its outputs to certainty, so its gradient for G stays informative.
    Only D's labels change; G's target stays 1. Trace: "real targets 1 -> 0.9".
    """

    needs_labels = True

    def setup(self, run):
        super().setup(run)
        self.real_label, self.fake_label = run.loss.real_label, run.loss.fake_label

    @hookimpl
    def tracegrad_gan_d_labels(self, batch, step):
        notes = []
        for which in ("real_target", "fake_target"):
            targets = getattr(batch, which)
            new = targets.copy()
            for label, value, word in (
                (self.real_label, self.config.real, "real"),
                (self.fake_label, self.config.fake, "fake"),
            ):
                hit = targets == label
                if value is None or not hit.any():
                    continue
                new[hit] = _draw(value, (int(hit.sum()),), self.rng)
                notes.append(
                    f"{which.split('_')[0]} batch: {word} targets {label:g} -> "
                    f"{describe_values(new[hit])}"
                )
            setattr(batch, which, new)
        return self.change("; ".join(notes)) if notes else None


class NoisyLabelsConfig(ComponentConfig):
    type: Literal["noisy_labels"] = "noisy_labels"
    fraction: float = Field(
        0.05, gt=0, le=0.5, description="Fraction of D's labels flipped each update, e.g. 0.05."
    )
    which: Literal["both", "real", "fake"] = Field(
        "both", description="Flip labels of the real batch, the fake batch, or both."
    )


class NoisyLabels(GanTrick):
    """Flip a fraction of D's labels (ganhacks 13: "occasionally flip the labels").

    In each chosen batch, round(fraction·N) samples drawn at random get the other class's
    label,

        t <- t_real + t_fake - t        (1 <-> 0; a smoothed 0.9 becomes 0.1)

    so D is never fully sure. Trace: "flipped 13 of 256 real targets (1 -> 0)".
    """

    needs_labels = True

    def setup(self, run):
        super().setup(run)
        self.label_sum = run.loss.real_label + run.loss.fake_label

    @hookimpl
    def tracegrad_gan_d_labels(self, batch, step):
        notes = []
        for word in ("real", "fake"):
            if self.config.which not in ("both", word):
                continue
            targets = getattr(batch, f"{word}_target").copy()
            count = round(self.config.fraction * len(targets))
            if count == 0:
                continue
            chosen = self.rng.choice(len(targets), size=count, replace=False)
            before = targets[chosen]
            targets[chosen] = self.label_sum - before
            setattr(batch, f"{word}_target", targets)
            notes.append(
                f"flipped {count} of {len(targets)} {word} targets "
                f"({describe_values(before)} -> {describe_values(targets[chosen])})"
            )
        return self.change("; ".join(notes)) if notes else None


# --- D's input -------------------------------------------------------------------------------


class InstanceNoiseConfig(ComponentConfig):
    type: Literal["instance_noise"] = "instance_noise"
    std: float = Field(0.1, gt=0, description="Std σ₀ of the noise at step 0.")
    anneal_steps: int | None = Field(
        None,
        gt=0,
        description="Steps over which σ falls linearly to 0; default: the whole training.",
    )


class InstanceNoise(GanTrick):
    """Gaussian noise on D's inputs, real and fake, annealed to zero (instance noise).

    Sønderby et al. 2017; Arjovsky & Bottou 2017. In both phases, every input of D gets

        x̃ = x + ε,   ε ~ N(0, σ(t)² I),   σ(t) = σ₀ · max(0, 1 - t / T_anneal)

    The noise widens both distributions so they overlap and D cannot separate them
    perfectly early on. In G's phase D sees G(z) + ε; since ε does not depend on G(z),
    dL/dG(z) = dL/dx̃. Trace: "added N(0, 0.08²) to real and fake inputs"; scalar
    ``instance_noise.std``.
    """

    def std(self, step: int) -> float:
        horizon = self.config.anneal_steps or self.total_steps
        return self.config.std * max(0.0, 1.0 - step / horizon)

    @hookimpl
    def tracegrad_gan_d_input(self, batch, step):
        std = self.std(step)
        if std == 0.0:
            return None
        batch.fake = batch.fake + self.rng.normal(0.0, std, size=batch.fake.shape)
        which = "fake inputs"
        if batch.real is not None:
            batch.real = batch.real + self.rng.normal(0.0, std, size=batch.real.shape)
            which = "real and fake inputs"
        return self.change(f"added N(0, {std:.3g}²) noise to {which}")

    @hookimpl
    def tracegrad_gan_scalars(self, step):
        return {"instance_noise.std": self.std(step)}


class PackingConfig(ComponentConfig):
    type: Literal["packing"] = "packing"
    samples: int = Field(
        2, ge=2, description="m: samples D judges together as one input (PacGAN2: 2)."
    )


class Packing(GanTrick):
    """D judges m samples at once, all real or all G's (PacGAN, Lin et al. 2018).

    A G that puts its samples on few modes is then easy to spot (packs of look-alikes):

        D's input (N, d) -> (N/m, m·d)     row i: samples i·m, ..., i·m + m - 1 side by side
        one label per pack;  in G's phase D's dL/dx (N/m, m·d) -> (N, d) for G

    D's first layer then has m·d inputs; ``train.batch_size`` must be a multiple of m.
    ``RunResult.discriminate`` judges a single sample as a pack of m copies of it.
    Trace: "packed 256 samples into 128 inputs of 2".
    """

    def d_input_features(self, features):
        return features * self.config.samples

    def setup(self, run):
        super().setup(run)
        m = self.config.samples
        if run.batch_size % m:
            raise ValueError(f"train.batch_size {run.batch_size} is not a multiple of {m}")

    def pack(self, x: np.ndarray) -> np.ndarray:
        return x.reshape(len(x) // self.config.samples, -1)

    @hookimpl
    def tracegrad_gan_d_input(self, batch, step):
        shape = batch.fake.shape
        batch.fake = self.pack(batch.fake)
        batch.fake_backward.append(lambda grad: grad.reshape(shape))
        if batch.real is not None:
            batch.real = self.pack(batch.real)
        return self.change(
            f"packed {shape[0]} samples into {len(batch.fake)} inputs of {self.config.samples}"
        )


class ExperienceReplayConfig(ComponentConfig):
    type: Literal["experience_replay"] = "experience_replay"
    buffer: int = Field(
        1024, ge=1, description="How many of G's past samples the buffer keeps (oldest out)."
    )
    fraction: float = Field(
        0.5,
        gt=0,
        le=1,
        description="Share of D's fake batch replaced by samples drawn from the buffer, e.g. 0.5.",
    )


class ExperienceReplay(GanTrick):
    """Experience replay (ganhacks 8: "keep a replay buffer of past generations and
    occasionally show them"; Shrivastava et al. 2017): D also judges G's old samples, so G
    cannot win by jumping back to a mode D has forgotten.

    In each of D's updates, k = round(fraction·N) rows of D's fake batch, chosen at random,
    are replaced by samples drawn uniformly (with replacement) from a buffer of G's past
    samples; then this update's G(z) joins the buffer, whose oldest samples leave once it
    holds ``buffer``. The first update finds the buffer empty and replaces nothing. G's own
    phase is unchanged. The trace note holds the replaced ``rows`` and the ``replayed``
    samples: "replayed 128 of 256 fake samples from a buffer of 1024".
    """

    def setup(self, run):
        super().setup(run)
        self.buffer: np.ndarray | None = None

    def remember(self, samples: np.ndarray) -> None:
        joined = samples if self.buffer is None else np.concatenate([self.buffer, samples])
        self.buffer = joined[-self.config.buffer :].copy()

    @hookimpl
    def tracegrad_gan_d_input(self, batch, step):
        if batch.phase != "d":
            return None
        note, n = None, len(batch.fake)
        count = min(round(self.config.fraction * n), n)
        if self.buffer is not None and count > 0:
            rows = np.sort(self.rng.choice(n, size=count, replace=False))
            replayed = self.buffer[self.rng.integers(0, len(self.buffer), size=count)]
            fake = batch.fake.copy()
            fake[rows] = replayed
            batch.fake = fake
            note = self.change(
                f"replayed {count} of {n} fake samples from a buffer of {len(self.buffer)}"
            )
            note.update(rows=rows.tolist(), replayed=replayed)
        self.remember(batch.samples)
        return note


# --- parameters ------------------------------------------------------------------------------


class WeightClippingConfig(ComponentConfig):
    type: Literal["weight_clipping"] = "weight_clipping"
    clip: float = Field(0.01, gt=0, description="Clip every parameter to [-clip, clip].")
    network: Literal["D", "G"] = Field("D", description="Whose parameters: D (the WGAN critic).")


class WeightClipping(GanTrick):
    """Clamp D's parameters to [-c, c] after each of its updates (WGAN).

    Arjovsky et al. 2017:

        θ <- clamp(θ, -c, c)        (c = 0.01)

    A crude way of keeping the critic Lipschitz, so its score difference estimates the
    Wasserstein-1 distance. Trace: "clipped 812 of 16897 D parameters to [-0.01, 0.01]".
    """

    @hookimpl
    def tracegrad_gan_after_update(self, network, name, step):
        if name != self.config.network:
            return None
        clip, clipped, total = self.config.clip, 0, 0
        for p in network.parameters:
            clipped += int(np.count_nonzero(np.abs(p.value) > clip))
            total += p.value.size
            np.clip(p.value, -clip, clip, out=p.value)
        return self.change(
            f"clipped {clipped} of {total} {name} parameters to [-{clip:g}, {clip:g}]"
        )


class FeatureMatchingConfig(ComponentConfig):
    type: Literal["feature_matching"] = "feature_matching"
    layer: str | None = Field(
        None,
        min_length=1,
        description="D's layer whose outputs are matched, e.g. 'D.hidden'; default: the "
        "layer before D's last (its last hidden features).",
    )
    weight: float = Field(1.0, gt=0, description="λ, the weight of the term in G's loss.")


class FeatureMatching(GanTrick):
    """Feature matching (Salimans et al. 2016, §3.1): G also learns to match the mean of D's
    intermediate features on real data.

        L_G <- L_G + λ ‖ f̄_real − f̄_fake ‖²,   f̄ = (1/N) Σ_i f(x_i)
        ∂/∂f(x̃_i) = −(2λ/N) (f̄_real − f̄_fake)      for each of G's samples x̃_i

    f is the output of one of D's layers; the real features are constants for G. Their
    gradient is carried down D to its input by ``discriminator.backward_from`` and joins
    D's dL/dx̃ on its way into G. A fresh real batch (the trick's own draw) is taken in each
    of G's updates, in ``tracegrad_gan_latent``: before any trick's ``tracegrad_gan_d_input``,
    so one that changes D's inputs (packing, instance noise) changes it too, whatever the
    order of the tricks.
    """

    @property
    def formula(self) -> str:
        return "λ ‖ mean f(x) − mean f(G(z)) ‖²"

    def setup(self, run) -> None:
        self.rng, self.data, self.n = run.rng, run.data.x, run.batch_size
        layers = [layer.name for layer in run.discriminator.layers]
        if self.config.layer is None:
            if len(layers) < 2:
                raise ValueError("D has one layer: there are no intermediate features to match")
            self.layer = layers[-2]
        elif self.config.layer not in layers:
            raise ValueError(
                f"D has no layer '{self.config.layer}'; D's layers: {', '.join(layers)}"
            )
        else:
            self.layer = self.config.layer

    @hookimpl
    def tracegrad_gan_latent(self, batch, step):
        if batch.phase == "g":
            batch.real = self.data[self.rng.integers(0, len(self.data), size=self.n)]
        return None

    @hookimpl
    def tracegrad_gan_g_loss(self, batch, discriminator, step):
        real = batch.features_real[self.layer]
        fake = batch.features_fake[self.layer]
        gap = real.mean(axis=0) - fake.mean(axis=0)
        weight = self.config.weight
        value = weight * float(np.dot(gap, gap))
        grad_features = np.broadcast_to(-2.0 * weight / len(fake) * gap, fake.shape)
        fake_grad = discriminator.backward_from(self.layer, np.array(grad_features))
        batch.add_term("feature_matching", value, fake_grad=fake_grad, formula=self.formula)
        return self.change(f"G's loss + {value:.6g}: features of {self.layer} matched")


class HistoricalAveragingConfig(ComponentConfig):
    type: Literal["historical_averaging"] = "historical_averaging"
    network: Literal["D", "G", "both"] = Field(
        "both", description="Whose parameters are pulled towards their own history."
    )
    weight: float = Field(
        1e-3, gt=0, description="λ, the weight of the term in the network's loss."
    )


class HistoricalAveraging(GanTrick):
    """Historical averaging (Salimans et al. 2016, §3.3): each network's loss gains a term
    that pulls its parameters towards their average over past steps.

        L <- L + λ ‖θ − θ̄‖²,   θ̄ = (1/t) Σ_{i<t} θ_i   (the parameters after each update)
        ∂/∂θ = 2λ (θ − θ̄)

    Before the first update θ̄ is θ itself, so the term starts at 0. The term and its
    gradient are added through ``GanBatch.add_term``, so the trace records both.
    """

    @property
    def formula(self) -> str:
        return "λ ‖θ − θ̄‖²"

    def setup(self, run) -> None:
        self.networks = {"G": run.generator, "D": run.discriminator}
        self.sums: dict[str, np.ndarray] = {}
        self.counts: dict[str, int] = {}

    def acts_on(self, name: str) -> bool:
        return self.config.network in (name, "both")

    def add(self, batch, name: str) -> dict | None:
        if not self.acts_on(name):
            return None
        weight, value, grads = self.config.weight, 0.0, {}
        count = self.counts.get(name, 0)
        for p in self.networks[name].parameters:
            mean = self.sums[p.key] / count if count else p.value
            gap = p.value - mean
            value += weight * float(np.sum(gap * gap))
            grads[p.key] = 2.0 * weight * gap
        batch.add_term("historical_averaging", value, grads=grads, formula=self.formula)
        return self.change(f"{name}'s loss + {value:.6g} (θ̄ over {count} updates)")

    @hookimpl
    def tracegrad_gan_d_gradients(self, batch, discriminator, step):
        return self.add(batch, "D")

    @hookimpl
    def tracegrad_gan_g_gradients(self, batch, generator, step):
        return self.add(batch, "G")

    @hookimpl
    def tracegrad_gan_after_update(self, network, name, step):
        if self.acts_on(name):
            for p in network.parameters:
                total = self.sums.get(p.key)
                self.sums[p.key] = p.value.copy() if total is None else total + p.value
            self.counts[name] = self.counts.get(name, 0) + 1
        return None


class GradientPenaltyConfig(ComponentConfig):
    type: Literal["gradient_penalty"] = "gradient_penalty"
    weight: float = Field(10.0, gt=0, description="λ, the weight of the penalty in D's loss.")
    target: float = Field(
        1.0, ge=0, description="The gradient norm the penalty pulls towards (1: WGAN-GP)."
    )
    at: Literal["interpolates", "real"] = Field(
        "interpolates",
        description="Where ∇D is taken: on random points between real and fake samples "
        "(WGAN-GP), or on the real samples (with target 0: the R1 penalty).",
    )
    every: int = Field(
        1,
        ge=1,
        description="Apply the penalty at every k-th step only, weighted k·λ (lazy "
        "regularization, Karras et al. 2020): about the same effect for 1/k of the cost.",
    )


#: Activations with f(z) = f'(z)·z and f'' = 0 almost everywhere: the second-order backward
#: below is exact for them.
PIECEWISE_LINEAR = {"identity", "relu", "leaky_relu"}


class GradientPenalty(GanTrick):
    """A penalty on ‖∇ₓD‖, D's gradient w.r.t. its input, added to D's loss (WGAN-GP, R1).

    Gulrajani et al. 2017 (WGAN-GP); at the real samples with target 0, Mescheder et al.
    2018 (R1):

        x̂ = ε·x_real + (1 - ε)·x_fake,   ε ~ U(0, 1) per sample
        P = λ · mean_n (‖∇_x D(x̂_n)‖ - target)²

    Its gradient needs the gradient of a gradient (second order). For a D made of dense
    layers and piecewise-linear activations (relu, leaky_relu, identity), a_i = m_i ⊙ z_i
    with the masks m_i = f'(z_i) constant almost everywhere, so the input gradient is a
    product of the weights:

        h_L = 1,   h_{i-1} = (h_i ⊙ m_i)·W_iᵀ,   ∇_x D = h_0                 (down)
        u_0 = dP/dh_0 = 2λ/N · (‖h_0‖ - target) · h_0 / ‖h_0‖
        dP/dW_i = u_{i-1}ᵀ·(h_i ⊙ m_i),   u_i = (u_{i-1}·W_i) ⊙ m_i          (up)

    and the biases do not change ∇_x D. With ``every: k`` the penalty acts at every k-th
    step only, with weight k·λ. Trace: "penalty 0.37 (mean ‖∇D‖ 0.81)".
    """

    def setup(self, run):
        super().setup(run)
        for layer in run.discriminator.layers:
            activation = getattr(layer, "activation", None)
            kind = layer.config.type
            name = None if activation is None else activation.config.type
            if kind == "dense" and (name is None or name in PIECEWISE_LINEAR):
                continue
            if kind in PIECEWISE_LINEAR:
                continue
            raise ValueError(
                f"the gradient penalty needs a second-order backward, written for dense "
                f"layers with {', '.join(sorted(PIECEWISE_LINEAR))} activations; D's layer "
                f"'{layer.name}' is {layer.describe()}"
            )

    def input_gradient(self, network, x: np.ndarray):
        """∇_x D(x) per sample (N, features) and the saved h_i ⊙ m_i of every layer."""
        network.forward(x, training=True)
        h = np.ones((len(x), network.out_features))
        saved = []
        for layer in reversed(network.layers):
            mask = _mask(layer)
            delta = h if mask is None else h * mask
            saved.append(delta)
            h = delta @ layer.W.value.T if hasattr(layer, "W") else delta
        return h, saved[::-1]

    def penalty(self, network, x: np.ndarray, weight: float | None = None):
        """P and dP/dW for every dense layer (by parameter key)."""
        grad_x, deltas = self.input_gradient(network, x)
        weight = self.config.weight if weight is None else weight
        target, n = self.config.target, len(x)
        norms = np.sqrt(np.sum(grad_x * grad_x, axis=1, keepdims=True))
        value = float(weight * np.mean((norms - target) ** 2))
        safe = np.where(norms > 0, norms, 1.0)
        u = 2.0 * weight / n * (norms - target) * grad_x / safe
        grads = {}
        for layer, delta in zip(network.layers, deltas):
            if hasattr(layer, "W"):
                grads[layer.W.key] = u.T @ delta
                u = u @ layer.W.value
            mask = _mask(layer)
            if mask is not None:
                u = u * mask
        return value, grads, norms

    @hookimpl
    def tracegrad_gan_d_gradients(self, batch, discriminator, step):
        every = self.config.every
        if step % every:
            return None
        if self.config.at == "real":
            x = batch.real
        else:
            eps = self.rng.uniform(size=(len(batch.real), 1))
            x = eps * batch.real + (1.0 - eps) * batch.fake
        value, grads, norms = self.penalty(discriminator, x, every * self.config.weight)
        for p in discriminator.parameters:
            if p.key in grads:
                p.grad = p.grad + grads[p.key]
        batch.penalties["gradient_penalty"] = value
        return self.change(f"penalty {value:.4g} (mean ‖∇D‖ {float(norms.mean()):.3g})")


def _mask(layer) -> np.ndarray | None:
    """f'(z) of a layer's activation at its last forward pass (None: no activation)."""
    cache = layer.cache
    activation = getattr(layer, "activation", None)
    if activation is None:
        return None
    if "z" in cache:  # a dense layer's own activation
        return activation.derivative(cache["z"], cache["a"])
    return activation.derivative(cache["x"], cache["a"])  # an activation standing as a layer


# --- the schedule ----------------------------------------------------------------------------


class Phase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: int = Field(ge=0, description="First step of this phase.")
    d_steps: int = Field(ge=1, description="D updates per step from here on.")


class DStepsScheduleConfig(ComponentConfig):
    type: Literal["d_steps_schedule"] = "d_steps_schedule"
    phases: list[Phase] = Field(
        default_factory=list,
        description="From step `start` on, D makes `d_steps` updates per step, e.g. "
        "[{start: 0, d_steps: 5}, {start: 1000, d_steps: 1}]; before the first phase: "
        "train.d_steps.",
    )
    boost_first: int = Field(
        0, ge=0, description="The first this many steps make boost_d_steps D updates."
    )
    boost_every: int | None = Field(
        None, gt=0, description="Every this many steps (0, n, 2n, ...) make boost_d_steps."
    )
    boost_d_steps: int = Field(100, ge=1, description="D updates on a boosted step.")

    @field_validator("phases")
    @classmethod
    def _ordered(cls, phases):
        starts = [p.start for p in phases]
        if starts != sorted(set(starts)):
            raise ValueError(f"phases must start at increasing steps, found {starts}")
        return phases


class DStepsSchedule(GanTrick):
    """Train D more at some steps: Goodfellow et al.'s k, made to vary over training.

    The WGAN schedule (Arjovsky et al. 2017) is
    ``{boost_first: 25, boost_every: 500, boost_d_steps: 100}`` with ``train.d_steps: 5``:
    the critic is trained to near-optimality early on and now and then. Trace: ``d_steps``
    in the step record and the per-step scalars.
    """

    @hookimpl
    def tracegrad_gan_d_steps(self, step, d_steps):
        config = self.config
        if step < config.boost_first or (
            config.boost_every is not None and step % config.boost_every == 0
        ):
            return config.boost_d_steps
        for phase in reversed(config.phases):
            if step >= phase.start:
                return phase.d_steps
        return d_steps


BUILTIN = (
    ("label_smoothing", LabelSmoothing, LabelSmoothingConfig),
    ("noisy_labels", NoisyLabels, NoisyLabelsConfig),
    ("instance_noise", InstanceNoise, InstanceNoiseConfig),
    ("packing", Packing, PackingConfig),
    ("experience_replay", ExperienceReplay, ExperienceReplayConfig),
    ("weight_clipping", WeightClipping, WeightClippingConfig),
    ("gradient_penalty", GradientPenalty, GradientPenaltyConfig),
    ("d_steps_schedule", DStepsSchedule, DStepsScheduleConfig),
    ("feature_matching", FeatureMatching, FeatureMatchingConfig),
    ("historical_averaging", HistoricalAveraging, HistoricalAveragingConfig),
)


@hookimpl
def tracegrad_register_gan_tricks(register):
    for name, implementation, config in BUILTIN:
        register(name, implementation, config)
