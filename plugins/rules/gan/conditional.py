"""Conditional GANs' trace checks, written again from the definitions (no component imported).

With K classes, y the class of each sample (the ``condition`` record) and one-hot(y) its
(N, K) indicator rows:

    G's input                    [z, one-hot(y)]
    concat      D's input        [x, one-hot(y)] on both batches;  G's hand-off is D's dL/dx
                                 without the K label columns
    projection  D's prediction   l = ψ(h) + ⟨E[y], h⟩,  h = φ(x), D's second-to-last output
                dL/dh            ψ's dL/dx + dL/dl·E[y]
                dL/dE[k]         Σ_{i: y_i = k} dL/dl_i·h_i
    acgan       class logits     c = h W_c + b_c
                class term       T = -λ/N Σ_i log softmax(c_i)[y_i]
                dT/dc = λ/N (softmax(c) - one-hot(y));  dL/dh = ψ's dL/dx + dT/dc W_cᵀ
                dT/dW_c = hᵀ dT/dc,  dT/db_c = Σ_i dT/dc_i;  T joins L_D (class_real,
                class_fake) and L_G (class)

E, W_c and b_c are D's parameters ("D.embed.E", "D.classifier.W", "D.classifier.b"); their
values are read from D's update records (before) or, in G's phase, from what D's last
update left.

A conditioning that shows D the class through D's input (as concat does) has a
``ConditioningRule``: a plugin registers one for its own conditioning with
``tracegrad_register_rules``: ``register("conditionings", name, rule)``. A conditioning with
neither a rule nor a built-in check leaves its D input, G input and hand-off unchecked.
"""

from __future__ import annotations

import numpy as np

from engine.trace.tensors import decode
from engine.verify import layers, rule_table
from engine.verify.report import Place

#: The conditionings with parameters of their own in D, checked by ``check_pass`` here.
WITH_PARAMS = ("projection", "acgan")

#: The parameters each conditioning adds to D, by their short names.
PARAMS = {"projection": {"E": "D.embed.E"}, "acgan": {"W": "D.classifier.W", "b": "D.classifier.b"}}


def one_hot(y: np.ndarray, classes: int) -> np.ndarray:
    out = np.zeros((len(y), classes))
    out[np.arange(len(y)), y.astype(np.int64)] = 1.0
    return out


def _log_softmax(c: np.ndarray) -> np.ndarray:
    shifted = c - c.max(axis=1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))


class ConditioningRule:
    """How a conditioning shows D the class through D's input, written again from its
    definition (no component imported). G's input is always [z, one-hot(y)].

    ``d_input(x, labels)`` is D's input for samples x (N, F) and their one-hot classes
    ``labels`` (N, K); ``hand_off(grad, classes)`` is dL/dx (N, F) from dL/d(D's input), the
    gradient G receives. The defaults say "D's input is x". A conditioning that adds
    parameters to D (as projection and acgan do) needs more than this rule checks: its D
    passes are then not fully checked. ``joined`` says in words how the class joins D's input
    (verify's explanation of an expected value).
    """

    joined: str = "the class joined to D's input by the conditioning's rule"

    def d_input(self, x: np.ndarray, labels: np.ndarray) -> np.ndarray:
        return x

    def hand_off(self, grad: np.ndarray, classes: int) -> np.ndarray:
        return grad


class ConcatRule(ConditioningRule):
    """concat: D's input [x, one-hot(y)]; G's hand-off drops the K label columns."""

    joined = "one-hot(y) appended"

    def d_input(self, x, labels):
        return np.hstack([x, labels])

    def hand_off(self, grad, classes):
        return grad[:, : grad.shape[1] - classes]


#: name -> ConditioningRule, filled through ``tracegrad_register_rules`` (kind "conditionings").
CONDITIONINGS = rule_table("conditionings")


