"""Conditional GANs: G and D are told the class y of each sample ("use labels if you have
them", ganhacks). A GAN scenario declares one, ``conditional: {type: concat}``; the labels
come from the data set (``ring`` and ``grid``: the mode a sample was drawn from; ``digits``
and other labeled sets: their class). G's samples get classes drawn uniformly,
y ~ U{0, …, K-1}, and G always receives them:

    G's input   [z, one-hot(y)]                 (latent dim + K numbers)

D's side is what differs; φ(x) is the output of D's second-to-last layer, ψ its last layer:

    concat      D(x, y) = D([x, one-hot(y)])                        (Mirza & Osindero 2014)
    projection  D(x, y) = ψ(φ(x)) + ⟨E[y], φ(x)⟩,  E a (K, H) table  (Miyato & Koyama 2018)
    acgan       D(x) as without labels, plus a class head
                p(c | x) = softmax(φ(x) W_c + b_c), with the term
                λ·CE(p, y) = -λ·mean log p(y | x) in L_D (real and G's samples)
                and in L_G (G's samples, with the classes G was asked for)  (Odena et al. 2017)

The parameters a conditioning adds (E; W_c, b_c) belong to D: they join D's parameter list
("D.embed.E", "D.classifier.W"), so D's optimizer updates them and ``params.npz`` keeps them.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field

from engine import hookimpl
from engine.components import ComponentConfig, Data, Parameter
from engine.i18n import _


def one_hot(y: np.ndarray, classes: int, dtype=np.float64) -> np.ndarray:
    """(N,) class indices -> (N, K) rows with a single 1."""
    out = np.zeros((len(y), classes), dtype=dtype)
    out[np.arange(len(y)), y] = 1.0
    return out


def data_labels(data: Data) -> tuple[np.ndarray, int]:
    """Each real sample's class and the number of classes K: a mixture's mode index
    (``info["mode"]``) or a labeled data set's class index; ValueError when there are none."""
    if "mode" in data.info and "centers" in data.info:
        return np.asarray(data.info["mode"], dtype=np.int64), len(data.info["centers"])
    if data.task == "multiclass" and data.y is not None and data.classes:
        return data.y.reshape(-1).astype(np.int64), int(data.classes)
    raise ValueError(
        _(
            "this data set gives its samples no class labels (ring, grid, gaussian give their "
            "mode; digits and other multiclass sets their class)"
        )
    )


class ConcatConfig(ComponentConfig):
    type: Literal["concat"] = "concat"


class ProjectionConfig(ComponentConfig):
    type: Literal["projection"] = "projection"
    init_std: float = Field(
        0.01,
        gt=0,
        description="Std of the normal the class embeddings E (K × H) start from.",
    )


class AcganConfig(ComponentConfig):
    type: Literal["acgan"] = "acgan"
    weight: float = Field(
        1.0, gt=0, description="λ: weight of the class cross-entropy term in L_D and L_G."
    )


