"""The kinds of component a scenario is built from, as base classes.

The engine knows these kinds, never a particular component: every concrete layer, loss or
optimizer lives in a plugin (the built-ins in ``plugins/``). A component class is
instantiated with its validated config, ``Component(config)``.

Conventions shared by all kinds:
- arrays are float64 numpy arrays, batch first: a batch of N samples with D features is (N, D);
- names read like the textbook: a parameter is ``hidden.W``, a gradient ``dL/dW``;
- saved state is explicit (``self.cache``), set by ``forward`` and read by ``backward``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from engine.i18n import _
from engine.refs import ScheduleRef

if TYPE_CHECKING:
    from engine.seeds import SeedTree


#: Names of layers and parameters: what a trace, a file name and ``params.npz`` can all hold
#: ("hidden.W" joins two of them with a dot, so a name has none).
NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_-]*$"


class ComponentConfig(BaseModel):
    """Base of every component's config: unknown keys are errors, values are validated."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class LayerConfig(ComponentConfig):
    """Base of layer configs (activations too, since they can stand as layers)."""

    name: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        pattern=NAME_PATTERN,
        description="Name shown in traces, e.g. 'hidden' (parameters become "
        "'hidden.W'); default: the type and position, 'dense0'. Letters, digits, '_' and "
        "'-', starting with a letter or '_'.",
    )

    # Shapes before anything is allocated (limits, the validator). A sample's shape is an int
    # for flat inputs (D features) or a tuple for images, (C, H, W).

    def output_shape(self, in_shape: int | tuple[int, ...]) -> int | tuple[int, ...]:
        """The shape of one sample after this layer: ``units`` if the layer has them, else
        unchanged. Raise ValueError when the layer cannot take ``in_shape``."""
        units = getattr(self, "units", None)
        return in_shape if units is None else units

    def parameter_widths(self, in_shape: int | tuple[int, ...]) -> tuple[int, int] | None:
        """(inputs, units) of a weight matrix plus bias (inputs·units + units numbers), for
        the parameter-count estimate; None for a layer without such parameters."""
        units = getattr(self, "units", None)
        return None if units is None else (shape_size(in_shape), units)


def shape_size(shape: int | tuple[int, ...]) -> int:
    """The number of values in one sample of ``shape`` (an int, or a tuple such as (C, H, W))."""
    return shape if isinstance(shape, int) else int(np.prod(shape))


class OptimizerConfig(ComponentConfig):
    """Base of optimizer configs: every optimizer has a learning rate and may have a schedule."""

    lr: float = Field(gt=0, description="Learning rate (step size), > 0.")
    schedule: ScheduleRef = Field(
        None, description="Learning-rate schedule, e.g. {type: cosine}; default: constant lr."
    )


@dataclass
class Parameter:
    """A learnable array and its gradient: ``key`` is "layer.param", e.g. "hidden.W".

    Optimizers update ``value`` in place, so every holder of the array sees the new value.
    """

    key: str
    value: np.ndarray
    grad: np.ndarray | None = None


@dataclass
class BuildContext:
    """What a component may use while it is built and run.

    - ``registry`` creates other components (``ctx.create("activations", config)``);
    - ``seeds`` hands out an independent random generator per purpose ("init", "dropout", ...);
    - ``base_dir`` is the folder of the scenario file (relative paths resolve against it);
    - ``step`` is the training step in progress (for annealed noise, schedules, ...);
    - ``dtype`` is the floating-point type of every array.
    """

    seeds: SeedTree
    registry: Any = None
    base_dir: Any = None
    step: int = 0
    total_steps: int = 1
    dtype: Any = np.float64
    _rngs: dict[str, np.random.Generator] = field(default_factory=dict)

    def rng(self, purpose: str) -> np.random.Generator:
        """The generator for ``purpose``, created on first use from the scenario seed."""
        generator = self._rngs.get(purpose)
        if generator is None:
            generator = self._rngs[purpose] = self.seeds.generator(purpose)
        return generator

    def create(self, kind: str, config: Any):
        """Instantiate a registered component of ``kind`` from its validated config."""
        return self.registry.create(kind, config)

    def reseed(self) -> None:
        """Restart every generator, so a forward pass can be repeated exactly (gradcheck)."""
        self._rngs.clear()


