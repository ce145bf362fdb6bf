"""Built-in activations: values and slopes against independent formulas, gradient checks as
layers, the softmax Jacobian, and softmax fused with cross_entropy in a whole network."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import engine
from engine.gradcheck import check_layer, check_scenario
from engine.network import ActivationLayer
from engine.plugins import load_registry
from engine.scenario import load_scenario
from plugins.supervised.build import FusedActivation, build

REGISTRY = load_registry(autoload=False)
BUILTIN = ["identity", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "softplus", "silu"]
SHAPES = [(1, 1), (3, 4), (16, 7)]
#: Non-default options, so that every option is exercised by the checks too.
OPTIONS = [
    ("leaky_relu", {"negative_slope": 0.2}),
    ("elu", {"alpha": 0.5}),
    ("softplus", {"beta": 2.0}),
]


def make(name: str, **options):
    config = REGISTRY.get("activations", name).config(type=name, **options)
    return REGISTRY.create("activations", config), config


def as_layer(name: str, **options) -> ActivationLayer:
    activation, config = make(name, **options)
    layer = ActivationLayer(config, activation)
    layer.name = name
    return layer


def gradcheck_inputs(shape, seed: int) -> np.ndarray:
    """Inputs with 0.05 <= |x| <= 2.5: away from the kink of relu, leaky_relu and elu at 0,
    and where no slope is so tiny that the finite difference of the summed output drowns it
    in rounding error (the extremes are covered by the value tests)."""
    rng = np.random.default_rng(seed)
    return rng.uniform(0.05, 2.5, size=shape) * rng.choice([-1.0, 1.0], size=shape)


# --- independent formulas (scalar math, one number at a time) ----------------------------------


def _sigmoid(z):
    return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


def reference(name: str, z: float, options: dict) -> tuple[float, float]:
    """(f(z), f'(z)) from the textbook definitions, with PyTorch's choices at z = 0."""
    if name == "identity":
        return z, 1.0
    if name == "sigmoid":
        s = _sigmoid(z)
        return s, s * (1.0 - s)
    if name == "tanh":
        return math.tanh(z), 1.0 / math.cosh(z) ** 2
    if name == "relu":
        return max(z, 0.0), 1.0 if z > 0 else 0.0
    if name == "leaky_relu":
        slope = options.get("negative_slope", 0.01)
        return (z, 1.0) if z > 0 else (slope * z, slope)
    if name == "elu":
        alpha = options.get("alpha", 1.0)
        return (z, 1.0) if z > 0 else (alpha * (math.exp(z) - 1.0), alpha * math.exp(z))
    if name == "softplus":
        beta = options.get("beta", 1.0)
        if beta * z > 30:  # log(1 + e^t) = t + log(1 + e^-t)
            value = z + math.log1p(math.exp(-beta * z)) / beta
        else:
            value = math.log1p(math.exp(beta * z)) / beta
        return value, _sigmoid(beta * z)
    if name == "silu":
        s = _sigmoid(z)
        return z * s, s + z * s * (1.0 - s)
    raise AssertionError(f"no reference for {name}")


GRID = [-40.0, -5.0, -1.3, -0.2, 0.0, 1e-9, 0.2, 0.9, 3.0, 40.0]
CASES = [(name, {}) for name in BUILTIN] + OPTIONS


@pytest.mark.parametrize(("name", "options"), CASES)
def test_values_and_slopes_match_the_formulas(name, options):
    activation, _ = make(name, **options)
    z = np.array([GRID])
    a = activation.forward(z)
    slope = activation.derivative(z, a)
    expected = np.array([[reference(name, v, options)[0] for v in GRID]])
    expected_slope = np.array([[reference(name, v, options)[1] for v in GRID]])
    np.testing.assert_allclose(a, expected, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(slope, expected_slope, rtol=1e-12, atol=1e-15)
    upstream = np.linspace(-1, 1, len(GRID))[None, :]
    np.testing.assert_allclose(
        activation.backward(z, a, upstream), upstream * expected_slope, rtol=1e-12, atol=1e-15
    )


def test_slopes_at_zero_follow_pytorch():
    zero = np.zeros((1, 1))
    for name, options, expected in [
        ("relu", {}, 0.0),
        ("leaky_relu", {}, 0.01),
        ("leaky_relu", {"negative_slope": 0.3}, 0.3),
        ("elu", {"alpha": 2.0}, 2.0),
    ]:
        activation, _ = make(name, **options)
        grad = activation.backward(zero, activation.forward(zero), np.ones((1, 1)))
        assert grad[0, 0] == expected, name


def test_extreme_inputs_stay_finite():
    z = np.array([[-1000.0, -50.0, 0.0, 50.0, 1000.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        for name in [*BUILTIN, "softmax"]:
            activation, _ = make(name)
            a = activation.forward(z)
            assert np.all(np.isfinite(a)), name
    softmax, _ = make("softmax")
    np.testing.assert_allclose(softmax.forward(z).sum(), 1.0)


def test_softmax_values_match_the_formula():
    softmax, _ = make("softmax")
    z = np.random.default_rng(1).normal(size=(5, 4)) * 3
    a = softmax.forward(z)
    for n in range(5):
        exps = [math.exp(v) for v in z[n]]
        np.testing.assert_allclose(a[n], [e / sum(exps) for e in exps], rtol=1e-13)
    np.testing.assert_allclose(softmax.forward(z + 700.0), a, rtol=1e-12)  # shift-invariant


def test_softmax_backward_is_the_jacobian_vector_product():
    softmax, _ = make("softmax")
    rng = np.random.default_rng(2)
    z, grad_a = rng.normal(size=(6, 5)), rng.normal(size=(6, 5))
    a = softmax.forward(z)
    grad_z = softmax.backward(z, a, grad_a)
    for n in range(len(z)):
        jacobian = np.array(
            [[a[n, i] * ((i == j) - a[n, j]) for j in range(5)] for i in range(5)]
        )  # ∂a_i/∂z_j
        np.testing.assert_allclose(grad_z[n], jacobian.T @ grad_a[n], rtol=1e-12, atol=1e-15)
    assert softmax.derivative(z, a) is None  # not elementwise: no f'(z) to show


def test_every_registered_activation_is_covered():
    assert set(REGISTRY.names("activations")) == {*BUILTIN, "softmax"}


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(("name", "options"), [*CASES, ("softmax", {})])
def test_gradcheck_as_a_layer(name, options, shape):
    layer = as_layer(name, **options)
    # check_layer differentiates Σ a ⊙ G over the whole array, so rounding error grows with
    # the array while single slopes can be near 0 (silu'(-1.28) = 0): a step of 1e-4 and a
    # tolerance of 1e-5 leave ample room; a wrong derivative gives errors near 1.
    x = gradcheck_inputs(shape, seed=sum(shape))
    for result in check_layer(layer, x, seed=sum(shape), step=1e-4):
        assert result.ok(1e-5), (name, result)


# --- softmax as the last layer before cross_entropy ------------------------------------------


def scenario(last_layers, loss, **extra) -> dict:
    return {
        "name": "softmax-test",
        "seed": 3,
        "data": {
            "type": "inline",
            "x": [[0.1, 0.9, -0.3], [0.5, -0.2, 0.4], [-0.7, 0.3, 0.8], [0.2, 0.2, -0.9]],
            "y": [[0], [2], [1], [2]],
            "task": "multiclass",
        },
        "model": {
            "layers": [{"type": "dense", "name": "hidden", "units": 4, "activation": "tanh"}]
            + last_layers
        },
        "loss": loss,
        "optimizer": {"type": "sgd", "lr": 0.1},
        "train": {"steps": 2},
        **extra,
    }


DENSE_SOFTMAX = [{"type": "dense", "name": "out", "units": 3, "activation": "softmax"}]
SOFTMAX_LAYER = [{"type": "dense", "name": "out", "units": 3}, {"type": "softmax"}]
LOGITS = [{"type": "dense", "name": "out", "units": 3}]


@pytest.mark.parametrize("last", [DENSE_SOFTMAX, SOFTMAX_LAYER], ids=["dense", "standalone"])
@pytest.mark.parametrize(
    "loss",
    [
        {"type": "cross_entropy"},
        {"type": "cross_entropy", "reduction": "sum"},
        {"type": "cross_entropy", "label_smoothing": 0.2},
    ],
)
def test_fused_gradient_matches_finite_differences(last, loss):
    spec = load_scenario(scenario(last, loss))
    built = build(spec)
    assert isinstance(built.network.layers[-1].activation, FusedActivation)
    for result in check_scenario(spec):
        assert result.ok(1e-6), result


def test_fused_gradients_equal_those_of_cross_entropy_on_logits():
    """softmax + cross_entropy (fused) and cross_entropy on logits are one function of the
    parameters: every gradient must agree."""
    grads = []
    for last in (DENSE_SOFTMAX, LOGITS):
        built = build(load_scenario(scenario(last, {"type": "cross_entropy"})))
        prediction = built.network.forward(built.data.x)
        built.loss.forward(prediction, built.targets)
        built.network.backward(built.loss.backward())
        grads.append({p.key: p.grad.copy() for p in built.network.parameters})
    for key in grads[0]:
        np.testing.assert_allclose(grads[0][key], grads[1][key], rtol=1e-12, atol=1e-15)


def test_softmax_without_cross_entropy_keeps_its_jacobian():
    for last in (DENSE_SOFTMAX, SOFTMAX_LAYER):
        spec = load_scenario(scenario(last, {"type": "mse"}, data=_one_hot_data()))
        built = build(spec)
        assert not isinstance(built.network.layers[-1].activation, FusedActivation)
        assert getattr(built.network.layers[-1], "note", None) is None
        for result in check_scenario(spec):
            assert result.ok(1e-6), result


def _one_hot_data():
    return {
        "type": "inline",
        "x": [[0.1, 0.9, -0.3], [0.5, -0.2, 0.4], [-0.7, 0.3, 0.8]],
        "y": [[1, 0, 0], [0, 0, 1], [0, 1, 0]],
    }


def backward_records(path) -> dict[str, dict]:
    records = [json.loads(line) for line in path.read_text().splitlines()]
    return {r["layer"]: r for r in records if r["type"] == "backward" and r["step"] == 0}


def test_fused_backward_record_has_the_note(tmp_path):
    engine.run(scenario(DENSE_SOFTMAX, {"type": "cross_entropy"}), trace=tmp_path / "t.jsonl")
    records = backward_records(tmp_path / "t.jsonl")
    out = records["out"]
    assert out["note"] == "softmax and cross_entropy fused: dL/dz = (a - y) / N"
    assert "f'(z)" not in out["values"] and "dL/da" not in out["values"]
    assert "dL/dz" in out["values"]
    assert "note" not in records["hidden"] and "f'(z)" in records["hidden"]["values"]


def test_fused_dL_dz_in_the_trace_is_a_minus_y_over_n(tmp_path):
    engine.run(scenario(DENSE_SOFTMAX, {"type": "cross_entropy"}), trace=tmp_path / "t.jsonl")
    records = [json.loads(line) for line in (tmp_path / "t.jsonl").read_text().splitlines()]
    forward = next(r for r in records if r["type"] == "forward" and r["layer"] == "out")
    backward = backward_records(tmp_path / "t.jsonl")["out"]
    a = np.array(forward["values"]["a"])
    y = np.eye(3)[[0, 2, 1, 2]]
    dz = np.array(backward["values"]["dL/dz"])
    np.testing.assert_allclose(dz, (a - y) / 4, rtol=1e-12, atol=1e-15)


def test_note_names_smoothing_and_sum(tmp_path):
    loss = {"type": "cross_entropy", "reduction": "sum", "label_smoothing": 0.1}
    engine.run(scenario(SOFTMAX_LAYER, loss), trace=tmp_path / "t.jsonl")
    note = backward_records(tmp_path / "t.jsonl")["softmax2"]["note"]
    assert note == "softmax and cross_entropy fused: dL/dz = (a - ỹ), ỹ = (1 - ε)·y + ε/K"


def test_no_note_without_fusion(tmp_path):
    spec = scenario(DENSE_SOFTMAX, {"type": "mse"}, data=_one_hot_data())
    engine.run(spec, trace=tmp_path / "t.jsonl")
    out = backward_records(tmp_path / "t.jsonl")["out"]
    assert "note" not in out and "dL/da" in out["values"]


def test_against_torch():
    torch = pytest.importorskip("torch")
    functional = torch.nn.functional
    z_np = np.random.default_rng(4).normal(size=(5, 6)) * 3
    upstream = np.random.default_rng(5).normal(size=(5, 6))
    torch_versions = {
        "identity": lambda z: z,
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
        "relu": functional.relu,
        "leaky_relu": functional.leaky_relu,
        "elu": functional.elu,
        "softplus": functional.softplus,  # below its threshold (βz <= 20) here
        "silu": functional.silu,
        "softmax": lambda z: torch.softmax(z, dim=1),
    }
    for name, torch_f in torch_versions.items():
        activation, _ = make(name)
        z = torch.tensor(z_np, requires_grad=True)
        torch_a = torch_f(z)
        torch_a.backward(torch.tensor(upstream))
        a = activation.forward(z_np)
        np.testing.assert_allclose(a, torch_a.detach().numpy(), rtol=1e-12, atol=1e-14)
        grad = activation.backward(z_np, a, upstream)
        np.testing.assert_allclose(grad, z.grad.numpy(), rtol=1e-12, atol=1e-14, err_msg=name)