class Conditioning:
    """How D sees the class (the base: G gets [z, one-hot(y)], D nothing).

    ``forward(D, x, y)`` gives D's logits (N, 1) and, for a class head, ``self.term`` the
    class term's value; ``backward(D, dL/dl)`` runs D's backward pass with whatever the
    conditioning adds at φ(x), returns dL/d(D's input) and sets the gradients of the
    conditioning's own parameters (overwritten by each pass, as a layer's are).
    ``d_input`` puts the label into D's input and ``x_gradient`` takes it out of dL/dx
    again (for G's hand-off).
    """

    formula: ClassVar[str] = ""
    #: Whether D's output is read off its features φ(x) (so D needs two layers at least).
    uses_features: ClassVar[bool] = False

    def __init__(self, config: ComponentConfig):
        self.config = config
        self.classes = 0
        self.params: list[Parameter] = []
        self.cache: dict[str, Any] = {}
        self.term: float | None = None

    def d_in_features(self, features: int) -> int:
        """How many inputs D needs when a sample has ``features`` numbers."""
        return features

    def setup(self, discriminator, rng: np.random.Generator) -> None:
        """Called once D is built: the parameters the conditioning adds to D (they join
        D's parameter list, so D's optimizer updates them)."""
        discriminator.parameters[:0] = self.params  # first: D's update records list them first

    def labels(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Classes for n of G's samples: y ~ U{0, …, K-1}."""
        return rng.integers(0, self.classes, size=n)

    def g_input(self, z: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.hstack([z, one_hot(y, self.classes, z.dtype)])

    def d_input(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return x

    def x_gradient(self, grad: np.ndarray) -> np.ndarray:
        """dL/dx for the sample itself, from dL/d(D's input)."""
        return grad

    def forward(self, D, x, y, training: bool = True, outputs: dict | None = None) -> np.ndarray:
        self.term = None
        return D.forward(x, training=training, outputs=outputs)

    def backward(self, D, grad_logits: np.ndarray) -> np.ndarray:
        return D.backward(grad_logits)

    def describe(self) -> dict[str, Any]:
        """What the trace header says about the conditioning."""
        return {
            "type": self.config.type,
            "classes": self.classes,
            "formula": self.formula,
            "params": {p.key: list(p.value.shape) for p in self.params},
        }

    def _features_backward(self, D, grad_logits, grad_h) -> np.ndarray:
        """D's backward pass with ``grad_h`` added to dL/dφ(x) (the last layer's dL/dx)."""
        layers = D.layers
        grad = layers[-1].backward(grad_logits.astype(D.dtype, copy=False))
        return D.backward_from(layers[-2].name, grad + grad_h)

    def _features(self, D, x, training, outputs):
        seen = {} if outputs is None else outputs
        logits = D.forward(x, training=training, outputs=seen)
        return logits, seen[D.layers[-2].name]


class Concat(Conditioning):
    """D's input is the sample with its class beside it (Mirza & Osindero 2014).

        G([z, one-hot(y)]),   D([x, one-hot(y)])

    D's first layer has features + K inputs; G's hand-off keeps dL/dx of the sample's
    columns only (the label's columns are not G's output).
    """

    formula = "G([z, one-hot(y)]), D([x, one-hot(y)])"

    def d_in_features(self, features):
        return features + self.classes

    def d_input(self, x, y):
        return np.hstack([x, one_hot(y, self.classes, x.dtype)])

    def x_gradient(self, grad):
        return grad[:, : grad.shape[1] - self.classes]


class Projection(Conditioning):
    """D's logit plus the projection of its features on a class embedding (Miyato & Koyama
    2018).

    With h = φ(x) (N, H):

        l = ψ(h) + ⟨E[y], h⟩                       E: (K, H), one row per class
        dL/dh  = dL/dl·∂ψ/∂h + dL/dl · E[y]         (row by row)
        dL/dE[k] = Σ_{i: y_i = k} dL/dl_i · h_i

    G's input is [z, one-hot(y)]; D's input the sample alone.
    """

    formula = "l = ψ(φ(x)) + ⟨E[y], φ(x)⟩"
    uses_features = True

    def setup(self, discriminator, rng):
        width = discriminator.layers[-2].out_shape
        value = rng.normal(0.0, self.config.init_std, size=(self.classes, width))
        self.params = [Parameter("D.embed.E", value.astype(discriminator.dtype))]
        super().setup(discriminator, rng)

    def forward(self, D, x, y, training=True, outputs=None):
        self.term = None
        logits, h = self._features(D, x, training, outputs)
        E = self.params[0].value
        projection = np.sum(E[y] * h, axis=1, keepdims=True)
        self.cache = {"h": h, "y": y, "projection": projection}
        return logits + projection

    def backward(self, D, grad_logits):
        h, y = self.cache["h"], self.cache["y"]
        E = self.params[0]
        grad_E = np.zeros_like(E.value)
        np.add.at(grad_E, y, grad_logits * h)
        E.grad = grad_E  # overwritten by each backward pass, as a layer's gradients are
        self.cache["dL/dh"] = grad_logits * E.value[y]
        return self._features_backward(D, grad_logits, self.cache["dL/dh"])


class Acgan(Conditioning):
    """D also predicts each sample's class, with a cross-entropy term in both players'
    losses (an auxiliary classifier on D's features, Odena et al. 2017).

    With h = φ(x):

        c = h W_c + b_c,   p = softmax(c),   T = λ·CE = -λ/N Σ_i log p_i[y_i]
        dT/dc = λ/N (p - one-hot(y)),  dT/dW_c = hᵀ dT/dc,  dT/db_c = Σ_i dT/dc_i
        dT/dh = dT/dc W_cᵀ   (added to dL/dh of D's own output)

    The term joins L_D on the real batch (true classes) and on G's samples (the classes G
    was asked for), and L_G on G's samples, so G learns to draw recognisable classes.
    """

    formula = "L += λ·CE(softmax(φ(x) W_c + b_c), y)"
    uses_features = True

    def setup(self, discriminator, rng):
        width, classes = discriminator.layers[-2].out_shape, self.classes
        limit = np.sqrt(6.0 / (width + classes))  # Glorot uniform
        W = rng.uniform(-limit, limit, size=(width, classes)).astype(discriminator.dtype)
        b = np.zeros(classes, dtype=discriminator.dtype)
        self.params = [Parameter("D.classifier.W", W), Parameter("D.classifier.b", b)]
        super().setup(discriminator, rng)

    def forward(self, D, x, y, training=True, outputs=None):
        logits, h = self._features(D, x, training, outputs)
        W, b = self.params[0].value, self.params[1].value
        c = h @ W + b
        shifted = c - c.max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
        weight, n = self.config.weight, len(y)
        self.term = float(-weight * np.mean(log_p[np.arange(n), y]))
        grad_c = weight * (np.exp(log_p) - one_hot(y, self.classes, c.dtype)) / n
        self.cache = {"h": h, "y": y, "class_logits": c, "dT/dc": grad_c}
        return logits

    def backward(self, D, grad_logits):
        h, grad_c = self.cache["h"], self.cache["dT/dc"]
        W, b = self.params
        W.grad, b.grad = h.T @ grad_c, grad_c.sum(axis=0)
        self.cache["dL/dh"] = grad_c @ W.value.T
        return self._features_backward(D, grad_logits, self.cache["dL/dh"])


# --- trace records (traced steps only; their place: plugins/rules/gan/order.py) ---------


def trace_labels(writer, step: int, tag: dict, conditioning, batch) -> None:
    """The label path: which class each sample of this update has (D's phase: the real
    batch's and G's samples'; G's phase: G's samples'), and what G and D receive."""
    if conditioning is None:
        return
    data = {"type": "condition", "step": step, **tag, "conditional": conditioning.config.type}
    data["classes"] = conditioning.classes
    data["text"] = f"G gets [z, one-hot(y)]; {conditioning.formula}"
    if batch.real_labels is not None:
        data["real_labels"] = writer.tensor(batch.real_labels)
    data["labels"] = writer.tensor(batch.labels)
    writer.write(data)


def trace_term(writer, step: int, tag: dict, conditioning, which: str, D) -> None:
    """What a projection or a class head added to one of D's passes: φ(x)'s layer, the
    projection ⟨E[y], φ(x)⟩ or the class logits and term, and dL/dφ(x) it added."""
    if conditioning is None or not conditioning.uses_features:
        return
    cache = conditioning.cache
    data = {"type": "condition_term", "step": step, **tag, "network": "D", "batch": which}
    data.update(conditional=conditioning.config.type, features=D.layers[-2].name)
    data["formula"] = conditioning.formula
    if "projection" in cache:
        data["projection"] = writer.tensor(cache["projection"])
    if "class_logits" in cache:
        data["class_logits"] = writer.tensor(cache["class_logits"])
        data["value"] = conditioning.term
    data["dL/dfeatures"] = writer.tensor(cache["dL/dh"])
    writer.write(data)


#: The most classes a conditional GAN takes: one-hot(y) is an (N, K) array in every pass.
MAX_CLASSES = 10_000

#: Tricks that change D's input or read D's features in ways no conditioning passes labels to.
UNSUPPORTED_TRICKS = {
    "packing",
    "feature_matching",
    "experience_replay",
    "discriminator_rejection",
}


def create_conditioning(scenario, data: Data | None):
    """The scenario's conditioning with K set, and each real sample's class; (None, None)
    for an unconditional GAN. Refuses (BuildError at the offending key) a data set without
    labels, a trick that cannot carry them, and for projection/acgan a D of one layer."""
    from engine.errors import BuildError

    spec = scenario.spec
    if spec.conditional is None:
        return None, None
    conditioning = scenario.registry.create("gan_conditionings", spec.conditional)
    name = spec.conditional.type
    try:
        labels, classes = data_labels(data)
    except ValueError as error:
        raise BuildError(
            _(
                "conditional '{name}' needs class labels, but data set '{data}' has none: {error}"
            ).format(name=name, data=spec.data.type, error=error),
            scenario.where(("conditional",)),
            hint=_("use ring, grid or digits, or remove conditional:"),
        ) from None
    if classes > MAX_CLASSES:
        raise BuildError(
            _(
                "conditional '{name}': the data set has {classes} classes; one-hot(y) would "
                "give every batch {classes} extra numbers per sample (at most {most})"
            ).format(name=name, classes=classes, most=MAX_CLASSES),
            scenario.where(("conditional",)),
            hint=_("use fewer modes or classes, or remove conditional:"),
        )
    for index, trick in enumerate(spec.tricks):
        if trick.type in UNSUPPORTED_TRICKS:
            raise BuildError(
                _(
                    "trick '{trick}' cannot be combined with conditional '{name}' (it "
                    "reshapes D's input or reads D's features without the labels)"
                ).format(trick=trick.type, name=name),
                scenario.where(("tricks", index)),
                hint=_("remove the trick or the conditional: key"),
            )
    layers = spec.discriminator.layers
    if conditioning.uses_features and len(layers) < 2:
        raise BuildError(
            _(
                "conditional '{name}' reads D's features φ(x), the output of D's "
                "second-to-last layer, but D has {count} layer"
            ).format(name=name, count=len(layers)),
            scenario.where(("discriminator", "layers")),
            hint=_("give D a hidden layer before its output layer"),
        )
    conditioning.classes = classes
    return conditioning, labels


@hookimpl
def tracegrad_register_gan_conditionings(register):
    register("concat", Concat, ConcatConfig)
    register("projection", Projection, ProjectionConfig)
    register("acgan", Acgan, AcganConfig)
