"""The built-in data sets (plugins/datasets.py) and the train/validation split.

Geometry is checked against the generating formulas written out independently here (noise 0
gives points exactly on the curves), statistics against the configured values with
tolerances of several standard errors.
"""

from __future__ import annotations

import sys
import textwrap
from collections import Counter

import numpy as np
import pytest

import engine
from engine.build import hold_out, new_context
from engine.components import BuildContext
from engine.errors import BuildError, ScenarioError
from engine.plugins import load_registry
from engine.seeds import SeedTree
from plugins.supervised.build import load_data


@pytest.fixture(scope="module")
def registry():
    return load_registry(autoload=False)


@pytest.fixture
def load(registry):
    """Load a data set from its config mapping, as a scenario with ``seed`` would."""

    def load(config: dict, seed: int = 0, base_dir=None):
        spec = registry.get("datasets", config["type"]).config(**config)
        ctx = BuildContext(SeedTree(seed), registry, base_dir)
        return registry.create("datasets", spec).load(ctx)

    return load


def supervised(data: dict, **train) -> dict:
    """A small supervised scenario around ``data`` (one output unit, bce loss)."""
    return {
        "seed": 3,
        "data": data,
        "model": {"layers": [{"type": "dense", "units": 1, "activation": "sigmoid"}]},
        "loss": {"type": "bce"},
        "optimizer": {"type": "sgd", "lr": 0.1},
        "train": {"steps": 2, **train},
    }


def loaded(scenario) -> engine.components.Data:
    """The data a run of ``scenario`` (a dict or path) trains on, split included."""
    scenario = engine.load_scenario(scenario)
    return load_data(scenario, new_context(scenario))


GENERATED = {
    "moons": {"type": "moons"},
    "circles": {"type": "circles"},
    "spirals": {"type": "spirals"},
    "blobs": {"type": "blobs"},
    "sine": {"type": "sine"},
    "linear": {"type": "linear", "features": 3},
    "ring": {"type": "ring"},
    "grid": {"type": "grid"},
    "gaussian": {"type": "gaussian"},
}

# name -> (samples, features, task) with the default options
EXPECTED = {
    "moons": (200, 2, "binary"),
    "circles": (200, 2, "binary"),
    "spirals": (300, 2, "multiclass"),
    "blobs": (300, 2, "multiclass"),
    "sine": (200, 1, "regression"),
    "linear": (100, 3, "regression"),
    "ring": (1000, 2, None),
    "grid": (1000, 2, None),
    "gaussian": (1000, 1, None),
}


# --- every generated data set ---------------------------------------------------------------


@pytest.mark.parametrize("name", GENERATED)
def test_shapes_and_dtype(load, name):
    data = load(GENERATED[name])
    samples, features, task = EXPECTED[name]
    assert data.x.shape == (samples, features)
    assert data.x.dtype == np.float64
    if task is None:
        assert data.y is None
    else:
        assert data.y.shape == (samples, 1)
        assert data.y.dtype == np.float64
        assert data.task == task
    assert np.all(np.isfinite(data.x))


@pytest.mark.parametrize("name", GENERATED)
def test_same_seed_same_data_other_seed_other_data(load, name):
    first, again, other = (
        load(GENERATED[name], 5),
        load(GENERATED[name], 5),
        load(GENERATED[name], 6),
    )
    np.testing.assert_array_equal(first.x, again.x)
    assert not np.array_equal(first.x, other.x)


@pytest.mark.parametrize(
    ("config", "classes"),
    [
        ({"type": "moons", "samples": 101}, 2),
        ({"type": "circles", "samples": 100}, 2),
        ({"type": "spirals", "arms": 4, "points_per_arm": 25}, 4),
        ({"type": "blobs", "centers": 5, "samples": 103}, 5),
    ],
)
def test_classes_get_equal_shares(load, config, classes):
    data = load(config)
    counts = Counter(data.y[:, 0].astype(int).tolist())
    assert sorted(counts) == list(range(classes))
    assert max(counts.values()) - min(counts.values()) <= 1
    assert sum(counts.values()) == len(data.x)
    if data.task == "multiclass":
        assert data.classes == classes


