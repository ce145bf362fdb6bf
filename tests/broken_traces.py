"""A corpus of deliberately broken traces for ``tracegrad verify``.

Each broken trace is made at test time from a small real run (so the corpus follows the
trace format as it grows), then changed in one deliberate way. A ``Breakage`` names the
change, the scenario it starts from, and the claim the verifier must reject: the step, the
layer or parameter, and the quantity.

The wrong update rules (eps inside the square root, no bias correction, swapped betas, a
momentum not carried over) are written out here, independently of the engine and of the
verifier: each rewrites the update records of the last step as an engine with that bug would
have written them (the state, the change applied and the value after).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import engine

# --- small real runs -----------------------------------------------------------------------

XOR_NETWORK = {
    "layers": [
        {"type": "dense", "name": "hidden", "units": 3, "activation": "tanh"},
        {"type": "dense", "name": "output", "units": 1, "activation": "sigmoid"},
    ]
}


def supervised(optimizer: dict, steps: int = 4) -> dict:
    """A fresh scenario dict (its network a copy: a test may change it without changing the
    others' scenarios)."""
    return {
        "name": "broken",
        "seed": 5,
        "data": {"type": "xor"},
        "model": copy.deepcopy(XOR_NETWORK),
        "loss": {"type": "bce"},
        "optimizer": optimizer,
        "train": {"steps": steps},
        "trace": {"every": 1},
    }


SGD = supervised({"type": "sgd", "lr": 0.5})
MOMENTUM = supervised({"type": "sgd", "lr": 0.5, "momentum": 0.9})
ADAM = supervised({"type": "adam", "lr": 0.05, "betas": [0.8, 0.99]})

GAN = {
    "name": "broken-gan",
    "kind": "gan",
    "seed": 2,
    "data": {"type": "ring", "modes": 4, "radius": 2.0, "std": 0.02, "samples": 64},
    "latent": {"dim": 2, "distribution": "normal"},
    "generator": {
        "layers": [
            {"type": "dense", "units": 3, "activation": "leaky_relu"},
            {"type": "dense", "units": 2},
        ]
    },
    "discriminator": {
        "layers": [
            {"type": "dense", "units": 3, "activation": "leaky_relu"},
            {"type": "dense", "units": 1},
        ]
    },
    "loss": {"type": "non_saturating"},
    "optimizer": {
        "generator": {"type": "adam", "lr": 0.001, "betas": [0.5, 0.999]},
        "discriminator": {"type": "sgd", "lr": 0.01, "momentum": 0.5},
    },
    "train": {"steps": 3, "batch_size": 4, "d_steps": 2, "g_steps": 1},
    "tricks": [{"type": "label_smoothing", "real": 0.9}],
    "trace": {"every": 1},
}


def make_trace(scenario: dict, path: Path) -> Path:
    engine.run(scenario, trace=path)
    return path


# --- reading and writing records -----------------------------------------------------------


def read_records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def write_records(records: list[dict], path: Path) -> Path:
    text = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records)
    path.write_text(text, encoding="utf-8")
    return path


def find(records: list[dict], kind: str, step: int, **fields) -> dict:
    for record in records:
        wanted = {"type": kind, "step": step, **fields}
        if all(record.get(name) == value for name, value in wanted.items()):
            return record
    raise LookupError(f"no {kind} record at step {step} with {fields}")


def last_step(records: list[dict]) -> int:
    return max(r["step"] for r in records if r["type"] == "update")


def optimizer_config(records: list[dict]) -> dict:
    return records[0]["scenario"]["optimizer"]


# --- the wrong update rules ----------------------------------------------------------------


def rewrite_update(record: dict, applied: np.ndarray, state: dict) -> None:
    """Store an update as written by a buggy engine: state, applied and after."""
    before = np.asarray(record["before"])
    record["applied"] = applied.tolist()
    record["after"] = (before + applied).tolist()
    record["state"] = {
        name: value.tolist() if isinstance(value, np.ndarray) else value
        for name, value in state.items()
    }


