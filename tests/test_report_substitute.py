"""The static walkthrough writes its formulas with the trace's numbers substituted: the
loss as 0.5·Σ(ŷ − y)² with the numbers, ∂L/∂ŷ derived, and f'(z) from a and z for every
activation a dense layer can have. Each substituted line is evaluated here as arithmetic and
must give the number it claims (to the six digits the report prints)."""

from __future__ import annotations

import re

import numpy as np
import pytest

import engine
from engine.report import show_text, substitute
from engine.trace import read_trace
from tests.conftest import WALKTHROUGH


def evaluate(expression: str) -> float:
    """The value of a line's arithmetic: × · − ² as Python operators."""
    text = expression.replace("×", "*").replace("·", "*").replace("−", "-").replace("²", "**2")
    assert re.fullmatch(r"[0-9eE.+\-*/() ]+", text), text
    return float(eval(text))  # noqa: S307 - digits and operators only, checked above


def close(value: float, printed: str) -> bool:
    """``value`` agrees with a number printed with 6 significant digits."""
    return abs(value - float(printed)) <= 2e-5 * max(abs(float(printed)), 1e-3)


@pytest.fixture(scope="module")
def walkthrough_text(tmp_path_factory):
    path = tmp_path_factory.mktemp("walk") / "trace.jsonl"
    engine.run(WALKTHROUGH, trace=path)
    return show_text(path, 0), read_trace(path)


def test_the_loss_is_written_with_its_numbers(walkthrough_text):
    text, trace = walkthrough_text
    loss = next(r for r in trace.step_records(0) if r["type"] == "loss")
    y_hat, y = np.asarray(loss["prediction"])[0], np.asarray(loss["target"])[0]
    assert "L = 0.5 · Σ (ŷ − y)²" in text
    line = next(x for x in text.splitlines() if x.strip().startswith("= 0.5 · (("))
    numbers = line.strip().removeprefix("= ")
    assert close(evaluate(numbers), str(loss["value"]))
    assert f"({y_hat[0]:.6g} − {y[0]:.6g})²" in numbers  # the trace's ŷ₁ and y₁
    assert f"= {loss['value']:.6g}" in text


def test_dL_dy_hat_is_derived_with_numbers(walkthrough_text):
    text, trace = walkthrough_text
    loss = next(r for r in trace.step_records(0) if r["type"] == "loss")
    grad = np.asarray(loss["dL/dprediction"])[0]
    for j, sub in enumerate("₁₂"):
        line = next(x for x in text.splitlines() if x.strip().startswith(f"∂L/∂ŷ{sub} ="))
        parts = [p.strip() for p in line.split("=")]
        assert parts[1] == f"2 · 0.5 · (ŷ{sub} − y{sub})"
        assert close(evaluate(parts[2]), parts[3]) and close(grad[j], parts[3])


def test_sigmoid_derivative_is_written_from_a(walkthrough_text):
    text, trace = walkthrough_text
    output = next(
        r for r in trace.step_records(0) if r["type"] == "forward" and r["layer"] == "output"
    )
    a = output["values"]["a"][0][0]
    line = next(x for x in text.splitlines() if "f'(z₁) = a₁(1 − a₁)" in x)
    assert f"= {a:.6g} × (1 − {a:.6g}) = {a * (1 - a):.6g}" in line


ACTIVATIONS = [
    ("sigmoid", "a₁(1 − a₁)"),
    ("tanh", "1 − a₁²"),
    ("relu", "1 if z₁ > 0 else 0"),
    ({"type": "leaky_relu", "negative_slope": 0.2}, "1 if z₁ > 0 else α"),
    ({"type": "elu", "alpha": 1.0}, "1 if z₁ > 0 else a₁ + α"),
    ({"type": "softplus", "beta": 2.0}, "σ(β·z₁)"),
    ("silu", "σ(z₁) + z₁·σ(z₁)(1 − σ(z₁))"),
]


@pytest.mark.parametrize("activation, rule", ACTIVATIONS, ids=lambda v: str(v)[:20])
def test_every_activation_derivative_is_substituted(activation, rule, write_scenario):
    """A hidden layer whose first unit's z is negative (W₁₁, W₂₁ < 0) and second positive,
    so the piecewise rules are seen on both branches."""
    act = activation if isinstance(activation, str) else str(activation).replace("'", "")
    path = write_scenario(
        f"""
        name: derivative
        seed: 0
        data: {{type: inline, x: [[0.5, 1.0]], y: [[0.2]]}}
        model:
          layers:
            - {{type: dense, name: hidden, units: 2, activation: {act},
               init: {{W: [[-0.4, 0.3], [-0.2, 0.6]], b: {{type: constant, value: 0.1}}}}}}
            - {{type: dense, name: output, units: 1}}
        loss: {{type: mse}}
        optimizer: {{type: sgd, lr: 0.1}}
        train: {{steps: 1}}
        trace: {{steps: [0]}}
        """
    )
    trace_path = path.parent / "run" / "trace.jsonl"
    engine.run(path, trace=trace_path)
    trace = read_trace(trace_path)
    backward = next(
        r for r in trace.step_records(0) if r["type"] == "backward" and r["layer"] == "hidden"
    )
    fprime = np.asarray(backward["values"]["f'(z)"])[0]
    text = show_text(trace_path, 0)
    for j, sub in enumerate("₁₂"):
        line = next(x for x in text.splitlines() if f"∂a{sub}/∂z{sub} = f'(z{sub}) =" in x)
        assert rule.replace("₁", sub) in line, line
        parts = line.split(" = ")
        piecewise = f" (z{sub} = " in line  # "rule = value (z₁ = -0.3 ≤ 0)"
        value = parts[3].split(" (")[0] if piecewise else parts[4]
        assert close(fprime[j], value), line
        if not piecewise and "σ(β" not in parts[2]:  # the numbers give the value
            assert close(evaluate(parts[3]), value), line
        if piecewise:
            z = float(parts[4].split()[0])
            assert (z > 0) == (j == 1) and ("> 0" if z > 0 else "≤ 0") in parts[4], line


