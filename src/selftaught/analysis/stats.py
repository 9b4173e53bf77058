"""Confidence intervals for experiment tables, in one place and without scipy.

Every figure an experiment or audit prints is a mean over runs or a rate over
improvements, so this module offers exactly those: a Student t interval (exact
quantiles, from the regularized incomplete beta), a percentile bootstrap and a
bootstrap-t with a seeded generator, paired differences where arms share streams, Wilson
score intervals for rates (sound near 0, like the paper's 0.42%), and Newcombe's
interval for the difference of two rates. Results are named types that serialize to the
JSON shape the commands print, and `footnote` writes the line printed under every table.

Meta-utility repeats are few (n_tests = 5) and lumpy: an improver run fails (score 0) or
returns a solution with some score. Simulated, the t interval over 5 such repeats covers
the true mean only ~83% of the time, and ~87% for skewed scores (analysis/coverage.py,
docs/experiments.md). `score_mean_ci` therefore builds the interval of a mean of repeats
from the failure rate (Wilson) and the successes' mean (bootstrap-t), and
`paired_bootstrap_t` the interval of a paired difference; both give no interval below
MIN_INTERVAL_N values, where none of the methods we simulated held its 95%.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

CONFIDENCE = 0.95
LARGE_DF = 1e7  # past this, t is the normal to 1e-7 and the beta fraction loses digits

T_METHOD = "t"
PAIRED_T_METHOD = "paired t"
BOOTSTRAP_METHOD = "percentile bootstrap"
BOOTSTRAP_T_METHOD = "bootstrap-t"
PAIRED_BOOTSTRAP_T_METHOD = "paired bootstrap-t"
HURDLE_METHOD = "failure rate x bootstrap-t"
MIN_INTERVAL_N = 5  # below this, score_mean_ci and paired_bootstrap_t give no interval
BOOTSTRAP_RESAMPLES = 4000
WILSON_METHOD = "Wilson"
NEWCOMBE_METHOD = "Newcombe"


def _json_float(value: float) -> float | None:
    return value if math.isfinite(value) else None


class _Interval:
    """What estimates, rates and rate differences share: an interval [lo, hi]."""

    lo: float
    hi: float

    @property
    def ci(self) -> tuple[float, float]:
        return (self.lo, self.hi)

    def contains(self, value: float) -> bool:
        return self.lo <= value <= self.hi


@dataclass(frozen=True)
class Estimate(_Interval):
    """A mean over `n` values with a `confidence` interval [lo, hi] (NaN where undefined, n < 2)."""

    mean: float
    lo: float
    hi: float
    n: int
    method: str
    confidence: float = CONFIDENCE

    def to_json(self) -> dict[str, Any]:
        """`{"mean", "ci", "n", "method"}`, undefined bounds as null."""
        return {
            "mean": _json_float(self.mean),
            "ci": [_json_float(self.lo), _json_float(self.hi)],
            "n": self.n,
            "method": self.method,
        }


@dataclass(frozen=True)
class Rate(_Interval):
    """`k` events in `n` trials, the rate k/n (NaN when n = 0) and its interval."""

    k: int
    n: int
    rate: float
    lo: float
    hi: float
    method: str
    confidence: float = CONFIDENCE

    def to_json(self) -> dict[str, Any]:
        return {
            "k": self.k,
            "n": self.n,
            "rate": _json_float(self.rate),
            "ci": [self.lo, self.hi],
            "method": self.method,
        }


@dataclass(frozen=True)
class RateDifference(_Interval):
    """Rate `a` minus rate `b` (independent samples) with Newcombe's hybrid score interval."""

    a: Rate
    b: Rate
    diff: float
    lo: float
    hi: float
    method: str
    confidence: float = CONFIDENCE

    def to_json(self) -> dict[str, Any]:
        return {
            "a": self.a.to_json(),
            "b": self.b.to_json(),
            "diff": _json_float(self.diff),
            "ci": [_json_float(self.lo), _json_float(self.hi)],
            "method": self.method,
        }


@dataclass(frozen=True)
class Pairs:
    """Values of two arms matched by stream; streams present in only one arm are listed, not used."""

    streams: tuple[str, ...]
    a: tuple[float, ...]
    b: tuple[float, ...]
    only_a: tuple[str, ...]
    only_b: tuple[str, ...]


# --- quantiles --------------------------------------------------------------------------


