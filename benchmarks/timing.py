"""Interleaved, repeated timing: a ratio measured against its baseline in the same process.

On a shared machine the speed of the CPU changes from second to second, so each repeat runs
every contender once, one after the other, and the ratio of each repeat is taken before the
median. The median of the ratios is quoted with its spread (lowest to highest repeat).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Comparison:
    """Steps per second of a contender and its baseline, repeat by repeat."""

    contender: list[float]
    baseline: list[float]

    @property
    def ratios(self) -> list[float]:
        return [c / b for c, b in zip(self.contender, self.baseline)]

    @property
    def ratio(self) -> float:
        return statistics.median(self.ratios)

    @property
    def spread(self) -> str:
        return f"{min(self.ratios):.2f}–{max(self.ratios):.2f}"

    @property
    def contender_rate(self) -> float:
        return statistics.median(self.contender)

    @property
    def baseline_rate(self) -> float:
        return statistics.median(self.baseline)


def compare(
    contender: Callable[[], float],
    baseline: Callable[[], float],
    steps: int,
    repeats: int,
    baseline_steps: int | None = None,
) -> Comparison:
    """Run both ``repeats`` times, alternating which goes first; each returns its seconds.

    ``steps`` (and ``baseline_steps``, default the same) turn seconds into steps per second.
    """
    baseline_steps = baseline_steps or steps
    contender_rates, baseline_rates = [], []
    for repeat in range(repeats):
        if repeat % 2:
            b = baseline()
            c = contender()
        else:
            c = contender()
            b = baseline()
        contender_rates.append(steps / c)
        baseline_rates.append(baseline_steps / b)
    return Comparison(contender_rates, baseline_rates)


def median_seconds(run: Callable[[], float], repeats: int) -> float:
    return statistics.median(run() for _ in range(repeats))


def compare_many(
    runs: dict[str, tuple[Callable[[], float], int]], repeats: int
) -> dict[str, list[float]]:
    """Steps per second of every run, ``repeats`` times, each repeat in a rotated order.

    ``runs`` maps a name to ``(run, steps)``: ``run()`` returns its seconds for ``steps``.
    A run of None (e.g. an absent framework) is left out. The first name is the contender:
    ``Comparison(rates[first], rates[other])`` gives a ratio against each of the others.
    """
    names = [name for name, (run, _) in runs.items() if run is not None]
    rates: dict[str, list[float]] = {name: [] for name in names}
    for repeat in range(repeats):
        shift = repeat % len(names)
        for name in names[shift:] + names[:shift]:
            run, steps = runs[name]
            rates[name].append(steps / run())
    return rates
