"""The benchmark networks written in JAX, compiled with ``jax.jit``: one compiled call per step.

JAX is optional (installed, like PyTorch, only for benchmarks): ``available()`` says whether it
can be imported. It runs on the CPU with one thread (``XLA_FLAGS`` set before the import) and,
for float64, ``jax_enable_x64``. Every function compiles its step once before the clock starts,
so the times are JAX's per-call speed, and reads the loss of every step (``float(loss)``) as
the engine records every step's loss. The shuffling and sampling happen inside the compiled
step where they can (``jax.random``), which favours JAX.

- ``mlp_seconds``: ``features → hidden (tanh) → hidden (tanh) → outputs``, MSE, Adam;
- ``gan_seconds``: ring8's G and D (two hidden layers of 128 leaky_relu), BCE on logits with
  one-sided label smoothing 0.9, Adam, the two phases of Goodfellow et al.'s Algorithm 1;
- ``cnn_seconds``: conv 3×3 ×8, max-pool 2, conv 3×3 ×16, max-pool 2, dense 10, cross-entropy.
"""

from __future__ import annotations

import math
import os
import time

import numpy as np

_JAX = None


def _jax():
    """(jax, jax.numpy, jax.lax), imported once with one CPU thread and float64 enabled."""
    global _JAX
    if _JAX is None:
        os.environ.setdefault(
            "XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
        )
        os.environ.setdefault("JAX_PLATFORMS", "cpu")
        import jax
        import jax.numpy as jnp
        from jax import lax

        jax.config.update("jax_enable_x64", True)
        _JAX = jax, jnp, lax
    return _JAX


def available() -> bool:
    try:
        _jax()
    except ImportError:
        return False
    return True


def version() -> str:
    return _jax()[0].__version__


def _adam(jnp, lr, betas, eps):
    """Adam (Kingma & Ba 2015) on a list of arrays: m ← β₁m + (1-β₁)g, v ← β₂v + (1-β₂)g²,
    p ← p - lr/(1-β₁ᵗ) · m / (√v/√(1-β₂ᵗ) + ε)."""
    beta1, beta2 = betas

    def update(params, grads, m, v, t):
        m = [beta1 * m_p + (1 - beta1) * g for m_p, g in zip(m, grads)]
        v = [beta2 * v_p + (1 - beta2) * g * g for v_p, g in zip(v, grads)]
        step_size = lr / (1 - beta1**t)
        root_correction = jnp.sqrt(1 - beta2**t)
        params = [
            p - step_size * m_p / (jnp.sqrt(v_p) / root_correction + eps)
            for p, m_p, v_p in zip(params, m, v)
        ]
        return params, m, v

    return update


