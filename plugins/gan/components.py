"""The two kinds of component a GAN scenario adds: GAN losses and GAN tricks.

Words used throughout:
- D's raw output for a sample is its *logit* l (for a Wasserstein critic, its *score*); a loss
  that needs a probability applies D(x) = σ(l) itself, in a numerically stable way;
- a *batch* (``GanBatch``) is what one update of D or of G works on: latent vectors z, G's
  samples G(z), real samples x, the labels (targets) D or G is trained towards. Tricks change
  a batch at named points of the step (``plugins.gan.hookspecs.GanStepSpecs``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from engine.components import ComponentConfig

if TYPE_CHECKING:
    from engine.components import Data
    from engine.network import Network


class GanLoss:
    """The two players' losses, as functions of D's logits l (shape (N, 1)).

    Each method returns ``(L, dL/dl)``; L is a mean over the batch, so dL/dl carries the 1/N:

        d_real(l, t)     D's loss term on the real batch, labels t (None without labels)
        d_fake(l, t)     D's loss term on G's samples
        generator(l, t)  G's loss, on D's logits for G's samples; t is the target G is trained
                         towards

    D minimizes L_D = d_real + d_fake; G minimizes ``generator``. Losses that compare logits
    with labels (``uses_labels``) start from ``real_label``, ``fake_label`` and
    ``generator_label``; label tricks change those targets before the loss sees them.
    """

    #: Both players' losses, one line each, for traces and the docs.
    formula: ClassVar[str] = "L_D = ..., L_G = ..."
    real_formula: ClassVar[str] = ""
    fake_formula: ClassVar[str] = ""
    generator_formula: ClassVar[str] = ""
    #: Whether the loss compares D's outputs with labels (so label tricks apply).
    uses_labels: ClassVar[bool] = True
    #: The labels before any trick (a loss may take them from its config).
    real_label: float = 1.0
    fake_label: float = 0.0
    generator_label: float = 1.0
    #: "probability": D(x) = σ(l) is read as P(real); "score": D's output is used as it is.
    output: ClassVar[str] = "probability"

    def __init__(self, config: ComponentConfig):
        self.config = config

    def d_real(self, logits: np.ndarray, target: np.ndarray | None):
        raise NotImplementedError

    def d_fake(self, logits: np.ndarray, target: np.ndarray | None):
        raise NotImplementedError

    def generator(self, logits: np.ndarray, target: np.ndarray | None):
        raise NotImplementedError

    def score(self, logits: np.ndarray) -> np.ndarray:
        """What D says about each sample: σ(l) for a probability, l itself for a score."""
        if self.output != "probability":
            return logits
        e = np.exp(-np.abs(logits))
        return np.where(logits >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


@dataclass
class GanBatch:
    """One update's batch, as the tricks' hooks see it (and may change it).

    ``phase`` is "d" (an update of D) or "g" (an update of G through the frozen D).

    - ``z``: latent vectors (N, latent dim) G's samples come from;
    - ``samples``: G(z), as G produced them (never changed by tricks);
    - ``fake``: D's input for G's samples (G(z), plus e.g. instance noise);
    - ``real``: D's input for the real batch (phase "d" only);
    - ``real_target``, ``fake_target``: D's labels (N, 1), phase "d", losses with labels;
    - ``target``: the label G trains D's output on its samples towards (phase "g");
    - ``penalties``: extra terms of D's loss added by tricks (name -> value);
    - ``fake_backward``: for a trick that reshapes or mixes D's fake input (not just adds to
      it), the map from dL/d(its new fake) back to dL/d(the fake it was given); the loop
      applies them last first to D's dL/dx, to hand G dL/dG(z).
    - ``features_real``, ``features_fake`` (phase "g", for ``tracegrad_gan_g_loss``): D's
      layer outputs {layer name: (N, units)} on a real batch (when a trick put one in
      ``real`` in ``tracegrad_gan_latent``) and on G's samples;
    - ``terms``: the terms tricks added with ``add_term``;
    - ``labels``, ``real_labels`` (conditional GANs, ``plugins.gan.conditional``): the class
      of each of G's samples and of each real sample (N,), else None.
    """

    phase: str
    z: np.ndarray
    samples: np.ndarray | None = None
    fake: np.ndarray | None = None
    real: np.ndarray | None = None
    real_target: np.ndarray | None = None
    fake_target: np.ndarray | None = None
    target: np.ndarray | None = None
    penalties: dict[str, float] = field(default_factory=dict)
    fake_backward: list[Callable[[np.ndarray], np.ndarray]] = field(default_factory=list)
    features_real: dict[str, np.ndarray] = field(default_factory=dict)
    features_fake: dict[str, np.ndarray] = field(default_factory=dict)
    terms: list[LossTerm] = field(default_factory=list)
    labels: np.ndarray | None = None
    real_labels: np.ndarray | None = None

    def add_term(
        self,
        name: str,
        value: float,
        *,
        grads: dict[str, np.ndarray] | None = None,
        fake_grad: np.ndarray | None = None,
        formula: str = "",
    ) -> None:
        """Add a term to this phase's loss (L_D in phase "d", L_G in phase "g"), with its
        gradient: ``grads`` {parameter key: dterm/dθ} of the network being updated, and in
        phase "g" ``fake_grad``, dterm/d(D's input at G's samples), which flows on into G.
        The loop adds both to the gradients, the value to the loss, and traces a ``term``
        record (value and gradients) so the trace can be checked."""
        self.terms.append(LossTerm(name, float(value), dict(grads or {}), fake_grad, formula))


@dataclass
class LossTerm:
    """A term a trick added to a loss: its value and gradients (see ``GanBatch.add_term``)."""

    name: str
    value: float
    grads: dict[str, np.ndarray]
    fake_grad: np.ndarray | None = None
    formula: str = ""


@dataclass
class TrickSetup:
    """What a trick may use, handed to ``GanTrick.setup`` once before training.

    ``rng`` is the trick's own random generator (from the scenario seed and the trick's
    position in ``tricks``), so adding a trick never changes another's random numbers.
    """

    rng: np.random.Generator
    total_steps: int
    loss: GanLoss
    generator: Network
    discriminator: Network
    data: Data | None
    batch_size: int
    d_steps: int
    g_steps: int


class GanTrick:
    """A change to the GAN step, made in hooks: methods marked ``@engine.hookimpl`` named as
    the hooks of ``plugins.gan.hookspecs.GanStepSpecs`` (e.g. ``tracegrad_gan_d_labels``).

    A hook that changes something returns ``self.change("what changed")``; the trace records
    it on traced steps. ``setup`` runs once before training; raise ValueError there when the
    scenario does not suit the trick (the message is shown with the trick's file:line).
    """

    #: The trick changes labels, so it needs a loss with labels (not hinge or wasserstein).
    needs_labels: ClassVar[bool] = False

    def __init__(self, config: ComponentConfig):
        self.config = config
        self.name: str = config.type
        self.rng: np.random.Generator | None = None
        self.total_steps = 1

    def d_input_features(self, features: int) -> int:
        """How many inputs D needs when a sample has ``features`` numbers; a trick that
        reshapes D's input (packing) changes it. Asked before D is built."""
        return features

    def setup(self, run: TrickSetup) -> None:
        self.rng = run.rng
        self.total_steps = run.total_steps

    def change(self, text: str) -> dict[str, Any]:
        """A trace note: which trick changed what, e.g. "real targets 1 -> 0.9"."""
        return {"trick": self.name, "change": text}


def describe_values(values: np.ndarray) -> str:
    """ "0.9" when every entry is equal, else "min..max (mean m)" (for trick notes)."""
    low, high = float(values.min()), float(values.max())
    if low == high:
        return f"{low:g}"
    return f"{low:.3g}..{high:.3g} (mean {float(values.mean()):.3g})"
