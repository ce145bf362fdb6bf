"""The GAN kind's report sections: G and D as pictures, the curves of the game, real against
generated samples over D's verdict, and the tricks (their content is in ``report.py``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from engine import hookimpl
from engine.components import ComponentConfig, Reporter
from engine.report.document import Report, Section
from plugins.gan import report as report_parts
from plugins.reporters import player_section, sample_steps

# --- GAN runs --------------------------------------------------------------------------------


class GanNetworksConfig(ComponentConfig):
    type: Literal["gan_networks"] = "gan_networks"


class GanNetworks(Reporter):
    """GAN runs: G and D as pictures."""

    order = 20
    kinds = ("gan",)

    def sections(self, report: Report) -> list[Section]:
        return report_parts.networks(report)


class GanPlayerConfig(ComponentConfig):
    type: Literal["gan_player"] = "gan_player"
    max_steps: int = Field(
        3, ge=1, le=50, description="Traced steps in the player (the first, the last, between)."
    )


class GanPlayer(Reporter):
    """GAN runs: a traced step on G and D: D on the real and the fake batch, then G through
    the frozen D and the hand-off of ∂L/∂G(z), every number on demand (HTML)."""

    order = 25
    kinds = ("gan",)

    def sections(self, report: Report) -> list[Section]:
        activations = {}
        for network, key in (("G", "generator"), ("D", "discriminator")):
            for index, layer in enumerate((report.scenario.get(key) or {}).get("layers") or []):
                activations[f"{network}.{layer.get('type')}{index}"] = layer.get("activation")
        return player_section(report, activations, self.config.max_steps)


class GanCurvesConfig(ComponentConfig):
    type: Literal["gan_curves"] = "gan_curves"


class GanCurves(Reporter):
    """GAN runs: D and G losses, D(x) and D(G(z)), gradient norms, sample quality over time."""

    order = 30
    kinds = ("gan",)

    def sections(self, report: Report) -> list[Section]:
        return report_parts.curves(report)


class GanSamplesConfig(ComponentConfig):
    type: Literal["gan_samples"] = "gan_samples"
    max_steps: int = Field(
        6, gt=0, description="Traced steps whose batches are plotted at most (sampled evenly)."
    )


class GanSamples(Reporter):
    """GAN runs: real against generated samples, over D's verdict at the end of the run."""

    order = 40
    kinds = ("gan",)

    def sections(self, report: Report) -> list[Section]:
        return report_parts.samples(
            report, sample_steps(report.trace.traced_steps, self.config.max_steps)
        )


class GanTricksConfig(ComponentConfig):
    type: Literal["gan_tricks"] = "gan_tricks"


class GanTricks(Reporter):
    """GAN runs: what each trick is for and what it changed; the labels actually used."""

    order = 45
    kinds = ("gan",)

    def sections(self, report: Report) -> list[Section]:
        return report_parts.tricks(report)


@hookimpl
def tracegrad_register_reporters(register):
    register("gan_networks", GanNetworks, GanNetworksConfig)
    register("gan_player", GanPlayer, GanPlayerConfig)
    register("gan_curves", GanCurves, GanCurvesConfig)
    register("gan_samples", GanSamples, GanSamplesConfig)
    register("gan_tricks", GanTricks, GanTricksConfig)
