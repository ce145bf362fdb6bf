"""Turn a network's saved state into trace records (only on traced steps).

Shared by every training loop, so a supervised step and a GAN phase read the same way:
``forward_records`` → ``loss_record`` → ``backward_records`` → ``update_records``.
"""

from __future__ import annotations

import numpy as np

from engine.components import Loss, Optimizer
from engine.network import Network
from engine.trace.writer import TraceWriter


def forward_records(writer: TraceWriter, step: int, network: Network, **extra) -> None:
    for index, layer in enumerate(network.layers):
        writer.write(
            {
                "type": "forward",
                "step": step,
                **extra,
                "layer": layer.name,
                "index": index,
                "kind": layer.config.type,
                "formula": layer.formula,
                "values": writer.tensors(layer.forward_values()),
                **_worked(layer.forward_worked()),
            }
        )


def _worked(text: str | None) -> dict:
    """A record's ``worked`` field: one value computed with numbers, for layers that give one."""
    return {"worked": text} if text else {}


def loss_record(
    writer: TraceWriter, step: int, loss: Loss, prediction, target, value: float, grad, **extra
) -> None:
    writer.write(
        {
            "type": "loss",
            "step": step,
            **extra,
            "loss": loss.config.type,
            "formula": loss.formula,
            "value": value,
            "prediction": writer.tensor(prediction),
            "target": writer.tensor(target),
            "dL/dprediction": writer.tensor(grad),
            **({"note": loss.fused_note} if getattr(loss, "fused", False) else {}),
        }
    )


def backward_records(writer: TraceWriter, step: int, network: Network, **extra) -> None:
    for index in reversed(range(len(network.layers))):
        layer = network.layers[index]
        note = getattr(layer, "note", None)  # e.g. its activation fused with the loss
        writer.write(
            {
                "type": "backward",
                "step": step,
                **extra,
                "layer": layer.name,
                "index": index,
                **({"note": note} if note else {}),
                "values": writer.tensors(layer.backward_values()),
                **_worked(layer.backward_worked()),
            }
        )


def snapshot(network: Network) -> dict[str, np.ndarray]:
    return {p.key: p.value.copy() for p in network.parameters}


def update_records(
    writer: TraceWriter,
    step: int,
    network: Network,
    optimizer: Optimizer,
    before: dict[str, np.ndarray],
    lr: float,
    **extra,
) -> None:
    for p in network.parameters:
        writer.write(
            {
                "type": "update",
                "step": step,
                **extra,
                "param": p.key,
                "optimizer": optimizer.config.type,
                "lr": lr,
                "before": writer.tensor(before[p.key]),
                "grad": writer.tensor(p.grad),
                "applied": writer.tensor(p.value - before[p.key]),
                "after": writer.tensor(p.value),
                "state": writer.tensors(optimizer.state(p.key)),
            }
        )
