"""The backward pass through one layer as the chain rule, with the trace's numbers.

A dense layer computes z = x·W + b and a = f(z). Given ∂L/∂a from the layer after it (or
from the loss), the chain rule gives, for unit j and input i of one sample:

    ∂L/∂z_j  = ∂L/∂a_j · ∂a_j/∂z_j               (∂a_j/∂z_j = f'(z_j))
    ∂L/∂W_ij = ∂L/∂a_j · ∂a_j/∂z_j · ∂z_j/∂W_ij    (∂z_j/∂W_ij = x_i)
    ∂L/∂b_j  = ∂L/∂a_j · ∂a_j/∂z_j · ∂z_j/∂b_j     (∂z_j/∂b_j = 1)
    ∂L/∂x_i  = Σ_j ∂L/∂z_j · W_ij                   (handed to the layer before)

and for a batch the parameters' derivatives are sums over the samples (Σₙ). Small layers
get every line with numbers; larger ones the matrix form with shapes and statistics.
"""

from __future__ import annotations

import numpy as np

from engine.i18n import _
from engine.report.document import Equations, Text
from engine.report.numbers import (
    factor,
    fmt,
    shape_of,
    shape_text,
    statistics_table,
    sub,
    values_table,
    whole,
)

#: Layers with at most this many inputs and units get every scalar derivative spelled out.
SMALL_UNITS = 4
#: Sums of up to this many per-sample terms are shown whole; longer ones the first few.
SMALL_BATCH = 4
SHOWN_TERMS = 2


def dense_backward(values: dict, x, W, local_rule=None) -> list:
    """The chain rule through z = x·W + b, a = f(z): scalar by scalar for small layers,
    in matrix form otherwise. ``values`` are the backward record's arrays, ``x`` the layer's
    input and ``W`` its weights in this step (None when the trace lacks them);
    ``local_rule(j)``, when given, writes f'(z_j) with its numbers (``substitute``)."""
    grad_a, local = values.get("dL/da"), values.get("f'(z)")
    grad_z, grad_W, grad_b = values["dL/dz"], values["dL/dW"], values.get("dL/db")
    grad_x = values.get("dL/dx")
    arrays = (grad_z, grad_W, x) + tuple(v for v in (grad_a, local, grad_b) if v is not None)
    d, m = shape_of(grad_W)
    small = d <= SMALL_UNITS and m <= SMALL_UNITS and whole(*arrays)
    if not small:
        return dense_matrix_form(values, x, local is not None)
    blocks: list = [values_table({k: v for k, v in values.items() if k not in ("dL/dW", "dL/db")})]
    n = x.shape[0]
    if n > 1:
        blocks.append(
            Text(
                _(
                    "The batch has {n} samples: each parameter's derivative is the sum over the "
                    "samples of the per-sample products (Σₙ)."
                ).format(n=n)
            )
        )
    for j in range(m):
        blocks.append(Equations(_unit_lines(j, values, x, local is not None, local_rule)))
    if grad_x is not None and whole(grad_x) and isinstance(W, np.ndarray):
        blocks.append(Equations(_input_lines(grad_z, W, grad_x)))
    return blocks


def _unit_lines(j: int, values: dict, x: np.ndarray, has_local: bool, local_rule) -> list[str]:
    """The derivatives of unit j's weights and bias: ∂L/∂W_ij and ∂L/∂b_j."""
    grad_a, local, grad_z = values.get("dL/da"), values.get("f'(z)"), values["dL/dz"]
    grad_W, grad_b = values["dL/dW"], values.get("dL/db")
    n, s = x.shape[0], sub(j)
    lines = []
    if has_local and n == 1:
        lines.append(f"∂L/∂a{s} = {fmt(grad_a[0, j])}")
        rule = local_rule(j) if local_rule else None
        lines.append(f"∂a{s}/∂z{s} = f'(z{s}) = {rule or fmt(local[0, j])}")
        lines.append(
            f"∂L/∂z{s} = ∂L/∂a{s} · ∂a{s}/∂z{s} = {factor(grad_a[0, j])} × "
            f"{factor(local[0, j])} = {fmt(grad_z[0, j])}"
        )
    elif n == 1:
        lines.append(f"∂L/∂z{s} = {fmt(grad_z[0, j])}")
    chain = f"∂L/∂a{s} · ∂a{s}/∂z{s} · " if has_local else f"∂L/∂z{s} · "

    def terms(last: np.ndarray) -> list[str]:
        factors = [grad_a[:, j], local[:, j]] if has_local else [grad_z[:, j]]
        return [" × ".join(factor(f[k]) for f in (*factors, last)) for k in range(n)]

    for i in range(x.shape[1]):
        lhs = f"∂L/∂W{sub(i, j)}"
        symbols = chain + f"∂z{s}/∂W{sub(i, j)}"
        lines.extend(_sum_lines(lhs, symbols, terms(x[:, i]), grad_W[i, j]))
    if grad_b is not None:
        symbols = chain + f"∂z{s}/∂b{s}"
        lines.extend(_sum_lines(f"∂L/∂b{s}", symbols, terms(np.ones(n)), grad_b[j]))
    return lines


