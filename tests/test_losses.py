"""Built-in losses: values against independent formulas, gradient checks across shapes and
reductions, target preparation and its errors, classification, and (if installed) PyTorch."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
import yaml

import engine
from engine.errors import BuildError
from engine.gradcheck import check_loss
from engine.plugins import load_registry
from tests.conftest import ROOT

REGISTRY = load_registry(autoload=False)
SHAPES = [(1, 1), (3, 4), (16, 7)]
CLASS_SHAPES = [(1, 2), (3, 4), (16, 7)]  # cross_entropy needs at least two outputs


def make(name: str, **options):
    config = REGISTRY.get("losses", name).config(type=name, **options)
    return REGISTRY.create("losses", config)


def signs(rng, shape):
    return rng.choice([-1.0, 1.0], size=shape)


def inputs(name: str, shape, seed: int = 0, **options):
    """(prediction, target) for ``name``, away from the points where the loss has a kink."""
    rng = np.random.default_rng(seed)
    if name == "mse":
        return rng.normal(size=shape), rng.normal(size=shape)
    if name == "mae":  # |ŷ - y| >= 0.05
        target = rng.normal(size=shape)
        return target + signs(rng, shape) * rng.uniform(0.05, 2.0, size=shape), target
    if name == "huber":  # | |ŷ - y| - δ | >= 0.05
        delta = options.get("delta", 1.0)
        size = np.where(
            rng.random(shape) < 0.5,
            rng.uniform(0.0, delta - 0.05, size=shape),
            rng.uniform(delta + 0.05, 3 * delta, size=shape),
        )
        target = rng.normal(size=shape)
        return target + signs(rng, shape) * size, target
    if name == "bce":
        return rng.uniform(0.05, 0.95, size=shape), rng.uniform(0.0, 1.0, size=shape)
    if name == "bce_with_logits":  # 0/1 labels keep σ(z) - y away from 0
        return 2 * rng.normal(size=shape), rng.integers(0, 2, size=shape).astype(np.float64)
    if name == "hinge":  # |m - t·ŷ| >= 0.05
        margin = options.get("margin", 1.0)
        labels = rng.integers(0, 2, size=shape).astype(np.float64)
        t = 2 * labels - 1
        prediction = t * (margin + signs(rng, shape) * rng.uniform(0.05, 2.0, size=shape))
        return prediction, labels
    if name == "cross_entropy":
        classes = rng.integers(0, shape[1], size=shape[0])
        return rng.normal(size=shape), np.eye(shape[1])[classes]
    raise AssertionError(f"no inputs for {name}")


CASES = [
    ("mse", {}),
    ("mse", {"scale": 0.5}),
    ("mae", {}),
    ("huber", {}),
    ("huber", {"delta": 0.3}),
    ("bce", {}),
    ("bce_with_logits", {}),
    ("hinge", {}),
    ("hinge", {"margin": 2.0}),
    ("cross_entropy", {}),
    ("cross_entropy", {"label_smoothing": 0.1}),
]


def test_every_registered_loss_is_covered():
    assert set(REGISTRY.names("losses")) == {name for name, _ in CASES}


# --- independent formulas: one entry (or one sample) at a time -------------------------------


def _log_softmax(row):
    top = max(row)
    total = sum(math.exp(v - top) for v in row)
    return [v - top - math.log(total) for v in row]


def reference_value(name: str, prediction, target, reduction: str, **options) -> float:
    if name == "cross_entropy":
        eps = options.get("label_smoothing", 0.0)
        losses = []
        for z, y in zip(prediction.tolist(), target.tolist()):
            k = len(z)
            smooth = [(1 - eps) * yk + eps / k for yk in y]
            losses.append(-sum(s * lp for s, lp in zip(smooth, _log_softmax(z))))
        return sum(losses) / len(losses) if reduction == "mean" else sum(losses)
    entries = []
    for p, y in zip(prediction.ravel().tolist(), target.ravel().tolist()):
        d = p - y
        if name == "mse":
            entries.append(options.get("scale", 1.0) * d * d)
        elif name == "mae":
            entries.append(abs(d))
        elif name == "huber":
            delta = options.get("delta", 1.0)
            entries.append(0.5 * d * d if abs(d) < delta else delta * (abs(d) - 0.5 * delta))
        elif name == "bce":
            entries.append(-(y * math.log(p) + (1 - y) * math.log(1 - p)))
        elif name == "bce_with_logits":
            s = 1 / (1 + math.exp(-p))
            entries.append(-(y * math.log(s) + (1 - y) * math.log(1 - s)))
        elif name == "hinge":
            t = 1.0 if y == 1 else -1.0
            entries.append(max(0.0, options.get("margin", 1.0) - t * p))
    return sum(entries) / len(entries) if reduction == "mean" else sum(entries)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize(("name", "options"), CASES)
def test_values_match_independent_formulas(name, options, reduction):
    for shape in CLASS_SHAPES if name == "cross_entropy" else SHAPES:
        prediction, target = inputs(name, shape, seed=1, **options)
        value = make(name, reduction=reduction, **options).forward(prediction, target)
        expected = reference_value(name, prediction, target, reduction, **options)
        assert value == pytest.approx(expected, rel=1e-12), shape


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize(("name", "options"), CASES)
def test_gradcheck(name, options, reduction):
    # The error is relative per entry, and entries near 0 (e.g. p - y ≈ 0) lose digits to
    # rounding: step 1e-5 and tolerance 1e-5 leave room; a wrong gradient gives errors near 1.
    for seed, shape in enumerate(CLASS_SHAPES if name == "cross_entropy" else SHAPES):
        prediction, target = inputs(name, shape, seed=seed, **options)
        loss = make(name, reduction=reduction, **options)
        result = check_loss(loss, prediction, target, step=1e-5)
        assert result.ok(1e-5), (shape, result)


def test_gradcheck_with_probability_targets_and_sum_rows():
    rng = np.random.default_rng(3)
    prediction = rng.normal(size=(5, 4))
    target = rng.dirichlet(np.ones(4), size=5)
    for options in ({}, {"label_smoothing": 0.3}, {"reduction": "sum"}):
        result = check_loss(make("cross_entropy", **options), prediction, target, step=1e-5)
        assert result.ok(1e-5), (options, result)


def test_gradients_by_hand():
    """The backward formulas in the docstrings, on numbers small enough to check by hand."""
    prediction, target = np.array([[0.5, -2.0]]), np.array([[0.0, 0.0]])
    mae = make("mae")
    mae.forward(prediction, target)
    np.testing.assert_array_equal(mae.backward(), [[0.5, -0.5]])  # sign / (N·K)
    huber = make("huber", reduction="sum")
    huber.forward(prediction, target)
    np.testing.assert_array_equal(huber.backward(), [[0.5, -1.0]])  # d inside δ, -δ outside
    hinge = make("hinge", reduction="sum")
    hinge.forward(np.array([[0.5, 2.0, -0.2]]), np.array([[1.0, 1.0, 0.0]]))
    np.testing.assert_array_equal(hinge.backward(), [[-1.0, 0.0, 1.0]])  # -t where active


# --- cross_entropy: targets, smoothing, fusion -------------------------------------------------


def test_class_indices_and_one_hot_rows_give_the_same_loss_and_gradient():
    rng = np.random.default_rng(4)
    logits = rng.normal(size=(6, 3))
    indices = np.array([[0], [2], [1], [1], [0], [2]], dtype=np.float64)
    one_hot = np.eye(3)[indices[:, 0].astype(int)]
    for options in ({}, {"label_smoothing": 0.2}, {"reduction": "sum"}):
        loss = make("cross_entropy", **options)
        prepared = loss.prepare_target(indices, 3)
        np.testing.assert_array_equal(prepared, one_hot)
        from_indices = loss.forward(logits, indices)  # prepared on the fly
        grad_indices = loss.backward()
        assert loss.forward(logits, one_hot) == from_indices
        np.testing.assert_array_equal(loss.backward(), grad_indices)


def test_label_smoothing_targets():
    logits = np.array([[2.0, -1.0, 0.5, 0.0]])
    one_hot = np.array([[0.0, 0.0, 1.0, 0.0]])
    log_p = np.array(_log_softmax(logits[0]))
    eps = 0.2
    smooth = make("cross_entropy", label_smoothing=eps)
    # ỹ = (1 - ε)·y + ε/K: 0.85 for the true class, 0.05 for each other
    expected = -(0.85 * log_p[2] + 0.05 * (log_p[0] + log_p[1] + log_p[3]))
    assert smooth.forward(logits, one_hot) == pytest.approx(expected, rel=1e-13)
    smooth.backward()
    np.testing.assert_allclose(
        smooth.backward(), np.exp(log_p) - [[0.05, 0.05, 0.85, 0.05]], atol=1e-15
    )
    uniform = make("cross_entropy", label_smoothing=1.0)  # ε = 1: the target is uniform
    assert uniform.forward(logits, one_hot) == pytest.approx(-log_p.mean(), rel=1e-13)


def test_logits_are_handled_stably():
    loss = make("cross_entropy", reduction="sum")
    logits = np.array([[1000.0, -1000.0], [1000.0, -1000.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        value = loss.forward(logits, np.array([[1.0, 0.0], [0.0, 1.0]]))
    assert value == pytest.approx(2000.0, rel=1e-15)  # 0 for the first, 2000 for the second


def test_fused_cross_entropy_takes_probabilities():
    rng = np.random.default_rng(5)
    logits = rng.normal(size=(4, 3)) * 2
    target = np.eye(3)[[0, 2, 1, 1]]
    softmax = REGISTRY.create("activations", REGISTRY.get("activations", "softmax").config())
    probabilities = softmax.forward(logits)
    for options in ({}, {"label_smoothing": 0.1}, {"reduction": "sum"}):
        on_logits = make("cross_entropy", **options)
        fused = make("cross_entropy", **options)
        assert fused.fuse(softmax)
        assert fused.forward(probabilities, target) == pytest.approx(
            on_logits.forward(logits, target), rel=1e-13
        )
        np.testing.assert_allclose(fused.backward(), on_logits.backward(), atol=1e-16)


def test_fusion_only_with_softmax():
    sigmoid = REGISTRY.create("activations", REGISTRY.get("activations", "sigmoid").config())
    softmax = REGISTRY.create("activations", REGISTRY.get("activations", "softmax").config())
    assert not make("cross_entropy").fuse(sigmoid)
    for name, _ in CASES:
        if name != "cross_entropy":
            assert not make(name).fuse(softmax), name


def test_fused_probability_zero_gives_a_finite_loss():
    loss = make("cross_entropy")
    softmax = REGISTRY.create("activations", REGISTRY.get("activations", "softmax").config())
    loss.fuse(softmax)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        value = loss.forward(np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]]))
    assert math.isfinite(value) and value > 700  # -log(smallest float) ≈ 708
    np.testing.assert_array_equal(loss.backward(), [[1.0, -1.0]])  # (a - y) / N, exact


# --- targets that do not fit -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "outputs", "message"),
    [
        ([[0], [3]], 3, "class index 3 needs at least 4 outputs"),
        ([[0], [1.5]], 3, "whole numbers"),
        ([[0], [-1]], 3, "whole numbers"),
        ([[0], [1]], 1, "at least 2"),
        ([[1, 0, 0], [0, 1, 0]], 4, "the data has 3 target columns"),
        ([[0.5, 0.2], [0.0, 1.0]], 2, "row 0 sums to 0.7"),
        ([[1.5, -0.5], [0.0, 1.0]], 2, r"\[0, 1\]"),
    ],
)
def test_cross_entropy_rejects_targets_that_do_not_fit(target, outputs, message):
    with pytest.raises(ValueError, match=message):
        make("cross_entropy").prepare_target(np.array(target, dtype=np.float64), outputs)


def test_hinge_rejects_other_labels():
    with pytest.raises(ValueError, match="0/1 or -1/\\+1, found 2"):
        make("hinge").prepare_target(np.array([[0.0], [2.0]]), 1)
    with pytest.raises(ValueError, match="2 target columns"):
        make("hinge").prepare_target(np.array([[0.0, 1.0]]), 1)


def test_hinge_accepts_both_label_conventions():
    hinge = make("hinge")
    prediction = np.array([[0.3], [-2.0], [1.5]])
    zero_one = hinge.forward(prediction, hinge.prepare_target(np.array([[1.0], [0.0], [0.0]]), 1))
    plus_minus = hinge.forward(prediction, np.array([[1.0], [-1.0], [-1.0]]))
    assert zero_one == plus_minus == pytest.approx((0.7 + 0.0 + 2.5) / 3)


def classification_scenario(loss, units, activation, y, task):
    return {
        "name": "classify",
        "seed": 2,
        "data": {
            "type": "inline",
            "x": [[0.0, 0.1], [0.2, 0.0], [1.0, 0.9], [0.9, 1.1], [0.1, 1.0], [0.0, 0.9]],
            "y": y,
            "task": task,
        },
        "model": {"layers": [{"type": "dense", "units": units, "activation": activation}]},
        "loss": loss,
        "optimizer": {"type": "sgd", "lr": 0.5},
        "train": {"steps": 300},
    }


def test_run_reports_a_target_mismatch_as_a_build_error():
    spec = classification_scenario(
        {"type": "cross_entropy"}, 2, None, [[0], [0], [1], [1], [2], [2]], "multiclass"
    )
    with pytest.raises(BuildError, match="class index 2 needs at least 3 outputs") as error:
        engine.run(spec, trace=False)
    assert "last layer 'dense0' gives 2 outputs" in error.value.message


# --- classification and accuracy -----------------------------------------------------------

BINARY = [[0], [0], [1], [1], [0], [0]]


@pytest.mark.parametrize(
    ("loss", "units", "activation", "y", "task"),
    [
        ({"type": "cross_entropy"}, 3, "softmax", [[0], [0], [1], [1], [2], [2]], "multiclass"),
        ({"type": "cross_entropy"}, 3, None, [[0], [0], [1], [1], [2], [2]], "multiclass"),
        ({"type": "hinge"}, 1, None, BINARY, "binary"),
        ({"type": "hinge"}, 1, None, [[-1], [-1], [1], [1], [-1], [-1]], "binary"),
        ({"type": "mae"}, 1, "sigmoid", BINARY, "binary"),
        ({"type": "huber"}, 1, "sigmoid", BINARY, "binary"),
        ({"type": "bce_with_logits"}, 1, None, BINARY, "binary"),
    ],
)
def test_accuracy_on_separable_data(loss, units, activation, y, task):
    result = engine.run(classification_scenario(loss, units, activation, y, task), trace=False)
    assert result.metrics["accuracy"] == 1.0


def test_classify():
    scores = np.array([[-0.5], [0.0], [0.7]])
    assert make("hinge").classify(scores).tolist() == [0, 1, 1]
    hinge = make("hinge")
    hinge.prepare_target(np.array([[-1.0], [1.0]]), 1)
    assert hinge.classify(scores).tolist() == [-1, 1, 1]  # the data's own labels
    assert make("mae").classify(np.array([[0.4], [0.6]])).tolist() == [0, 1]
    logits = np.array([[0.1, 2.0, -1.0], [3.0, 0.0, 0.0]])
    assert make("cross_entropy").classify(logits).tolist() == [1, 0]


# --- PyTorch, when it is installed ---------------------------------------------------------------


def test_against_torch():
    torch = pytest.importorskip("torch")
    nn = torch.nn

    def hinge_via_multi_margin(margin, reduction):
        # MultiMarginLoss on scores (-ŷ/2, ŷ/2) is max(0, m - t·ŷ) / 2 per sample
        def loss(prediction, target):
            scores = torch.cat([-prediction / 2, prediction / 2], dim=1)
            return 2 * nn.MultiMarginLoss(margin=margin, reduction=reduction)(
                scores, target[:, 0].long()
            )

        return loss

    def torch_loss(name, reduction, options):
        if name == "mse":
            return lambda p, y: options.get("scale", 1.0) * nn.MSELoss(reduction=reduction)(p, y)
        if name == "mae":
            return nn.L1Loss(reduction=reduction)
        if name == "huber":
            return nn.HuberLoss(reduction=reduction, delta=options.get("delta", 1.0))
        if name == "bce":
            return nn.BCELoss(reduction=reduction)
        if name == "bce_with_logits":
            return nn.BCEWithLogitsLoss(reduction=reduction)
        if name == "hinge":
            return hinge_via_multi_margin(options.get("margin", 1.0), reduction)
        smoothing = options.get("label_smoothing", 0.0)
        ce = nn.CrossEntropyLoss(reduction=reduction, label_smoothing=smoothing)
        return lambda p, y: ce(p, y.argmax(dim=1))  # class-index targets

    for name, options in CASES:
        for reduction in ("mean", "sum"):
            shape = (16, 7) if name != "hinge" else (16, 1)
            prediction, target = inputs(name, shape, seed=6, **options)
            ours = make(name, reduction=reduction, **options)
            value = ours.forward(prediction, target)
            grad = ours.backward()
            p = torch.tensor(prediction, requires_grad=True)
            expected = torch_loss(name, reduction, options)(p, torch.tensor(target))
            expected.backward()
            assert value == pytest.approx(expected.item(), rel=1e-12, abs=1e-14), name
            np.testing.assert_allclose(grad, p.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_cross_entropy_probability_targets_against_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    logits, target = rng.normal(size=(9, 5)), rng.dirichlet(np.ones(5), size=9)
    softmax = REGISTRY.create("activations", REGISTRY.get("activations", "softmax").config())
    for reduction in ("mean", "sum"):
        for smoothing in (0.0, 0.25):
            z = torch.tensor(logits, requires_grad=True)
            ce = torch.nn.CrossEntropyLoss(reduction=reduction, label_smoothing=smoothing)
            expected = ce(z, torch.tensor(target))
            expected.backward()
            for fused in (False, True):
                ours = make("cross_entropy", reduction=reduction, label_smoothing=smoothing)
                prediction = logits
                if fused:
                    ours.fuse(softmax)
                    prediction = softmax.forward(logits)
                assert ours.forward(prediction, target) == pytest.approx(expected.item(), rel=1e-12)
                np.testing.assert_allclose(ours.backward(), z.grad.numpy(), rtol=1e-12, atol=1e-15)


# --- the examples in docs/components/losses-and-activations.md ----------------------------------

DOC = Path(__file__).resolve().parents[1] / "docs" / "components" / "losses-and-activations.md"
DOC_BASE = {
    "name": "doc-example",
    "data": {"type": "inline", "x": [[0.0, 1.0], [1.0, 0.0]], "y": [[0], [1]], "task": "binary"},
    "model": {"layers": [{"type": "dense", "units": 1, "activation": "sigmoid"}]},
    "loss": {"type": "mse"},
    "optimizer": {"type": "sgd", "lr": 0.1},
    "train": {"steps": 3},
}


def test_doc_yaml_examples_run():
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert len(blocks) >= 8
    for block in blocks:
        scenario = {**DOC_BASE, **yaml.safe_load(block)}
        result = engine.run(scenario, trace=False, overrides={"train.steps": 3})
        assert result.status == "completed", block


def test_doc_trace_example_is_the_bundled_scenario(tmp_path):
    """The cross_entropy section's example is scenarios/three_classes.yaml (whose step-0
    numbers the section quotes under a numbers marker, checked by tests/test_docs_numbers.py),
    its smoothed targets of K = 3, ε = 1/10 are 14/15 and 1/30, and the trace's note is the
    one the section shows."""
    text = DOC.read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(name: three-classes.*?)```", text, re.S)
    scenario = yaml.safe_load(block.group(1))
    bundled = ROOT / "scenarios" / "three_classes.yaml"
    assert scenario == yaml.safe_load(bundled.read_text(encoding="utf-8"))
    assert "<!-- numbers: scenarios/three_classes.yaml -->" in text
    k, eps = 3, scenario["loss"]["label_smoothing"]
    assert "ε = 1/10" in text and eps == 0.1
    assert "1 - ε + ε/K = 14/15" in text and abs(1 - eps + eps / k - 14 / 15) < 1e-15
    assert "ε/K = 1/30" in text and abs(eps / k - 1 / 30) < 1e-15
    engine.run(bundled, trace=tmp_path / "t.jsonl")
    records = [json.loads(line) for line in (tmp_path / "t.jsonl").read_text().splitlines()]
    backward = next(r for r in records if r["type"] == "backward" and r["layer"] == "out")
    assert backward["note"] in text
