"""A GAN run's outputs: the run folder, its trace header, and ``GanRunResult``.

The run folder holds, as for a supervised run, ``trace.jsonl``, ``scenario.yaml`` and
``params.npz``; the parameters of both networks are saved side by side ("G.dense0.W",
"D.dense0.W", ...), so ``engine.load_run(folder)`` can generate samples later.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.i18n import _
from engine.network import Network
from engine.result import RunResult
from engine.scenario import Scenario
from plugins.gan.build import GanBuilt


@dataclass(repr=False)
class GanRunResult(RunResult):
    """What ``engine.run`` returns for a GAN scenario.

    ``network`` is G and ``discriminator`` D; ``params`` holds both ("G.…", "D.…");
    ``history`` has one dict per step (d_loss, g_loss, D(x), D(G(z)), grad_norm.G,
    grad_norm.D, lr.G, lr.D, and modes / high_quality / w1 / mmd2 at measured steps);
    ``metrics`` the last measurement; ``warnings`` any collapse seen.
    """

    discriminator: Network | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def params(self) -> dict[str, np.ndarray]:
        return self.built.state()

    @property
    def final_loss(self) -> float | None:
        return self.history[-1].get("g_loss") if self.history else None

    def generate(self, n: int, seed: int | None = None, labels=None) -> np.ndarray:
        """n samples G(z) from the trained G (evaluation mode), z drawn from the latent
        distribution: from ``seed`` when given, else from the run's "generate" generator
        (reproducible from the scenario seed, different on every call).

        A conditional GAN draws samples of class ``labels``: an int (all n of that class) or
        a list of n ints; without labels the classes are drawn uniformly."""
        rng = self.built.ctx.rng("generate") if seed is None else np.random.default_rng(seed)
        z = self.built.latent(int(n), rng)
        cond = self.built.conditioning
        if cond is None and labels is not None:
            raise ValueError("labels= needs a conditional GAN (this scenario has no conditional:)")
        if cond is not None:
            labels = cond.labels(int(n), rng) if labels is None else self._labels(labels, n)
        else:
            chosen = self.built.sample(int(n), rng)  # a trick may choose them (rejection)
            if chosen is not None:
                return chosen
        return self.network.forward(self.built.g_input(z, labels), training=False)

    def _labels(self, labels, n: int) -> np.ndarray:
        """Class indices (n,) from an int or a list of n ints, checked against K."""
        classes = self.built.conditioning.classes
        y = np.asarray(labels)
        if y.ndim == 0:
            y = np.full(int(n), y)
        if y.shape != (int(n),) or not np.issubdtype(y.dtype, np.integer):
            raise ValueError(f"labels must be an int or a list of {n} ints, got {labels!r}")
        if y.min() < 0 or y.max() >= classes:
            raise ValueError(f"labels must lie in 0..{classes - 1} (the data's classes)")
        return y.astype(np.int64)

    def discriminate(self, x, labels=None) -> np.ndarray:
        """D's verdict on samples x (N, features), (N, 1): the probability σ(l) of "real"
        for losses with a sigmoid (minimax, non_saturating), else the raw score l.

        When D judges packs of k samples (the packing trick), each sample is judged as a
        pack of k copies of itself. A conditional D needs ``labels`` (as ``generate``).
        """
        features = self.network.out_features
        x = np.asarray(x, dtype=np.float64).reshape(-1, features)
        cond = self.built.conditioning
        if cond is not None:  # a conditional D judges each sample as one of class labels
            if labels is None:
                raise ValueError("a conditional D judges a sample of a class: give labels=")
            y = self._labels(labels, len(x))
            logits = cond.forward(self.discriminator, cond.d_input(x, y), y, training=False)
            return self.built.loss.score(logits)
        copies = self.discriminator.in_features // features
        if copies > 1:
            x = np.tile(x, (1, copies))
        logits = self.discriminator.forward(x, training=False)
        return self.built.loss.score(logits)

    def summary(self) -> str:
        name, steps = self.scenario.spec.name, self.steps_completed
        parts = [f"{name}: {_(self.status)}", _("{count} steps").format(count=steps)]
        if self.history:
            last = self.history[-1]
            losses = _("D loss {d:.4g}, G loss {g:.4g}")
            parts.append(losses.format(d=last["d_loss"], g=last["g_loss"]))
        metrics = self.metrics
        if "modes" in metrics:
            modes = _("modes {modes}/{total}")
            parts.append(modes.format(modes=metrics["modes"], total=metrics["modes_total"]))
            quality = _("high-quality {percent:.1f}%")
            parts.append(quality.format(percent=100 * metrics["high_quality"]))
        if "w1" in metrics:
            parts.append(f"W1 {metrics['w1']:.4g}")
        if "mmd2" in metrics:
            parts.append(f"MMD² {metrics['mmd2']:.3g}")
        parts.append(_("{seconds:.2f} s").format(seconds=self.seconds))
        if self.trace_path is not None:
            parts.append(_("trace: {path}").format(path=self.trace_path))
        text = _(", ").join(parts)
        if self.message and self.status != "completed":
            text += f"\n  {self.message}"
        for warning in self.warnings:
            text += "\n  " + _("warning: {warning}").format(warning=warning)
        return text


def _layers(network: Network, name: str) -> list[dict[str, Any]]:
    return [
        {
            "network": name,
            "name": layer.name,
            "index": index,
            "type": layer.config.type,
            "describe": layer.describe(),
            "formula": layer.formula,
            "params": {key: list(p.value.shape) for key, p in layer.params.items()},
        }
        for index, layer in enumerate(network.layers)
    ]


def gan_header(built: GanBuilt) -> dict[str, Any]:
    """The trace header's fields after the common ones (``engine.lifecycle.run_header``)."""
    data, loss, cond = built.data, built.loss, built.conditioning
    return {
        "kind": "gan",
        "data": {
            "samples": int(len(data.x)),
            "features": int(data.x.shape[1]),
            "task": "distribution",
            "classes": None,
            "validation_samples": None,
        },
        "loss": {
            "type": loss.config.type,
            "formula": loss.formula,
            "uses_labels": loss.uses_labels,
            "output": loss.output,
        },
        "tricks": [trick.name for trick in built.tricks],
        "network": _layers(built.generator, "G") + _layers(built.discriminator, "D"),
        **({} if cond is None else {"conditional": cond.describe()}),
    }