@pytest.mark.parametrize("name", ["moons", "circles", "spirals", "blobs"])
def test_rows_are_shuffled_not_sorted_by_class(load, name):
    labels = load(GENERATED[name]).y[:, 0]
    assert np.any(np.diff(labels) < 0), "labels never decrease: the rows are sorted by class"


@pytest.mark.parametrize("name", ["moons", "circles", "spirals", "blobs", "sine", "linear"])
def test_standardize_gives_mean_0_std_1(load, name):
    data = load({**GENERATED[name], "standardize": True})
    np.testing.assert_allclose(data.x.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(data.x.std(axis=0), 1.0, atol=1e-12)
    raw = load(GENERATED[name])
    np.testing.assert_allclose(data.x * data.info["input_std"] + data.info["input_mean"], raw.x)


# --- geometry of each data set -------------------------------------------------------------


def test_moons_lie_on_two_half_circles(load):
    data = load({"type": "moons", "samples": 60, "noise": 0.0})
    upper, lower = data.x[data.y[:, 0] == 0], data.x[data.y[:, 0] == 1]
    # upper moon: the unit circle, y >= 0; lower: the unit circle around (1, 0.5), y <= 0.5
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0)
    assert np.all(upper[:, 1] >= -1e-12)
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1.0, lower[:, 1] - 0.5), 1.0)
    assert np.all(lower[:, 1] <= 0.5 + 1e-12)
    # the ends of both moons are in the data: x spans [-1, 2]
    assert data.x[:, 0].min() == pytest.approx(-1.0)
    assert data.x[:, 0].max() == pytest.approx(2.0)


def test_moons_noise_has_the_configured_std(load):
    data = load({"type": "moons", "samples": 4000, "noise": 0.05})
    upper = data.x[data.y[:, 0] == 0]
    # for small noise, the distance from the unit circle is about the radial noise, N(0, σ²)
    assert np.std(np.hypot(upper[:, 0], upper[:, 1]) - 1.0) == pytest.approx(0.05, rel=0.1)


def test_circles_radii_are_1_and_factor(load):
    data = load({"type": "circles", "samples": 50, "factor": 0.3, "noise": 0.0})
    radius = np.hypot(data.x[:, 0], data.x[:, 1])
    np.testing.assert_allclose(radius[data.y[:, 0] == 0], 1.0)
    np.testing.assert_allclose(radius[data.y[:, 0] == 1], 0.3)


def test_spiral_points_follow_their_arm(load):
    arms, turns = 3, 1.25
    data = load(
        {"type": "spirals", "arms": arms, "points_per_arm": 40, "noise": 0.0, "turns": turns}
    )
    r = np.hypot(data.x[:, 0], data.x[:, 1])
    k = data.y[:, 0]
    # radii evenly spaced from 0 to 1 on each arm
    for arm in range(arms):
        np.testing.assert_allclose(np.sort(r[k == arm]), np.linspace(0, 1, 40), atol=1e-12)
    # angle θ = 2π(k/K + turns·r), compared on the unit circle to ignore multiples of 2π
    theta = 2 * np.pi * (k / arms + turns * r)
    outer = r > 0
    expected = np.column_stack([np.cos(theta), np.sin(theta)])[outer]
    np.testing.assert_allclose(data.x[outer] / r[outer, None], expected, atol=1e-9)


def test_blobs_around_given_centers(load):
    centers = [[0.0, 0.0, 0.0], [10.0, 0.0, -5.0]]
    data = load({"type": "blobs", "centers": centers, "std": 0.5, "samples": 400})
    assert data.x.shape == (400, 3)
    np.testing.assert_array_equal(data.info["centers"], centers)
    for k, center in enumerate(centers):
        points = data.x[data.y[:, 0] == k]
        # the sample mean is within 5 standard errors (0.5 / √200) of the center
        np.testing.assert_allclose(points.mean(axis=0), center, atol=5 * 0.5 / np.sqrt(200))
        assert points.std(axis=0) == pytest.approx([0.5] * 3, rel=0.2)


