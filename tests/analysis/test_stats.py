"""Interval arithmetic against published values and at the degenerate edges."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from selftaught.analysis.stats import (
    BOOTSTRAP_METHOD,
    Estimate,
    bootstrap_ci,
    footnote,
    mean_ci,
    normal_quantile,
    pair_by_stream,
    paired_difference,
    proportion_difference,
    regularized_beta,
    t_cdf,
    t_quantile,
    wilson,
)


@pytest.mark.parametrize(
    ("df", "expected"),
    [(1, 12.7062), (2, 4.3027), (4, 2.7764), (9, 2.2622), (24, 2.0639), (29, 2.0452), (100, 1.9840)],
)
def test_t_quantile_matches_tables(df, expected):
    assert t_quantile(0.975, df) == pytest.approx(expected, abs=1e-4)


def test_other_quantiles():
    assert normal_quantile(0.975) == pytest.approx(1.959964, abs=1e-6)
    assert normal_quantile(0.5) == 0.0
    assert t_quantile(0.95, 10) == pytest.approx(1.8125, abs=1e-4)
    assert t_quantile(0.025, 4) == pytest.approx(-2.7764, abs=1e-4)
    assert t_quantile(0.975, 1e9) == pytest.approx(1.959964, abs=1e-6)
    with pytest.raises(ValueError):
        t_quantile(1.0, 3)
    with pytest.raises(ValueError):
        t_quantile(0.9, 0)


def test_incomplete_beta_known_values():
    assert regularized_beta(1, 1, 0.3) == pytest.approx(0.3)  # uniform
    assert regularized_beta(2, 3, 0.4) == pytest.approx(0.5248, abs=1e-4)
    assert regularized_beta(0.5, 0.5, 0.5) == pytest.approx(0.5)
    assert t_cdf(0.0, 7) == pytest.approx(0.5)
    assert t_cdf(1.0, 1) == pytest.approx(0.75)  # Cauchy


@given(st.floats(0.001, 0.999), st.integers(1, 200))
def test_t_quantile_inverts_cdf(p, df):
    assert t_cdf(t_quantile(p, df), df) == pytest.approx(p, abs=1e-9)


def test_mean_ci_known_values():
    estimate = mean_ci([1, 2, 3, 4, 5])
    assert estimate.mean == 3.0 and estimate.n == 5 and estimate.method == "t"
    assert estimate.lo == pytest.approx(1.03676, abs=1e-5)
    assert estimate.hi == pytest.approx(4.96324, abs=1e-5)
    assert estimate.contains(3.0) and not estimate.contains(5.0)


def test_mean_ci_degenerate_inputs():
    single = mean_ci([0.7])
    assert single.mean == 0.7 and single.n == 1
    assert math.isnan(single.lo) and math.isnan(single.hi)
    assert single.to_json() == {"mean": 0.7, "ci": [None, None], "n": 1, "method": "t"}
    equal = mean_ci([0.25] * 6)
    assert (equal.lo, equal.mean, equal.hi) == (0.25, 0.25, 0.25)
    with pytest.raises(ValueError):
        mean_ci([])
    with pytest.raises(ValueError):
        mean_ci([0.1, float("nan")])


def test_bootstrap_is_seeded_and_sensible():
    values = [0.1, 0.4, 0.35, 0.8, 0.5, 0.45, 0.6, 0.2, 0.55, 0.3]
    first, again = bootstrap_ci(values, seed=3), bootstrap_ci(values, seed=3)
    assert first == again
    assert bootstrap_ci(values, seed=3, resamples=200) != bootstrap_ci(values, seed=4, resamples=200)
    assert first.method == BOOTSTRAP_METHOD and first.n == 10
    assert first.lo < first.mean < first.hi
    t = mean_ci(values)
    assert abs(first.lo - t.lo) < 0.05 and abs(first.hi - t.hi) < 0.05
    assert bootstrap_ci([2.0, 2.0, 2.0]).ci == (2.0, 2.0)
    assert math.isnan(bootstrap_ci([2.0]).lo)


def test_paired_difference_by_stream_and_position():
    base = {"r0": 0.50, "r1": 0.60, "r2": 0.40, "r3": 0.55, "lost": 0.9}
    better = {"r0": 0.60, "r1": 0.71, "r2": 0.49, "r3": 0.66, "extra": 0.0}
    pairs = pair_by_stream(better, base)
    assert pairs.streams == ("r0", "r1", "r2", "r3")
    assert pairs.only_a == ("extra",) and pairs.only_b == ("lost",)
    diff = paired_difference(better, base)
    assert diff.n == 4 and diff.method == "paired t"
    assert diff.mean == pytest.approx(0.1025)
    assert diff.lo > 0  # consistent gains: the paired interval excludes 0 ...
    unpaired = mean_ci(list(better.values())[:4])
    assert unpaired.lo < mean_ci(list(base.values())[:4]).hi  # ... where the arms' own intervals overlap
    same = paired_difference([0.3, 0.5, 0.7], [0.3, 0.5, 0.7])
    assert (same.lo, same.mean, same.hi) == (0.0, 0.0, 0.0)
    noisy = paired_difference([0.3, 0.6, 0.5, 0.4], [0.4, 0.5, 0.6, 0.3])
    assert noisy.contains(0.0)
    with pytest.raises(ValueError):
        paired_difference([1.0, 2.0], [1.0])
    with pytest.raises(TypeError):
        paired_difference({"a": 1.0}, [1.0])


@pytest.mark.parametrize(
    ("k", "n", "lo", "hi"),
    [
        (42, 10_000, 0.0031, 0.0057),  # the paper's GPT-4 sandbox rate, 0.42% (0.31-0.57%)
        (46, 10_000, 0.0035, 0.0061),  # with the warning, 0.46% (0.35-0.61%)
        (12, 10_000, 0.0007, 0.0021),  # GPT-3.5, 0.12% (0.07-0.21%)
        (3, 25, 0.0417, 0.2996),  # 3 of 25 runs gained 3 points
    ],
)
def test_wilson_reproduces_published_intervals(k, n, lo, hi):
    rate = wilson(k, n)
    assert rate.rate == k / n
    assert rate.lo == pytest.approx(lo, abs=5e-5)
    assert rate.hi == pytest.approx(hi, abs=5e-5)


def test_wilson_edges():
    zero = wilson(0, 10)
    assert zero.rate == 0.0 and zero.lo == 0.0 and zero.hi == pytest.approx(0.2775, abs=1e-4)
    full = wilson(10, 10)
    assert full.hi == 1.0 and full.lo == pytest.approx(0.7225, abs=1e-4)
    empty = wilson(0, 0)
    assert math.isnan(empty.rate) and empty.ci == (0.0, 1.0)
    assert empty.to_json()["rate"] is None
    for bad in [(-1, 3), (4, 3), (0, -1)]:
        with pytest.raises(ValueError):
            wilson(*bad)


@given(st.integers(0, 500), st.integers(1, 500))
def test_wilson_interval_brackets_the_rate(k, n):
    k = min(k, n)
    rate = wilson(k, n)
    assert 0.0 <= rate.lo <= rate.rate <= rate.hi <= 1.0


def test_newcombe_matches_published_examples():
    # Newcombe (1998), Statistics in Medicine 17:873-890, method 10
    first = proportion_difference(56, 70, 48, 80)
    assert first.diff == pytest.approx(0.2)
    assert first.ci == pytest.approx((0.0524, 0.3339), abs=1e-4)
    second = proportion_difference(9, 10, 3, 10)
    assert second.ci == pytest.approx((0.1705, 0.8090), abs=1e-4)


def test_newcombe_on_the_papers_warning_comparison():
    diff = proportion_difference(46, 10_000, 42, 10_000)
    assert diff.contains(0.0)  # "no significant difference"
    assert diff.diff == pytest.approx(0.0004)
    edge = proportion_difference(0, 20, 0, 30)
    assert edge.diff == 0.0 and edge.lo < 0 < edge.hi
    assert -1.0 <= proportion_difference(20, 20, 0, 20).lo <= 1.0
    undefined = proportion_difference(0, 0, 1, 2)
    assert math.isnan(undefined.diff) and undefined.ci == (-1.0, 1.0)
    assert undefined.to_json()["diff"] is None


def test_footnote_names_method_and_count():
    rows = [mean_ci([0.1, 0.2, 0.3] * 3 + [0.4]), mean_ci([0.5] * 10)]
    assert footnote(rows) == "95% intervals: t over 10 runs per row"
    mixed = [mean_ci([0.1, 0.2]), bootstrap_ci([0.1, 0.2, 0.3, 0.4])]
    assert footnote(mixed) == "95% intervals: t, percentile bootstrap over 2-4 runs per row"
    rates = [wilson(3, 200), proportion_difference(42, 10_000, 46, 10_000)]
    assert footnote(rates, unit="improvements") == (
        "95% intervals: Wilson, Newcombe over 200-10000 improvements per row"
    )
    assert footnote([Estimate(0.5, 0.4, 0.6, 5, "t", 0.9)]) == "90% intervals: t over 5 runs per row"
    assert footnote([]) == "No intervals."
