"""Tracegrad: learn how neural networks train, from a YAML scenario to a trace you can check
by hand.

The public API::

    engine.load_scenario(path_or_dict, overrides=None) -> Scenario
    engine.run(path_or_scenario, trace=None, overrides=None) -> RunResult
    engine.load_run(run_folder) -> RunResult   # a finished run, e.g. to generate from a GAN
    engine.hookimpl                     # mark a plugin's hook implementations
    engine.ComponentConfig, engine.LayerConfig, engine.OptimizerConfig   # config bases
"""

# Before pydantic: pydantic-core imports datetime's C API from Rust the first time it needs
# it, and a Ctrl-C landing inside that import is a panic there, not a KeyboardInterrupt.
import datetime  # noqa: F401
import os

# The networks students train are small: a multi-threaded BLAS spends more time waking threads
# than multiplying, and on a busy 2-core machine it can be 50 times slower. One thread unless
# the user chose otherwise (this must happen before numpy is first imported).
for _variable in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

__version__ = "0.1.0"

#: The public names, imported when first used: ``import engine`` stays quick, so the command
#: line can handle Ctrl-C from its first moment (numpy and pydantic load inside it).
_PUBLIC = {
    "Activation": "engine.components",
    "ComponentConfig": "engine.components",
    "Dataset": "engine.components",
    "Initializer": "engine.components",
    "Layer": "engine.components",
    "LayerConfig": "engine.components",
    "Loss": "engine.components",
    "Optimizer": "engine.components",
    "OptimizerConfig": "engine.components",
    "ScenarioKind": "engine.components",
    "Schedule": "engine.components",
    "StepLoop": "engine.components",
    "TracegradError": "engine.errors",
    "hookimpl": "engine.hookspecs",
    "load_run": "engine.result",
    "load_scenario": "engine.scenario",
    "RunResult": "engine.result",
    "run": "engine.lifecycle",
}


def __getattr__(name: str):
    if name not in _PUBLIC:
        raise AttributeError(f"module 'engine' has no attribute '{name}'")
    import importlib

    value = getattr(importlib.import_module(_PUBLIC[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_PUBLIC})


__all__ = [
    "Activation",
    "ComponentConfig",
    "Dataset",
    "Initializer",
    "Layer",
    "LayerConfig",
    "Loss",
    "Optimizer",
    "OptimizerConfig",
    "RunResult",
    "ScenarioKind",
    "Schedule",
    "StepLoop",
    "TracegradError",
    "__version__",
    "hookimpl",
    "load_run",
    "load_scenario",
    "run",
]
