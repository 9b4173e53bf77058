"""The experiments' 95% intervals hold 92-98% coverage in simulation, at n_tests = 5 too.

Samples come from score models of known mean (selftaught.analysis.coverage, seeded), so
every figure here is fixed; benchmarks/interval_coverage.py prints the same table with
more simulations for docs/experiments.md. Two checks go through the experiments' own
summary code with synthetic records: transfer rows from synthetic repeats, and the
multi-run summary from iterations written to a real store.
"""

from __future__ import annotations

import numpy as np
import pytest

from selftaught.analysis import coverage as cov
from selftaught.analysis import stats

SIMS = 300
SIMS_AT_FIVE = 1000  # at n = 5 the hurdle's true coverage is ~97.7% (10,000 sims): close to the band's top


@pytest.mark.parametrize("model", [cov.BIMODAL, cov.BIMODAL_SPREAD, cov.SKEWED], ids=lambda m: m.name)
@pytest.mark.parametrize("n", [5, 10, 25])
def test_score_mean_interval_holds_its_95_percent(model, n):
    result = cov.mean_coverage("hurdle", stats.score_mean_ci, model, n, SIMS_AT_FIVE if n == 5 else SIMS)
    assert result.no_interval == 0
    assert result.holds, result


@pytest.mark.parametrize(
    ("model", "below"), [(cov.BIMODAL, 0.86), (cov.SKEWED, 0.9)], ids=["bimodal", "skewed"]
)
def test_t_interval_falls_short_at_five_repeats(model, below):
    """Why the experiments left t for repeats: the issue's 82.6% and 88%, reproduced."""
    assert cov.mean_coverage("t", stats.mean_ci, model, 5, SIMS).rate < below


@pytest.mark.parametrize("model", [cov.BIMODAL_PAIRS, cov.SKEWED_PAIRS], ids=lambda m: m.name)
@pytest.mark.parametrize("n", [5, 10, 25])
def test_paired_t_holds_for_arms_on_their_own_streams(model, n):
    """Transfer and baselines pair arms whose repeats run on their own streams: near-symmetric
    differences, where the paired t holds (and a bootstrap-t swings from 98% to 91% on lumps)."""
    result = cov.paired_coverage("paired t", stats.paired_difference, model, n, SIMS_AT_FIVE)
    assert result.holds, result


def test_strongly_dependent_skewed_pairs_need_the_bootstrap_t():
    """Documented limit: if b were a shrunken copy of a, differences are skewed like the scores."""
    assert cov.paired_coverage("paired t", stats.paired_difference, cov.SHRUNK_PAIRS, 5, SIMS).rate < 0.9
    result = cov.paired_coverage("bootstrap-t", stats.paired_bootstrap_t, cov.SHRUNK_PAIRS, 10, SIMS)
    assert result.holds, result


@pytest.mark.parametrize("model", [cov.BIMODAL, cov.SKEWED], ids=lambda m: m.name)
@pytest.mark.parametrize("runs", [5, 10])
def test_t_over_runs_of_five_repeats_holds(model, runs):
    """`run --runs` puts t over runs, each the mean of its repeats: near normal, t holds from 5 runs
    (at 3 runs it covers 92.2% of 10,000, the band's edge: docs/experiments.md)."""
    assert cov.run_means_coverage("t", stats.mean_ci, model, runs, 5, SIMS_AT_FIVE).holds


@pytest.mark.parametrize(("p", "n"), [(0.0042, 200), (0.05, 200), (0.12, 25), (0.3, 10)])
def test_wilson_rates_hold(p, n):
    assert cov.rate_coverage("Wilson", stats.wilson, p, n, SIMS).holds


@pytest.mark.parametrize(("p_a", "p_b", "n"), [(0.2, 0.1, 200), (0.3, 0.1, 50), (0.01, 0.0042, 3000)])
def test_newcombe_differences_hold_with_enough_events(p_a, p_b, n):
    assert cov.difference_coverage("Newcombe", stats.proportion_difference, p_a, p_b, n, SIMS).holds


