"""Build the pieces of a GAN run from a validated scenario: data, G and D, the GAN loss,
one optimizer (and schedule) per network, and the tricks on the run's own plugin manager.

G maps latent vectors to samples: ``latent.dim`` inputs, the data's features as outputs.
D maps a sample to one logit. Layer names carry the network: "G.dense0", "D.hidden", so the
parameters of both networks ("G.dense0.W", ...) can be saved side by side.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from engine.build import in_precision, layer_widths, load_dataset, new_context, traced_sizes
from engine.components import BuildContext, Data, Optimizer, Schedule
from engine.errors import BuildError
from engine.i18n import _
from engine.limits import Limits, check_parameters, check_samples, check_steps, check_trace
from engine.network import Network, build_network, output_shape
from engine.scenario import Scenario
from engine.steps import StepHooks, plugin_name, step_plugins
from plugins.gan.components import GanLoss, GanTrick, TrickSetup
from plugins.gan.conditional import Conditioning, create_conditioning
from plugins.gan.hookspecs import GanStepSpecs

#: Samples pictured at each traced step (``gan_samples`` records), and the points of D's grid
#: per axis for 1-D and 2-D data.
SAMPLE_COUNT = 256
GRID = {1: 200, 2: 40}

NETWORKS = {"G": "generator", "D": "discriminator"}


def sample_latent(distribution: str, n: int, dim: int, rng: np.random.Generator) -> np.ndarray:
    """n latent vectors z (n, dim):

    normal     z ~ N(0, I)
    uniform    z ~ U(-1, 1) in every entry
    spherical  z = u / ‖u‖ with u ~ N(0, I): uniform on the unit sphere (ganhacks 3)
    """
    if distribution == "uniform":
        return rng.uniform(-1.0, 1.0, size=(n, dim))
    z = rng.standard_normal(size=(n, dim))
    if distribution == "spherical":
        z /= np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)
    return z


@dataclass
class GanBuilt:
    scenario: Scenario
    ctx: BuildContext
    data: Data | None
    generator: Network
    discriminator: Network
    loss: GanLoss
    optimizers: dict[str, Optimizer]
    schedules: dict[str, Schedule | None]
    tricks: list[GanTrick]
    hooks: StepHooks
    #: A conditional GAN's conditioning and each real sample's class (else None).
    conditioning: Conditioning | None = None
    labels: np.ndarray | None = None

    def lr(self, name: str, step: int) -> float:
        """The learning rate of network ``name`` ("G" or "D") at ``step``."""
        config = getattr(self.scenario.spec.optimizer, NETWORKS[name])
        schedule = self.schedules[name]
        if schedule is None:
            return config.lr
        return float(schedule.lr(step, config.lr, self.scenario.spec.train.steps))

    def latent(self, n: int, rng: np.random.Generator) -> np.ndarray:
        spec = self.scenario.spec.latent
        return sample_latent(spec.distribution, n, spec.dim, rng).astype(self.ctx.dtype, copy=False)

    def g_input(self, z: np.ndarray, labels: np.ndarray | None) -> np.ndarray:
        """G's input: z, or [z, one-hot(y)] for a conditional GAN."""
        return z if self.conditioning is None else self.conditioning.g_input(z, labels)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray | None:
        """n samples chosen by a trick (``tracegrad_gan_sample``), or None when no trick
        chooses them (an unconditional GAN's samples are then G(z))."""
        hook = "tracegrad_gan_sample"
        if self.conditioning is not None or not self.hooks.listens(hook):
            return None

        def draw(m: int) -> np.ndarray:
            return self.generator.forward(self.latent(int(m), rng), training=False)

        return self.hooks.call(hook, n=int(n), draw=draw, discriminator=self.discriminator, rng=rng)

    @property
    def networks(self) -> dict[str, Network]:
        return {"G": self.generator, "D": self.discriminator}

    def describe(self) -> str:
        """One line (for ``tracegrad validate``): both networks, the loss, the parameters."""
        g = ", ".join(layer.describe() for layer in self.generator.layers)
        d = ", ".join(layer.describe() for layer in self.discriminator.layers)
        count = self.generator.parameter_count + self.discriminator.parameter_count
        text = f"gan: G {g}; D {d}; loss {self.loss.config.type}; {count} parameters"
        cond = self.conditioning
        if cond is not None:
            text += f"; conditional {cond.config.type} ({cond.classes} classes)"
        return text

    def state(self) -> dict[str, np.ndarray]:
        """Copies of both networks' parameters ("G.dense0.W", "D.dense0.W", ...)."""
        return {**self.generator.state(), **self.discriminator.state()}


