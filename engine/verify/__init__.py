"""``tracegrad verify``: re-derive every claim a trace makes from the values it records.

The verifier is a second, independent derivation: it never imports the engine's layers,
losses or optimizers, it re-implements their formulas (``activations``, ``layers``,
``losses``, ``optimizers``) and recomputes each recorded quantity from the recorded
quantities it depends on. ``report`` holds the tolerance and what was found; ``steps``
checks one traced pass and its links to the update before; ``supervised`` walks a
supervised trace; ``gan`` the two networks of a GAN trace, with the GAN losses and label
tricks in ``gan_rules`` and the per-step claims in ``gan_scalars``.

    report = verify_trace("runs/xor-20240101-120000/trace.jsonl")
    print(report.format())          # each disagreement, then the summary
    report.ok                       # True when every claim holds and the trace is whole
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

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
    kind = trace_kind(trace)
    try:
        with np.errstate(all="ignore"):  # a diverged step holds inf and NaN: compared, not warned
            if kind == "gan":
                from engine.verify.gan import verify_gan

                report.steps = verify_gan(trace, check)
            elif kind == "supervised" and "network" in trace.header:
                from engine.verify.supervised import verify_supervised

                report.steps = verify_supervised(trace, check)
            else:
                report.problems.append(f"traces of kind '{kind}' are not known to the verifier")
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as error:
        raise TraceError(
            f"a record does not have the form the verifier expects "
            f"({type(error).__name__}: {error})",
            str(trace.path),
            hint="the file was edited or written by another version; re-run the scenario",
        ) from error
    return report
