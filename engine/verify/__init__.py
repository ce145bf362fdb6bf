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
import hashlib
import importlib
import json
import math
import os
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pluggy

from engine import hookspecs
from engine.errors import TraceError, TracegradError
from engine.trace.reader import read_trace, trace_kind
from engine.trace.writer import SCHEMA_VERSION
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
        from engine.plugins import installed_plugins

        with contextlib.suppress(Exception):  # a broken plugin costs its own rules only
            for name, plugin in installed_plugins():
                if manager.get_plugin(name) is None and not manager.is_registered(plugin):
                    manager.register(plugin, name=name)
    for name in plugins:
        with contextlib.suppress(Exception):
            if manager.get_plugin(name) is None:
                manager.register(importlib.import_module(name), name=name)
    checks: dict = {}
    for impl in reversed(manager.hook.tracegrad_register_trace_checks.get_hookimpls()):
        impl.function(register=lambda kind, check: checks.setdefault(kind, check))
    for impl in reversed(manager.hook.tracegrad_register_rules.get_hookimpls()):
        impl.function(register=add_rule)
    return checks


#: Rule tables of other kinds than components, made by the rule modules that read them
#: (the GAN's "tricks"): kind -> {name: rule}.
RULE_KINDS: dict[str, dict] = {}


def rule_table(kind: str) -> dict:
    """The table of rules of ``kind`` a scenario kind's rule module reads (e.g. the GAN's
    "tricks"), made on first use; ``register(kind, name, rule)`` then fills it."""
    return RULE_KINDS.setdefault(kind, {})


def add_rule(kind: str, name: str, rule) -> None:
    """Add a verification rule (``tracegrad_register_rules``); a built-in rule of the same
    name stays."""
    from engine.verify import activations, layers, losses, optimizers, order

    tables = {
        "activations": activations.FORMULAS,
        "losses": losses.LOSSES,
        "optimizers": optimizers.RULES,
        "layers": layers.LAYERS,
        "record_order": order.ORDERS,
        **RULE_KINDS,
    }
    if kind not in tables:
        raise TracegradError(
            f"a plugin registers a rule for '{name}' of kind '{kind}'",
            hint="rules are for: " + ", ".join(tables),
        )
    tables[kind].setdefault(name, rule)


def verify_trace(
    path: str | Path,
    atol: float = DEFAULT_ATOL,
    rtol: float = DEFAULT_RTOL,
    *,
    claims_only: bool = False,
) -> VerifyReport:
    """Check the structure, the integrity digest and every claim of the trace at ``path``
    (a trace file or a run folder). ``claims_only`` skips the digest (a trace edited by hand
    on purpose, as an exercise, is still checked claim by claim).

    Raises ``TraceError`` (a TracegradError) when the file cannot be read at all.
    """
    for name, value in (("atol", atol), ("rtol", rtol)):
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
            raise TracegradError(
                f"the tolerance {name} must be a finite number >= 0, found {value}",
                f"--{name}",
                hint=f"e.g. --{name} {DEFAULT_ATOL if name == 'atol' else DEFAULT_RTOL:g}",
            )
    trace = read_trace(path)
    report = VerifyReport(trace.path, Tolerance(atol, rtol), status=trace.status)
    report.warnings = list(trace.warnings)
    check = Checker(report)
    check_structure(trace, report)
    if not claims_only:
        check_integrity(trace, report)
    if trace.end is None:
        torn = any("cut off" in w for w in trace.warnings)
        report.problems.append(
            "the trace ends without an end record"
            + (", in the middle of a line" if torn else "")
            + ": the file is truncated (the run was killed or the file was cut)"
        )
    name = trace_kind(trace)
    checks = trace_checks(_plugins_of(trace.header.get("scenario")))
    from engine.verify.order import ORDERS, check_order

    try:
        if name in ORDERS:
            check_order(trace, ORDERS[name], report)
        else:
            report.unruled[f"record order: no rule for traces of kind '{name}'"] += 1
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
    name_providers(report, trace.header.get("providers"))
    return report


def name_providers(report: VerifyReport, providers) -> None:
    """ "no rule for optimizer 'lion'" -> "... (lion comes from tracegrad-lion 0.1.0: install
    its rules to check it)", from the header's providers."""
    if not isinstance(providers, dict) or not report.unruled:
        return
    by_name = {key.split(".", 1)[-1]: value for key, value in providers.items()}
    renamed = Counter()
    for reason, count in report.unruled.items():
        match = re.search(r"'([^']+)'", reason)
        source = by_name.get(match.group(1)) if match else None
        if source and not source.startswith("tracegrad "):
            reason += f" ({match.group(1)} comes from {source}: install its rules to check it)"
        renamed[reason] += count
    report.unruled = renamed


def _plugins_of(scenario) -> list[str]:
    """The plugin modules a trace's scenario listed that are importable by name (a plugin
    given as a file path is not reloaded from a trace)."""
    plugins = scenario.get("plugins") if isinstance(scenario, dict) else None
    if not isinstance(plugins, list):
        return []
    return [p for p in plugins if isinstance(p, str) and not p.endswith(".py") and "/" not in p]


def check_structure(trace, report: VerifyReport) -> None:
    """One header, first; one end record, last; a known schema; the scenario's hash; a
    status that agrees with the steps recorded."""
    report.problems.extend(f"structure: {problem}" for problem in trace.structure)
    header = trace.header
    version = header.get("schema_version")
    if version != SCHEMA_VERSION:
        report.problems.append(
            f"structure: schema_version {version!r} is not {SCHEMA_VERSION}, the version this "
            "verifier reads"
        )
    scenario = header.get("scenario")
    digest = hashlib.sha256(json.dumps(scenario, sort_keys=True).encode()).hexdigest()
    if header.get("scenario_hash") != digest:
        report.problems.append(
            "structure: the header's scenario_hash does not match its scenario (the scenario "
            "or the seed was edited)"
        )
    end = trace.end
    if end is None or not isinstance(scenario, dict):
        return
    steps = (scenario.get("train") or {}).get("steps")
    done = end.get("steps_completed")
    recorded = len(next(iter(trace.scalars.values()), []))
    if trace.scalars and done != recorded:
        report.problems.append(
            f"structure: the end record says {done} steps completed; the scalars hold {recorded}"
        )
    status = end.get("status")
    if status == "completed" and done != steps:
        report.problems.append(
            f"structure: status completed, but {done} of {steps} steps were completed"
        )
    if status in ("failed", "interrupted") and isinstance(steps, int) and done == steps:
        report.problems.append(f"structure: status {status}, but every one of {steps} steps ran")
    if status not in ("completed", "failed", "interrupted"):
        report.problems.append(f"structure: unknown status {status!r}")


def check_integrity(trace, report: VerifyReport) -> None:
    """The end record's digest of every line before it: a changed byte anywhere (a per-step
    scalar of an untraced step included) shows as an edit."""
    if trace.end is None:
        return
    integrity = trace.end.get("integrity")
    if not isinstance(integrity, dict):
        report.problems.append(
            "integrity: the end record has no digest (the trace was edited, or written by a "
            "version before digests); `tracegrad verify --claims-only` checks its claims alone"
        )
        return
    if integrity.get("sha256") != trace.digest_of_body:
        report.edited = True
        report.problems.append(
            "integrity: edited after it was written: the digest of the lines before the end "
            "record does not match the one written with it (`--claims-only` checks the claims "
            "of an edited trace)"
        )
