"""Mean with a 95% Student-t interval, for the curves of runs with several repeats (from analysis.stats)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Interval:
    mean: float
    low: float
    high: float
    n: int


def mean_interval(values: list[float]) -> Interval | None:
    """Mean with a 95% Student t interval (analysis.stats); one value is its own interval; None for none."""
    from selftaught.analysis.stats import mean_ci

    if not values:
        return None
    if len(values) == 1:
        return Interval(values[0], values[0], values[0], 1)
    estimate = mean_ci(values)
    return Interval(estimate.mean, estimate.lo, estimate.hi, estimate.n)
