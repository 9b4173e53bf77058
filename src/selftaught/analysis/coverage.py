"""Do our 95% intervals cover the truth 95% of the time? Simulated, at the sizes experiments use.

An interval method is only as good as its coverage on data like ours, and meta-utility
repeats are few and lumpy: an improver run fails (score 0) or returns a solution with
some score, and scores of hard tasks are skewed. This module draws samples from score
models with a known mean (numpy, seeded), applies an interval method to each sample,
and counts how often the interval holds the known mean, misses below or misses above.
tests/analysis/test_coverage.py holds every method the experiments use to a 92-98%
band; benchmarks/interval_coverage.py prints the table that docs/experiments.md records.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from selftaught.analysis import stats

if TYPE_CHECKING:
    import numpy as np

    Generator = np.random.Generator
    Array = np.ndarray
else:
    Generator = Any
    Array = Any

LOWEST, HIGHEST = 0.92, 0.98  # the band a 95% method must hold in simulation


class Bounded(Protocol):
    """Anything with an interval's bounds (Estimate, Rate, RateDifference)."""

    @property
    def lo(self) -> float: ...

    @property
    def hi(self) -> float: ...


@dataclass(frozen=True)
class ScoreModel:
    """A distribution of one repeat's score, with its true mean."""

    name: str
    describe: str
    truth: float
    draw: Callable[[Generator, int], Array]


@dataclass(frozen=True)
class PairModel:
    """A distribution of paired scores (arm a, arm b on the same stream), with the true mean of a - b."""

    name: str
    describe: str
    truth: float
    draw: Callable[[Generator, int], tuple[Array, Array]]


@dataclass(frozen=True)
class Coverage:
    """How often `sims` intervals of one method held the truth, and on which side they missed."""

    method: str
    model: str
    n: int
    sims: int
    covered: int
    missed_low: int  # the interval lay above the truth
    missed_high: int  # the interval lay below the truth
    no_interval: int  # samples for which the method gave none (NaN bounds)
    mean_width: float

    @property
    def rate(self) -> float:
        given = self.sims - self.no_interval
        return self.covered / given if given else float("nan")

    @property
    def holds(self) -> bool:
        return LOWEST <= self.rate <= HIGHEST

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "model": self.model,
            "n": self.n,
            "sims": self.sims,
            "coverage": self.rate,
            "missed_low": self.missed_low,
            "missed_high": self.missed_high,
            "no_interval": self.no_interval,
            "mean_width": self.mean_width,
        }


# --- score models --------------------------------------------------------------------------


def _bimodal(generator: Generator, size: int) -> Array:
    import numpy as np

    succeeded = generator.random(size) >= 0.3
    return np.where(succeeded, np.clip(generator.normal(0.55, 0.05, size), 0.0, 1.0), 0.0)


def _bimodal_low(generator: Generator, size: int) -> Array:
    import numpy as np

    succeeded = generator.random(size) >= 0.3
    return np.where(succeeded, np.clip(generator.normal(0.45, 0.05, size), 0.0, 1.0), 0.0)


def _bimodal_spread(generator: Generator, size: int) -> Array:
    import numpy as np

    succeeded = generator.random(size) >= 0.3
    return np.where(succeeded, generator.beta(5.5, 4.5, size), 0.0)


def _skewed(generator: Generator, size: int) -> Array:
    return generator.beta(0.5, 2.0, size)


def _symmetric(generator: Generator, size: int) -> Array:
    return generator.beta(5.0, 5.0, size)


