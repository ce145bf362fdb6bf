"""The ring8 GAN (``scenarios/gan/ring8.yaml``) run by the engine and written in PyTorch.

Both sides do the same work per step (Goodfellow et al. 2014, Algorithm 1, k = 1):

    D: x ~ data (256), z ~ N(0, I), x̃ = G(z) detached;  L_D = BCE(D(x), 0.9) + BCE(D(x̃), 0)
       backward through D, Adam step on D
    G: z ~ N(0, I);  L_G = BCE(D(G(z)), 1);  backward through D and G, Adam step on G

G and D: two hidden layers of 128 leaky_relu units (slope 0.01), batch 256, Adam with the
scenario's lr and betas (the baselines keep the lr constant: the engine's schedule is one
number per step). The engine's time is measured between its first and last step through
the ``progress`` callback, so neither the first step nor the sample metrics of the last
step are counted.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np

import engine

RING8 = Path(__file__).resolve().parent.parent / "scenarios" / "gan" / "ring8.yaml"


def ring8_available() -> bool:
    return RING8.is_file()


def load_ring8(steps: int, precision: str | None = None):
    overrides = {"train.steps": steps, "metrics.every": None}
    if precision is not None:
        overrides["precision"] = precision
    return engine.load_scenario(RING8, overrides)


def engine_gan_seconds(scenario) -> tuple[float, int]:
    """(seconds, steps) of the engine's GAN loop, steps 1 to total - 2."""
    marks = {}
    total = scenario.spec.train.steps

    def progress(done, total_steps, loss):
        if done == 1 or done == total - 1:
            marks[done] = time.perf_counter()

    result = engine.run(scenario, trace=False, progress=progress)
    if result.status != "completed":
        raise RuntimeError(f"GAN benchmark run {result.status}: {result.message}")
    return marks[total - 1] - marks[1], total - 2


def torch_gan_seconds(scenario, steps: int, dtype: str = "float64") -> float:
    """The same GAN in PyTorch eager mode on the CPU: seconds for ``steps`` steps."""
    import torch

    spec = scenario.spec
    torch_dtype = getattr(torch, dtype)
    latent, n = spec.latent.dim, spec.train.batch_size
    data = torch.from_numpy(engine_data(scenario)).to(torch_dtype)

    def mlp(inputs: int, outputs: int):
        return torch.nn.Sequential(
            torch.nn.Linear(inputs, 128),
            torch.nn.LeakyReLU(0.01),
            torch.nn.Linear(128, 128),
            torch.nn.LeakyReLU(0.01),
            torch.nn.Linear(128, outputs),
        ).to(torch_dtype)

    G, D = mlp(latent, data.shape[1]), mlp(data.shape[1], 1)
    d_config, g_config = spec.optimizer.discriminator, spec.optimizer.generator
    d_opt = torch.optim.Adam(D.parameters(), lr=d_config.lr, betas=tuple(d_config.betas))
    g_opt = torch.optim.Adam(G.parameters(), lr=g_config.lr, betas=tuple(g_config.betas))
    bce = torch.nn.BCEWithLogitsLoss()
    real_label = torch.full((n, 1), 0.9, dtype=torch_dtype)
    fake_label = torch.zeros((n, 1), dtype=torch_dtype)
    g_label = torch.ones((n, 1), dtype=torch_dtype)
    generator = torch.Generator().manual_seed(0)
    began = time.perf_counter()
    for _ in range(steps):
        real = data[torch.randint(0, len(data), (n,), generator=generator)]
        z = torch.randn(n, latent, generator=generator, dtype=torch_dtype)
        with torch.no_grad():
            fake = G(z)
        d_opt.zero_grad()
        d_loss = bce(D(real), real_label) + bce(D(fake), fake_label)
        d_loss.backward()
        d_opt.step()
        z = torch.randn(n, latent, generator=generator, dtype=torch_dtype)
        g_opt.zero_grad()
        g_loss = bce(D(G(z)), g_label)
        g_loss.backward()
        g_opt.step()
        d_loss.item(), g_loss.item()
    return time.perf_counter() - began