def test_newcombe_is_conservative_with_one_or_two_events_per_arm():
    """Documented, not hidden: at the paper's rates an audit of 200 sees ~1 event; the interval is wide."""
    assert (
        cov.difference_coverage("Newcombe", stats.proportion_difference, 0.01, 0.0042, 200, SIMS).rate > 0.98
    )
    from selftaught.audits.summary import few_events

    assert few_events(stats.proportion_difference(2, 200, 1, 200))  # `audit summary` flags it
    assert not few_events(stats.proportion_difference(30, 3000, 13, 3000))


def test_below_five_values_no_interval_is_given():
    assert cov.mean_coverage("hurdle", stats.score_mean_ci, cov.BIMODAL, 4, 20).no_interval == 20
    estimate = stats.score_mean_ci([0.5, 0.6, 0.0])
    assert np.isnan(estimate.lo) and estimate.mean == pytest.approx(1.1 / 3)
    assert "no interval where fewer than 5" in stats.footnote([estimate], unit="repeats")


# --- through the experiments' own summary code --------------------------------------------------


def _repeats(arm: str, scores, task: str = "t"):
    from selftaught.experiments.arms import RepeatScore

    return [
        RepeatScore(
            arm, task, r, f"exp/{arm}/{task}/r{r}", bool(s > 0), None if s > 0 else "error", {"test": s}
        )
        for r, s in enumerate(scores)
    ]


def test_transfer_rows_cover_both_arms_and_their_difference_at_five_repeats():
    from selftaught.experiments.transfer import transfer_row

    generator = np.random.default_rng(24)
    held = {"i0": 0, "it": 0, "diff": 0}
    for _ in range(SIMS):
        it, i0 = cov.BIMODAL_PAIRS.draw(generator, 5)
        row = transfer_row("t", 0.5, _repeats("i0", list(i0)), _repeats("it", list(it)))
        held["i0"] += row.i0.contains(0.7 * 0.55)
        held["it"] += row.it.contains(0.7 * 0.65)
        held["diff"] += row.diff.contains(cov.BIMODAL_PAIRS.truth)
        assert row.diff.mean == pytest.approx(row.it.mean - row.i0.mean)
    for name, count in held.items():
        assert cov.LOWEST <= count / SIMS <= cov.HIGHEST, (name, count)


def test_multirun_summary_covers_the_mean_curve_and_the_gain_rate(tmp_path):
    from selftaught.experiments.multirun import summarize
    from selftaught.store.store import Store

    generator = np.random.default_rng(7)
    runs, sims = 5, 200
    held_mean = held_rate = 0
    with Store.open(tmp_path / "runs.db") as store:
        improver = store.put_source("def improve_algorithm(*a): return a[0]\n", "improver")
        for _ in range(sims):
            ids = []
            for _ in range(runs):
                run_id = store.new_run("stop", {}, "script:x", None)
                start = float(cov.BIMODAL.draw(generator, 5).mean())
                final = float(cov.SKEWED.draw(generator, 5).mean()) + start
                for t, value in enumerate((start, final)):
                    store.add_iteration(
                        run_id=run_id, iteration=t, status="seed" if t == 0 else "improved",
                        improver_hash=improver, meta_utility_val=value, meta_utility_test=value,
                        attempt=1, started=0.0, ended=0.0,
                    )  # fmt: skip
                ids.append(run_id)
            result = summarize(store, "exp", ids, gain=0.25)
            held_mean += result.per_iteration[1].contains(0.7 * 0.55 + 0.2)
            # P(mean of 5 Beta(0.5, 2) >= 0.25), the chance a run "gained", from a large draw
            held_rate += result.gained.contains(_gain_probability())
    assert cov.LOWEST <= held_mean / sims <= cov.HIGHEST
    assert cov.LOWEST - 0.02 <= held_rate / sims <= 1.0  # Wilson at n = 5 runs is conservative


_GAIN: list[float] = []


def _gain_probability() -> float:
    if not _GAIN:
        draws = np.random.default_rng(0).beta(0.5, 2.0, (400_000, 5)).mean(axis=1)
        _GAIN.append(float((draws >= 0.25).mean()))
    return _GAIN[0]