def repicture(records: list[dict], step: int) -> None:
    """Redraw step ``step``'s ``learned`` record from its rewritten updates, as the buggy
    engine would have drawn it: XOR_NETWORK's output (tanh, then sigmoid) on the grid, and
    the hidden layer's a on the unit grid."""
    after = {
        r["param"]: np.asarray(r["after"])
        for r in records
        if r["type"] == "update" and r["step"] == step
    }

    def hidden(points):
        return np.tanh(points @ after["hidden.W"] + after["hidden.b"])

    def grid(axes):
        mesh = np.meshgrid(*(np.asarray(a) for a in axes))
        return np.stack([m.ravel() for m in mesh], axis=1)

    picture = find(records, "learned", step)
    z = hidden(grid(picture["grid"]["axes"])) @ after["output.W"] + after["output.b"]
    picture["grid"]["output"] = (1 / (1 + np.exp(-z))).tolist()
    picture["units"]["layers"][0]["a"] = hidden(grid(picture["units"]["axes"])).tolist()


def adam_with(records: list[dict], *, eps_inside=False, no_bias_correction=False, swap=False):
    """Rewrite every Adam update of the last step with a wrong rule (from the previous
    step's recorded state, so only this step is wrong)."""
    config = optimizer_config(records)
    beta1, beta2 = config["betas"]
    if swap:
        beta1, beta2 = beta2, beta1
    eps, step = config["eps"], last_step(records)
    for record in records:
        if record["type"] != "update" or record["step"] != step:
            continue
        previous = find(records, "update", step - 1, param=record["param"])["state"]
        g = np.asarray(record["grad"])
        lr, t = record["lr"], previous["t"] + 1
        m = beta1 * np.asarray(previous["m"]) + (1 - beta1) * g
        v = beta2 * np.asarray(previous["v"]) + (1 - beta2) * g * g
        if no_bias_correction:
            m_hat, v_hat = m, v
        else:
            m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
        if eps_inside:
            applied = -lr * m_hat / np.sqrt(v_hat + eps)
        else:
            applied = -lr * m_hat / (np.sqrt(v_hat) + eps)
        state = {"t": t, "m": m, "v": v, "m_hat": m_hat, "v_hat": v_hat}
        rewrite_update(record, applied, state)
    repicture(records, step)
    return records


def sgd_momentum_reset(records: list[dict]):
    """The last step's SGD velocity starts again from the gradient (v = g) instead of
    v = μ·v_prev + g: the momentum is not carried over from the step before."""
    step = last_step(records)
    for record in records:
        if record["type"] == "update" and record["step"] == step:
            velocity = np.asarray(record["grad"])
            rewrite_update(record, -record["lr"] * velocity, {"velocity": velocity})
    repicture(records, step)
    return records


# --- single-value changes ------------------------------------------------------------------


def nudge(nested, index: tuple, amount: float):
    """Add ``amount`` to one entry of a nested list, in place."""
    row = nested
    for i in index[:-1]:
        row = row[i]
    row[index[-1]] += amount


def wrong_gradient(records):
    nudge(find(records, "backward", 1, layer="hidden")["values"]["dL/dW"], (0, 1), 1e-4)
    return records


def wrong_forward(records):
    nudge(find(records, "forward", 2, layer="output")["values"]["z"], (3, 0), 1e-5)
    return records


def wrong_loss(records):
    find(records, "loss", 1)["value"] += 1e-6
    return records


def lr_mismatch(records):
    find(records, "update", 2, param="output.b")["lr"] *= 2
    return records


def wrong_activation_derivative(records):
    nudge(find(records, "backward", 0, layer="output")["values"]["f'(z)"], (2, 0), 1e-3)
    return records


def d_changed_in_g_phase(records):
    """D's weights move between the end of its own phase at step 1 and its next use at
    step 2, as if G's phase had updated D."""
    record = find(records, "update", 2, network="D", param="D.dense1.W", update=0)
    for name in ("before", "after"):
        nudge(record[name], (0, 0), 0.01)
    return records


