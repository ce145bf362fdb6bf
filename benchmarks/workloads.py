"""The benchmark networks, and the same training written three ways.

Every network is ``features → hidden (tanh) → hidden (tanh) → outputs`` trained with MSE and
Adam (lr 1e-3) on mini-batches shuffled once per epoch, on data from the ``teacher`` data set
(``benchmarks/teacher_data.py``). The three ways:

- ``engine_seconds``: the engine itself, ``engine.run(scenario, trace=...)``; the time is the
  training loop's own (``RunResult.seconds``), so loading and building are not counted;
- ``numpy_seconds``: a plain numpy loop with the formulas written out, no engine;
- ``torch_seconds``: PyTorch eager on the CPU (``nn.Sequential``, ``optim.Adam``).

Each returns the seconds taken by ``steps`` training steps.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import engine
from engine.trace import TraceWriter, record
from plugins.supervised.build import build

TEACHER = str(Path(__file__).with_name("teacher_data.py"))
LR, BETAS, EPS = 1e-3, (0.9, 0.999), 1e-8


@dataclass(frozen=True)
class Net:
    """``features-hidden-hidden-outputs``, trained with mini-batches of ``batch``."""

    name: str
    features: int
    hidden: int
    outputs: int
    batch: int
    samples: int

    @property
    def shape(self) -> str:
        return f"{self.features}-{self.hidden}-{self.hidden}-{self.outputs}"


NETS = {
    "tiny": Net("tiny", 2, 16, 1, batch=64, samples=1024),
    "medium": Net("medium", 2, 64, 1, batch=128, samples=2048),
    "wide": Net("wide", 64, 256, 10, batch=256, samples=4096),
}


def scenario_dict(net: Net, steps: int, trace: dict | None = None, precision=None) -> dict:
    scenario = {
        "name": f"bench-{net.name}",
        "seed": 0,
        "plugins": [TEACHER],
        "data": {
            "type": "teacher",
            "samples": net.samples,
            "features": net.features,
            "outputs": net.outputs,
        },
        "model": {
            "layers": [
                {"type": "dense", "name": "hidden1", "units": net.hidden, "activation": "tanh"},
                {"type": "dense", "name": "hidden2", "units": net.hidden, "activation": "tanh"},
                {"type": "dense", "name": "output", "units": net.outputs},
            ]
        },
        "loss": {"type": "mse"},
        "optimizer": {"type": "adam", "lr": LR},
        "train": {"steps": steps, "batch_size": net.batch},
    }
    if trace is not None:
        scenario["trace"] = trace
    if precision is not None:
        scenario["precision"] = precision
    return scenario


def load(net: Net, steps: int, trace: dict | None = None, precision=None):
    """The validated scenario (load once, run many times: validation is not timed)."""
    return engine.load_scenario(scenario_dict(net, steps, trace, precision))


def starting_point(scenario) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """The engine's data and initial parameters [W1, b1, W2, b2, W3, b3], for the baselines."""
    built = build(scenario)
    return built.data.x, built.targets, [p.value.copy() for p in built.network.parameters]


# --- the engine ------------------------------------------------------------------------------


def engine_seconds(scenario, trace_path=False) -> float:
    # the repeats of a comparison write the same trace path: each replaces the one before
    result = engine.run(scenario, trace=trace_path, overwrite=trace_path is not False)
    if result.status != "completed":
        raise RuntimeError(f"benchmark run {result.status}: {result.message}")
    return result.seconds


