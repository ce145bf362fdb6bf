"""What every scenario kind builds with: the build context, the data set (in the run's
precision, with a validation split held out), and the sizes the limits are checked on."""

from __future__ import annotations

import dataclasses

import numpy as np

from engine.components import BuildContext, Data
from engine.errors import BuildError
from engine.i18n import _
from engine.network import Network
from engine.network import layer_widths as _layer_widths
from engine.scenario import Scenario
from engine.seeds import SeedTree


def new_context(scenario: Scenario, precision: str | None = None) -> BuildContext:
    """The build context; its ``dtype`` is ``precision``, by default the scenario's."""
    spec = scenario.spec
    return BuildContext(
        SeedTree(spec.seed),
        scenario.registry,
        scenario.base_dir,
        total_steps=spec.train.steps,
        dtype=np.dtype(precision or getattr(spec, "precision", "float64")).type,
    )


def in_precision(data: Data, dtype) -> Data:
    """The data's float arrays as ``dtype`` (no copy when they already are): a float32 run
    computes in float32 from its inputs on."""

    def cast(array):
        if array is None or not np.issubdtype(np.asarray(array).dtype, np.floating):
            return array
        return np.asarray(array, dtype=dtype)

    return dataclasses.replace(
        data, x=cast(data.x), y=cast(data.y), x_val=cast(data.x_val), y_val=cast(data.y_val)
    )


def load_dataset(scenario: Scenario, ctx: BuildContext) -> Data:
    """The scenario's data set, its errors pointed at the ``data:`` key of the file."""
    config = scenario.spec.data
    try:
        data = scenario.registry.create("datasets", config).load(ctx)
    except (ValueError, OSError) as error:
        raise BuildError(
            _("cannot load data set '{type}': {error}").format(type=config.type, error=error),
            scenario.where(("data",)),
        ) from None
    except BuildError as error:
        error.where = error.where or scenario.where(("data",))
        raise
    if data.x.ndim not in (2, 4) or len(data.x) == 0:
        raise BuildError(
            _(
                "data set '{type}' gave inputs of shape {shape}; expected (samples, features) or "
                "(samples, channels, height, width)"
            ).format(type=config.type, shape=data.x.shape),
            scenario.where(("data",)),
        )
    return data


def hold_out(data: Data, fraction: float, rng: np.random.Generator) -> Data:
    """Move round(fraction·N) samples, chosen at random, to ``x_val``/``y_val``.

    Both parts keep the order the samples had in the data set.
    """
    n = len(data.x)
    n_val = round(fraction * n)
    if not 0 < n_val < n:
        raise ValueError(
            _(
                "a validation split of {fraction:g} of {n} samples leaves {n_val} for validation "
                "and {value} for training; both need at least one"
            ).format(fraction=fraction, n=n, n_val=n_val, value=n - n_val)
        )
    order = rng.permutation(n)
    val, train = np.sort(order[:n_val]), np.sort(order[n_val:])
    y, y_val = (None, None) if data.y is None else (data.y[train], data.y[val])
    return dataclasses.replace(data, x=data.x[train], y=y, x_val=data.x[val], y_val=y_val)


def layer_widths(layer_specs, in_features, path: tuple) -> list[tuple[tuple, int, int]]:
    """(path, inputs, units) per layer with weights, before anything is allocated."""
    return _layer_widths(layer_specs, in_features, path)


def traced_sizes(network: Network, batch: int) -> list[list[int]]:
    """Sizes of the arrays one traced step writes per layer (for the trace-size estimate)."""
    return network.traced_sizes(batch)