def labels_ignore_smoothing(records):
    """D's real labels left at 1 although the scenario smooths them to 0.9 (the loss record
    uses the same wrong labels)."""
    for record in records:
        if record.get("step") == 1 and record["type"] == "labels" and "real" in record:
            record["real"] = [[1.0] for _ in record["real"]]
        if record.get("step") == 1 and record["type"] == "loss" and record.get("batch") == "real":
            record["target"] = [[1.0] for _ in record["target"]]
    return records


def truncated_mid_line(path: Path) -> Path:
    """The file cut in the middle of a record, two thirds in (a killed process)."""
    data = path.read_bytes()
    cut = data.index(b"\n", 2 * len(data) // 3) - 10
    path.write_bytes(data[:cut])
    return path


def truncated_at_line(path: Path) -> Path:
    """Whole records, but the last ones (and the end record) missing."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(lines[: len(lines) // 2]), encoding="utf-8")
    return path


@dataclass(frozen=True)
class Breakage:
    """A named deliberate change and the claim the verifier must reject.

    ``change`` edits the records (or, with ``on_file``, the file itself); ``step``,
    ``where`` and ``quantity`` name the expected first disagreement and ``how`` a text its
    explanation contains (``problem``: a text the report's problems must contain instead).
    """

    name: str
    scenario: dict
    change: Callable
    step: int | None = None
    where: str | None = None
    quantity: str | None = None
    problem: str | None = None
    on_file: bool = False
    how: str = ""


def last(scenario: dict) -> int:
    return scenario["train"]["steps"] - 1


CORPUS = [
    Breakage("wrong gradient entry", SGD, wrong_gradient, 1, "hidden", "dL/dW"),
    Breakage("wrong forward value", SGD, wrong_forward, 2, "output", "z"),
    Breakage("wrong loss value", SGD, wrong_loss, 1, "loss bce", "loss"),
    Breakage("lr mismatch", SGD, lr_mismatch, 2, "output.b", "lr"),
    Breakage("wrong f'(z)", SGD, wrong_activation_derivative, 0, "output", "f'(z)"),
    Breakage(
        "adam: eps inside the square root",
        ADAM,
        lambda r: adam_with(r, eps_inside=True),
        last(ADAM),
        "hidden.W",
        "applied",
        how="√v̂ + 1e-08",
    ),
    Breakage(
        "adam: no bias correction",
        ADAM,
        lambda r: adam_with(r, no_bias_correction=True),
        last(ADAM),
        "hidden.W",
        "m_hat",
        how="m/(1 - 0.8^t)",
    ),
    Breakage(
        "adam: betas swapped",
        ADAM,
        lambda r: adam_with(r, swap=True),
        last(ADAM),
        "hidden.W",
        "m",
        how="m = 0.8·m_prev",
    ),
    Breakage(
        "sgd: stale momentum",
        MOMENTUM,
        sgd_momentum_reset,
        last(MOMENTUM),
        "hidden.W",
        "velocity",
        how="0.9·v_prev",
    ),
    Breakage(
        "gan: D changed during G's phase",
        GAN,
        d_changed_in_g_phase,
        2,
        "D.dense1.W",
        "before",
        how="D is unchanged by G's phase",
    ),
    Breakage(
        "gan: labels ignore label smoothing",
        GAN,
        labels_ignore_smoothing,
        1,
        "labels",
        "real labels",
    ),
    Breakage(
        "truncated mid-line",
        SGD,
        truncated_mid_line,
        problem="in the middle of a line",
        on_file=True,
    ),
    Breakage(
        "truncated at a line end",
        SGD,
        truncated_at_line,
        problem="without an end record",
        on_file=True,
    ),
]


def apply(breakage: Breakage, path: Path) -> Path:
    """Break the trace at ``path`` (a copy of a clean one) in the breakage's way."""
    if breakage.on_file:
        return breakage.change(path)
    return write_records(breakage.change(read_records(path)), path)
