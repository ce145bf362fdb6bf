"""What the network has learned, pictured at a traced step: the ``learned`` record.

Written whole (whatever ``trace.max_values``) as the last record of a traced step, after the
updates, with the network in evaluation mode (dropout off, batch_norm on its running
estimates); drawing it draws no random number and changes nothing the next step uses.

    2-D inputs     ŷ = network(p) for the points p of a GRID × GRID grid over the data's
                   range ("surface"); for a small network also each hidden unit's a on a
                   UNIT_GRID × UNIT_GRID grid ("units")
    1-D inputs     ŷ = network(x) for CURVE points x over the data's range ("curve")
    images         the predicted class of SAMPLES images and the confusion matrix over the
                   training data, C[true][predicted] = number of samples ("images")

The training data pictured (at most DATA_POINTS points, or the SAMPLES images' pixels) is
written once, in the run's first ``learned`` record, under ``data``.
"""

from __future__ import annotations

import math

import numpy as np

#: Points per axis of the output grid of 2-D inputs, and of the per-unit maps.
GRID = 30
UNIT_GRID = 16
#: Points of the fitted curve of 1-D inputs.
CURVE = 100
#: Training points pictured with the output (the first ones of the data).
DATA_POINTS = 300
#: Images pictured with their predictions.
SAMPLES = 16
#: A network gets per-unit maps when it has at most this many hidden layers and units each.
SMALL_LAYERS, SMALL_UNITS = 3, 8


def picture_kind(data, network) -> str | None:
    """ "surface" (2-D inputs), "curve" (1-D), "images" (classified images) or None."""
    x = data.x
    if x.ndim > 2 or image_side(data) is not None:
        grey = x.ndim == 2 or (x.ndim == 4 and x.shape[1] == 1)
        return "images" if grey and data.task == "multiclass" and data.y is not None else None
    if x.ndim != 2 or x.shape[1] not in (1, 2) or network.in_features != x.shape[1]:
        return None
    return "curve" if x.shape[1] == 1 else "surface"


def image_side(data) -> int | None:
    """The side of flat square images (64 features of a multiclass task -> 8), else None."""
    x = data.x
    if x.ndim != 2 or data.task != "multiclass" or x.shape[1] < 16:
        return None
    side = math.isqrt(x.shape[1])
    return side if side * side == x.shape[1] else None


def picture_size(data, network) -> int:
    """The numbers one ``learned`` record holds at most (for the trace's size estimate)."""
    kind = picture_kind(data, network)
    if kind is None:
        return 0
    outputs = network.out_features
    points = min(len(data.x), DATA_POINTS)
    if kind == "curve":
        return CURVE * (outputs + 1) + 2 * points
    if kind == "surface":
        units = sum(width for _, width in small_hidden(network))
        return 2 * GRID + GRID * GRID * outputs + units * UNIT_GRID**2 + 3 * points
    pixels = int(np.prod(data.x.shape[1:]))
    return SAMPLES * (pixels + 3) + (data.classes or 0) ** 2


def small_hidden(network) -> list[tuple[str, int]]:
    """(name, units) of the hidden dense layers of a small network, else []."""
    dense = [layer for layer in network.layers if layer.config.type == "dense"]
    hidden = [(layer.name, int(np.prod(layer.out_shape))) for layer in dense[:-1]]
    if len(hidden) > SMALL_LAYERS or any(units > SMALL_UNITS for _, units in hidden):
        return []
    return hidden


def axes(x: np.ndarray, count: int) -> list[np.ndarray]:
    """Per input, ``count`` evenly spaced values over the data's range padded by 10% (by 1
    around a single value)."""
    low, high = x.min(axis=0), x.max(axis=0)
    pad = np.where(high - low > 1e-9, 0.1 * (high - low), 1.0)
    return [np.linspace(a - p, b + p, count) for a, b, p in zip(low, high, pad)]


def grid_points(grid_axes: list[np.ndarray]) -> np.ndarray:
    """The grid's points, one per row: the second input varies slowest (row j, column i is
    (axes[0][i], axes[1][j]))."""
    mesh = np.meshgrid(*grid_axes)
    return np.stack([m.ravel() for m in mesh], axis=1)


class LearnedPictures:
    """Writes the ``learned`` record of each traced step of one run."""

    def __init__(self, built):
        self.built = built
        self.kind = picture_kind(built.data, built.network)
        self.first = True
        self._grids: dict[int, tuple[list, np.ndarray]] = {}  # the data do not move: made once

    def _grid(self, count: int) -> tuple[list[list[float]], np.ndarray]:
        """(axes as lists, the grid's points in the network's dtype) of a grid of ``count``
        values per input (a curve's line for one input, a count × count surface for two)."""
        if count not in self._grids:
            grid_axes = axes(self.built.data.x, count)
            points = grid_points(grid_axes).astype(self.built.ctx.dtype, copy=False)
            self._grids[count] = ([a.tolist() for a in grid_axes], points)
        return self._grids[count]

    def write(self, writer, step: int) -> None:
        if self.kind is None:
            return
        record = {"type": "learned", "step": step, "picture": self.kind}
        record.update(getattr(self, f"_{self.kind}")())
        self.first = False
        writer.write(record)

    def _evaluate(self, x: np.ndarray) -> np.ndarray:
        network = self.built.network
        return network.forward(x.astype(self.built.ctx.dtype, copy=False), training=False)

    def _data(self) -> dict:
        if not self.first:
            return {}
        data = self.built.data
        points = slice(0, DATA_POINTS)
        y = None if data.y is None else data.y[points].tolist()
        return {"data": {"x": data.x[points].tolist(), "y": y}}

    def _curve(self) -> dict:
        line, points = self._grid(CURVE)  # points: the line as one column
        output = self._evaluate(points)
        return {"grid": {"axes": line, "output": output.tolist()}, **self._data()}

    def _surface(self) -> dict:
        grid_axes, points = self._grid(GRID)
        output = self._evaluate(points)
        record = {"grid": {"axes": grid_axes, "output": output.tolist()}}
        hidden = small_hidden(self.built.network)
        if hidden:
            unit_axes, points = self._grid(UNIT_GRID)
            self._evaluate(points)
            layers = {layer.name: layer for layer in self.built.network.layers}
            record["units"] = {
                "axes": unit_axes,
                "layers": [
                    {"layer": name, "a": _output(layers[name]).tolist()} for name, _ in hidden
                ],
            }
        return {**record, **self._data()}

    def _images(self) -> dict:
        data = self.built.data
        probabilities = self._evaluate(data.x)
        predicted = np.argmax(probabilities, axis=1)
        truth = data.y[:, 0].astype(np.int64)
        classes = data.classes or int(probabilities.shape[1])
        confusion = np.zeros((classes, classes), dtype=np.int64)
        np.add.at(confusion, (truth, predicted), 1)
        shown = slice(0, SAMPLES)
        record = {
            "samples": {
                "target": truth[shown].tolist(),
                "predicted": predicted[shown].tolist(),
                "probability": probabilities[shown].max(axis=1).tolist(),
            },
            "confusion": confusion.tolist(),
        }
        if self.first:
            side = image_side(data)
            pixels = data.x[shown]
            shape = [side, side] if side else list(pixels.shape[-2:])
            record["data"] = {"shape": shape, "pixels": pixels.reshape(len(pixels), -1).tolist()}
        return record


def _output(layer) -> np.ndarray:
    """A layer's output in the forward pass just made: a (or z without activation)."""
    values = layer.forward_values()
    return values["a"] if "a" in values else values["z"]
