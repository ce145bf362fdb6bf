"""``precision: float32``, and the speed-ups that must not change a number.

float32 is an option for speed: a run trains and every array is float32, while float64 stays
the default (walkthroughs need it) and the gradient check keeps float64. The speed-ups
(parameters updated as one vector, branch-free activations, compact history and scalars,
tracing work skipped when tracing is off) are checked against the plain computation.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import engine
from engine.components import Parameter
from engine.errors import ScenarioError
from engine.gradcheck import check_scenario
from engine.history import StepHistory
from engine.trace import read_trace
from plugins import optimizers
from plugins.activations import LeakyRelu, LeakyReluConfig, sigmoid
from plugins.losses import Bce, BceConfig, CrossEntropy, CrossEntropyConfig
from plugins.supervised.build import build


def scenario(steps: int = 60, **extra) -> dict:
    return {
        "name": "precision",
        "seed": 1,
        "data": {"type": "moons", "samples": 96},
        "model": {
            "layers": [
                {"type": "dense", "name": "hidden", "units": 8, "activation": "tanh"},
                {"type": "dense", "name": "output", "units": 1, "activation": "sigmoid"},
            ]
        },
        "loss": {"type": "bce"},
        "optimizer": {"type": "adam", "lr": 0.05},
        "train": {"steps": steps, "batch_size": 32, "eval_every": 20},
        **extra,
    }


# --- precision --------------------------------------------------------------------------------


def test_float64_is_the_default():
    loaded = engine.load_scenario(scenario())
    assert loaded.spec.precision == "float64"
    built = build(loaded)
    assert built.ctx.dtype == np.float64
    assert built.data.x.dtype == np.float64 and built.targets.dtype == np.float64
    assert all(p.value.dtype == np.float64 for p in built.network.parameters)


def test_a_float32_run_trains_and_every_array_is_float32():
    result = engine.run(scenario(200, precision="float32"), trace=False)
    assert result.status == "completed"
    losses = [row["loss"] for row in result.history]
    assert np.mean(losses[-20:]) < 0.5 * losses[0]
    built = result.built
    assert built.data.x.dtype == np.float32 and built.targets.dtype == np.float32
    first = result.network.layers[0]
    assert first.grad_cache["dL/dx"] is None  # the data's gradient: not made on untraced steps
    for layer in result.network.layers:
        assert all(value.dtype == np.float32 for value in layer.cache.values()), layer.name
        made = [value for value in layer.grad_cache.values() if value is not None]
        assert made and all(value.dtype == np.float32 for value in made), layer.name
    for p in result.network.parameters:
        assert p.value.dtype == np.float32 and p.grad.dtype == np.float32, p.key
        state = built.optimizer.state(p.key)
        assert state["m"].dtype == np.float32 and state["v"].dtype == np.float32
    assert result.predict([[0.5, 0.25]]).dtype == np.float32
    assert all(value.dtype == np.float32 for value in result.params.values())


def test_float32_follows_float64_closely():
    """The same run in both precisions: float32 keeps about 7 digits, so after 50 steps the
    losses still agree to a few parts in ten thousand."""
    single = engine.run(scenario(50, precision="float32"), trace=False)
    double = engine.run(scenario(50), trace=False)
    for a, b in zip(single.history, double.history):
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-3)
    assert single.history[0]["loss"] != double.history[0]["loss"]


def test_a_float32_trace_is_written_and_read(tmp_path):
    result = engine.run(scenario(5, precision="float32"), trace=tmp_path / "trace.jsonl")
    trace = read_trace(tmp_path / "trace.jsonl")
    assert trace.header["scenario"]["precision"] == "float32"
    assert trace.status == "completed"
    assert trace.scalars["loss"] == [row["loss"] for row in result.history]


def test_gradcheck_is_float64_by_default_even_for_a_float32_scenario():
    loaded = engine.load_scenario(scenario(precision="float32"))
    results = check_scenario(loaded, max_entries=20)
    assert results and all(r.ok() for r in results), [(r.name, r.error) for r in results]
    # in float32 a step of 1e-6 is a few rounding units: the central differences are noise
    float32_results = check_scenario(loaded, max_entries=20, precision=None)
    assert max(r.error for r in float32_results) > 1e-4


def test_an_unknown_precision_is_a_scenario_error():
    with pytest.raises(ScenarioError) as error:
        engine.load_scenario(scenario(precision="float16"))
    assert "precision" in str(error.value)


def test_float32_losses_stay_finite_at_saturated_predictions():
    prediction = np.array([[1.0], [0.0]], dtype=np.float32)
    target = np.array([[1.0], [0.0]], dtype=np.float32)
    bce = Bce(BceConfig())
    assert np.isfinite(bce.forward(prediction, target))
    assert np.all(np.isfinite(bce.backward()))
    entropy = CrossEntropy(CrossEntropyConfig())
    entropy.fused = True  # the loss after a softmax: log p, with p = 0 for the wrong class
    value = entropy.forward(np.array([[1.0, 0.0]], dtype=np.float32), np.array([[1.0, 0.0]]))
    assert np.isfinite(value)


# --- parameters updated as one vector ---------------------------------------------------------

OPTIMIZERS = {
    "sgd": {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01},
    "rmsprop": {"lr": 0.01, "centered": True, "momentum": 0.5, "weight_decay": 0.1},
    "adagrad": {"lr": 0.1, "lr_decay": 0.01, "weight_decay": 0.1},
    "adam": {"lr": 0.1, "amsgrad": True, "weight_decay": 0.1},
    "adamw": {"lr": 0.1},
}


def _parameters() -> list[Parameter]:
    rng = np.random.default_rng(0)
    return [
        Parameter("layer.W", rng.normal(size=(3, 2))),
        Parameter("layer.b", rng.normal(size=2)),
        Parameter("out.W", rng.normal(size=(2, 1))),
    ]


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_a_grouped_update_gives_the_numbers_of_updates_one_by_one(name):
    """Steps 1-6 with every gradient, where the vector is used; at step 4 one gradient is
    missing, so the optimizer goes back to one state per parameter (that one skips a step)."""
    registry = engine.load_scenario(scenario()).registry
    component = registry.get("optimizers", name)
    grouped = component.create(component.config(**OPTIMIZERS[name]))
    alone = component.create(component.config(**OPTIMIZERS[name]))
    together, apart = _parameters(), _parameters()
    rng = np.random.default_rng(1)
    for t in range(1, 7):
        for p, q in zip(together, apart):
            p.grad = rng.normal(size=p.value.shape)
            q.grad = p.grad.copy()
        if t == 4:
            together[1].grad = apart[1].grad = None
        if t == 3:
            assert grouped._group is not None  # updated as one vector
        grouped.step(together, 0.1)
        for q in apart:
            alone.step([q], 0.1)
        for p, q in zip(together, apart):
            np.testing.assert_array_equal(p.value, q.value, err_msg=f"{p.key}, step {t}")
            assert p.value.shape == q.value.shape
            mine, theirs = grouped.state(p.key), alone.state(q.key)
            assert mine.keys() == theirs.keys()
            for key, value in mine.items():
                np.testing.assert_array_equal(value, theirs[key], err_msg=f"{p.key}.{key}")
    assert grouped._group is None


def test_grouped_parameters_are_updated_in_place():
    params = _parameters()
    for p in params:
        p.grad = np.ones_like(p.value)
    optimizer = optimizers.Sgd(optimizers.SgdConfig(lr=0.5))
    optimizer.step(params, 0.5)
    held = [p.value for p in params]  # as a layer holds them
    optimizer.step(params, 0.5)
    assert all(value is p.value for value, p in zip(held, params))


# --- branch-free activations ------------------------------------------------------------------

SPECIAL = [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-300, -1e-300, 750.0, -750.0]


def _inputs(dtype=np.float64) -> np.ndarray:
    z = np.random.default_rng(2).normal(scale=3.0, size=(40, 7))
    z.flat[: len(SPECIAL)] = SPECIAL
    return z.astype(dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sigmoid_equals_the_two_case_formula(dtype):
    z = _inputs(dtype)
    e = np.exp(-np.abs(z))
    expected = np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    np.testing.assert_array_equal(sigmoid(z), expected)
    assert sigmoid(z).dtype == dtype


@pytest.mark.parametrize("slope", [0.0, 0.01, 0.5, 1.0, 3.0])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_leaky_relu_equals_the_two_case_formula(slope, dtype):
    z = _inputs(dtype)
    activation = LeakyRelu(LeakyReluConfig(negative_slope=slope))
    with np.errstate(invalid="ignore"):  # 0·∞
        a, derivative = activation.forward(z), activation.derivative(z, None)
        expected = np.where(z > 0, z, slope * z)
    np.testing.assert_array_equal(a, expected)
    np.testing.assert_array_equal(derivative, np.where(z > 0, 1.0, slope).astype(dtype))
    assert a.dtype == dtype and derivative.dtype == dtype


# --- history and scalars ----------------------------------------------------------------------


def test_step_history_reads_like_a_list_of_dicts():
    rows = []
    for step in range(23):
        row = {"step": step, "loss": 1.0 / (step + 1), "lr": 0.1}
        if step % 5 == 4:
            row["accuracy"] = step / 23
        rows.append(row)
    rows[7]["lr"] = 1  # an int among floats stays an int
    rows[9]["note"] = "text"
    rows[11]["step"] = 2**70  # too large for a 64-bit column
    history = StepHistory()
    history.CHUNK = 4  # settle into columns every 4 steps
    for row in rows:
        history.append(dict(row))
    assert len(history) == 23
    assert list(history) == rows and history == rows
    assert history[-1] == rows[-1] and history[3:9] == rows[3:9]
    assert type(history[7]["lr"]) is int and type(history[8]["lr"]) is float
    assert "accuracy" not in history[5] and history[4]["accuracy"] == 4 / 23
    assert pickle.loads(pickle.dumps(history)) == rows
    with pytest.raises(IndexError):
        history[23]


def test_run_history_and_trace_scalars_agree(tmp_path):
    """Every per-step scalar is written exactly (compact base64 columns, see the writer)."""
    extra = {"trace": {"steps": [0, 33], "every": 50}}
    extra["train"] = {"steps": 120, "batch_size": 32, "eval_every": 20, "validation_split": 0.25}
    result = engine.run(scenario(**extra), trace=tmp_path / "trace.jsonl")
    trace = read_trace(tmp_path / "trace.jsonl")
    assert set(trace.traced_steps) == {0, 33, 50, 100, 119}
    rows = trace.history()
    assert len(rows) == len(result.history) == 120
    for ours, written in zip(result.history, rows):
        assert ours == written, ours["step"]
    assert "val_loss" in rows[19] and "val_loss" not in rows[20]


def test_tracing_off_gives_the_same_numbers(tmp_path):
    traced = engine.run(scenario(40), trace=tmp_path / "trace.jsonl")
    untraced = engine.run(scenario(40), trace=False)
    assert untraced.history == traced.history
    for key, value in traced.params.items():
        np.testing.assert_array_equal(untraced.params[key], value)