def test_blobs_random_centers_lie_in_the_box(load):
    data = load({"type": "blobs", "centers": 6, "dims": 4, "box": 2.0})
    assert data.info["centers"].shape == (6, 4)
    assert np.all(np.abs(data.info["centers"]) <= 2.0)
    assert data.classes == 6


def test_sine_without_noise_is_sin_x_on_the_range(load):
    data = load({"type": "sine", "samples": 500, "low": -1.0, "high": 4.0, "noise": 0.0})
    assert data.x.min() >= -1.0 and data.x.max() <= 4.0
    assert data.x.max() - data.x.min() > 4.5  # drawn across the whole range
    np.testing.assert_allclose(data.y, np.sin(data.x))


def test_sine_noise_std(load):
    data = load({"type": "sine", "samples": 5000, "noise": 0.2})
    assert np.std(data.y - np.sin(data.x)) == pytest.approx(0.2, rel=0.05)


def test_linear_with_given_weights_is_exact_without_noise(load):
    data = load({"type": "linear", "weights": [2.0, -1.0], "bias": 0.5, "noise": 0.0})
    np.testing.assert_allclose(data.y[:, 0], 2.0 * data.x[:, 0] - data.x[:, 1] + 0.5)


def test_linear_random_weights_are_recovered_by_least_squares(load):
    data = load({"type": "linear", "features": 3, "bias": -1.0, "noise": 0.01, "samples": 500})
    design = np.column_stack([data.x, np.ones(len(data.x))])
    solution, *_ = np.linalg.lstsq(design, data.y[:, 0], rcond=None)
    np.testing.assert_allclose(solution[:3], data.info["w"], atol=0.01)
    assert solution[3] == pytest.approx(-1.0, abs=0.01)


def test_ring_points_lie_near_the_radius(load):
    data = load({"type": "ring", "modes": 6, "radius": 3.0, "std": 0.05, "samples": 600})
    radius = np.hypot(data.x[:, 0], data.x[:, 1])
    assert np.all(np.abs(radius - 3.0) < 6 * 0.05)
    centers = data.info["centers"]
    assert centers.shape == (6, 2)
    assert data.info["std"] == 0.05
    np.testing.assert_allclose(np.hypot(centers[:, 0], centers[:, 1]), 3.0)
    angles = np.sort(np.mod(np.arctan2(centers[:, 1], centers[:, 0]), 2 * np.pi))
    np.testing.assert_allclose(angles, 2 * np.pi * np.arange(6) / 6, atol=1e-12)
    # every point is closest to the center of the mode it was drawn from, modes equally used
    nearest = np.argmin(((data.x[:, None, :] - centers[None]) ** 2).sum(-1), axis=1)
    np.testing.assert_array_equal(nearest, data.info["mode"])
    assert set(Counter(nearest.tolist()).values()) == {100}
    assert np.std(data.x - centers[data.info["mode"]]) == pytest.approx(0.05, rel=0.1)


def test_grid_centers_and_spread(load):
    data = load({"type": "grid", "modes_per_side": 5, "spacing": 2.0, "std": 0.05, "samples": 500})
    centers = data.info["centers"]
    assert centers.shape == (25, 2)
    grid = {(x, y) for x in (-4.0, -2.0, 0.0, 2.0, 4.0) for y in (-4.0, -2.0, 0.0, 2.0, 4.0)}
    assert {tuple(c) for c in centers.tolist()} == grid
    offsets = data.x - centers[data.info["mode"]]
    assert np.all(np.abs(offsets) < 6 * 0.05)
    assert set(Counter(data.info["mode"].tolist()).values()) == {20}