def _prefixed(specs: list, prefix: str) -> list:
    """Layer configs whose explicit names carry the network prefix ("hidden" -> "G.hidden")."""
    return [
        spec.model_copy(update={"name": f"{prefix}{spec.name}"})
        if getattr(spec, "name", None)
        else spec
        for spec in specs
    ]


def build_networks(
    scenario: Scenario, ctx: BuildContext, features: int, d_features: int, g_features=None
):
    """G (``g_features``, default the latent dim -> ``features``) and D (``d_features`` ->
    1 logit), sizes checked."""
    spec = scenario.spec
    generator = build_network(
        _prefixed(spec.generator.layers, "G."),
        g_features or spec.latent.dim,
        ctx,
        scenario.where,
        ("generator", "layers"),
        prefix="G.",
    )
    if generator.out_features != features:
        raise BuildError(
            _(
                "G's last layer gives {out_features} numbers per sample, but the data's samples "
                "have {features} features"
            ).format(out_features=generator.out_features, features=features),
            scenario.where(("generator", "layers", len(generator.layers) - 1)),
            hint=_("give G's last layer units: {features}").format(features=features),
        )
    discriminator = build_network(
        _prefixed(spec.discriminator.layers, "D."),
        d_features,
        ctx,
        scenario.where,
        ("discriminator", "layers"),
        prefix="D.",
    )
    if discriminator.out_features != 1:
        raise BuildError(
            _(
                "D's last layer gives {out_features} numbers per sample; D gives one logit per "
                "sample"
            ).format(out_features=discriminator.out_features),
            scenario.where(("discriminator", "layers", len(discriminator.layers) - 1)),
            hint=_("end D with {type: dense, units: 1} and no activation (the loss applies σ)"),
        )
    last = discriminator.layers[-1]
    activation = getattr(last, "activation", None)
    if activation is not None and activation.config.type == "sigmoid":
        raise BuildError(
            _(
                "D's last layer has a sigmoid, but GAN losses take D's logits and apply σ "
                "themselves (stable and exact)"
            ),
            scenario.where(("discriminator", "layers", len(discriminator.layers) - 1)),
            hint=_("remove the activation of D's last layer"),
        )
    return generator, discriminator


def _optimizer(scenario: Scenario, ctx: BuildContext, name: str):
    config = getattr(scenario.spec.optimizer, NETWORKS[name])
    optimizer = scenario.registry.create("optimizers", config)
    schedule = None
    if config.schedule is not None:
        schedule = scenario.registry.create("schedules", config.schedule)
        if hasattr(schedule, "build"):  # a schedule made of others creates them
            schedule.build(ctx)
    return optimizer, schedule


def load_data(scenario: Scenario, ctx: BuildContext) -> Data:
    """The real samples, in the run's precision (labels, if the data set has any, are not
    used)."""
    return in_precision(load_dataset(scenario, ctx), ctx.dtype)


def check_trace_size(scenario: Scenario, generator, discriminator, limits: Limits) -> None:
    """Refuse a trace estimated beyond ``limits.trace_bytes``: per traced step, D's real and
    fake passes in each D update, G and D's passes in each G update, and the samples picture
    (written whole)."""
    spec = scenario.spec
    n, train = spec.train.batch_size, spec.train
    d_sizes = traced_sizes(discriminator, n)
    g_sizes = traced_sizes(generator, n)
    sizes = d_sizes * (2 * train.d_steps + train.g_steps) + g_sizes * train.g_steps
    features = generator.out_features
    picture = 2 * SAMPLE_COUNT * features + (GRID[features] ** features if features in GRID else 0)
    check_trace(spec, sizes, limits, scenario.where, whole=picture)


def create_tricks(scenario: Scenario, loss: GanLoss) -> list[GanTrick]:
    """The scenario's tricks, in order, checked against the loss (not set up yet)."""
    tricks = []
    for index, config in enumerate(scenario.spec.tricks):
        trick = scenario.registry.create("gan_tricks", config)
        if trick.needs_labels and not loss.uses_labels:
            raise BuildError(
                _(
                    "trick '{type}' changes labels, but loss '{type2}' has no labels (it compares "
                    "D's scores directly)"
                ).format(type=config.type, type2=loss.config.type),
                scenario.where(("tricks", index)),
                hint=_("use it with minimax, non_saturating or least_squares, or remove it"),
            )
        tricks.append(trick)
    return tricks


