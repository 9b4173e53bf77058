"""Metaproductivity and cost per gain, from a store whose lineage and scores are written by hand.

The run: seed I0 (scores 0.2) writes candidate 1 (0.6, adopted); candidate 1 writes candidate 2
(0.4, rejected) and then candidate 3 (0.8, adopted); iteration 4 returns nothing.
Descendants: I0 -> {1, 2, 3}; 1 -> {2, 3}; 2 and 3 -> none.
"""

from __future__ import annotations

import pytest

from selftaught.analysis.cost_per_gain import cost_curve, cost_per_gain
from selftaught.analysis.metaproductivity import lineage_productivity, productivity_across_runs
from selftaught.store.store import Store

PLAN = [  # iteration, status, candidate score per repeat (None: no candidate), val/test in use after
    (0, "seed", [0.2, 0.2], 0.2),
    (1, "improved", [0.6, 0.6], 0.6),
    (2, "failed", [0.4, 0.4], 0.6),
    (3, "improved", [0.8, 0.8], 0.8),
    (4, "failed", None, 0.8),
]


def _write_run(store: Store, shift: float = 0.0, prices=(1.0, 2.0)) -> str:
    run_id = store.new_run(
        "stop", {"price_prompt": prices[0], "price_completion": prices[1]}, "script:x", None
    )
    in_use = None
    for t, status, scores, after in PLAN:
        candidate = None
        if scores is not None:
            candidate = store.put_source(
                f"def improve_algorithm(s, u, m):\n    return s  # {t} {shift}\n", "improver"
            )
            for repeat, score in enumerate(scores):
                row = store.start_improver_run(
                    run_id=run_id, iteration=t, purpose="iteration_eval", improver_hash=candidate,
                    task="parity_noise", repeat=repeat, stream=f"it{t}/eval/parity_noise/r{repeat}",
                )  # fmt: skip
                store.finish_improver_run(
                    row, status="ok", score_val=score + shift, score_test=score + shift, elapsed_s=0.1
                )
            store.add_model_call(
                run_id=run_id, iteration=t, method="prompt", system="s", messages_json='["m"]', n=1,
                temperature=0.7, cached_samples=0, prompt_tokens=1_000_000, completion_tokens=500_000,
                stream=f"it{t}", occurrence=1, cache_key=f"k{t}{shift}",
            )  # fmt: skip
        if status in ("seed", "improved"):
            in_use = candidate
        store.add_iteration(
            run_id=run_id, iteration=t, status=status, improver_hash=in_use,
            candidate_hash=None if t == 0 else candidate, meta_utility_val=after + shift,
            meta_utility_test=after + shift, attempt=1, started=0.0, ended=0.0,
        )  # fmt: skip
    return run_id


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path / "runs.db") as opened:
        yield opened


def test_each_improver_has_its_descendants_mean_beside_its_own(store):
    rows = {r.iteration: r for r in lineage_productivity(store, _write_run(store))}
    assert sorted(rows) == [0, 1, 2, 3]  # iteration 4 proposed nothing
    assert rows[0].parent is None and rows[1].parent == 0 and rows[2].parent == 1 and rows[3].parent == 1
    assert rows[0].descendants == (1, 2, 3) and rows[1].descendants == (2, 3)
    assert rows[0].own_test == pytest.approx(0.2)
    assert rows[0].descendant_test == pytest.approx((0.6 + 0.4 + 0.8) / 3)
    assert rows[0].descendant_solutions == 6
    assert rows[1].descendant_test == pytest.approx(0.6) and rows[1].own_test == pytest.approx(0.6)
    assert rows[2].descendant_test is None and not rows[2].adopted
    assert rows[3].to_json()["metaproductivity"] is None


def test_across_runs_the_improver_in_use_is_averaged_per_iteration(store):
    runs = [_write_run(store), _write_run(store, shift=0.1)]
    table = productivity_across_runs(store, runs)
    assert [row.iteration for row in table] == [0, 1, 2, 3, 4]
    assert table[0].metaproductivity.mean == pytest.approx(0.6 + 0.05)
    assert table[0].metaproductivity.n == 2 and table[0].meta_utility_test.mean == pytest.approx(0.25)
    assert table[2].metaproductivity.mean == pytest.approx(0.65)  # still candidate 1 in use
    assert table[3].metaproductivity is None  # the last improver has no descendant yet


def test_cost_per_gain_and_the_cost_curve(store):
    run_id = _write_run(store)
    gain = cost_per_gain(store, run_id)
    assert gain.requests == 4 and gain.usd == pytest.approx(4 * (1.0 + 1.0))
    assert gain.gain_points == pytest.approx(60.0)
    assert gain.usd_per_point == pytest.approx(8.0 / 60.0)
    assert "per point gained" in gain.text()
    curve = cost_curve(store, run_id)
    assert [p.requests for p in curve] == [1, 2, 3, 4, 4]
    assert curve[-1].usd == pytest.approx(8.0) and curve[3].meta_utility_test == pytest.approx(0.8)


def test_no_gain_means_no_cost_per_point(store):
    run_id = store.new_run("stop", {}, "script:x", None)
    seed = store.put_source("def improve_algorithm(s, u, m):\n    return s\n", "improver")
    for t in (0, 1):
        store.add_iteration(
            run_id=run_id, iteration=t, status="seed" if t == 0 else "failed", improver_hash=seed,
            meta_utility_val=0.5, meta_utility_test=0.5, attempt=1, started=0.0, ended=0.0,
        )  # fmt: skip
    gain = cost_per_gain(store, run_id)
    assert gain.gain_points == 0 and gain.usd_per_point is None and "no gain" in gain.text()