def numpy_gan_seconds(scenario, steps: int, dtype=np.float64) -> float:
    """The same GAN as a plain numpy loop, formulas written out: seconds for ``steps``."""
    spec = scenario.spec
    data = engine_data(scenario).astype(dtype)
    latent, n, slope = spec.latent.dim, spec.train.batch_size, 0.01
    rng = np.random.default_rng(0)

    def init(sizes):
        params = []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            limit = math.sqrt(6.0 / (fan_in + fan_out))  # xavier_uniform, as the engine
            params += [
                rng.uniform(-limit, limit, (fan_in, fan_out)).astype(dtype),
                np.zeros(fan_out, dtype),
            ]
        return params

    def forward(params, x):
        acts, a = [x], x
        for i in range(0, len(params), 2):
            z = a @ params[i] + params[i + 1]
            a = np.where(z > 0, z, slope * z) if i < len(params) - 2 else z
            acts.append(a)
        return acts

    def backward(params, acts, g):
        """Gradients of every parameter and of the input, for dL/d(output) = g."""
        grads = [None] * len(params)
        for i in reversed(range(0, len(params), 2)):
            if i < len(params) - 2:
                g = g * np.where(acts[i // 2 + 1] > 0, 1.0, slope)
            grads[i], grads[i + 1] = acts[i // 2].T @ g, g.sum(axis=0)
            g = g @ params[i].T
        return grads, g

    def bce(logits, target):
        """Mean BCE on logits, and its gradient (σ(l) - t) / N."""
        loss = np.mean(np.maximum(logits, 0) - logits * target + np.log1p(np.exp(-abs(logits))))
        return float(loss), (1.0 / (1.0 + np.exp(-logits)) - target) / logits.size

    def adam(params, grads, state, config):
        state["t"] += 1
        t, (beta1, beta2) = state["t"], config.betas
        step_size = config.lr / (1.0 - beta1**t)
        root_correction = math.sqrt(1.0 - beta2**t)
        for p, g, m, v in zip(params, grads, state["m"], state["v"]):
            m *= beta1
            m += (1.0 - beta1) * g
            v *= beta2
            v += (1.0 - beta2) * (g * g)
            p -= step_size * m / (np.sqrt(v) / root_correction + config.eps)

    G, D = init([latent, 128, 128, data.shape[1]]), init([data.shape[1], 128, 128, 1])
    states = {
        name: {"t": 0, "m": [np.zeros_like(p) for p in ps], "v": [np.zeros_like(p) for p in ps]}
        for name, ps in (("G", G), ("D", D))
    }
    d_config, g_config = spec.optimizer.discriminator, spec.optimizer.generator
    real_label, fake_label, g_label = (np.full((n, 1), t, dtype) for t in (0.9, 0.0, 1.0))
    began = time.perf_counter()
    for _ in range(steps):
        real = data[rng.integers(0, len(data), size=n)]
        fake = forward(G, rng.normal(size=(n, latent)).astype(dtype))[-1]
        acts = forward(D, real)
        real_loss, g = bce(acts[-1], real_label)
        real_grads, _ = backward(D, acts, g)
        acts = forward(D, fake)
        fake_loss, g = bce(acts[-1], fake_label)
        fake_grads, _ = backward(D, acts, g)
        adam(D, [a + b for a, b in zip(real_grads, fake_grads)], states["D"], d_config)
        g_acts = forward(G, rng.normal(size=(n, latent)).astype(dtype))
        acts = forward(D, g_acts[-1])
        g_loss, g = bce(acts[-1], g_label)
        _, g = backward(D, acts, g)
        grads, _ = backward(G, g_acts, g)
        adam(G, grads, states["G"], g_config)
    return time.perf_counter() - began


def matmul_seconds(scenario, dtype=np.float64, repeats: int = 5) -> float:
    """Seconds per step of the matrix products alone: the floor under any implementation.

    A step multiplies G forward twice, D forward three times (real, fake, G's samples), D
    backward three times and G backward once; a layer d_in → d_out on a batch of n does
    x·W (n×d_in by d_in×d_out) forward, and xᵀ·dL/dz and dL/dz·Wᵀ backward.
    """
    spec = scenario.spec
    n, latent = spec.train.batch_size, spec.latent.dim
    features = engine_data(scenario).shape[1]
    G = [latent, *[layer.units for layer in spec.generator.layers]]
    D = [features, *[layer.units for layer in spec.discriminator.layers]]
    rng = np.random.default_rng(0)
    products = []
    for sizes, forwards, backwards in ((G, 2, 1), (D, 3, 3)):
        for d_in, d_out in zip(sizes[:-1], sizes[1:]):
            x, W = rng.normal(size=(n, d_in)), rng.normal(size=(d_in, d_out))
            g = rng.normal(size=(n, d_out))
            x, W, g = x.astype(dtype), W.astype(dtype), g.astype(dtype)
            products += [(x, W)] * forwards + [(x.T, g), (g, W.T)] * backwards
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        for _ in range(20):
            for a, b in products:
                a @ b
        times.append((time.perf_counter() - began) / 20)
    return sorted(times)[len(times) // 2]


def engine_data(scenario):
    """The ring samples the engine trains on."""
    from plugins.gan.build import build_gan

    return build_gan(scenario).data.x