def setup_tricks(scenario: Scenario, ctx: BuildContext, tricks: list, setup: dict) -> None:
    """Hand each trick what it may use, with its own random generator."""
    seeds = ctx.seeds.child("tricks")
    for index, trick in enumerate(tricks):
        name = scenario.spec.tricks[index].type
        run = TrickSetup(rng=seeds.generator(f"{index}.{name}"), **setup)
        try:
            trick.setup(run)
        except ValueError as error:
            raise BuildError(
                _("trick '{name}': {error}").format(name=name, error=error),
                scenario.where(("tricks", index)),
            ) from None


def build_gan(
    scenario: Scenario,
    with_data: bool = True,
    limits: Limits | None = None,
    precision: str | None = None,
) -> GanBuilt:
    """Everything a GAN run needs. Without data (loading a finished run), D's inputs are
    G's outputs and the tricks are not set up. Sizes beyond ``limits`` are refused before
    anything large is allocated."""
    spec = scenario.spec
    limits = limits or Limits.from_settings()
    check_steps(spec, limits, scenario.where)
    ctx = new_context(scenario, precision)
    data = load_data(scenario, ctx) if with_data or spec.conditional else None
    features = data.x.shape[1] if data is not None else _last_units(spec)
    if data is not None:
        check_samples(data.x.size, limits, scenario.where)
    conditioning, labels = create_conditioning(scenario, data)
    classes = 0 if conditioning is None else conditioning.classes  # one-hot(y) widens inputs
    g_in, d_in = spec.latent.dim + classes, features
    if conditioning is not None:
        d_in = conditioning.d_in_features(features)
    widths = layer_widths(spec.generator.layers, g_in, ("generator", "layers"))
    widths += layer_widths(spec.discriminator.layers, d_in, ("discriminator", "layers"))
    check_parameters(widths, limits, scenario.where)
    loss = scenario.registry.create("gan_losses", spec.loss)
    tricks = create_tricks(scenario, loss)
    d_features = features
    for trick in tricks:
        d_features = trick.d_input_features(d_features)
    if conditioning is not None:
        d_features = conditioning.d_in_features(d_features)
    generator, discriminator = build_networks(scenario, ctx, features, d_features, g_in)
    if conditioning is not None:
        conditioning.setup(discriminator, ctx.rng("conditional"))
    if with_data:
        check_trace_size(scenario, generator, discriminator, limits)
    optimizers, schedules = {}, {}
    for name in NETWORKS:
        optimizers[name], schedules[name] = _optimizer(scenario, ctx, name)
    if with_data:
        setup = {
            "total_steps": spec.train.steps,
            "loss": loss,
            "generator": generator,
            "discriminator": discriminator,
            "data": data,
            "batch_size": spec.train.batch_size,
            "d_steps": spec.train.d_steps,
            "g_steps": spec.train.g_steps,
        }
        setup_tricks(scenario, ctx, tricks, setup)
    return GanBuilt(
        scenario,
        ctx,
        data,
        generator,
        discriminator,
        loss,
        optimizers,
        schedules,
        tricks,
        trick_hooks(scenario, tricks),
        conditioning,
        labels,
    )


def trick_hooks(scenario: Scenario, tricks: list[GanTrick]) -> StepHooks:
    """The run's step hooks: the scenario's tricks in order, then what plugins offer."""
    names = [f"tricks.{index}.{trick.name}" for index, trick in enumerate(tricks)]
    offered = step_plugins(scenario)
    names += [f"plugin.{index}.{plugin_name(p)}" for index, p in enumerate(offered)]
    return StepHooks(GanStepSpecs, [*tricks, *offered], names)


def _last_units(spec) -> int:
    """The number of G's outputs, from the layer configs (the shape after every layer)."""
    shape = output_shape(spec.generator.layers, spec.latent.dim)
    if not isinstance(shape, int):
        raise BuildError(
            _("cannot tell how many features G's samples have (found {shape})").format(shape=shape)
        )
    return shape


def grad_norm(network: Network) -> float:
    """‖dL/dθ‖ over all parameters of a network (0 before any backward pass)."""
    total = 0.0
    for p in network.parameters:
        if p.grad is not None:
            flat = p.grad.ravel()
            total += float(np.dot(flat, flat))
    return math.sqrt(total)
