"""The fields of a supervised scenario (``kind: supervised``, the default).

    data: {type: moons, ...}         the data set (inputs and targets)
    model: {layers: [...]}           the network, input to output
    loss: {type: cross_entropy}      the loss
    optimizer: {type: adam, lr: ...} the optimizer (and its schedule)
    train: {steps, batch_size, ...}  how long and in what batches

``data``, ``model.layers``, ``loss`` and ``optimizer`` are discriminated unions (on ``type``)
over the registered components, built after plugins load.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, create_model

from engine.plugins import Registry
from engine.scenario import ScenarioBase, Section, TraceConfig, TrainBase, component_union


class TrainConfig(TrainBase):
    steps: int = Field(gt=0, description="Number of optimizer steps (one mini-batch each).")
    batch_size: int | None = Field(
        None, gt=0, description="Samples per step; default: the whole data set (full batch)."
    )
    shuffle: bool = Field(True, description="Reshuffle the data each epoch (from the seed).")
    clip_norm: float | None = Field(
        None,
        gt=0,
        description="Rescale all gradients together when their global L2 norm "
        "exceeds this value: g <- g * clip_norm / ||g||.",
    )
    clip_value: float | None = Field(
        None, gt=0, description="Clamp every gradient entry to [-clip_value, clip_value]."
    )
    eval_every: int = Field(
        100, gt=0, description="Evaluate validation loss/accuracy every this many steps."
    )
    validation_split: float = Field(
        0.0,
        ge=0,
        lt=1,
        description="Fraction of the samples held out for validation (e.g. 0.2), drawn at "
        "random from the seed; 0: train on everything.",
    )


class SupervisedFields(ScenarioBase):
    kind: Literal["supervised"] = Field("supervised", description="What is trained.")
    train: TrainConfig
    trace: TraceConfig = Field(default_factory=TraceConfig)


def supervised_model(registry: Registry) -> type[SupervisedFields]:
    """The pydantic model of a supervised scenario for what ``registry`` holds."""
    layer = component_union(registry.configs("layers") + registry.configs("activations"))
    model_section = create_model(
        "Model",
        __base__=Section,
        layers=(list[layer], Field(min_length=1, description="The layers, input to output.")),
    )
    return create_model(
        "Scenario",
        __base__=SupervisedFields,
        data=(
            component_union(registry.configs("datasets")),
            Field(description="The data set."),
        ),
        model=(model_section, Field(description="The network.")),
        loss=(component_union(registry.configs("losses")), Field(description="The loss.")),
        optimizer=(
            component_union(registry.configs("optimizers")),
            Field(description="The optimizer (and its learning-rate schedule)."),
        ),
    )