BIMODAL = ScoreModel("bimodal", "30% zeros, else N(0.55, 0.05)", 0.7 * 0.55, _bimodal)
BIMODAL_LOW = ScoreModel("bimodal-0.45", "30% zeros, else N(0.45, 0.05)", 0.7 * 0.45, _bimodal_low)
BIMODAL_SPREAD = ScoreModel("bimodal-spread", "30% zeros, else Beta(5.5, 4.5)", 0.7 * 0.55, _bimodal_spread)
SKEWED = ScoreModel("skewed", "Beta(0.5, 2)", 0.2, _skewed)
SYMMETRIC = ScoreModel("symmetric", "Beta(5, 5)", 0.5, _symmetric)
SCORE_MODELS = (BIMODAL, BIMODAL_LOW, BIMODAL_SPREAD, SKEWED, SYMMETRIC)


def _bimodal_pairs(generator: Generator, size: int) -> tuple[Array, Array]:
    import numpy as np

    a = _bimodal(generator, size)
    b_ok = generator.random(size) >= 0.3
    b = np.where(b_ok, np.clip(generator.normal(0.65, 0.05, size), 0.0, 1.0), 0.0)
    return b, a


def _shrunk_pairs(generator: Generator, size: int) -> tuple[Array, Array]:
    a = _skewed(generator, size)
    return a, a * generator.uniform(0.5, 1.0, size)


def _skewed_pairs(generator: Generator, size: int) -> tuple[Array, Array]:
    return _skewed(generator, size), generator.beta(0.5, 3.0, size)


BIMODAL_PAIRS = PairModel(
    "bimodal pairs", "each arm fails 30%; else N(0.65, 0.05) vs N(0.55, 0.05)", 0.7 * 0.1, _bimodal_pairs
)
SHRUNK_PAIRS = PairModel(
    "skewed shrunk pairs", "a ~ Beta(0.5, 2), b = a * U(0.5, 1) (same instance)", 0.2 * 0.25, _shrunk_pairs
)
SKEWED_PAIRS = PairModel("skewed pairs", "Beta(0.5, 2) vs Beta(0.5, 3)", 0.2 - 1.0 / 7.0, _skewed_pairs)
PAIR_MODELS = (BIMODAL_PAIRS, SHRUNK_PAIRS, SKEWED_PAIRS)


# --- simulation ------------------------------------------------------------------------------


def _count(
    method: str, model: str, n: int, truth: float, intervals: Sequence[Bounded | tuple[float, float]]
) -> Coverage:
    import math

    covered = low = high = none = 0
    width = 0.0
    for interval in intervals:
        lo, hi = interval if isinstance(interval, tuple) else (interval.lo, interval.hi)
        if math.isnan(lo) or math.isnan(hi):
            none += 1
            continue
        width += hi - lo
        if truth < lo - 1e-12:
            low += 1
        elif truth > hi + 1e-12:
            high += 1
        else:
            covered += 1
    given = len(intervals) - none
    return Coverage(
        method, model, n, len(intervals), covered, low, high, none, width / given if given else 0.0
    )


def mean_coverage(
    method: str,
    interval: Callable[[list[float]], Bounded | tuple[float, float]],
    model: ScoreModel,
    n: int,
    sims: int,
    seed: int = 0,
) -> Coverage:
    """`interval` applied to `sims` samples of n scores from `model`; how often it held model.truth."""
    import numpy as np

    generator = np.random.default_rng([seed, n, sims])
    samples = model.draw(generator, sims * n).reshape(sims, n)
    return _count(method, model.name, n, model.truth, [interval(list(row)) for row in samples])


def paired_coverage(
    method: str,
    interval: Callable[[list[float], list[float]], Bounded | tuple[float, float]],
    model: PairModel,
    n: int,
    sims: int,
    seed: int = 0,
) -> Coverage:
    """`interval(a, b)` applied to `sims` samples of n pairs; how often it held the true mean of a - b."""
    import numpy as np

    generator = np.random.default_rng([seed, n, sims, 1])
    a, b = model.draw(generator, sims * n)
    a, b = a.reshape(sims, n), b.reshape(sims, n)
    return _count(
        method, model.name, n, model.truth, [interval(list(x), list(y)) for x, y in zip(a, b, strict=True)]
    )