class Activation:
    """An elementwise (or per-sample) nonlinearity a = f(z).

    Subclasses implement ``forward`` and either ``derivative`` (elementwise f'(z), the usual
    case) or ``backward`` (a full Jacobian-vector product, e.g. softmax).
    """

    formula: ClassVar[str] = "a = f(z)"
    derivative_formula: ClassVar[str] = "f'(z)"

    def __init__(self, config: ComponentConfig):
        self.config = config

    def forward(self, z: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def derivative(self, z: np.ndarray, a: np.ndarray) -> np.ndarray | None:
        """Elementwise f'(z), given z and a = f(z); None when f is not elementwise."""
        raise NotImplementedError

    def backward(self, z: np.ndarray, a: np.ndarray, grad_a: np.ndarray) -> np.ndarray:
        """dL/dz = dL/da * f'(z) (chain rule, elementwise)."""
        return grad_a * self.derivative(z, a)


class Layer:
    """One layer of a network: ``forward`` maps x (N, in) to out (N, out) and saves what
    ``backward`` needs; ``backward`` maps dL/dout to dL/dx and fills each parameter's grad.

    ``in`` is a sample's shape: a number of features D, or (C, H, W) for images, whose
    batches are (N, C, H, W). A layer takes flat inputs only unless ``takes_images``.

    ``forward_values`` and ``backward_values`` name the intermediate arrays for the trace;
    they are only called on traced steps, so they may allocate. ``forward_worked`` and
    ``backward_worked`` may add one computation written out with numbers (the trace's
    ``worked`` field), for layers whose arrays are too large to follow by eye.
    """

    #: Short formula shown in traces and reports, e.g. "z = x·W + b,  a = f(z)".
    formula: ClassVar[str] = ""
    #: True when the layer accepts image inputs (N, C, H, W) (elementwise layers, conv2d).
    takes_images: ClassVar[bool] = False
    #: Set by ``Network.backward`` for the pass it runs: False when no one reads the dL/dx
    #: this layer's ``backward`` returns (the network's first layer, on an untraced step);
    #: the layer may then return None. A layer that ignores it is always correct.
    input_grad_needed: bool = True
    #: Set by ``Network.backward``: False when no one reads this pass's parameter gradients
    #: (D's in a GAN's G phase, on an untraced step); the layer may leave ``grad`` as it was.
    param_grads_needed: bool = True

    def __init__(self, config: ComponentConfig):
        self.config = config
        self.name = ""
        self.params: dict[str, Parameter] = {}
        #: State that is not learned but belongs to the trained network (batch norm's running
        #: statistics); saved and loaded with the parameters as "layer.name".
        self.buffers: dict[str, np.ndarray] = {}
        self.cache: dict[str, np.ndarray] = {}
        self.ctx: BuildContext | None = None

    def build(self, in_features: int | tuple, ctx: BuildContext, init: Any) -> int | tuple:
        """Create parameters for inputs of shape ``in_features``; return the output shape.

        ``init`` resolves this layer's initial values (see ``engine.network.Initialization``).
        """
        self.ctx = ctx
        return in_features

    def forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def forward_values(self) -> dict[str, np.ndarray]:
        """Named arrays of the last forward pass, in reading order (x first, output last)."""
        return dict(self.cache)

    def backward_values(self) -> dict[str, np.ndarray]:
        """Named arrays of the last backward pass, e.g. {"dL/da": ..., "dL/dz": ...}."""
        return {}

    def forward_worked(self) -> str | None:
        """One value of the last forward pass computed with numbers, or None."""
        return None

    def backward_worked(self) -> str | None:
        """One value of the last backward pass computed with numbers, or None."""
        return None

    def describe(self) -> str:
        """One line for diagrams and tables, e.g. "dense 2→2, sigmoid"."""
        return type(self).__name__

    def add_param(self, name: str, value: np.ndarray) -> Parameter:
        if not re.match(NAME_PATTERN, name):
            raise ValueError(
                _(
                    "parameter name {name!r}: letters, digits, '_' and '-' only, starting with a "
                    "letter or '_'"
                ).format(name=name)
            )
        parameter = Parameter(f"{self.name}.{name}", value)
        self.params[name] = parameter
        return parameter


class TargetError(ValueError):
    """Targets whose values a loss cannot take (bce on class indices 0, 1, 2): raised by
    ``Loss.prepare_target``, reported at the scenario's ``loss`` (a ValueError that is not a
    TargetError means the targets do not fit the last layer's outputs)."""


class Loss:
    """A loss L(prediction, target) -> float, with dL/dprediction from ``backward``."""

    formula: ClassVar[str] = "L(ŷ, y)"

    def __init__(self, config: ComponentConfig):
        self.config = config
        self.cache: dict[str, np.ndarray] = {}

    def forward(self, prediction: np.ndarray, target: np.ndarray) -> float:
        raise NotImplementedError

    def backward(self) -> np.ndarray:
        raise NotImplementedError

    #: Predictions at or above this value count as class 1 (binary accuracy).
    threshold: ClassVar[float] = 0.5

    def prepare_target(self, target: np.ndarray, out_features: int) -> np.ndarray:
        """Convert data targets into what ``forward`` expects (e.g. one-hot rows); raise
        ValueError when they cannot fit ``out_features`` outputs, TargetError when their
        values do not fit the loss."""
        if target.shape[1] != out_features:
            raise ValueError(_("the data has {shape} target columns").format(shape=target.shape[1]))
        return target

    def classify(self, prediction: np.ndarray) -> np.ndarray:
        """Predicted class per sample: argmax over outputs, or the threshold for one output."""
        if prediction.shape[1] == 1:
            return (prediction[:, 0] >= self.threshold).astype(np.int64)
        return prediction.argmax(axis=1)

    #: Set when ``fuse`` returns True: the trace's note on the last layer's backward record.
    fused_note: str = ""

    def fuse(self, activation: Activation) -> bool:
        """Offered the last layer's activation when the network is built; return True to
        take over its backward (softmax + cross_entropy). ``forward`` still receives
        a = f(z), but ``backward`` then returns dL/dz, and the layer passes it on without
        multiplying by f'(z). Default: no fusion."""
        return False


@dataclass(frozen=True)
class UpdateEntry:
    """One number of a parameter in a traced update, as a report explains it.

    ``name`` is how the report writes the entry (``W₁₂``), ``p`` its value before the step,
    ``g`` its gradient, ``lr`` the step's learning rate (after the schedule) and ``state``
    the optimizer's state after the step (``Optimizer.state``) cut to this entry: an array
    of the parameter's shape becomes this entry's number, anything else (``t``) stays as it is.
    """

    name: str
    p: float
    g: float
    lr: float
    state: dict[str, Any]

    @staticmethod
    def number(x) -> str:
        """A number as the report prints it (6 significant digits)."""
        from engine.report.numbers import fmt

        return fmt(x)

    @staticmethod
    def factor(x) -> str:
        """A number as a factor of a product: negative numbers in parentheses."""
        from engine.report.numbers import factor

        return factor(x)


@dataclass(frozen=True)
class WorkedUpdate:
    """One entry's update with its numbers: ``text`` ends with ``value``, the new value.

    The report shows the text only when ``value`` is the value the trace recorded after the
    step (to 1e-9 relative), so it never claims a rule the numbers do not follow.
    """

    text: str
    value: float


class Optimizer:
    """Updates parameters in place from their gradients: ``step(params, lr)``.

    ``state(key)`` returns the optimizer's per-parameter state after the last step (velocity,
    m, v, ...) by name, for the trace.

    A report explains an update with ``update_rule``, the rule one assignment per line
    (``p`` the parameter, ``g`` its gradient, ``←`` "becomes"), and ``worked_update(entry)``,
    one entry's update with its numbers substituted.
    """

    #: The update rule, one assignment per line, e.g. "v ← μ·v + g\np ← p − lr·v"; "" for none.
    update_rule: ClassVar[str] = ""

    def __init__(self, config: ComponentConfig):
        self.config = config
        self.states: dict[str, dict[str, Any]] = {}

    def step(self, params: list[Parameter], lr: float) -> None:
        raise NotImplementedError

    def state(self, key: str) -> dict[str, Any]:
        return dict(self.states.get(key, {}))

    def worked_update(self, entry: UpdateEntry) -> WorkedUpdate | None:
        """``entry``'s update with its numbers, from this optimizer's config: for plain
        gradient descent ``WorkedUpdate("W₁ ← W₁ − lr·g = 0.5 − 0.1 × 0.2 = 0.48", 0.48)``.
        None when the rule has no per-entry form (the report then shows a table)."""
        return None


class Schedule:
    """A learning-rate schedule: ``lr(step, base_lr, total_steps) -> float``."""

    formula: ClassVar[str] = "lr"

    def __init__(self, config: ComponentConfig):
        self.config = config

    def lr(self, step: int, base_lr: float, total_steps: int) -> float:
        raise NotImplementedError

    def build(self, ctx: BuildContext) -> None:
        """Called once before training; a schedule made of others creates them here."""


class Initializer:
    """Draws initial values: ``sample(shape, fan_in, fan_out, rng) -> array``."""

    def __init__(self, config: ComponentConfig):
        self.config = config

    def sample(
        self, shape: tuple[int, ...], fan_in: int, fan_out: int, rng: np.random.Generator
    ) -> np.ndarray:
        raise NotImplementedError


@dataclass
class Data:
    """A loaded data set: inputs ``x`` (N, D) and targets ``y`` (N, K).

    ``task`` is "regression", "binary" (y in {0, 1}, one column) or "multiclass" (y holds
    integer class indices, one column); ``x_val``/``y_val`` hold a validation split if any.
    """

    x: np.ndarray
    y: np.ndarray | None
    task: str = "regression"
    classes: int | None = None
    x_val: np.ndarray | None = None
    y_val: np.ndarray | None = None
    info: dict[str, Any] = field(default_factory=dict)


class Dataset:
    """A data set: ``load(ctx) -> Data``, drawing any randomness from ``ctx.rng("data")``."""

    def __init__(self, config: ComponentConfig):
        self.config = config

    def load(self, ctx: BuildContext) -> Data:
        raise NotImplementedError


class Reporter:
    """A part of a trace report (``tracegrad report``): sections, or an output format.

    A section reporter implements ``sections(report)``: it reads ``report.trace`` and returns
    the ``engine.report.Section``s it adds, or [] when the trace is not its business (a GAN
    section on a supervised run). Sections appear by ``order``, lowest first.

    A format reporter names the file ``extensions`` it writes (first one the default, e.g.
    (".html", ".htm")) and implements ``write(report, path)``.
    """

    order: ClassVar[int] = 50
    extensions: ClassVar[tuple[str, ...]] = ()
    #: The scenario kinds whose reports this reporter adds to; () for every kind.
    kinds: ClassVar[tuple[str, ...]] = ()

    def __init__(self, config: ComponentConfig):
        self.config = config

    def sections(self, report) -> list:
        return []

    def write(self, report, path) -> None:
        raise NotImplementedError


class ScenarioKind:
    """A kind of scenario (``kind:`` in the file): what is trained and how one step goes.

    Registered with ``tracegrad_register_scenario_kinds(register)`` as
    ``register(name, implementation, fields)``: ``fields`` is the kind's base scenario model
    (a subclass of ``engine.scenario.ScenarioBase`` with ``kind: Literal[name]``), and
    ``implementation`` a subclass of this class, instantiated once per registry with no
    arguments. The run lifecycle (``engine.run``) owns the run folder, the trace header and
    end record, interrupts, limits, divergence, the scalars and ``params.npz``; a kind
    supplies what only it knows:

    - ``scenario_model(registry)``: the full pydantic model (component unions filled in);
    - ``build(scenario, limits, precision=None, with_data=True)``: the built run (an object
      with ``ctx``, ``state()`` and ``describe()``), refusing what exceeds ``limits``;
    - ``header(built)``: the trace header's fields after the common ones (a ``providers``
      dict joins the common one: what provides the kind's step plugins, say);
    - ``loop(built, run)``: a ``StepLoop`` that trains one step at a time;
    - ``result(built, run, status, message)``: the ``RunResult``; ``load(scenario, params,
      run)``: a finished run's result from its folder;
    - ``gradcheck(scenario, max_entries, precision)``: analytic against numerical gradients;
    - its trace checks are registered apart, with ``tracegrad_register_trace_checks``, so the
      verifier never imports what it checks;
    - ``component_kinds``: kinds of component only this kind uses, as
      {kind: (registration hook, base class)}, with ``hookspecs`` declaring those hooks;
    - ``step_specs``: the hookspec class of its step hooks (``engine.steps.StepHooks``).
    """

    name: ClassVar[str] = ""
    component_kinds: ClassVar[dict[str, tuple[str, type]]] = {}
    hookspecs: ClassVar[Any] = None
    step_specs: ClassVar[type | None] = None
    #: Scalars that must stay finite; the first that is not ends the run as failed.
    watched: ClassVar[tuple[str, ...]] = ("loss",)

    def scenario_model(self, registry) -> type:
        raise NotImplementedError

    def build(self, scenario, limits, precision: str | None = None, with_data: bool = True):
        raise NotImplementedError

    def header(self, built) -> dict[str, Any]:
        return {}

    def loop(self, built, run) -> StepLoop:
        raise NotImplementedError

    def result(self, built, run, status: str, message: str | None):
        raise NotImplementedError

    def load(self, scenario, params: dict[str, np.ndarray], run):
        raise NotImplementedError

    def gradcheck(self, scenario, max_entries: int = 200, precision="float64") -> list:
        raise NotImplementedError


class StepLoop:
    """One run of a scenario kind, driven step by step by ``engine.run``.

    ``step(step, traced)`` trains step ``step`` (writing its records to ``run.writer`` when
    ``traced``) and returns the step's scalars; it may return early, with a non-finite
    watched scalar, when the step diverged. ``diverged(step, scalars)`` then explains where
    (and may trace the failing step). ``measures(step, total)`` says whether ``measure(step)``
    adds its measurements to this step's scalars; ``end(status)`` gives the end record's
    fields after ``steps_completed``.
    """

    #: Scalars that must stay finite: ``failed``'s default test.
    watched: ClassVar[tuple[str, ...]] = ("loss",)

    def step(self, step: int, traced: bool) -> dict[str, Any]:
        raise NotImplementedError

    def failed(self, scalars: dict[str, Any]) -> bool:
        """Whether the step diverged: by default, a ``watched`` scalar is missing or not a
        finite number."""
        return not all(
            isinstance(scalars.get(name), (int, float)) and math.isfinite(scalars[name])
            for name in self.watched
        )

    def diverged(self, step: int, scalars: dict[str, Any]) -> str:
        return f"a watched quantity became NaN/inf at step {step}"

    def measures(self, step: int, total: int) -> bool:
        return step == total - 1

    def measure(self, step: int) -> dict[str, Any]:
        return {}

    def progress_value(self, scalars: dict[str, Any]) -> float:
        return scalars.get("loss", float("nan"))

    def end(self, status: str) -> dict[str, Any]:
        return {}
