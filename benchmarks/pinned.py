"""The code paths every number recorded in ``benchmarks/results/`` and ``tests/trace_digests.json``
is computed on: OpenBLAS's Haswell (AVX2) kernels on one thread, and NumPy's SIMD dispatch
without its AVX-512 targets, so an AVX2 machine and an AVX-512 one give the same bits.

``pin()`` sets them as defaults of the environment; call it before numpy is imported (a
benchmark script's first lines). A variable already set wins. To run a command on them,
e.g. a sweep whose runs a benchmark measures::

    python benchmarks/pinned.py tracegrad sweep sweeps/pooling_and_relu.yaml -o FOLDER
"""

from __future__ import annotations

import os
import sys

# NumPy 2.4 names its AVX-512 dispatch targets X86_V4, AVX512_ICL and AVX512_SPR, earlier
# releases AVX512F, AVX512_SKX, ...; names a release does not know are ignored.
PINNED = {
    "OPENBLAS_CORETYPE": "Haswell",
    "OPENBLAS_NUM_THREADS": "1",
    "NPY_DISABLE_CPU_FEATURES": " ".join(
        ["X86_V4", "AVX512F", "AVX512CD", "AVX512_KNL", "AVX512_KNM", "AVX512_SKX"]
        + ["AVX512_CLX", "AVX512_CNL", "AVX512_ICL", "AVX512_SPR"]
    ),
}


def pin() -> None:
    """Pin this process, and the processes it starts, unless numpy is imported already: it
    then runs on the paths it picked, and pinning would reach only the children (a test
    that imports a benchmark would pin every sweep worker it starts after, and those would
    no longer compute what the test process computes)."""
    if "numpy" in sys.modules:
        return
    for variable, value in PINNED.items():
        os.environ.setdefault(variable, value)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print("usage: python benchmarks/pinned.py COMMAND [ARGUMENT ...]", file=sys.stderr)
        sys.exit(2)
    pin()
    os.execvp(sys.argv[1], sys.argv[1:])