def _beta_continued_fraction(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    result = d
    for m in range(1, 10_000):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            result *= c * d
        if abs(c * d - 1.0) < 1e-15:
            break
    return result


def regularized_beta(a: float, b: float, x: float) -> float:
    """I_x(a, b), the regularized incomplete beta function, for a, b > 0 and 0 <= x <= 1."""
    if not 0.0 <= x <= 1.0:
        raise ValueError(f"x must lie in [0, 1], got {x}")
    if x in (0.0, 1.0):
        return x
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_continued_fraction(a, b, x) / a
    return 1.0 - math.exp(log_front) * _beta_continued_fraction(b, a, 1.0 - x) / b


def normal_cdf(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def t_cdf(x: float, df: float) -> float:
    """P(T <= x) for Student's t with `df` degrees of freedom."""
    if df <= 0:
        raise ValueError(f"degrees of freedom must be positive, got {df}")
    if df > LARGE_DF:
        return normal_cdf(x)
    tail = 0.5 * regularized_beta(df / 2.0, 0.5, df / (df + x * x))
    return 1.0 - tail if x > 0 else tail


def _invert(cdf: Callable[[float], float], p: float) -> float:
    """The x with cdf(x) = p, for an increasing cdf symmetric about 0, by bisection."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"probability must lie in (0, 1), got {p}")
    if p == 0.5:
        return 0.0
    if p < 0.5:
        return -_invert(cdf, 1.0 - p)
    hi = 1.0
    while cdf(hi) < p:
        hi *= 2.0
    lo = 0.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if cdf(mid) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-13 * max(1.0, hi):
            break
    return 0.5 * (lo + hi)


def normal_quantile(p: float) -> float:
    """The standard normal quantile (1.959964 for p = 0.975)."""
    return _invert(normal_cdf, p)


def t_quantile(p: float, df: float) -> float:
    """Student's t quantile (12.7062 for p = 0.975, df = 1; 2.7764 for df = 4)."""
    if df <= 0:
        raise ValueError(f"degrees of freedom must be positive, got {df}")
    return _invert(lambda x: t_cdf(x, df), p)


# --- means --------------------------------------------------------------------------------


def _finite(values: Iterable[float]) -> list[float]:
    data = [float(v) for v in values]
    if not data:
        raise ValueError("no values to summarize")
    if not all(math.isfinite(v) for v in data):
        raise ValueError("values must be finite numbers")
    return data


def _sample_sd(data: Sequence[float], mean: float) -> float:
    return math.sqrt(sum((v - mean) ** 2 for v in data) / (len(data) - 1))


def _t_estimate(data: list[float], confidence: float, method: str) -> Estimate:
    n = len(data)
    mean = math.fsum(data) / n
    if n < 2:
        return Estimate(mean, math.nan, math.nan, n, method, confidence)
    half = t_quantile(0.5 + confidence / 2.0, n - 1) * _sample_sd(data, mean) / math.sqrt(n)
    return Estimate(mean, mean - half, mean + half, n, method, confidence)


def mean_ci(values: Iterable[float], confidence: float = CONFIDENCE) -> Estimate:
    """Mean with a Student t interval; a single value has no interval (NaN bounds)."""
    return _t_estimate(_finite(values), confidence, T_METHOD)


def bootstrap_ci(
    values: Iterable[float],
    seed: int = 0,
    resamples: int = 10_000,
    confidence: float = CONFIDENCE,
) -> Estimate:
    """Mean with a percentile bootstrap interval from a seeded generator (same seed, same bounds).

    Fits skewed or bounded data (scores piled up at 0 or 1) better than t for moderate n.
    """
    import numpy as np

    data = np.asarray(_finite(values))
    mean = float(data.mean())
    if len(data) < 2:
        return Estimate(mean, math.nan, math.nan, len(data), BOOTSTRAP_METHOD, confidence)
    generator = np.random.default_rng(seed)
    indices = generator.integers(0, len(data), size=(resamples, len(data)))
    means = data[indices].mean(axis=1)
    alpha = (1.0 - confidence) / 2.0
    lo, hi = np.quantile(means, [alpha, 1.0 - alpha])
    return Estimate(mean, float(lo), float(hi), len(data), BOOTSTRAP_METHOD, confidence)


def _bootstrap_t(
    data: list[float], seed: int, resamples: int, confidence: float, bounds: tuple[float, float]
) -> tuple[float, float]:
    """Studentized bootstrap bounds of the mean of `data` (n >= 2, not all equal), clipped to `bounds`.

    t* = (mean* - mean) / (sd* / sqrt(n)) over seeded resamples; a resample whose values
    are all equal has sd* = 0 and counts as t* = +-inf (its side of the mean), so with
    very few distinct values the interval opens up to `bounds` instead of collapsing.
    Bounds are order statistics of t* (no interpolation across infinities).
    """
    import numpy as np

    values = np.asarray(data)
    n = len(values)
    mean = float(values.mean())
    scale = float(values.std(ddof=1)) / math.sqrt(n)
    generator = np.random.default_rng(seed)
    samples = values[generator.integers(0, n, size=(resamples, n))]
    means = samples.mean(axis=1)
    scales = samples.std(axis=1, ddof=1) / math.sqrt(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        studentized = np.where(scales > 0, (means - mean) / scales, np.sign(means - mean) * np.inf)
    studentized = np.sort(np.nan_to_num(studentized, nan=0.0, posinf=np.inf, neginf=-np.inf))
    alpha = (1.0 - confidence) / 2.0
    low_t = float(studentized[int(math.floor(alpha * resamples))])
    high_t = float(studentized[int(math.ceil((1.0 - alpha) * resamples)) - 1])
    lo = bounds[0] if math.isinf(high_t) else max(bounds[0], mean - high_t * scale)
    hi = bounds[1] if math.isinf(low_t) else min(bounds[1], mean - low_t * scale)
    return min(lo, mean), max(hi, mean)


def bootstrap_t_ci(
    values: Iterable[float],
    seed: int = 0,
    resamples: int = BOOTSTRAP_RESAMPLES,
    confidence: float = CONFIDENCE,
    bounds: tuple[float, float] = (-math.inf, math.inf),
) -> Estimate:
    """Mean with a bootstrap-t (studentized bootstrap) interval, clipped to the values' possible `bounds`.

    Second-order accurate where t is first-order: it follows skewness, so the upper bound of
    a right-skewed sample reaches further (t's misses on skewed scores are nearly all on that
    side). Same seed, same bounds; all-equal values give a zero-width interval, as t does.
    """
    data = _finite(values)
    n = len(data)
    mean = math.fsum(data) / n
    if n < 2:
        return Estimate(mean, math.nan, math.nan, n, BOOTSTRAP_T_METHOD, confidence)
    if max(data) == min(data):
        return Estimate(mean, mean, mean, n, BOOTSTRAP_T_METHOD, confidence)
    lo, hi = _bootstrap_t(data, seed, resamples, confidence, bounds)
    return Estimate(mean, lo, hi, n, BOOTSTRAP_T_METHOD, confidence)


def score_mean_ci(
    values: Iterable[float],
    confidence: float = CONFIDENCE,
    *,
    seed: int = 0,
    resamples: int = BOOTSTRAP_RESAMPLES,
    top: float = 1.0,
    min_n: int = MIN_INTERVAL_N,
) -> Estimate:
    """Mean of scores in [0, top] (top grows to the largest value) whose zeros are failed runs.

    The mean is p * m: p, the share of nonzero scores, with a Wilson interval; m, the mean of
    the nonzero ones, with a bootstrap-t interval (t for 2 to min_n - 1 successes, [0, top]
    for one). The two are
    combined like Newcombe's difference (MOVER: each bound moves by the root sum of squares of
    what each part's own bound moves it). The failure rate's interval keeps the bound honest
    when no failure happened to be drawn: 5 successes out of 5 still allow a failure rate up
    to 43%, which is why t, seeing five values near 0.55, is so often wrong about a mean of
    0.385. Below `min_n` values no interval is given (NaN bounds). Negative values are not
    scores: they get the bootstrap-t of `bootstrap_t_ci`.
    """
    data = _finite(values)
    n = len(data)
    mean = math.fsum(data) / n
    if n < min_n:
        return Estimate(mean, math.nan, math.nan, n, HURDLE_METHOD, confidence)
    if min(data) < 0:
        return bootstrap_t_ci(data, seed, resamples, confidence)
    top = max(top, max(data))
    successes = [v for v in data if v > 0]
    k = len(successes)
    rate = wilson(k, n, confidence)
    if k == 0:
        return Estimate(0.0, 0.0, rate.hi * top, n, HURDLE_METHOD, confidence)
    p, m = k / n, math.fsum(successes) / k
    if k == 1:
        m_lo, m_hi = 0.0, top
    elif k < min_n:  # a bootstrap of 2-4 values is mostly constant resamples: t is all there is
        part = mean_ci(successes, confidence)
        m_lo, m_hi = max(0.0, part.lo), min(top, part.hi)
    else:
        part = bootstrap_t_ci(successes, seed, resamples, confidence, bounds=(0.0, top))
        m_lo, m_hi = part.lo, part.hi
    lo = p * m - math.hypot((p - rate.lo) * m, p * (m - m_lo))
    hi = p * m + math.hypot((rate.hi - p) * m, p * (m_hi - m))
    return Estimate(mean, max(0.0, min(lo, mean)), min(top, max(hi, mean)), n, HURDLE_METHOD, confidence)


def pair_by_stream(a: Mapping[str, float], b: Mapping[str, float]) -> Pairs:
    """Match two arms' values on the streams they share, in sorted stream order."""
    shared = sorted(set(a) & set(b))
    return Pairs(
        streams=tuple(shared),
        a=tuple(float(a[s]) for s in shared),
        b=tuple(float(b[s]) for s in shared),
        only_a=tuple(sorted(set(a) - set(b))),
        only_b=tuple(sorted(set(b) - set(a))),
    )


def paired_difference(
    a: Sequence[float] | Mapping[str, float],
    b: Sequence[float] | Mapping[str, float],
    confidence: float = CONFIDENCE,
) -> Estimate:
    """Mean of a - b over pairs with a paired t interval.

    Mappings are paired by stream (shared keys only, see `pair_by_stream`); sequences by
    position and must be the same length. Pairing removes the variance the two arms share
    (the same task instances, the same model stream), so it detects smaller differences.
    """
    return _t_estimate(_finite(_differences(a, b)), confidence, PAIRED_T_METHOD)


def _differences(
    a: Sequence[float] | Mapping[str, float], b: Sequence[float] | Mapping[str, float]
) -> list[float]:
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        pairs = pair_by_stream(a, b)
        left, right = pairs.a, pairs.b
    elif isinstance(a, Mapping) or isinstance(b, Mapping):
        raise TypeError("pair two mappings (by stream) or two sequences (by position), not a mix")
    else:
        left, right = tuple(a), tuple(b)
        if len(left) != len(right):
            raise ValueError(f"paired values need equal lengths, got {len(left)} and {len(right)}")
    return [x - y for x, y in zip(left, right, strict=True)]


def paired_bootstrap_t(
    a: Sequence[float] | Mapping[str, float],
    b: Sequence[float] | Mapping[str, float],
    confidence: float = CONFIDENCE,
    *,
    seed: int = 0,
    resamples: int = BOOTSTRAP_RESAMPLES,
    span: float = 1.0,
    min_n: int = MIN_INTERVAL_N,
) -> Estimate:
    """Mean of a - b over pairs (as `paired_difference` pairs them) with a bootstrap-t interval.

    Differences of scores in [0, span] lie in [-span, span]; the interval is clipped there.
    It holds where the paired t does and also where the differences are skewed (one arm
    a shrunken copy of the other). Below `min_n` pairs no interval is given (NaN bounds).
    """
    differences = _finite(_differences(a, b))
    n = len(differences)
    mean = math.fsum(differences) / n
    if n < min_n:
        return Estimate(mean, math.nan, math.nan, n, PAIRED_BOOTSTRAP_T_METHOD, confidence)
    span = max(span, max(abs(d) for d in differences))
    estimate = bootstrap_t_ci(differences, seed, resamples, confidence, bounds=(-span, span))
    return Estimate(mean, estimate.lo, estimate.hi, n, PAIRED_BOOTSTRAP_T_METHOD, confidence)


@dataclass(frozen=True)
class PairedTest:
    """A one-sided paired test of "a is above b": mean difference, p-value, and the level it is read at."""

    mean_difference: float
    p_value: float
    n: int
    alpha: float
    method: str

    @property
    def significant(self) -> bool:
        return self.p_value <= self.alpha

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "mean_difference": _json_float(self.mean_difference),
            "p_value": self.p_value,
            "n": self.n,
            "alpha": self.alpha,
            "significant": self.significant,
        }


SIGN_FLIP_METHOD = "paired sign-flip permutation test, one-sided"
EXACT_SIGN_FLIP_UP_TO = 16  # pairs; 2**16 sign patterns enumerated, beyond that a seeded sample


def paired_sign_flip_test(
    a: Sequence[float] | Mapping[str, float],
    b: Sequence[float] | Mapping[str, float],
    alpha: float = 0.05,
    *,
    seed: int = 0,
    resamples: int = 100_000,
) -> PairedTest:
    """Is a above b, pair by pair? An exact one-sided sign-flip (randomization) test on the mean difference.

    If a and b come from the same improver on the same streams, each difference is as likely
    negative as positive, so every pattern of signs is equally likely; the p-value is the share
    of patterns whose mean difference is at least the observed one. Exact (no normality, no
    large n), so it keeps its level on lumpy repeats: with 5 pairs the smallest p is 1/32,
    reached only when all 5 differences are positive. Up to EXACT_SIGN_FLIP_UP_TO pairs every
    pattern is counted; beyond, `resamples` seeded patterns (the observed one included).
    """
    import numpy as np

    differences = np.asarray(_finite(_differences(a, b)))
    n = len(differences)
    observed = float(differences.mean())
    tolerance = 1e-12 * max(1.0, float(np.abs(differences).max()))
    if n <= EXACT_SIGN_FLIP_UP_TO:
        patterns = ((np.arange(2**n)[:, None] >> np.arange(n)) & 1) * 2 - 1
        means = (patterns * differences).mean(axis=1)
        p_value = float((means >= observed - tolerance).mean())
    else:
        generator = np.random.default_rng(seed)
        signs = generator.choice((-1.0, 1.0), size=(resamples - 1, n))
        means = (signs * differences).mean(axis=1)
        p_value = float((1 + (means >= observed - tolerance).sum()) / resamples)
    return PairedTest(observed, p_value, n, alpha, SIGN_FLIP_METHOD)


# --- rates --------------------------------------------------------------------------------


def wilson(k: int, n: int, confidence: float = CONFIDENCE) -> Rate:
    """Rate k/n with the Wilson score interval; n = 0 gives rate NaN and the interval [0, 1]."""
    if n < 0 or k < 0 or k > n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    if n == 0:
        return Rate(k, n, math.nan, 0.0, 1.0, WILSON_METHOD, confidence)
    z = normal_quantile(0.5 + confidence / 2.0)
    p = k / n
    denominator = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    lo = 0.0 if k == 0 else max(0.0, centre - half)
    hi = 1.0 if k == n else min(1.0, centre + half)
    return Rate(k, n, p, lo, hi, WILSON_METHOD, confidence)


def proportion_difference(
    k_a: int, n_a: int, k_b: int, n_b: int, confidence: float = CONFIDENCE
) -> RateDifference:
    """Rate a minus rate b, independent samples, with Newcombe's hybrid score interval.

    Built from the two Wilson intervals (Newcombe 1998, method 10), so it stays inside
    [-1, 1] and behaves at rates near 0, where a Wald interval collapses.
    """
    a, b = wilson(k_a, n_a, confidence), wilson(k_b, n_b, confidence)
    if n_a == 0 or n_b == 0:
        return RateDifference(a, b, math.nan, -1.0, 1.0, NEWCOMBE_METHOD, confidence)
    diff = a.rate - b.rate
    lo = diff - math.sqrt((a.rate - a.lo) ** 2 + (b.hi - b.rate) ** 2)
    hi = diff + math.sqrt((a.hi - a.rate) ** 2 + (b.rate - b.lo) ** 2)
    return RateDifference(a, b, diff, max(-1.0, lo), min(1.0, hi), NEWCOMBE_METHOD, confidence)


# --- footnotes ------------------------------------------------------------------------------


def _count_text(counts: list[int]) -> str:
    low, high = min(counts), max(counts)
    return str(low) if low == high else f"{low}-{high}"


def footnote(results: Iterable[Estimate | Rate | RateDifference], unit: str = "runs") -> str:
    """The line printed under a table: confidence, interval method(s) and the count behind them.

    For example "95% intervals: t over 10 runs per row" or "95% intervals: Wilson over 200-10000
    improvements per row".
    """
    items = list(results)
    if not items:
        return "No intervals."
    methods = list(dict.fromkeys(item.method for item in items))
    levels = sorted({round(100 * item.confidence, 6) for item in items})
    counts = []
    for item in items:
        if isinstance(item, RateDifference):
            counts.extend([item.a.n, item.b.n])
        else:
            counts.append(item.n)
    level_text = "/".join(f"{level:g}%" for level in levels)
    text = f"{level_text} intervals: {', '.join(methods)} over {_count_text(counts)} {unit} per row"
    withheld = [
        item
        for item in items
        if isinstance(item, Estimate) and item.method in _SMALL_N_WITHHELD and math.isnan(item.lo)
    ]
    if withheld:
        text += f"; no interval where fewer than {MIN_INTERVAL_N} {unit} (too few to hold 95%)"
    return text


_SMALL_N_WITHHELD = (HURDLE_METHOD, PAIRED_BOOTSTRAP_T_METHOD)
