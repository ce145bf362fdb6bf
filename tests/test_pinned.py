"""benchmarks/pinned.py pins a benchmark's own process, never a test's children."""

from __future__ import annotations

import importlib
import os
import sys

import numpy  # noqa: F401  (the test process has numpy, as every test's does)

from tests.conftest import ROOT


def test_importing_a_benchmark_in_a_process_with_numpy_leaves_the_environment(monkeypatch):
    """A test that imports a benchmark (class_fidelity calls pin() as it is imported) must
    not pin the sweep workers it starts later: they would compute on other code paths than
    the test process and give other last bits."""
    from benchmarks.pinned import PINNED

    for variable in PINNED:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    monkeypatch.delitem(sys.modules, "class_fidelity", raising=False)
    importlib.import_module("class_fidelity")
    assert "OPENBLAS_CORETYPE" not in os.environ
    assert "NPY_DISABLE_CPU_FEATURES" not in os.environ