class ConditionRule:
    """The checks of one trace's conditioning (``scenario["conditional"]``)."""

    def __init__(self, check, config: dict, header: dict | None):
        self.check, self.config = check, config
        self.type = config.get("type")
        self.rule = None if self.type in WITH_PARAMS else CONDITIONINGS.get(self.type)
        self.known = self.type in WITH_PARAMS or self.rule is not None
        self.classes = int((header or {}).get("classes") or 0)

    @property
    def on_input(self) -> bool:
        """Whether a rule says how the class joins D's input (concat, a plugin's rule)."""
        return self.rule is not None

    def labels(self, group, which: str = "labels"):
        record = group.other.get("condition")
        if record is None:
            self.check.skip("conditional: no condition record (the classes are unknown)")
            return None
        values = decode(record.get(which))
        if not self.check.whole("labels", values):
            return None
        return values.reshape(-1).astype(np.int64)

    # --- inputs -------------------------------------------------------------------------

    def g_input(self, group, z):
        """G's input [z, one-hot(y)] for the update's latent z (None when unknown)."""
        y = self.labels(group)
        if not self.known:
            self.unknown("G's input")
            return None
        if y is None or not isinstance(z, np.ndarray):
            return None
        return np.hstack([z, one_hot(y, self.classes)])

    def unknown(self, what: str) -> None:
        self.check.unchecked(f"no rule for conditioning '{self.type}': {what}")

    def d_input(self, group, x, which: str = "labels"):
        """D's input for samples x, by the conditioning's rule ([x, one-hot(y)] with concat);
        x itself with projection and acgan."""
        if not self.known:
            self.unknown("D's input")
            return None
        if self.rule is None or x is None:
            return x
        y = self.labels(group, which)
        if y is None or not isinstance(x, np.ndarray):
            return None
        return self.rule.d_input(x, one_hot(y, self.classes))

    def check_real_labels(self, group, passes) -> None:
        """D's real input is what the rule makes of the real samples and their classes (the
        samples themselves are the data's, so only the rule's part is compared)."""
        if self.rule is None or not passes:
            return
        y = self.labels(group, "real_labels")
        x = passes[0].forward.get("x")
        if y is None or not self.check.whole("D's input", x):
            return
        features = x.shape[1] - self.rule_width(x, y)
        self.check.compare(
            Place(group.step, "condition", group.label("real")),
            "D's input",
            x,
            self.rule.d_input(x[:, :features], one_hot(y, self.classes)),
            f"D's real input, by the {self.type} rule from the real samples' classes",
        )

    def rule_width(self, x: np.ndarray, y: np.ndarray) -> int:
        """How many columns the rule adds to a sample (K for concat)."""
        probe = np.zeros((1, 1))
        added = self.rule.d_input(probe, one_hot(y[:1], self.classes)).shape[1] - 1
        return max(0, min(added, x.shape[1] - 1))

    def x_gradient(self, grad):
        """dL/dx of the sample, from dL/d(D's input), by the conditioning's rule."""
        if not self.known:
            self.unknown("G's hand-off (dL/dG(z) from D's dL/dx)")
            return None
        if self.rule is None:
            return grad
        if not isinstance(grad, np.ndarray):
            return None  # a summary keeps no columns to take apart
        return self.rule.hand_off(grad, self.classes)

    # --- a pass through D -----------------------------------------------------------------

    @property
    def param_keys(self) -> list[str]:
        return list(PARAMS.get(self.type, {}).values())

    @property
    def uses_features(self) -> bool:
        return self.type in WITH_PARAMS

    def check_pass(self, checker, group, which, records, passes, params: dict, labels) -> dict:
        """Loss, prediction and backward chain of one of D's passes with a projection or a
        class head; returns the gradients of the conditioning's parameters ({} if unknown)."""
        check = self.check
        grad = checker.check_loss(records, [], group.label(which))  # prediction checked here
        if len(passes) < 2 or records.loss is None:
            return {}
        place = Place(group.step, "condition", group.label(which))
        _, out = layers.output_of(passes[-1].forward)
        _, h = layers.output_of(passes[-2].forward)
        prediction = decode(records.loss.get("prediction"))
        term = (group.other.get("condition_terms") or {}).get(which)
        values = {short: params.get(key) for short, key in PARAMS[self.type].items()}
        if labels is None or not check.whole("condition", out, h, grad, *values.values()):
            return {}
        if self.type == "projection":
            E = values["E"]
            projection = np.sum(E[labels] * h, axis=1, keepdims=True)
            check.compare(place, "prediction", prediction, out + projection, "l = ψ(h) + ⟨E[y], h⟩")
            extra = grad * E[labels]
            grad_E = np.zeros_like(E)
            np.add.at(grad_E, labels, grad * h)
            grads = {PARAMS["projection"]["E"]: grad_E}
        else:
            check.compare(place, "prediction", prediction, out, "l = ψ(h), D's own output")
            c = h @ values["W"] + values["b"]
            weight = float(self.config.get("weight", 1.0))
            log_p = _log_softmax(c)
            n = len(labels)
            value = -weight * float(np.mean(log_p[np.arange(n), labels]))
            grad_c = weight * (np.exp(log_p) - one_hot(labels, self.classes)) / n
            if term is not None:
                check.compare(place, "class_logits", decode(term.get("class_logits")), c, "h W + b")
                check.compare(place, "class term", term.get("value"), value, "-λ mean log p(y|x)")
            group.other.setdefault("class_terms", {})[which] = value
            extra = grad_c @ values["W"].T
            keys = PARAMS["acgan"]
            grads = {keys["W"]: h.T @ grad_c, keys["b"]: grad_c.sum(axis=0)}
        if term is not None:
            check.compare(place, "dL/dφ(x)", decode(term.get("dL/dfeatures")), extra, "added")
        checker.check_backward(passes[-1:], grad)
        arrived = passes[-1].backward.get("dL/dx") if passes[-1].backward else None
        if isinstance(arrived, np.ndarray):
            checker.check_backward(
                passes[:-1], arrived + extra, "ψ's dL/dx + the conditioning's dL/dφ(x)"
            )
        return grads

    def check_class_terms(self, group, record, names: dict) -> None:
        """The loss record's class terms are the ones recomputed from the class head."""
        if record is None or self.type != "acgan":
            return
        terms = record.get("terms") or {}
        recomputed = group.other.get("class_terms") or {}
        for which, name in names.items():
            if which in recomputed:
                self.check.compare(
                    Place(group.step, "condition", group.label()),
                    name,
                    terms.get(name),
                    recomputed[which],
                    "the class term of the loss, recomputed",
                )