def run_means_coverage(
    method: str,
    interval: Callable[[list[float]], Bounded | tuple[float, float]],
    model: ScoreModel,
    runs: int,
    repeats: int,
    sims: int,
    seed: int = 0,
) -> Coverage:
    """Intervals over `runs` values, each the mean of `repeats` scores (a run's meta-utility)."""
    import numpy as np

    generator = np.random.default_rng([seed, runs, repeats, sims, 2])
    values = model.draw(generator, sims * runs * repeats).reshape(sims, runs, repeats).mean(axis=2)
    return _count(
        method, f"{model.name}, mean of {repeats}", runs, model.truth, [interval(list(v)) for v in values]
    )


def rate_coverage(
    method: str,
    interval: Callable[[int, int], Bounded],
    p: float,
    n: int,
    sims: int,
    seed: int = 0,
) -> Coverage:
    """`interval(k, n)` for `sims` binomial counts k ~ B(n, p); how often it held p."""
    import numpy as np

    generator = np.random.default_rng([seed, n, sims, 3])
    counts = generator.binomial(n, p, sims)
    return _count(method, f"p = {p:g}", n, p, [interval(int(k), n) for k in counts])


def difference_coverage(
    method: str,
    interval: Callable[[int, int, int, int], Bounded],
    p_a: float,
    p_b: float,
    n: int,
    sims: int,
    seed: int = 0,
) -> Coverage:
    """`interval(k_a, n, k_b, n)` for independent binomial counts; how often it held p_a - p_b."""
    import numpy as np

    generator = np.random.default_rng([seed, n, sims, 4])
    a, b = generator.binomial(n, p_a, sims), generator.binomial(n, p_b, sims)
    return _count(
        method,
        f"p = {p_a:g} vs {p_b:g}",
        n,
        p_a - p_b,
        [interval(int(x), n, int(y), n) for x, y in zip(a, b, strict=True)],
    )


# --- the methods the experiments use, and t for comparison ----------------------------------

MEAN_METHODS: dict[str, Callable[[list[float]], Bounded]] = {
    "t": stats.mean_ci,
    "bootstrap-t": lambda values: stats.bootstrap_t_ci(values, bounds=(0.0, 1.0)),
    stats.HURDLE_METHOD: stats.score_mean_ci,
}
PAIRED_METHODS: dict[str, Callable[[list[float], list[float]], Bounded]] = {
    "paired t": stats.paired_difference,
    stats.PAIRED_BOOTSTRAP_T_METHOD: stats.paired_bootstrap_t,
}


def coverage_table(sims: int, sizes: Sequence[int] = (5, 10, 25), seed: int = 0) -> list[Coverage]:
    """Every method the experiments use (and t beside them) on every model and size."""
    rows = []
    for model in SCORE_MODELS:
        for n in sizes:
            rows += [mean_coverage(name, f, model, n, sims, seed) for name, f in MEAN_METHODS.items()]
    for pair_model in PAIR_MODELS:
        for n in sizes:
            rows += [
                paired_coverage(name, f, pair_model, n, sims, seed) for name, f in PAIRED_METHODS.items()
            ]
    for runs in (3, 5, 10):
        for model in (BIMODAL, SKEWED):  # `run --runs`: t over runs, each run's value a mean of 5 repeats
            rows.append(run_means_coverage("t over runs", stats.mean_ci, model, runs, 5, sims, seed))
    for p, n in ((0.0042, 200), (0.05, 200), (0.12, 25), (0.3, 10)):
        rows.append(rate_coverage(stats.WILSON_METHOD, stats.wilson, p, n, sims, seed))
    for p_a, p_b, n in ((0.01, 0.0042, 200), (0.01, 0.0042, 3000), (0.2, 0.1, 200), (0.3, 0.1, 50)):
        rows.append(
            difference_coverage(stats.NEWCOMBE_METHOD, stats.proportion_difference, p_a, p_b, n, sims, seed)
        )
    return rows
