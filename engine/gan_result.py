"""A GAN run's outputs: the run folder, its trace header, and ``GanRunResult``.

The run folder holds, as for a supervised run, ``trace.jsonl``, ``scenario.yaml`` and
``params.npz``; the parameters of both networks are saved side by side ("G.dense0.W",
"D.dense0.W", ...), so ``engine.load_run(folder)`` can generate samples later.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from engine.files import save_arrays
from engine.gan_build import GanBuilt
from engine.network import Network
from engine.result import RunResult, abort_trace, open_run_folder, run_header
from engine.scenario import Scenario
from engine.trace import TraceWriter


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

    def generate(self, n: int, seed: int | None = None) -> np.ndarray:
        """n samples G(z) from the trained G (evaluation mode), z drawn from the latent
        distribution: from ``seed`` when given, else from the run's "generate" generator
        (reproducible from the scenario seed, different on every call)."""
        rng = self.built.ctx.rng("generate") if seed is None else np.random.default_rng(seed)
        return self.network.forward(self.built.latent(int(n), rng), training=False)

    def discriminate(self, x) -> np.ndarray:
        """D's verdict on samples x (N, features), (N, 1): the probability σ(l) of "real"
        for losses with a sigmoid (minimax, non_saturating), else the raw score l.

        When D judges packs of k samples (the packing trick), each sample is judged as a
        pack of k copies of itself.
        """
        features = self.network.out_features
        x = np.asarray(x, dtype=np.float64).reshape(-1, features)
        copies = self.discriminator.in_features // features
        if copies > 1:
            x = np.tile(x, (1, copies))
        logits = self.discriminator.forward(x, training=False)
        return self.built.loss.score(logits)

    def summary(self) -> str:
        parts = [f"{self.scenario.spec.name}: {self.status}", f"{self.steps_completed} steps"]
        if self.history:
            last = self.history[-1]
            parts.append(f"D loss {last['d_loss']:.4g}, G loss {last['g_loss']:.4g}")
        metrics = self.metrics
        if "modes" in metrics:
            parts.append(f"modes {metrics['modes']}/{metrics['modes_total']}")
            parts.append(f"high-quality {100 * metrics['high_quality']:.1f}%")
        if "w1" in metrics:
            parts.append(f"W1 {metrics['w1']:.4g}")
        if "mmd2" in metrics:
            parts.append(f"MMD² {metrics['mmd2']:.3g}")
        parts.append(f"{self.seconds:.2f} s")
        if self.trace_path is not None:
            parts.append(f"trace: {self.trace_path}")
        text = ", ".join(parts)
        if self.message and self.status != "completed":
            text += f"\n  {self.message}"
        for warning in self.warnings:
            text += f"\n  warning: {warning}"
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


def gan_header(scenario: Scenario, built: GanBuilt) -> dict[str, Any]:
    data, loss = built.data, built.loss
    return {
        **run_header(scenario, built.ctx),
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
    }


class GanOutput:
    """The run folder and trace of a GAN run; ``finish`` returns the GanRunResult."""

    def __init__(self, scenario: Scenario, built: GanBuilt, trace, run_dir):
        self.scenario, self.built = scenario, built
        self.history: list[dict] = []
        self.run_dir, self.trace_path = open_run_folder(scenario, trace, run_dir)
        self.writer = TraceWriter(self.trace_path, scenario.spec.trace.max_values)
        self.writer.write(gan_header(scenario, built))

    def finish(
        self,
        status: str,
        message: str | None,
        completed: int,
        seconds: float,
        metrics: dict,
        warnings: list[str],
    ) -> GanRunResult:
        last = self.history[-1] if self.history else {}
        end = {
            "status": status,
            "steps_completed": completed,
            "final_loss": last.get("g_loss"),
            "d_loss": last.get("d_loss"),
            "metrics": metrics,
            "warnings": warnings,
        }
        if message:
            end["message"] = message
        self.writer.close(end)
        if self.run_dir is not None:
            save_arrays(self.run_dir / "params.npz", self.built.state())
        return GanRunResult(
            self.scenario,
            self.built.generator,
            self.built,
            self.history,
            status,
            message,
            completed,
            seconds,
            dict(metrics),
            self.trace_path,
            self.run_dir,
            discriminator=self.built.discriminator,
            warnings=list(warnings),
        )

    def abort(self, error: BaseException) -> None:
        abort_trace(self.writer, len(self.history), error)


def load_gan_run(
    scenario: Scenario, params: dict, history: list, status: str, metrics: dict, folder: Path
) -> GanRunResult:
    """A GAN run folder's trained G and D (``engine.load_run`` calls this)."""
    from engine.errors import TraceError
    from engine.gan_build import build_gan

    built = build_gan(scenario, with_data=False)
    missing = sorted(set(built.state()) - set(params))
    if missing:
        raise TraceError(
            f"params.npz in {folder} lacks {', '.join(missing[:3])}"
            + (" ..." if len(missing) > 3 else ""),
            hint="the folder's scenario.yaml and params.npz come from different runs",
        )
    built.generator.load_state(params)
    built.discriminator.load_state(params)
    trace_path = folder / "trace.jsonl"
    return GanRunResult(
        scenario,
        built.generator,
        built,
        history,
        status,
        None,
        len(history),
        0.0,
        dict(metrics),
        trace_path if trace_path.is_file() else None,
        folder,
        discriminator=built.discriminator,
    )
