"""Tracegrad: learn how neural networks train, from a YAML scenario to a trace you can check
by hand.

The public API::

    engine.load_scenario(path_or_dict, overrides=None) -> Scenario
    engine.run(path_or_scenario, trace=None, overrides=None) -> RunResult
    engine.load_run(run_folder) -> RunResult   # a finished run, e.g. to generate from a GAN
    engine.hookimpl                     # mark a plugin's hook implementations
    engine.ComponentConfig, engine.LayerConfig, engine.OptimizerConfig   # config bases
"""

import os

# The networks students train are small: a multi-threaded BLAS spends more time waking threads
# than multiplying, and on a busy 2-core machine it can be 50 times slower. One thread unless
# the user chose otherwise (this must happen before numpy is first imported).
for _variable in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

from engine.hookspecs import hookimpl  # noqa: E402

__version__ = "0.1.0"

from engine.components import (  # noqa: E402
    Activation,
    ComponentConfig,
    Dataset,
    Initializer,
    Layer,
    LayerConfig,
    Loss,
    Optimizer,
    OptimizerConfig,
    ScenarioKind,
    Schedule,
    StepLoop,
)
from engine.errors import TracegradError  # noqa: E402
from engine.result import RunResult, load_run  # noqa: E402
from engine.run import run  # noqa: E402
from engine.scenario import load_scenario  # noqa: E402

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