def _sum_lines(
    lhs: str, symbols: str, terms: list[str], result: float, sigma: str = "Σₙ "
) -> list[str]:
    """``lhs = symbols = terms = result`` on one line for up to two terms; longer sums get a
    line per term (the first SHOWN_TERMS of them when there are more than SMALL_BATCH)."""
    if len(terms) == 1:
        return [f"{lhs} = {symbols} = {terms[0]} = {fmt(result)}"]
    if len(terms) == 2 and not sigma:
        return [f"{lhs} = {symbols} = {terms[0]} + {terms[1]} = {fmt(result)}"]
    pad = " " * len(lhs)
    shown = terms if len(terms) <= SMALL_BATCH else terms[:SHOWN_TERMS]
    lines = [f"{lhs} = {sigma}{symbols}", f"{pad} = {shown[0]}"]
    lines += [f"{pad} + {term}" for term in shown[1:]]
    if len(shown) < len(terms):
        lines.append(
            _("{pad} + … ({value} more terms, one per sample)").format(
                pad=pad, value=len(terms) - len(shown)
            )
        )
    return lines + [f"{pad} = {fmt(result)}"]


def _input_lines(grad_z: np.ndarray, W: np.ndarray, grad_x: np.ndarray) -> list[str]:
    """∂L/∂x_i = Σ_j ∂L/∂z_j · W_ij, for the first sample."""
    lines = []
    if len(grad_z) > 1:
        lines.append(_("sample 1 of {count}:").format(count=len(grad_z)))
    for i in range(W.shape[0]):
        symbols = " + ".join(f"∂L/∂z{sub(j)} · W{sub(i, j)}" for j in range(W.shape[1]))
        terms = [f"{factor(grad_z[0, j])} × {factor(W[i, j])}" for j in range(W.shape[1])]
        lines.extend(_sum_lines(f"∂L/∂x{sub(i)}", symbols, terms, grad_x[0, i], sigma=""))
    return lines


def dense_matrix_form(values: dict, x, has_local: bool) -> list:
    """The chain rule for a whole layer at once, with the shapes that make it fit."""
    n, d = shape_of(x)
    m = shape_of(values["dL/dz"])[1]
    lines = []
    if has_local:
        lines.append(
            _(
                "∂L/∂z = ∂L/∂a ⊙ f'(z)     {shape_text} = {shape_text} ⊙ {shape_text}   "
                "(elementwise)"
            ).format(shape_text=shape_text((n, m)))
        )
    lines.append(
        f"∂L/∂W = xᵀ · ∂L/∂z        {shape_text((d, m))} = {shape_text((d, n))} · "
        f"{shape_text((n, m))}"
        + ("   " + _("(a sum over the {n} samples)").format(n=n) if n > 1 else "")
    )
    if "dL/db" in values:
        lines.append(f"∂L/∂b = Σₙ ∂L/∂z         {shape_text((m,))}")
    if "dL/dx" in values:
        lines.append(
            f"∂L/∂x = ∂L/∂z · Wᵀ        {shape_text((n, d))} = {shape_text((n, m))} · "
            f"{shape_text((m, d))}"
        )
    return [Equations(lines), statistics_table({"x": x, **values})]


def elementwise_backward(values: dict) -> list:
    """A layer a = f(x) applied entry by entry: ∂L/∂x = ∂L/∂a ⊙ f'(x)."""
    grad_a, grad_x = values["dL/da"], values["dL/dx"]
    local = values.get("f'(x)")
    blocks: list = [values_table(values)]
    if (
        local is not None
        and whole(grad_a, local, grad_x)
        and grad_a.ndim == 2
        and grad_a.shape[1] <= SMALL_UNITS
    ):
        lines = [f"sample 1 of {len(grad_a)}:"] if len(grad_a) > 1 else []
        lines += [
            f"∂L/∂x{sub(j)} = ∂L/∂a{sub(j)} · f'(x{sub(j)}) = {factor(grad_a[0, j])} × "
            f"{factor(local[0, j])} = {fmt(grad_x[0, j])}"
            for j in range(grad_a.shape[1])
        ]
        blocks.append(Equations(lines))
    return blocks