def test_gaussian_mean_and_std(load):
    data = load({"type": "gaussian", "mean": 4.0, "std": 0.5, "samples": 4000})
    assert data.x.shape == (4000, 1)
    assert data.x.mean() == pytest.approx(4.0, abs=4 * 0.5 / np.sqrt(4000))
    assert data.x.std() == pytest.approx(0.5, rel=0.05)
    assert data.info["centers"].tolist() == [[4.0]] and data.info["std"] == 0.5


@pytest.mark.parametrize(
    ("config", "fragment"),
    [
        ({"type": "blobs", "centers": [[0, 0], [1, 1]], "dims": 3}, "dims is 3"),
        ({"type": "blobs", "centers": [[0, 0], [1]]}, "same number of coordinates"),
        ({"type": "blobs", "centers": 1}, "at least 2"),
        ({"type": "sine", "low": 1.0, "high": 1.0}, "greater than low"),
        ({"type": "linear", "features": 2, "weights": [1.0]}, "weights has 1"),
        ({"type": "circles", "factor": 1.5}, "less than 1"),
        ({"type": "moons", "noise": -0.1}, "greater than or equal to 0"),
        ({"type": "spirals", "arms": 1}, "greater than or equal to 2"),
        ({"type": "digits", "digits": [3, 12]}, "0 to 9"),
        ({"type": "moons", "nosie": 0.1}, "unknown key 'nosie'"),
    ],
)
def test_bad_options_are_scenario_errors(config, fragment):
    with pytest.raises(ScenarioError) as error:
        engine.load_scenario(supervised(config))
    assert fragment in str(error.value)


def test_unlabeled_data_cannot_train_a_supervised_network():
    with pytest.raises(BuildError, match="no targets") as error:
        loaded(supervised({"type": "ring"}))
    assert "labeled data set" in error.value.hint


# --- csv ----------------------------------------------------------------------------------


CSV_SCENARIO = """
seed: 0
data: {{type: csv, path: {path}{options}}}
model:
  layers: [{{type: dense, units: 1}}]
loss: {{type: mse}}
optimizer: {{type: sgd, lr: 0.1}}
train: {{steps: 1}}
"""


@pytest.fixture
def csv_run(tmp_path, monkeypatch):
    """Write a CSV under tmp_path/data/ and a scenario in tmp_path that names it relatively;
    return the loaded Data. The working folder is elsewhere, so only the scenario's folder
    can make the relative path work."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    def run(text: str, options: str = "", name: str = "points.csv"):
        (tmp_path / "data").mkdir(exist_ok=True)
        (tmp_path / "data" / name).write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
        scenario = tmp_path / "scenario.yaml"
        scenario.write_text(
            CSV_SCENARIO.format(path=f"data/{name}", options=options), encoding="utf-8"
        )
        return loaded(scenario)

    return run


POINTS = """
    x1,x2,label
    1.0,2.0,0
    3.0,4.0,1

    5.0,6.0,2
