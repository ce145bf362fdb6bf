"""A network: a stack of layers with forward, backward and parameters.

forward:   a_0 = x,  a_i = layer_i(a_{i-1})
backward:  g_n = dL/da_n,  g_{i-1} = layer_i.backward(g_i)   (the chain rule, last to first)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.components import Activation, BuildContext, Layer, LayerConfig, Parameter, shape_size
from engine.errors import BuildError
from engine.i18n import _


def input_shape(x: np.ndarray) -> int | tuple[int, ...]:
    """The shape of one sample of a batch ``x``: D for (N, D), (C, H, W) for (N, C, H, W)."""
    return int(x.shape[1]) if x.ndim == 2 else tuple(int(size) for size in x.shape[1:])


def describe_shape(shape: int | tuple[int, ...]) -> str:
    """ "64 inputs" for flat samples, "inputs of shape (1, 8, 8)" for images."""
    return f"{shape} inputs" if isinstance(shape, int) else f"inputs of shape {shape}"


def layer_widths(layer_specs, in_shape, path: tuple) -> list[tuple[tuple, int, int]]:
    """(path, inputs, units) per layer with a weight matrix (or kernels), before anything is
    allocated; shapes follow each config's ``output_shape``. Stops at the first layer that
    cannot take its input (building it reports why)."""
    widths = []
    for index, spec in enumerate(layer_specs):
        # a config not derived from LayerConfig still gets the default: units, if any
        shapes = type(spec) if isinstance(spec, LayerConfig) else LayerConfig
        try:
            width = shapes.parameter_widths(spec, in_shape)
            out_shape = shapes.output_shape(spec, in_shape)
        except ValueError:
            break
        if width is not None:
            widths.append(((*path, index), *width))
        in_shape = out_shape
    return widths


def output_shape(layer_specs, in_shape):
    """The shape of one sample after all the layers, from their configs (nothing is built);
    None when some layer cannot take its input."""
    for spec in layer_specs:
        shapes = type(spec) if isinstance(spec, LayerConfig) else LayerConfig
        try:
            in_shape = shapes.output_shape(spec, in_shape)
        except ValueError:
            return None
    return in_shape


class ActivationLayer(Layer):
    """An activation used as a layer of its own: a = f(x), no parameters."""

    takes_images = True  # elementwise: any sample shape

    def __init__(self, config, activation: Activation):
        super().__init__(config)
        self.activation = activation
        self.formula = activation.formula

    def forward(self, x, training):
        a = self.activation.forward(x)
        self.cache = {"x": x, "a": a}
        return a

    def backward(self, grad_out):
        x, a = self.cache["x"], self.cache["a"]
        grad_x = self.activation.backward(x, a, grad_out)
        self.grad_cache = {"dL/da": grad_out, "dL/dx": grad_x}
        return grad_x

    def backward_values(self):
        if getattr(self, "note", None):  # fused with the loss: the gradient received is dL/dx
            return {"dL/dx": self.grad_cache["dL/dx"]}
        values = {"dL/da": self.grad_cache["dL/da"]}
        derivative = self.activation.derivative(self.cache["x"], self.cache["a"])
        if derivative is not None:
            values["f'(x)"] = derivative
        values["dL/dx"] = self.grad_cache["dL/dx"]
        return values

    def describe(self):
        return self.config.type


class Initialization:
    """Resolves a layer's initial parameter values from its ``init:`` mapping.

    A layer asks ``init("W", shape, fan_in, fan_out, default)``: explicit nested lists are
    used as given (after a shape check), an initializer config draws from the scenario seed,
    and ``default`` (an initializer config) applies when the scenario says nothing.
    """

    def __init__(
        self,
        layer_name: str,
        specs: dict[str, Any],
        ctx: BuildContext,
        where: callable,
        path: tuple,
        source: str = "",
    ):
        self.layer_name, self.specs, self.ctx = layer_name, dict(specs or {}), ctx
        self.source = source
        self.where, self.path = where, path
        self.used: set[str] = set()
        self.rng = ctx.seeds.child("init").generator(layer_name)

    def __call__(
        self, name: str, shape: tuple[int, ...], fan_in: int, fan_out: int, default
    ) -> np.ndarray:
        self.used.add(name)
        spec = self.specs.get(name, default)
        if isinstance(spec, list):
            values = np.asarray(spec, dtype=np.float64)
            if values.dtype == object or values.shape != tuple(shape):
                found = "a ragged nested list" if values.dtype == object else str(values.shape)
                raise BuildError(
                    _(
                        "explicit init for {layer_name}.{name} has shape {found}, expected "
                        "{tuple}{source}"
                    ).format(
                        layer_name=self.layer_name,
                        name=name,
                        found=found,
                        tuple=tuple(shape),
                        source=self.source,
                    ),
                    self.where((*self.path, "init", name)),
                    hint=_shape_hint(name, shape),
                )
            return values.astype(self.ctx.dtype)
        if isinstance(spec, dict):  # a layer's default, given as plain data
            spec = self.ctx.registry.get("initializers", spec["type"]).config(**spec)
        initializer = self.ctx.create("initializers", spec)
        return np.asarray(
            initializer.sample(tuple(shape), fan_in, fan_out, self.rng), dtype=self.ctx.dtype
        )

    def check_all_used(self, layer: Layer) -> None:
        unknown = sorted(set(self.specs) - self.used)
        if unknown:
            known = ", ".join(layer.params) or "none"
            raise BuildError(
                _(
                    "layer '{layer_name}' has no parameter '{unknown}' to initialize; its "
                    "parameters: {known}"
                ).format(layer_name=self.layer_name, unknown=unknown[0], known=known),
                self.where((*self.path, "init", unknown[0])),
            )


def _shape_hint(name: str, shape: tuple[int, ...]) -> str:
    if len(shape) == 4:
        return (
            f"{name} has one kernel per output channel: {shape[0]} lists of {shape[1]} "
            f"channels, each {shape[2]} rows of {shape[3]} numbers"
        )
    if len(shape) == 2:
        return (
            f"{name} has one row per input and one column per unit: "
            f"{shape[0]} rows of {shape[1]} numbers"
        )
    return f"give {shape[0]} numbers"


class Network:
    """Layers applied in order. ``parameters`` lists every Parameter, input layer first.

    The network computes in ``dtype`` (the scenario's precision): an input or a gradient of
    another float type is converted on the way in, so a float32 network stays float32.
    """

    def __init__(self, layers: list[Layer], in_features, out_features, dtype=np.float64):
        self.layers = layers
        self.in_features = in_features
        self.out_features = out_features
        self.dtype = np.dtype(dtype)
        self.parameters: list[Parameter] = [p for layer in layers for p in layer.params.values()]

    def forward(self, x: np.ndarray, training: bool = True, outputs: dict | None = None):
        """The network's output for ``x``; ``outputs``, when given, receives each layer's
        output by layer name."""
        if x.dtype != self.dtype:
            x = x.astype(self.dtype)
        for layer in self.layers:
            x = layer.forward(x, training)
            if outputs is not None:
                outputs[layer.name] = x
        return x

    def backward(
        self, grad: np.ndarray, input_grad: bool = True, param_grads: bool = True
    ) -> np.ndarray | None:
        """dL/dx of the network for dL/d(output) ``grad``, filling every parameter's grad.

        ``input_grad=False``: dL/dx will not be read (the data's gradient), so the first
        layer may skip it and the result may be None; ``param_grads=False``: the parameters'
        gradients will not be read either (``Layer.input_grad_needed``, ``param_grads_needed``).
        """
        if grad.dtype != self.dtype:
            grad = grad.astype(self.dtype)
        first = self.layers[0]
        first.input_grad_needed = input_grad
        if not param_grads:
            for layer in self.layers:
                layer.param_grads_needed = False
        try:
            for layer in reversed(self.layers):
                grad = layer.backward(grad)
        finally:
            first.input_grad_needed = True
            if not param_grads:
                for layer in self.layers:
                    layer.param_grads_needed = True
        return grad

    def backward_from(self, name: str, grad: np.ndarray) -> np.ndarray:
        """dL/dx for a gradient ``grad`` at the output of layer ``name``: the backward pass
        of that layer and the ones before it, on their cached forward values. Overwrites
        those layers' parameter gradients and backward values."""
        index = next(i for i, layer in enumerate(self.layers) if layer.name == name)
        grad = grad.astype(self.dtype, copy=False)
        for layer in reversed(self.layers[: index + 1]):
            grad = layer.backward(grad)
        return grad

    def state(self) -> dict[str, np.ndarray]:
        """Copies of every parameter ("hidden.W") and buffer ("norm.running_mean")."""
        state = {p.key: p.value.copy() for p in self.parameters}
        for layer in self.layers:
            for name, buffer in layer.buffers.items():
                state[f"{layer.name}.{name}"] = buffer.copy()
        return state

    def load_state(self, values: dict[str, np.ndarray]) -> None:
        """Copy saved values into the parameters and buffers, in place."""
        for p in self.parameters:
            if p.key in values:
                p.value[...] = values[p.key]
        for layer in self.layers:
            for name, buffer in layer.buffers.items():
                if f"{layer.name}.{name}" in values:
                    buffer[...] = values[f"{layer.name}.{name}"]

    @property
    def parameter_count(self) -> int:
        return sum(p.value.size for p in self.parameters)

    def traced_sizes(self, batch: int) -> list[list[int]]:
        """Sizes of the arrays one traced step writes per layer (the trace-size estimate):
        the input, five arrays of the output's size, and six per parameter."""
        sizes = []
        for layer in self.layers:
            inputs, outputs = shape_size(layer.in_shape), shape_size(layer.out_shape)
            activations = [batch * inputs] + [batch * outputs] * 5
            parameters = [p.value.size for p in layer.params.values() for _ in range(6)]
            sizes.append(activations + parameters)
        return sizes


def build_network(
    layer_specs: list,
    in_features: int,
    ctx: BuildContext,
    where: callable,
    path: tuple = ("model", "layers"),
    prefix: str = "",
) -> Network:
    """Instantiate and build each layer, checking that shapes chain.

    ``in_features`` is a sample's shape: an int for flat data, (C, H, W) for images. Each
    layer's ``in_shape`` and ``out_shape`` are set. ``where(path)`` turns a scenario path
    into ``file:line`` for error messages.
    """
    layers: list[Layer] = []
    names: dict[str, int] = {}
    features = in_features
    registry = ctx.registry
    for index, spec in enumerate(layer_specs):
        name = getattr(spec, "name", None) or f"{prefix}{spec.type}{index}"
        if name in names:
            raise BuildError(
                _("two layers are named '{name}' (layers {names} and {index})").format(
                    name=name, names=names[name], index=index
                ),
                where((*path, index, "name")),
                hint=_("layer names must be unique"),
            )
        names[name] = index
        if spec.type in registry.components["activations"]:
            layer = ActivationLayer(spec, registry.create("activations", spec))
        else:
            layer = registry.create("layers", spec)
        layer.name = name
        if isinstance(features, int):
            source = (
                f" (its {features} inputs come from layer '{layers[-1].name}')"
                if layers
                else f" (its {features} inputs are the data's features)"
            )
        else:
            source = (
                f" (its inputs of shape {features} come from layer '{layers[-1].name}', "
                f"{layers[-1].config.type})"
                if layers
                else f" (its inputs of shape {features} are the data's images)"
            )
        if not isinstance(features, int) and not layer.takes_images:
            raise BuildError(
                _("layer '{name}' ({type}) takes flat inputs, but gets images{source}").format(
                    name=name, type=spec.type, source=source
                ),
                where((*path, index)),
                hint=_("put {type: flatten} before it: (C, H, W) becomes C·H·W inputs"),
            )
        init = Initialization(name, getattr(spec, "init", None), ctx, where, (*path, index), source)
        try:
            out_shape = layer.build(features, ctx, init)
        except BuildError:
            raise
        except ValueError as error:
            if isinstance(features, int) and not layer.takes_images:
                message = f"layer '{name}' cannot take {features} inputs: {error}"
            else:  # images, or an image layer: both layers and both shapes
                message = (
                    f"layer '{name}' ({spec.type}) cannot take {describe_shape(features)}"
                    f"{source}: {error}"
                )
            raise BuildError(message, where((*path, index))) from None
        layer.in_shape, layer.out_shape = features, out_shape
        features = out_shape
        init.check_all_used(layer)
        layers.append(layer)
    return Network(layers, in_features, features, ctx.dtype)
