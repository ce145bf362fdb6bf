"""What the verifier found: the tolerance, each disagreement, what it skipped and why.

A claim is one recorded array (or number) compared with its recomputation. It holds when
every entry satisfies the hybrid tolerance

    |recorded - recomputed| <= atol + rtol·|recomputed|

(NaN agrees with NaN and an infinity with the same infinity, so a diverged step can still
be checked). A disagreement names the worst entry: the one furthest outside its tolerance.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.i18n import N_, _
from engine.trace.tensors import HEAD_VALUES, Summary

SUMMARIZED = N_("an input is summarized in the trace (more than trace.max_values numbers)")
MISSING = N_(
    "an input is not in the trace whole (the parameters of a step without updates, or "
    "clipped weights known by their summary only)"
)
DEFAULT_ATOL = 1e-9
DEFAULT_RTOL = 1e-7


@dataclass(frozen=True)
class Tolerance:
    atol: float = DEFAULT_ATOL
    rtol: float = DEFAULT_RTOL

    def allowed(self, recomputed):
        return self.atol + self.rtol * np.abs(recomputed)

    def __str__(self) -> str:
        return (
            f"|recorded - recomputed| <= atol + rtol·|recomputed|, "
            f"atol = {self.atol:g}, rtol = {self.rtol:g}"
        )


@dataclass(frozen=True)
class Place:
    """Where a claim is made: the step, the layer or parameter, and (GAN) the phase."""

    step: int | None
    where: str
    phase: str | None = None

    def __str__(self) -> str:
        parts = [] if self.step is None else [f"step {self.step}"]
        if self.phase:
            parts.append(self.phase)
        if self.where:
            parts.append(self.where)
        return ", ".join(parts) or "trace"


@dataclass
class Disagreement:
    """One claim that does not hold, with its worst entry."""

    place: Place
    quantity: str
    recorded: object
    recomputed: object
    index: tuple | None = None
    bad: int = 1
    total: int = 1
    how: str = ""
    allowed: float | None = None

    @property
    def step(self) -> int | None:
        return self.place.step

    @property
    def where(self) -> str:
        return self.place.where

    def __str__(self) -> str:
        name = self.quantity
        if self.index:
            name += "[" + ", ".join(str(i) for i in self.index) + "]"
        text = f"{self.place}: {name}: recorded {_show(self.recorded)}, "
        text += f"recomputed {_show(self.recomputed)}"
        if self.allowed is not None:
            difference = abs(self.recorded - self.recomputed)
            text += f", difference {difference:.3g} > allowed {self.allowed:.3g}"
        if self.total > 1:
            text += f" ({self.bad} of {self.total} entries disagree)"
        if self.how:
            text += f"\n    {self.how}"
        return text


def _show(value) -> str:
    if isinstance(value, float):
        return f"{value!r}"
    return str(value)


@dataclass
class VerifyReport:
    """The result of ``verify_trace``: ``ok`` when every claim holds and the trace is whole."""

    path: Path
    tolerance: Tolerance
    claims: int = 0
    values: int = 0
    disagreements: list[Disagreement] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)
    skipped_quantities: dict[str, set] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    steps: list[int] = field(default_factory=list)
    status: str = "incomplete"
    #: Claims left unchecked because no rule knows the component (reason -> count).
    unruled: Counter = field(default_factory=Counter)
    #: Records that are pictures for reports, not claims (reason -> count).
    pictures: Counter = field(default_factory=Counter)
    edited: bool = False

    @property
    def ok(self) -> bool:
        """Every checked claim holds and the trace is whole (some may lack a rule)."""
        return not self.disagreements and not self.problems

    @property
    def complete(self) -> bool:
        """Nothing was left unchecked for lack of a rule."""
        return not self.unruled

    @property
    def verdict(self) -> str:
        if not self.ok:
            return _("NOT verified")
        if not self.complete:
            return _("partly verified: every checked claim holds, but some had no rule")
        return _("verified: every claim holds")

    def quantities(self) -> set[str]:
        """The names of the quantities that disagree (for tests and scripts)."""
        return {d.quantity for d in self.disagreements}

    def summary(self) -> str:
        skipped = sum(self.skipped.values())
        lines = [
            _("{path}: {steps} traced steps, run status {status}").format(
                path=self.path, steps=len(self.steps), status=_(self.status)
            ),
            _("claims checked: {claims} ({values} values)").format(
                claims=self.claims, values=self.values
            ),
            _("disagreements: {count}").format(count=len(self.disagreements)),
            _("skipped: {count}").format(count=skipped) + (":" if skipped else ""),
        ]
        for reason, count in sorted(self.skipped.items()):
            names = sorted(self.skipped_quantities.get(reason, ()))
            lines.append(f"  {count} × {_(reason)}" + (f" ({', '.join(names)})" if names else ""))
        if self.pictures:
            lines.append(
                _("pictures, not claims: {count}:").format(count=sum(self.pictures.values()))
            )
            lines += [f"  {count} × {reason}" for reason, count in sorted(self.pictures.items())]
        lines.append(_("tolerance: {tolerance}").format(tolerance=self.tolerance))
        if self.problems:
            lines += [_("problem: {problem}").format(problem=p) for p in self.problems]
        if self.unruled:
            count = sum(self.unruled.values())
            lines.append(_("not checked, no rule: {count}:").format(count=count))
            lines += [f"  {count} × {_(reason)}" for reason, count in sorted(self.unruled.items())]
        lines.append(self.verdict)
        return "\n".join(lines)

    def format(self) -> str:
        """Every disagreement, then the summary."""
        parts = [_("warning: {warning}").format(warning=w) for w in self.warnings]
        parts += [_("disagreement: {what}").format(what=d) for d in self.disagreements]
        parts.append(self.summary())
        return "\n".join(parts)


class Checker:
    """Collects claims: ``compare`` one recorded value with its recomputation, ``skip`` one
    that cannot be checked (with the reason)."""

    def __init__(self, report: VerifyReport):
        self.report = report
        self.tolerance = report.tolerance

    def unchecked(self, reason: str, count: int = 1) -> None:
        """A claim no rule can check (an unknown component or trick): counted apart, so the
        verdict can only be "partly verified"."""
        self.report.unruled[reason] += count

    def picture(self, reason: str, count: int = 1) -> None:
        """A record drawn for a report that makes no claim the trace can back (it pictures
        data the trace does not hold): counted apart, neither checked nor unruled."""
        self.report.pictures[reason] += count

    def skip(self, reason: str, count: int = 1, quantity: str | None = None) -> None:
        self.report.skipped[reason] += count
        if quantity is not None:
            self.report.skipped_quantities.setdefault(reason, set()).add(quantity)

    def fail(self, place: Place, quantity: str, recorded, recomputed, how: str = "") -> None:
        self.report.claims += 1
        self.report.disagreements.append(
            Disagreement(place, quantity, recorded, recomputed, how=how)
        )

    def holds(self, place: Place, quantity: str, condition: bool, recorded, expected, how=""):
        """A claim that is a plain yes/no (e.g. "the mask holds only 0 and 1")."""
        self.report.claims += 1
        if not condition:
            self.report.disagreements.append(
                Disagreement(place, quantity, recorded, expected, how=how)
            )
        return condition

    def whole(self, quantity: str, *values) -> bool:
        """True when every value is written whole; otherwise the claim about ``quantity``
        is skipped (a summary keeps too little to recompute from)."""
        if any(isinstance(v, Summary) for v in values):
            self.skip(SUMMARIZED, quantity=quantity)
            return False
        if any(v is None for v in values):
            self.skip(MISSING, quantity=quantity)
            return False
        return True

    def compare(self, place: Place, quantity: str, recorded, recomputed, how: str = "") -> bool:
        """The claim ``recorded == recomputed`` within the tolerance.

        A recorded summary is compared through what it keeps (shape, min, max, mean, std,
        L2 norm, first values); two summaries (the same array recorded twice) likewise.
        """
        if recorded is None:
            self.skip("not recorded in the trace", quantity=quantity)
            return True
        if isinstance(recorded, Summary) or isinstance(recomputed, Summary):
            return self._compare_summary(place, quantity, recorded, recomputed, how)
        recorded = np.asarray(recorded, dtype=np.float64)
        recomputed = np.asarray(recomputed, dtype=np.float64)
        report = self.report
        report.claims += 1
        report.values += recomputed.size
        if recorded.shape != recomputed.shape:
            report.disagreements.append(
                Disagreement(
                    place,
                    quantity + " (shape)",
                    tuple(recorded.shape),
                    tuple(recomputed.shape),
                    how=how,
                )
            )
            return False
        excess = _excess(recorded, recomputed, self.tolerance)
        bad = excess > 0
        if not bad.any():
            return True
        worst = np.unravel_index(int(np.argmax(excess)), excess.shape) if excess.ndim else ()
        report.disagreements.append(
            Disagreement(
                place,
                quantity,
                float(recorded[worst]),
                float(recomputed[worst]),
                index=tuple(int(i) for i in worst) or None,
                bad=int(bad.sum()),
                total=int(bad.size),
                how=how,
                allowed=float(self.tolerance.allowed(recomputed[worst])),
            )
        )
        return False

    def _compare_summary(self, place, quantity, recorded, recomputed, how) -> bool:
        if not isinstance(recorded, Summary):
            recorded, recomputed = recomputed, recorded  # compare the arrays' summaries
        if not isinstance(recomputed, Summary):
            recomputed = summarize(np.asarray(recomputed, dtype=np.float64))
        report = self.report
        report.claims += 1
        if recorded.shape != recomputed.shape:
            report.disagreements.append(
                Disagreement(
                    place, quantity + " (shape)", recorded.shape, recomputed.shape, how=how
                )
            )
            return False
        pairs = [(name, getattr(recorded, name), getattr(recomputed, name)) for name in STATS]
        pairs += [
            (f"head {i}", a, b) for i, (a, b) in enumerate(zip(recorded.head, recomputed.head))
        ]
        report.values += len(pairs)
        for name, a, b in pairs:
            if _excess(np.float64(a), np.float64(b), self.tolerance) > 0:
                report.disagreements.append(
                    Disagreement(place, f"{quantity} (summary: {name})", a, b, how=how)
                )
                return False
        return True


STATS = ("min", "max", "mean", "std", "l2")


def summarize(array: np.ndarray) -> Summary:
    """The statistics a trace keeps of a large array (see engine.trace.tensors)."""
    flat = array.reshape(-1)
    return Summary(
        tuple(array.shape),
        float(flat.min()),
        float(flat.max()),
        float(flat.mean()),
        float(flat.std()),
        float(np.sqrt(np.dot(flat, flat))),
        tuple(float(v) for v in flat[:HEAD_VALUES]),
    )


def _excess(recorded: np.ndarray, recomputed: np.ndarray, tolerance: Tolerance) -> np.ndarray:
    """How far each entry lies outside its tolerance (> 0: outside); equal non-finite
    values (NaN and NaN, inf and inf) agree."""
    with np.errstate(invalid="ignore", over="ignore"):
        difference = np.abs(recorded - recomputed)
        excess = difference - tolerance.allowed(recomputed)
    same = (recorded == recomputed) | (np.isnan(recorded) & np.isnan(recomputed))
    excess = np.where(same, -1.0, excess)
    return np.where(np.isnan(excess), np.inf, excess)
