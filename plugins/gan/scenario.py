"""The pydantic model of a GAN scenario (``kind: gan``).

Built, like the supervised model, after plugins load: ``data``, both networks' layers,
``loss`` (a GAN loss), both optimizers and ``tricks`` are discriminated unions over the
registered components, so a validation error names the file:line of the offending key.

    name: ring8
    kind: gan
    data: {type: ring, modes: 8, radius: 2.0, std: 0.02}
    latent: {dim: 2, distribution: normal}
    generator: {layers: [...]}
    discriminator: {layers: [...]}
    loss: {type: non_saturating}
    optimizer: {generator: {type: adam, ...}, discriminator: {type: adam, ...}}
    train: {steps: 5000, batch_size: 256, d_steps: 1, g_steps: 1}
    tricks: [{type: label_smoothing, real: 0.9}]
    conditional: {type: concat}       # optional: a conditional GAN (plugins.gan.conditional)
    metrics: {every: 500, samples: 2500}
    trace: {every: 1000}
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, create_model, model_serializer

from engine.plugins import Registry
from engine.scenario import ScenarioBase, Section, TraceConfig, TrainBase, component_union


class LatentConfig(Section):
    dim: int = Field(gt=0, description="Size of the latent vector z that G maps to a sample.")
    distribution: Literal["normal", "uniform", "spherical"] = Field(
        "normal",
        description="How z is drawn: normal N(0, I); uniform U(-1, 1) per entry; spherical: "
        "normal, then scaled to length 1 (a point on the unit sphere).",
    )


class GanTrainConfig(TrainBase):
    steps: int = Field(gt=0, description="Number of training steps (each: D's, then G's updates).")
    batch_size: int = Field(
        64, gt=0, description="Samples per update: real samples for D and latent vectors z."
    )
    d_steps: int = Field(
        1, gt=0, description="D updates per step (k in Goodfellow et al.'s Algorithm 1)."
    )
    g_steps: int = Field(1, gt=0, description="G updates per step, after D's.")


class MetricsConfig(Section):
    every: int | None = Field(
        500,
        gt=0,
        description="Measure G's samples every this many steps (and at the end); null: only "
        "at the end.",
    )
    samples: int = Field(
        2500, gt=0, description="Samples drawn from G per measurement (VEEGAN uses 2,500)."
    )
    mmd_samples: int = Field(
        500,
        gt=1,
        description="Samples of each side used for the MMD estimate (its cost grows with "
        "the square of this number).",
    )
    gradient_sparsity: bool = Field(
        False,
        exclude_if=lambda on: not on,  # left out of traces when off: they stay as they were
        description="Record the per-step scalar handoff_zeros: the fraction of exact zeros in "
        "the gradient D hands to G (dL/dG(z)); relu and max-pooling in D raise it.",
    )


class GanScenarioBase(ScenarioBase):
    kind: Literal["gan"] = Field(
        description="What is trained: gan, a generator and a discriminator."
    )
    train: GanTrainConfig
    latent: LatentConfig
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    trace: TraceConfig = Field(default_factory=TraceConfig)

    @model_serializer(mode="wrap")
    def _without_absent_conditional(self, handler):
        """An unconditional GAN's resolved scenario has no ``conditional`` key, so its trace
        header (and scenario hash) reads as before conditionings existed."""
        data = handler(self)
        if isinstance(data, dict) and data.get("conditional", False) is None:
            del data["conditional"]
        return data


def gan_scenario_model(registry: Registry) -> type[GanScenarioBase]:
    """The pydantic model of a GAN scenario for what ``registry`` holds."""

    def build():
        layer = component_union(registry.configs("layers") + registry.configs("activations"))
        optimizer = component_union(registry.configs("optimizers"))

        def network(title: str):
            return create_model(
                title,
                __base__=Section,
                layers=(
                    list[layer],
                    Field(min_length=1, description="The layers, input to output."),
                ),
            )

        optimizers = create_model(
            "GanOptimizers",
            __base__=Section,
            generator=(optimizer, Field(description="G's optimizer (and its schedule).")),
            discriminator=(optimizer, Field(description="D's optimizer (and its schedule).")),
        )
        tricks = registry.configs("gan_tricks")
        trick = component_union(tricks) if tricks else Any
        conditionings = registry.configs("gan_conditionings")
        conditional = component_union(conditionings) if conditionings else Any
        return create_model(
            "GanScenario",
            __base__=GanScenarioBase,
            data=(
                component_union(registry.configs("datasets")),
                Field(description="The real data G learns to imitate."),
            ),
            generator=(
                network("Generator"),
                Field(
                    description="G: latent vector z -> a sample (its last layer's units = "
                    "the data's features)."
                ),
            ),
            discriminator=(
                network("Discriminator"),
                Field(
                    description="D: a sample -> one logit (its last layer: 1 unit, no activation)."
                ),
            ),
            loss=(
                component_union(registry.configs("gan_losses")),
                Field(description="The GAN loss (both players' losses)."),
            ),
            optimizer=(optimizers, Field(description="One optimizer for each network.")),
            tricks=(
                list[trick],
                Field(default_factory=list, description="GAN tricks, applied in this order."),
            ),
            conditional=(
                conditional | None,
                Field(
                    None,
                    description="A conditional GAN: G and D are told each sample's class, "
                    "taken from the data set (concat, projection or acgan); default: none.",
                ),
            ),
        )

    return registry.cached("gan_scenario_model", build)
