"""The ``learned`` records of a supervised trace (``plugins/supervised/learned.py``).

A surface or a curve is the claim ŷ = network(p) for the grid's points p, with the
parameters the step's updates left (their ``after``), in evaluation mode. It is recomputed
here, layer by layer, when every parameter's after is in the trace whole and every layer has
an evaluation-mode rule below (dense with its activation, an activation layer, dropout: the
identity); the small network's per-unit maps likewise. Otherwise, and always for images
(predictions and a confusion matrix over data the trace does not hold), the record is a
picture for the report: counted as such, not as a claim.
"""

from __future__ import annotations

import numpy as np

from engine.trace.tensors import Summary, decode
from engine.verify import steps
from engine.verify.activations import FORMULAS, formula
from engine.verify.report import Checker, Place

IMAGES = "learned (images): predictions and a confusion matrix over data the trace does not hold"
DATA = "learned: the training points pictured (the data set is not in the trace)"
NOT_WHOLE = "learned: the parameters after the update are not all in the trace whole"


def check_learned(
    check: Checker, network: steps.Network, records: list[dict], scenario: dict
) -> None:
    """Check every ``learned`` record of the trace (``records`` in file order)."""
    for position, record in enumerate(records):
        if record.get("type") != "learned":
            continue
        if "x" in (record.get("data") or {}):
            check_data(check, record, scenario)
        if record.get("picture") not in ("surface", "curve"):
            check.picture(IMAGES if record.get("picture") == "images" else "learned")
            continue
        step = record["step"]
        own = [(i, r) for i, r in enumerate(records[:position]) if r.get("step") == step]
        updates = [(i, r) for i, r in own if r["type"] == "update"]
        if not updates:
            check.picture(NOT_WHOLE)
            continue
        params = {r["param"]: steps.Update.from_record(r).after for _, r in updates}
        for _, note in (p for p in own if p[0] > updates[-1][0] and p[1]["type"] != "update"):
            # a plugin's note after the update holds the parameters it left (``params``)
            params.update({k: decode(v) for k, v in (note.get("params") or {}).items()})
        check_surface(check, network, record, params)


def check_data(check: Checker, record: dict, scenario: dict) -> None:
    """The training points pictured are the first of the scenario's inline data (without a
    validation split, the training data is the inline data); else a picture."""
    data, train = scenario.get("data") or {}, scenario.get("train") or {}
    if data.get("type") != "inline" or train.get("validation_split"):
        check.picture(DATA)
        return
    place, pictured = Place(record["step"], "learned"), record["data"]
    count = len(pictured["x"])
    how = "the first training points are the scenario's inline data"
    check.compare(place, "data.x", pictured["x"], np.asarray(data["x"], float)[:count], how)
    if pictured.get("y") is not None:
        check.compare(place, "data.y", pictured["y"], np.asarray(data["y"], float)[:count], how)


def check_surface(check: Checker, network: steps.Network, record: dict, params: dict) -> None:
    grid = record["grid"]
    points = grid_points([np.asarray(a, dtype=np.float64) for a in grid["axes"]])
    outputs = replay(network, params, points)
    if outputs is None:
        kinds = ", ".join(sorted(set(network.kinds) - EVALUATED))
        reason = NOT_WHOLE if not kinds else f"learned: no evaluation-mode rule for {kinds}"
        check.picture(reason)
        return
    place = Place(record["step"], "learned")
    check.compare(
        place,
        f"{record['picture']} output",
        grid["output"],
        outputs[-1],
        "ŷ = network(grid point), with the parameters after the step's update",
    )
    units = record.get("units")
    if not units:
        return
    unit_points = grid_points([np.asarray(a, dtype=np.float64) for a in units["axes"]])
    values = dict(zip(network.names, replay(network, params, unit_points) or []))
    for layer in units["layers"]:
        check.compare(
            place,
            f"units {layer['layer']}.a",
            layer["a"],
            values.get(layer["layer"]),
            "the hidden unit's a at the grid point",
        )


def grid_points(axes: list[np.ndarray]) -> np.ndarray:
    """The points of a grid, the second input varying slowest (as the record writes them)."""
    mesh = np.meshgrid(*axes)
    return np.stack([m.ravel() for m in mesh], axis=1)


#: Layer kinds replayed in evaluation mode.
EVALUATED = {"dense", "dropout", *FORMULAS}


def replay(network: steps.Network, params: dict, x: np.ndarray) -> list[np.ndarray] | None:
    """Each layer's output for inputs x, in evaluation mode: dense z = x·W + b, a = f(z); an
    activation layer a = f(x); dropout the identity. None when a layer has no rule or a
    parameter is not whole."""
    outputs = []
    for index, kind in enumerate(network.kinds):
        config = network.configs[index]
        if kind == "dense":
            values = {short: params.get(key) for short, key in network.keys(index)}
            W, b = values.get("W"), values.get("b", 0.0)
            if not _whole(W) or not _whole(b):
                return None
            x = x @ np.asarray(W, dtype=np.float64) + np.asarray(b, dtype=np.float64)
            activation = config.get("activation")
            f = formula({"type": activation} if isinstance(activation, str) else activation)
        elif kind == "dropout":
            f = formula(None)
        elif kind in FORMULAS:
            f = formula(config)
        else:
            return None
        if f is None:
            return None
        x = f.f(x)
        outputs.append(x)
    return outputs


def _whole(value) -> bool:
    return value is not None and not isinstance(value, Summary)