def gan_result(built: GanBuilt, run, status: str, message: str | None) -> GanRunResult:
    """The result of a finished GAN run (``engine.run`` gives it back)."""
    loop = run.loop
    return GanRunResult(
        built.scenario,
        built.generator,
        built,
        run.history,
        status,
        message,
        run.completed,
        run.seconds,
        dict(loop.latest),
        run.trace_path,
        run.run_dir,
        discriminator=built.discriminator,
        warnings=list(loop.metrics.warnings),
    )


def load_gan_run(scenario: Scenario, params: dict, loaded) -> GanRunResult:
    """A GAN run folder's trained G and D (``engine.load_run`` calls this)."""
    from engine.errors import TraceError
    from plugins.gan.build import build_gan

    folder, history = loaded.folder, loaded.history

    built = build_gan(scenario, with_data=False)
    missing = sorted(set(built.state()) - set(params))
    if missing:
        raise TraceError(
            f"params.npz in {folder} lacks {', '.join(missing[:3])}"
            + (" ..." if len(missing) > 3 else ""),
            hint=_("the folder's scenario.yaml and params.npz come from different runs"),
        )
    built.generator.load_state(params)
    built.discriminator.load_state(params)
    return GanRunResult(
        scenario,
        built.generator,
        built,
        history,
        loaded.status,
        None,
        len(history),
        0.0,
        dict(loaded.metrics),
        loaded.trace_path,
        folder,
        discriminator=built.discriminator,
    )
