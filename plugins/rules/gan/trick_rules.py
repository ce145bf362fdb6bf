"""The built-in GAN tricks' rules, written again from each trick's definition (the tricks
themselves are ``plugins.gan.tricks``; nothing here imports them).

    label_smoothing        D's labels: entries equal to the real label become ``real`` (a
                           number, or any value in [low, high]); fake ones become ``fake``
    noisy_labels           round(fraction·N) entries of each chosen batch become
                           real + fake - t (flipped); with fixed labels the count is exact
    instance_noise         D's input x + ε, ε ~ N(0, σ(t)²), σ(t) = σ₀·max(0, 1 - t/T):
                           a random draw; the scalar instance_noise.std is σ(t)
    packing                D's input (N, d) -> (N/m, m·d); dL/dG(z) reshaped back
    experience_replay      D's fake batch with the note's rows replaced by its replayed
                           samples (past G(z), taken as recorded)
    weight_clipping        after the network's update θ <- clamp(θ, -c, c)
    gradient_penalty       D's gradient + ∂P/∂θ at random interpolates (a random draw)
    d_steps_schedule       D's updates per step: boosted steps, then the phase started last
    feature_matching,      terms added to a loss (``term`` records): checked by their effect
    historical_averaging   on the update, their own formulas counted unchecked
"""

from __future__ import annotations

import numpy as np

from engine.trace.tensors import Summary, decode
from plugins.rules.gan.tricks import RANDOM, TrickRule


def _as_interval(value) -> tuple[float, float]:
    if isinstance(value, (list, tuple)):
        return float(value[0]), float(value[1])
    return float(value), float(value)


class LabelSmoothingRule(TrickRule):
    hooks = frozenset({"d_labels"})

    def d_labels(self, config, sets, labels, n):
        real_label, fake_label = labels["real"], labels["fake"]
        for label_set in sets.values():
            smoothed = [
                self.smooth(interval, real_label, fake_label, config)
                for interval in label_set.intervals
            ]
            if smoothed != label_set.intervals:
                label_set.flips = []  # the flipped value itself was smoothed
            label_set.intervals = smoothed
        return sets

    @staticmethod
    def smooth(interval, real_label, fake_label, config):
        low, high = interval
        if low != high:
            return interval
        real, fake = config.get("real"), config.get("fake")
        if low == real_label and real is not None:
            return _as_interval(real)
        if low == fake_label and fake is not None:
            return _as_interval(fake)
        return interval


class NoisyLabelsRule(TrickRule):
    hooks = frozenset({"d_labels"})

    def d_labels(self, config, sets, labels, n):
        total = labels["real"] + labels["fake"]
        count = round(config.get("fraction", 0.05) * n)
        for word, label_set in sets.items():
            if config.get("which", "both") not in ("both", word) or count == 0:
                continue
            (low, high), *rest = label_set.intervals
            if not rest and low == high and not label_set.flips:
                label_set.flips.append((count, total - low))
            flipped = [(total - b, total - a) for a, b in label_set.intervals]
            label_set.intervals = label_set.intervals + flipped
        return sets


def instance_noise_std(config: dict, step: int, total_steps: int) -> float:
    """σ(t) = σ₀·max(0, 1 - t/T), T = anneal_steps or the number of steps."""
    horizon = config.get("anneal_steps") or total_steps
    return config.get("std", 0.1) * max(0.0, 1.0 - step / horizon)


class InstanceNoiseRule(TrickRule):
    hooks = frozenset({"d_input"})

    def d_input(self, config, x, step, total, note):
        return RANDOM if instance_noise_std(config, step, total) > 0 else x

    def scalars(self, config, step, total):
        return {"instance_noise.std": instance_noise_std(config, step, total)}


class PackingRule(TrickRule):
    hooks = frozenset({"d_input"})

    def d_input(self, config, x, step, total, note):
        m = config.get("samples", 2)
        return x.reshape(len(x) // m, -1) if isinstance(x, np.ndarray) else None

    def input_gradient(self, config, grad, shape):
        return grad.reshape(shape) if isinstance(grad, np.ndarray) else None

    def d_rows(self, config, n):
        return n // config.get("samples", 2)


class ExperienceReplayRule(TrickRule):
    """D's fake batch with the note's ``rows`` replaced by its ``replayed`` samples (in D's
    phase; G's phase and an update that found the buffer empty leave no note)."""

    hooks = frozenset({"d_input"})
    draws = "replayed samples, past G(z) drawn from the replay buffer (taken as recorded)"

    def d_input(self, config, x, step, total, note):
        if note is None:
            return x
        replayed = decode(note.get("replayed"))
        if not isinstance(x, np.ndarray) or not isinstance(replayed, np.ndarray):
            return None
        expected = x.copy()
        rows = note.get("rows") if isinstance(note.get("rows"), list) else []
        rows = [r for r in rows if isinstance(r, int) and 0 <= r < len(x)]
        if replayed.ndim == x.ndim and replayed.shape[1:] == x.shape[1:]:
            count = min(len(rows), len(replayed))  # an edited note: the rest must be G(z)
            expected[rows[:count]] = replayed[:count]
        return expected


class WeightClippingRule(TrickRule):
    hooks = frozenset({"after_update"})

    def parameters(self, config, network, before):
        if network != config.get("network", "D"):
            return before
        c = config.get("clip", 0.01)
        return {key: self.clip(value, c) for key, value in before.items()}

    @staticmethod
    def clip(value, c):
        """clamp(θ, -c, c); a summary stays when already inside, else it is not known."""
        if isinstance(value, Summary):
            return value if -c <= value.min and value.max <= c else None
        return None if value is None else np.clip(value, -c, c)


class GradientPenaltyRule(TrickRule):
    hooks = frozenset({"d_gradients"})

    def gradients(self, config, network, before):
        return RANDOM  # at random interpolates ε·x + (1 - ε)·G(z), ε not traced


class DStepsScheduleRule(TrickRule):
    def d_steps(self, config, step, d_steps):
        boost_every = config.get("boost_every")
        if step < config.get("boost_first", 0) or (boost_every and step % boost_every == 0):
            return config.get("boost_d_steps", 100)
        for phase in reversed(config.get("phases") or []):
            if step >= phase["start"]:
                return phase["d_steps"]
        return d_steps


class LossTermRule(TrickRule):
    """A trick that only adds terms to a loss (``GanBatch.add_term``): the terms are
    recorded, and the verifier adds them to the gradients it expects; the trick edits no
    gradient in place."""

    hooks = frozenset({"d_gradients", "g_loss", "g_gradients", "after_update"})


class SamplingRule(TrickRule):
    """A trick that only chooses which of G's samples are kept after training
    (``tracegrad_gan_sample``, e.g. discriminator_rejection): it acts in no step hook, so
    every claim of the step is derived as without it (a note from any hook is unchecked)."""

    hooks = frozenset()


BUILTIN = {
    "label_smoothing": LabelSmoothingRule(),
    "noisy_labels": NoisyLabelsRule(),
    "instance_noise": InstanceNoiseRule(),
    "packing": PackingRule(),
    "experience_replay": ExperienceReplayRule(),
    "weight_clipping": WeightClippingRule(),
    "gradient_penalty": GradientPenaltyRule(),
    "d_steps_schedule": DStepsScheduleRule(),
    "feature_matching": LossTermRule(),
    "historical_averaging": LossTermRule(),
    "discriminator_rejection": SamplingRule(),
}
