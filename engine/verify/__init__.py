"""``tracegrad verify``: re-derive every claim a trace makes from the values it records.

The verifier is a second, independent derivation: it never imports the engine's layers,
losses or optimizers, it re-implements their formulas (``activations``, ``layers``,
``losses``, ``optimizers``) and recomputes each recorded quantity from the recorded
quantities it depends on. ``report`` holds the tolerance and what was found; ``steps``
checks one traced pass and its links to the update before; ``supervised`` walks a
supervised trace. Which walk a trace gets is its scenario kind's (``ScenarioKind.verify``):
the GAN kind's lives in ``plugins/gan/rules/``.

    report = verify_trace("runs/xor-20240101-120000/trace.jsonl")
    print(report.format())          # each disagreement, then the summary
    report.ok                       # True when every claim holds and the trace is whole
"""

from __future__ import annotations

import contextlib
import importlib
import os
from pathlib import Path

import numpy as np
import pluggy

from engine import hookspecs
from engine.errors import TraceError
from engine.trace.reader import read_trace, trace_kind
from engine.verify.report import (
    DEFAULT_ATOL,
    DEFAULT_RTOL,
    Checker,
    Disagreement,
    Tolerance,
    VerifyReport,
)

__all__ = ["Disagreement", "Tolerance", "VerifyReport", "verify_trace"]

#: The rule modules of the built-in kinds (they import no component they check).
RULE_PLUGINS = ("plugins.rules.supervised", "plugins.rules.gan")


def trace_checks(plugins=()) -> dict:
    """Scenario kind -> its trace check, from the rule modules, installed plugins and
    ``plugins`` (``tracegrad_register_trace_checks``)."""
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    for name in RULE_PLUGINS:
        manager.register(importlib.import_module(name), name=name)
    if not os.environ.get("TRACEGRAD_DISABLE_PLUGIN_AUTOLOAD"):
        with contextlib.suppress(Exception):  # a broken plugin costs its own rules only
            manager.load_setuptools_entrypoints(hookspecs.PROJECT)
    for name in plugins:
        with contextlib.suppress(Exception):
            if manager.get_plugin(name) is None:
                manager.register(importlib.import_module(name), name=name)
    checks: dict = {}
    for impl in reversed(manager.hook.tracegrad_register_trace_checks.get_hookimpls()):
        impl.function(register=lambda kind, check: checks.setdefault(kind, check))
    return checks


def verify_trace(
    path: str | Path, atol: float = DEFAULT_ATOL, rtol: float = DEFAULT_RTOL
) -> VerifyReport:
    """Check every claim of the trace at ``path`` (a trace file or a run folder).

    Raises ``TraceError`` (a TracegradError) when the file cannot be read at all.
    """
    trace = read_trace(path)
    report = VerifyReport(trace.path, Tolerance(atol, rtol), status=trace.status)
    report.warnings = list(trace.warnings)
    check = Checker(report)
    if trace.end is None:
        torn = any("cut off" in w for w in trace.warnings)
        report.problems.append(
            "the trace ends without an end record"
            + (", in the middle of a line" if torn else "")
            + ": the file is truncated (the run was killed or the file was cut)"
        )
    name = trace_kind(trace)
    checks = trace_checks(_plugins_of(trace.header.get("scenario")))
    try:
        with np.errstate(all="ignore"):  # a diverged step holds inf and NaN: compared, not warned
            if name in checks and "network" in trace.header:
                report.steps = checks[name](trace, check)
            else:
                report.problems.append(f"traces of kind '{name}' are not known to the verifier")
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as error:
        detail = f"no field {error}" if isinstance(error, KeyError) else str(error)
        raise TraceError(
            f"a record does not have the form a trace of kind '{name}' has ({detail})",
            f"{trace.path}:1" if isinstance(error, KeyError) else str(trace.path),
            hint="the file was edited or written by another version; re-run the scenario",
        ) from error
    return report


def _plugins_of(scenario) -> list[str]:
    """The plugin modules a trace's scenario listed that are importable by name (a plugin
    given as a file path is not reloaded from a trace)."""
    plugins = scenario.get("plugins") if isinstance(scenario, dict) else None
    if not isinstance(plugins, list):
        return []
    return [p for p in plugins if isinstance(p, str) and not p.endswith(".py") and "/" not in p]