def mlp_seconds(x, y, params, batch: int, steps: int, dtype: str = "float64") -> float:
    """The tanh MLP with MSE and Adam (lr 1e-3): seconds for ``steps`` compiled steps."""
    jax, jnp, _ = _jax()
    adam = _adam(jnp, 1e-3, (0.9, 0.999), 1e-8)
    x, y = jnp.asarray(x, dtype), jnp.asarray(y, dtype)
    params = [jnp.asarray(p, dtype) for p in params]
    zeros = [jnp.zeros_like(p) for p in params]

    def loss_of(params, xb, yb):
        a = xb
        for i in range(0, len(params) - 2, 2):
            a = jnp.tanh(a @ params[i] + params[i + 1])
        out = a @ params[-2] + params[-1]
        return jnp.mean((out - yb) ** 2)

    @jax.jit
    def step(params, m, v, t, rows):
        loss, grads = jax.value_and_grad(loss_of)(params, x[rows], y[rows])
        params, m, v = adam(params, grads, m, v, t)
        return params, m, v, loss

    rng = np.random.default_rng(0)
    n = len(x)
    orders = [rng.permutation(n) for _ in range(steps * batch // n + 2)]
    batches = [order[i : i + batch] for order in orders for i in range(0, n - batch + 1, batch)]
    batches = [jnp.asarray(rows) for rows in batches[: steps + 1]]
    m, v = zeros, list(zeros)
    float(step(params, m, v, 1.0, batches[0])[3])  # compile before the clock starts
    began = time.perf_counter()
    for t in range(1, steps + 1):
        params, m, v, loss = step(params, m, v, float(t), batches[t])
        float(loss)
    return time.perf_counter() - began


def gan_seconds(data, latent: int, batch: int, steps: int, lr, betas, dtype="float64"):
    """ring8's GAN (D then G per step), each phase one compiled call: seconds for ``steps``."""
    jax, jnp, _ = _jax()
    data = jnp.asarray(data, dtype)
    features, slope = data.shape[1], 0.01
    key = jax.random.PRNGKey(0)

    def init(key, sizes):
        params = []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            key, sub = jax.random.split(key)
            limit = math.sqrt(6.0 / (fan_in + fan_out))
            W = jax.random.uniform(sub, (fan_in, fan_out), dtype, -limit, limit)
            params += [W, jnp.zeros(fan_out, dtype)]
        return params

    def forward(params, a):
        for i in range(0, len(params) - 2, 2):
            z = a @ params[i] + params[i + 1]
            a = jnp.maximum(z, slope * z)
        return a @ params[-2] + params[-1]

    def bce(logits, target):
        return jnp.mean(jnp.maximum(logits, 0) - logits * target + jnp.log1p(jnp.exp(-abs(logits))))

    d_adam = _adam(jnp, lr[0], betas[0], 1e-8)
    g_adam = _adam(jnp, lr[1], betas[1], 1e-8)

    def d_loss(D, real, fake):
        return bce(forward(D, real), 0.9) + bce(forward(D, fake), 0.0)

    def g_loss(G, D, z):
        return bce(forward(D, forward(G, z)), 1.0)

    @jax.jit
    def d_step(G, D, m, v, t, key):
        k1, k2 = jax.random.split(key)
        real = data[jax.random.randint(k1, (batch,), 0, len(data))]
        fake = forward(G, jax.random.normal(k2, (batch, latent), dtype))
        loss, grads = jax.value_and_grad(d_loss)(D, real, fake)
        D, m, v = d_adam(D, grads, m, v, t)
        return D, m, v, loss

    @jax.jit
    def g_step(G, D, m, v, t, key):
        z = jax.random.normal(key, (batch, latent), dtype)
        loss, grads = jax.value_and_grad(g_loss)(G, D, z)
        G, m, v = g_adam(G, grads, m, v, t)
        return G, m, v, loss

    k_g, k_d, key = jax.random.split(key, 3)
    G, D = init(k_g, [latent, 128, 128, features]), init(k_d, [features, 128, 128, 1])
    dm, dv = [jnp.zeros_like(p) for p in D], [jnp.zeros_like(p) for p in D]
    gm, gv = [jnp.zeros_like(p) for p in G], [jnp.zeros_like(p) for p in G]
    keys = jax.random.split(key, 2 * (steps + 1))
    float(d_step(G, D, dm, dv, 1.0, keys[0])[3])  # compile both phases first
    float(g_step(G, D, gm, gv, 1.0, keys[1])[3])
    began = time.perf_counter()
    for t in range(1, steps + 1):
        D, dm, dv, loss_d = d_step(G, D, dm, dv, float(t), keys[2 * t])
        G, gm, gv, loss_g = g_step(G, D, gm, gv, float(t), keys[2 * t + 1])
        float(loss_d), float(loss_g)
    return time.perf_counter() - began


def cnn_seconds(x, labels, params: dict, batch: int, steps: int, dtype="float64") -> float:
    """cnn_digits from the engine's initial parameters, Adam lr 3e-3: seconds for ``steps``."""
    jax, jnp, lax = _jax()
    adam = _adam(jnp, 3e-3, (0.9, 0.999), 1e-8)
    x, labels = jnp.asarray(x, dtype), jnp.asarray(labels)
    names = ["conv1.W", "conv1.b", "conv2.W", "conv2.b", "output.W", "output.b"]
    values = [jnp.asarray(params[name], dtype) for name in names]
    zeros = [jnp.zeros_like(p) for p in values]

    def conv_relu_pool(a, W, b):
        z = lax.conv_general_dilated(a, W, (1, 1), ((1, 1), (1, 1)))  # NCHW, OIHW
        a = jnp.maximum(z + b[None, :, None, None], 0)
        return lax.reduce_window(a, -jnp.inf, lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")

    def loss_of(values, xb, yb):
        W1, b1, W2, b2, W3, b3 = values
        a = conv_relu_pool(conv_relu_pool(xb, W1, b1), W2, b2)
        logits = a.reshape(len(a), -1) @ W3 + b3
        log_p = jax.nn.log_softmax(logits)
        return -jnp.mean(jnp.take_along_axis(log_p, yb[:, None], axis=1))

    @jax.jit
    def step(values, m, v, t, rows):
        loss, grads = jax.value_and_grad(loss_of)(values, x[rows], labels[rows])
        values, m, v = adam(values, grads, m, v, t)
        return values, m, v, loss

    rng = np.random.default_rng(0)
    n = len(x)
    orders = [rng.permutation(n) for _ in range(steps * batch // n + 2)]
    batches = [order[i : i + batch] for order in orders for i in range(0, n - batch + 1, batch)]
    batches = [jnp.asarray(rows) for rows in batches[: steps + 1]]
    m, v = zeros, list(zeros)
    float(step(values, m, v, 1.0, batches[0])[3])  # compile first
    began = time.perf_counter()
    for t in range(1, steps + 1):
        values, m, v, loss = step(values, m, v, float(t), batches[t])
        float(loss)
    return time.perf_counter() - began