@contextlib.contextmanager
def timed_tracing():
    """Add up, in ``spent[0]``, the seconds spent in the trace's own functions while runs
    go on: the per-step scalars (``TraceWriter.scalars``, with the chunks it writes) and
    the records of traced steps (``engine.trace.record``). Unlike the difference of two
    runs, this does not move with the load of the machine."""
    spent = [0.0]
    originals = []

    def timed(owner, name):
        original = getattr(owner, name)

        def wrapper(*args, **kwargs):
            began = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spent[0] += time.perf_counter() - began

        originals.append((owner, name, original))
        setattr(owner, name, wrapper)

    timed(TraceWriter, "scalars")
    for name in ("forward_records", "loss_record", "backward_records", "snapshot"):
        timed(record, name)
    timed(record, "update_records")
    try:
        yield spent
    finally:
        for owner, name, original in originals:
            setattr(owner, name, original)


# --- plain numpy -----------------------------------------------------------------------------


def numpy_seconds(x, y, params, batch: int, steps: int, dtype=np.float64) -> float:
    """The same training as the engine's, written out as a student would, timed."""
    x, y = x.astype(dtype), y.astype(dtype)
    params = [p.astype(dtype) for p in params]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    beta1, beta2 = BETAS
    rng = np.random.default_rng(0)
    n = len(x)
    order, start = rng.permutation(n), 0
    began = time.perf_counter()
    for t in range(1, steps + 1):
        if start + batch > n:
            order, start = rng.permutation(n), 0
        rows = order[start : start + batch]
        start += batch
        xb, yb = x[rows], y[rows]
        W1, b1, W2, b2, W3, b3 = params
        # forward
        a1 = np.tanh(xb @ W1 + b1)
        a2 = np.tanh(a1 @ W2 + b2)
        out = a2 @ W3 + b3
        diff = out - yb
        loss = float(np.mean(diff * diff))  # noqa: F841 (a training loop reads its loss)
        # backward
        g3 = diff * (2.0 / diff.size)
        g2 = (g3 @ W3.T) * (1.0 - a2 * a2)
        g1 = (g2 @ W2.T) * (1.0 - a1 * a1)
        grads = [xb.T @ g1, g1.sum(0), a1.T @ g2, g2.sum(0), a2.T @ g3, g3.sum(0)]
        # adam
        step_size = LR / (1.0 - beta1**t)
        root_correction = math.sqrt(1.0 - beta2**t)
        for p, g, m_p, v_p in zip(params, grads, m, v):
            m_p *= beta1
            m_p += (1.0 - beta1) * g
            v_p *= beta2
            v_p += (1.0 - beta2) * (g * g)
            p -= step_size * m_p / (np.sqrt(v_p) / root_correction + EPS)
    return time.perf_counter() - began


# --- PyTorch ---------------------------------------------------------------------------------


def torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def torch_seconds(x, y, params, batch: int, steps: int, dtype="float64") -> float:
    """The same training in PyTorch eager mode on the CPU, timed: Linear + Tanh layers of any
    depth, from ``params`` [W1, b1, W2, b2, ...] (tanh between, none after the last)."""
    import torch

    torch_dtype = getattr(torch, dtype)
    modules = []
    for i in range(0, len(params), 2):
        linear = torch.nn.Linear(*params[i].shape).to(torch_dtype)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(params[i].T.copy()))  # torch stores (out, in)
            linear.bias.copy_(torch.from_numpy(params[i + 1]))
        modules += [linear, torch.nn.Tanh()] if i < len(params) - 2 else [linear]
    model = torch.nn.Sequential(*modules)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR, betas=BETAS, eps=EPS)
    mse = torch.nn.MSELoss()
    x, y = torch.from_numpy(x).to(torch_dtype), torch.from_numpy(y).to(torch_dtype)
    generator = torch.Generator().manual_seed(0)
    n = len(x)
    order, start = torch.randperm(n, generator=generator), 0
    began = time.perf_counter()
    for _ in range(steps):
        if start + batch > n:
            order, start = torch.randperm(n, generator=generator), 0
        rows = order[start : start + batch]
        start += batch
        optimizer.zero_grad()
        loss = mse(model(x[rows]), y[rows])
        loss.backward()
        optimizer.step()
        loss.item()
    return time.perf_counter() - began