def test_numbers_that_do_not_give_the_trace_value_are_not_written():
    """A derivative the rule cannot reproduce (here a wrong f'(z)) falls back to the value."""
    assert substitute.derivative({"type": "sigmoid"}, 0, 0.5, 0.622459, 0.5) is None
    assert substitute.derivative({"type": "unknown"}, 0, 0.5, 0.6, 0.2) is None
    record = {"loss": "mse", "value": 9.0}
    y_hat, y = np.array([[1.0]]), np.array([[0.0]])
    assert substitute.loss_lines({"type": "mse"}, record, y_hat, y, np.array([[2.0]])) is None


def player_step(activation: str, write_scenario, tmp_path):
    """One traced step of a 2-2-1 net whose hidden layer uses ``activation`` (YAML): the
    report's page, with its escaped newlines undone, and the hidden layer's forward and
    backward records."""
    from engine.report import write_report

    path = write_scenario(
        f"""
        name: player-derivative
        seed: 0
        data: {{type: inline, x: [[0.5, 1.0]], y: [[0.2]]}}
        model:
          layers:
            - {{type: dense, name: hidden, units: 2, activation: {activation},
               init: {{W: [[-0.4, 0.3], [-0.2, 0.6]], b: {{type: constant, value: 0.1}}}}}}
            - {{type: dense, name: output, units: 1}}
        loss: {{type: mse}}
        optimizer: {{type: sgd, lr: 0.1}}
        train: {{steps: 1}}
        trace: {{steps: [0]}}
        """
    )
    result = engine.run(path, run_dir=tmp_path / "run")
    html = write_report(result.run_dir, tmp_path / "report.html").read_text(encoding="utf-8")
    records = read_trace(result.run_dir / "trace.jsonl").step_records(0)
    hidden = {r["type"]: r for r in records if r.get("layer") == "hidden"}
    return html.replace("\\n", "\n"), hidden["forward"], hidden["backward"]


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "elu", "softplus", "silu", "tanh"])
def test_the_step_player_writes_the_same_derivative_rules(activation, write_scenario, tmp_path):
    """The player's equation for a hidden unit's f'(z) uses the walkthrough's rule with the
    trace's numbers (activations with their default options)."""
    page, forward, backward = player_step(activation, write_scenario, tmp_path)
    fprime = np.asarray(backward["values"]["f'(z)"])[0]
    zs, a = np.asarray(forward["values"]["z"])[0], np.asarray(forward["values"]["a"])[0]
    for j in range(2):
        expected = substitute.derivative({"type": activation}, j, zs[j], a[j], fprime[j])
        assert expected is not None
        assert f"hidden: f'(z{'₁₂'[j]}) = {expected}" in page, expected


@pytest.mark.parametrize(
    "activation, shown",
    [
        ("{type: leaky_relu, negative_slope: 0.2}", "α = 0.2"),
        ("{type: elu, alpha: 0.5}", "+ 0.5"),
        ("{type: softplus, beta: 2.0}", "σ(β·z"),
    ],
    ids=["leaky_relu 0.2", "elu 0.5", "softplus 2"],
)
def test_the_step_player_uses_the_activation_options(activation, shown, write_scenario, tmp_path):
    """With non-default options (leaky_relu's negative_slope 0.2, elu's alpha, softplus's
    beta) the player's f'(z) is the rule with those options, equal to the trace's value:
    the first unit's z is negative, so leaky_relu's f'(z₁) is the slope 0.2 itself."""
    page, _, backward = player_step(activation, write_scenario, tmp_path)
    fprime = np.asarray(backward["values"]["f'(z)"])[0]
    lines = [line for line in page.splitlines() if "hidden: f'(z₁) = " in line]
    assert lines, "the player shows no f'(z₁) of the hidden layer"
    line = lines[0].split("hidden: ")[1].split('"')[0]
    assert shown in line, line
    value = line.split(" (")[0].rsplit(" = ", 1)[1] if "(z₁ = " in line else line.rsplit(" = ")[-1]
    assert close(fprime[0], value), line
    if "leaky" in activation:
        assert value == "0.2"
