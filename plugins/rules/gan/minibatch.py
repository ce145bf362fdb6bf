"""The minibatch_discrimination layer's trace checks, written again from Salimans et al.
(2016) (the layer is not imported). With x (N, A), T (A, B·C) and M = x·T read as (N, B, C):

    forward    M = x·T;  o_ib = Σ_j exp(-Σ_c |M_ibc - M_jbc|);  out = [x, o]
    backward   dL/do = the last B columns of dL/dout;  s_ijbc = sign(M_ibc - M_jbc)
               dL/dM_ibc = -Σ_j (dL/do_ib + dL/do_jb)·exp(-Σ_c |M_ibc - M_jbc|)·s_ijbc
               dL/dT = xᵀ·dL/dM;  dL/dx = dL/dout[:, :A] + dL/dM·Tᵀ
"""

from __future__ import annotations

import numpy as np

from engine.verify.report import Checker


def _pairs(M: np.ndarray, kernels: int):
    blocks = M.reshape(len(M), kernels, -1)
    diff = blocks[:, None] - blocks[None, :]
    return np.exp(-np.abs(diff).sum(axis=3)), np.sign(diff)


def forward(check: Checker, layer) -> None:
    values, place = layer.forward, layer.place
    kernels = layer.config.get("kernels", 5)
    x, M, T = values.get("x"), values.get("M"), layer.params.get("T")
    if check.whole("M", x, T):
        check.compare(place, "M", M, x @ T, "M = x·T, T as the update record's before")
    if check.whole("o", M):
        c, _ = _pairs(M, kernels)
        check.compare(place, "o", values.get("o"), c.sum(axis=1), "o_ib = Σ_j exp(-‖M_ib - M_jb‖₁)")
    if check.whole("out", x, values.get("o")):
        check.compare(place, "out", values.get("out"), np.hstack([x, values["o"]]), "out = [x, o]")


def backward(check: Checker, layer) -> None:
    values, grads, place = layer.forward, layer.backward, layer.place
    kernels = layer.config.get("kernels", 5)
    x, M, T = values.get("x"), values.get("M"), layer.params.get("T")
    grad_out = grads.get("dL/dout")
    if not check.whole("dL/dM", x, M, grad_out):
        return
    features = x.shape[1]
    grad_o = grad_out[:, features:]
    check.compare(place, "dL/do", grads.get("dL/do"), grad_o, "the last B columns of dL/dout")
    c, sign = _pairs(M, kernels)
    weight = (grad_o[:, None, :] + grad_o[None, :, :]) * c
    grad_M = -np.einsum("ijb,ijbc->ibc", weight, sign).reshape(len(M), -1)
    how = "dL/dM_ibc = -Σ_j (dL/do_ib + dL/do_jb)·c_ijb·sign(M_ibc - M_jbc)"
    check.compare(place, "dL/dM", grads.get("dL/dM"), grad_M, how)
    check.compare(place, "dL/dT", grads.get("dL/dT"), x.T @ grad_M, "dL/dT = xᵀ·dL/dM")
    if check.whole("dL/dx", T):
        recomputed = grad_out[:, :features] + grad_M @ T.T
        check.compare(place, "dL/dx", grads.get("dL/dx"), recomputed, "dL/dout[:, :A] + dL/dM·Tᵀ")