"""


def test_csv_relative_to_the_scenario_file_last_column_is_the_target(csv_run):
    data = csv_run(POINTS)
    np.testing.assert_array_equal(data.x, [[1, 2], [3, 4], [5, 6]])
    np.testing.assert_array_equal(data.y, [[0], [1], [2]])
    assert data.task == "regression"


def test_csv_columns_by_name_and_index_and_multiclass(csv_run):
    data = csv_run(POINTS, ", inputs: [x2], target: label, task: multiclass")
    np.testing.assert_array_equal(data.x, [[2], [4], [6]])
    assert data.classes == 3 and data.task == "multiclass"
    data = csv_run(POINTS, ", inputs: [2], target: 0")
    np.testing.assert_array_equal(data.x, [[0], [1], [2]])
    np.testing.assert_array_equal(data.y, [[1], [3], [5]])


def test_csv_without_header_and_with_standardization(csv_run):
    data = csv_run("1;10;0\n2;20;1\n3;30;0\n", ", header: false, delimiter: ';', standardize: true")
    expected = np.array([[1, 10], [2, 20], [3, 30]], dtype=float)
    expected = (expected - expected.mean(0)) / expected.std(0)
    np.testing.assert_allclose(data.x, expected)
    np.testing.assert_array_equal(data.y, [[0], [1], [0]])


def test_csv_two_target_columns(csv_run):
    data = csv_run(POINTS, ", target: [x2, label]")
    np.testing.assert_array_equal(data.x, [[1], [3], [5]])
    assert data.y.shape == (3, 2)


@pytest.mark.parametrize(
    ("text", "options", "fragments"),
    [
        (
            POINTS,
            ", target: price",
            ["data/points.csv:1: no column named 'price'", "x1, x2, label"],
        ),
        (POINTS, ", inputs: [7]", ["column index 7 is out of range", "3 columns"]),
        (
            "a,b\n1,2\n3,oops\n",
            "",
            ["data/points.csv:3: column 'b' holds 'oops'", "not a finite number"],
        ),
        ("a,b\n1,2\n3\n", "", ["data/points.csv:3: found 1 values", "header (line 1) has 2"]),
        ("a,b\n1,0\n2,3\n", ", task: binary", ["data/points.csv:3:", "0 or 1, found 3"]),
        ("a,b\n1,0.5\n", ", task: multiclass", ["data/points.csv:2:", "whole numbers"]),
        ("a,b\n", "", ["has a header but no data rows"]),
        ("a,b\n1,inf\n", "", ["data/points.csv:2: column 'b' holds 'inf'"]),
        ("", "", ["is empty"]),
        ("1,2\n", ", header: false, target: b", ["no column named 'b'", "by index"]),
        (POINTS, ", inputs: [label]", ["'label' of data/points.csv is both an input and a target"]),
    ],
)
def test_csv_errors_name_the_file_and_line(csv_run, tmp_path, text, options, fragments):
    with pytest.raises(BuildError) as error:
        csv_run(text, options)
    message = str(error.value)
    for fragment in fragments:
        assert fragment in message
    assert error.value.where.startswith(str(tmp_path / "scenario.yaml") + ":3:")
    assert "Traceback" not in message


def test_csv_missing_file_names_the_resolved_path(tmp_path):
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(CSV_SCENARIO.format(path="nothere.csv", options=""), encoding="utf-8")
    with pytest.raises(BuildError) as error:
        loaded(scenario)
    assert f"CSV file not found: {tmp_path / 'nothere.csv'}" in str(error.value)
    assert "relative to the folder of the scenario file" in str(error.value)


# --- digits -------------------------------------------------------------------------------


def test_digits_ship_with_the_package(load):
    data = load({"type": "digits"})
    assert data.x.shape == (1797, 64) and data.y.shape == (1797, 1)
    assert data.task == "multiclass" and data.classes == 10
    assert data.x.min() == 0.0 and data.x.max() == 1.0
    assert sorted(Counter(data.y[:, 0].astype(int).tolist())) == list(range(10))
    symmetric = load({"type": "digits", "scale": "symmetric"})
    assert symmetric.x.min() == -1.0 and symmetric.x.max() == 1.0
    np.testing.assert_allclose(symmetric.x, 2 * data.x - 1)  # same order from the same seed
    raw = load({"type": "digits", "scale": "raw"})
    np.testing.assert_array_equal(raw.x, 16 * data.x)


def test_the_shipped_digits_are_scikit_learns():
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    from plugins.file_data import load_digit_images

    bunch = sklearn_datasets.load_digits()
    pixels, digits = load_digit_images()
    assert pixels.dtype == np.float64 and digits.dtype == bunch.target.dtype
    assert pixels.tobytes() == np.asarray(bunch.data, dtype=np.float64).tobytes()
    assert digits.tobytes() == bunch.target.tobytes()


def test_digits_subset_relabels_in_the_given_order(load):
    from plugins.file_data import load_digit_images

    data = load({"type": "digits", "digits": [8, 3], "samples": 50, "scale": "raw"})
    assert data.x.shape == (50, 64) and data.classes == 2
    pixels, digits = load_digit_images()
    # find each chosen image among the originals: label 0 must be an 8, label 1 a 3
    for row, label in zip(data.x, data.y[:, 0], strict=True):
        matches = digits[np.all(pixels == row, axis=1)]
        assert [8, 3][int(label)] in matches


def test_digits_load_without_scikit_learn(monkeypatch):
    # None in sys.modules makes `import sklearn...` raise ImportError, as if not installed
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    data = loaded(supervised({"type": "digits"}))
    assert data.x.shape == (1797, 64)


# --- the train/validation split -------------------------------------------------------------


def rows(x: np.ndarray, y: np.ndarray) -> set[tuple]:
    """The samples as a set of (inputs..., target) tuples."""
    return {tuple(row) for row in np.column_stack([x, y]).tolist()}


@pytest.mark.parametrize(("samples", "fraction", "held_out"), [(200, 0.2, 40), (101, 0.25, 25)])
def test_split_sizes_disjoint_and_complete(samples, fraction, held_out):
    moons = {"type": "moons", "samples": samples}
    full = loaded(supervised(moons))
    split = loaded(supervised(moons, validation_split=fraction))
    assert split.x_val.shape == (held_out, 2) and split.y_val.shape == (held_out, 1)
    assert split.x.shape == (samples - held_out, 2)
    train, val = rows(split.x, split.y), rows(split.x_val, split.y_val)
    assert not train & val
    assert train | val == rows(full.x, full.y)
    # the split has its own generator: the data itself is the same as without a split
    assert full.x_val is None


def test_split_is_reproducible_and_follows_the_seed():
    scenario = supervised({"type": "moons"}, validation_split=0.3)
    first, again = loaded(scenario), loaded(scenario)
    np.testing.assert_array_equal(first.x_val, again.x_val)
    other = loaded({**scenario, "seed": 4})
    assert not np.array_equal(first.x_val, other.x_val)


def test_validation_metrics_are_recorded_every_eval_every_steps():
    scenario = supervised({"type": "moons", "samples": 100}, validation_split=0.2, eval_every=3)
    scenario["train"]["steps"] = 7
    result = engine.run(scenario, trace=False)
    evaluated = [h["step"] for h in result.history if "val_loss" in h]
    assert evaluated == [2, 5, 6]  # every 3rd step, and the last
    data = result.built.data
    prediction = result.predict(data.x_val)
    expected = np.mean((prediction[:, 0] >= 0.5) == (data.y_val[:, 0] == 1))
    assert result.metrics["val_accuracy"] == pytest.approx(expected)
    p = np.clip(prediction, 1e-12, 1 - 1e-12)
    bce = -np.mean(data.y_val * np.log(p) + (1 - data.y_val) * np.log(1 - p))
    assert result.metrics["val_loss"] == pytest.approx(bce)


def test_split_that_leaves_no_sample_is_an_error():
    with pytest.raises(BuildError, match="leaves 0 for validation") as error:
        loaded(supervised({"type": "xor"}, validation_split=0.1))
    assert "--set" not in error.value.where


@pytest.mark.parametrize("fraction", [1.0, -0.1])
def test_split_fraction_must_be_below_1(fraction):
    with pytest.raises(ScenarioError, match="validation_split"):
        engine.load_scenario(supervised({"type": "xor"}, validation_split=fraction))


def test_split_of_unlabeled_data_moves_inputs_only(load):
    data = load({"type": "gaussian", "samples": 10})
    split = hold_out(data, 0.3, np.random.default_rng(0))
    assert split.x.shape == (7, 1) and split.x_val.shape == (3, 1)
    assert split.y is None and split.y_val is None
    np.testing.assert_array_equal(
        np.sort(np.concatenate([split.x, split.x_val]), axis=0), np.sort(data.x, axis=0)
    )
    assert split.info["centers"].tolist() == [[0.0]]
